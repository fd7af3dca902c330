"""The bot's seal: an HMAC-SHA256 trailer over what a commit is (its tree, its parents and its message
without the seal line), keyed by a per-repository secret kept outside git. Anyone can type the bot's
author name or its trailers; only the holder of the key can seal, so a sealed commit is the bot's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

TRAILER = "Incident-Bot-Seal"
VERSION = "v1"


def digest(key: bytes, tree: str, parents: Sequence[str], message: str) -> str:
    body = "\n".join([f"tree {tree}", *(f"parent {p}" for p in parents), "", unsealed(message).strip("\n")])
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def seal(key: bytes, tree: str, parents: Sequence[str], message: str) -> str:
    """`message` with its seal as the first trailer (replacing any seal line it carried); a message without
    trailers gets a trailer paragraph, so its subject stays what it was."""
    text = unsealed(message).rstrip("\n")
    line = f"{TRAILER}: {VERSION}={digest(key, tree, parents, text)}"
    body, sep, last = text.rpartition("\n\n")
    if sep and last and all(": " in t for t in last.splitlines()):
        return f"{body}\n\n{line}\n{last}\n"
    return f"{text}\n\n{line}\n"


def unsealed(message: str) -> str:
    return "".join(line for line in message.splitlines(True) if not line.startswith(f"{TRAILER}: "))


def is_sealed(key: bytes, tree: str, parents: Sequence[str], message: str) -> bool:
    """True only if the message carries one seal, the one the key computes for this tree and parents."""
    claimed = [line.split(": ", 1)[1].strip() for line in message.splitlines() if line.startswith(f"{TRAILER}: ")]
    if len(claimed) != 1 or not claimed[0].startswith(f"{VERSION}=") or not tree:
        return False
    expected = digest(key, tree, parents, message)
    return hmac.compare_digest(claimed[0][len(VERSION) + 1:], expected)
