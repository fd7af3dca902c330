"""Untrusted text (label values, keys, fingerprints, file names) made safe for each medium it reaches,
one function per medium (pure): git commit messages, Markdown, Mermaid labels and terminal lines."""

from __future__ import annotations

import re

from bot.errors import InputError

# C0 controls (newline and tab included), DEL, C1 controls, lone surrogates: nothing of these belongs in
# a one-line value.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

# ---------------------------------------------------------------- git commit messages


def commit_message(subject: str, body: str, trailers: list[tuple[str, str]]) -> str:
    """`subject`, a blank line, `body` (may be empty), a blank line and the `Key: value` trailers.

    The subject and every trailer value are one line each and refuse control characters: a value with a
    newline would end its trailer and start another (an `incident_key` forging `Incident-Id:`), and git
    refuses a NUL outright."""
    for where, value in (("subject", subject), *trailers):
        if (bad := _CONTROL.search(value)) is not None:
            raise InputError("commit message", where,
                             f"control character U+{ord(bad.group(0)):04X} in {value[:60]!r}: refused")
    for key, _ in trailers:
        if not re.fullmatch(r"[A-Z][A-Za-z-]*", key):
            raise InputError("commit message", key, "not a trailer key")
    text = subject + "\n\n"
    if body.strip():
        text += body.strip("\n") + "\n\n"
    return text + "".join(f"{key}: {value}\n" for key, value in trailers)


# ---------------------------------------------------------------- Markdown (GitHub Flavored)


def md_code(value: object) -> str:
    """`value` as an inline code span that shows it as text: one line, fenced with one backtick more than
    its longest run of backticks, padded when it starts or ends with one (CommonMark 0.31, "Code spans":
    https://spec.commonmark.org/0.31.2/#code-spans). Inside a span nothing is Markdown or HTML: `<!--`,
    `<b>`, `**PASS**` and `@team` stay literal, and GitHub does not notify a mention in code."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if not text:
        return "` `"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# every ASCII punctuation character may be backslash-escaped (https://spec.commonmark.org/0.31.2/#backslash-escapes)
_MD_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&@:\"'=$%^,;/?])")


def md_text(value: object) -> str:
    """`value` as plain Markdown text on one line: every ASCII punctuation character backslash-escaped, so
    no emphasis, link, HTML, comment, table cell or mention can start inside it."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return _MD_PUNCTUATION.sub(r"\\\1", text)


# ---------------------------------------------------------------- Mermaid

_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 .,:_/+\-=()]")


def mermaid_label(value: object, limit: int = 80) -> str:
    """Text for a quoted Mermaid label: anything but plain characters as an entity code (`#35;`), which
    Mermaid documents for exactly this (https://mermaid.js.org/syntax/flowchart.html, "Entity codes to
    escape characters"); quotes, pipes, brackets, `<` and newlines can then neither end the label nor
    inject HTML."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())[:limit]
    return "".join(ch if _MERMAID_SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


# ---------------------------------------------------------------- terminal


def terminal(text: str, *, lines: bool = True) -> str:
    """`text` fit for a terminal: control characters (escape sequences, carriage returns, bells) and lone
    surrogates shown as `\\xNN` / `\\uNNNN`, so a value cannot move the cursor, recolour or rewrite a line.
    Newlines and tabs stay when `lines` (a multi-line output), else they are shown too."""

    def shown(match: re.Match[str]) -> str:
        ch = match.group(0)
        if lines and ch in "\n\t":
            return ch
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(shown, text)
