"""The bot's seal (bot/rules/seal.py), pure: what a sealed message looks like, and what breaks a seal. The
command-line side (sealed commits on a real repository, forged ones refused) is tests/test_seal.py."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.rules.seal import is_sealed, seal

KEY = b"k" * 32
TREE, PARENT = "a" * 40, "b" * 40
MESSAGE = "incident HM-2026-05-17-01: plan\n\nIncident-Id: HM-2026-05-17-01\nPhase: plan\n"


def test_the_seal_is_hmac_sha256_of_the_tree_the_parents_and_the_message_without_it() -> None:
    """The format repositories sealed by an earlier release must keep verifying: a fixed vector."""
    body = f"tree {TREE}\nparent {PARENT}\nparent {'c' * 40}\n\n{MESSAGE.rstrip(chr(10))}"
    expected = hmac.new(KEY, body.encode(), hashlib.sha256).hexdigest()
    sealed = seal(KEY, TREE, [PARENT, "c" * 40], MESSAGE)
    assert sealed == ("incident HM-2026-05-17-01: plan\n\n"
                      f"Incident-Bot-Seal: v1={expected}\nIncident-Id: HM-2026-05-17-01\nPhase: plan\n")


def test_a_message_with_a_body_gets_the_seal_in_its_trailer_paragraph() -> None:
    """Git reads trailers from the last paragraph only (git-interpret-trailers(1)): the seal joins it, and
    Incident-Id and Phase stay trailers."""
    message = "incident HM-2026-05-17-01: plan\n\nwhy: the pod restarts\n\nIncident-Id: HM-2026-05-17-01\nPhase: plan\n"
    sealed = seal(KEY, TREE, [PARENT], message)
    head, _, last = sealed.rstrip("\n").rpartition("\n\n")
    assert head == "incident HM-2026-05-17-01: plan\n\nwhy: the pod restarts"
    assert [t.split(": ")[0] for t in last.splitlines()] == ["Incident-Bot-Seal", "Incident-Id", "Phase"]


def test_a_message_without_trailers_keeps_its_text_and_gets_a_trailer_paragraph() -> None:
    """Only trailing newlines go: the subject stays as written, to its last character."""
    for message in ("fix the thing", "fix the thing\n", "fix the thing  ", "restart pod X",
                    "fix the thing\n\nbecause it was broken\nat night"):
        sealed = seal(KEY, TREE, [PARENT], message)
        assert sealed.startswith(message.rstrip("\n") + "\n\nIncident-Bot-Seal: v1=")
        assert sealed.endswith("\n") and sealed.count("\n") == message.rstrip("\n").count("\n") + 3
        assert is_sealed(KEY, TREE, [PARENT], sealed)


def test_sealing_again_replaces_the_seal() -> None:
    """A rebuilt commit (refresh) gets one seal, for its own tree and parents."""
    once = seal(KEY, TREE, [PARENT], MESSAGE)
    again = seal(KEY, "d" * 40, [PARENT], once)
    assert again.count("Incident-Bot-Seal: ") == 1
    assert again == seal(KEY, "d" * 40, [PARENT], MESSAGE)
    assert is_sealed(KEY, "d" * 40, [PARENT], again) and not is_sealed(KEY, TREE, [PARENT], again)


@pytest.mark.parametrize(("key", "tree", "parents", "edit"), [
    (b"another key", TREE, [PARENT], None),
    (KEY, "d" * 40, [PARENT], None),                       # another tree
    (KEY, TREE, ["d" * 40], None),                         # another parent
    (KEY, TREE, [PARENT, "d" * 40], None),                 # a parent added (a merge commit)
    (KEY, TREE, [], None),                                 # a root commit
    (KEY, TREE, [PARENT], ("Phase: plan", "Phase: merge")),  # the message edited
    (KEY, "", [PARENT], None),                            # no tree read: never sealed
])
def test_a_seal_verifies_for_its_key_tree_parents_and_message_only(key, tree, parents, edit) -> None:
    sealed = seal(KEY, TREE, [PARENT], MESSAGE)
    assert is_sealed(KEY, TREE, [PARENT], sealed)
    assert not is_sealed(key, tree, parents, sealed.replace(*edit) if edit else sealed)


@pytest.mark.parametrize("edit", [lambda m: m.rstrip("\n") + " \n", lambda m: " " + m,
                                  lambda m: m.rstrip("\n") + "X\n", lambda m: "X" + m])
def test_a_sealed_message_with_anything_added_at_either_end_is_not_sealed(edit) -> None:
    """A commit re-made with the bot's tree, parents and message plus a character is not the bot's."""
    sealed = seal(KEY, TREE, [PARENT], MESSAGE)
    assert not is_sealed(KEY, TREE, [PARENT], edit(sealed))
    assert is_sealed(KEY, TREE, [PARENT], sealed + "\n")  # a trailing newline is git's, not the message's


def test_a_seal_line_carrying_anything_more_than_the_seal_is_not_a_seal() -> None:
    sealed = seal(KEY, TREE, [PARENT], MESSAGE)
    line = next(t for t in sealed.splitlines() if t.startswith("Incident-Bot-Seal: "))
    for forged in (line + ": forged", line.replace("Seal: ", "Seal: forged: ")):
        assert not is_sealed(KEY, TREE, [PARENT], sealed.replace(line, forged))


def test_a_message_carrying_two_seals_or_an_unknown_version_is_not_sealed() -> None:
    sealed = seal(KEY, TREE, [PARENT], MESSAGE)
    line = next(t for t in sealed.splitlines() if t.startswith("Incident-Bot-Seal: "))
    assert not is_sealed(KEY, TREE, [PARENT], sealed + line + "\n")
    assert not is_sealed(KEY, TREE, [PARENT], sealed.replace(": v1=", ": v2="))
    assert not is_sealed(KEY, TREE, [PARENT], MESSAGE)
    # the seal is the trailer's value: spaces around it do not matter, a seal split over a line break does
    assert is_sealed(KEY, TREE, [PARENT], sealed.replace(line, line + "  "))
