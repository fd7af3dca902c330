"""Every GitHub token shape is redacted from stored payloads, not only classic `ghp_` tokens."""

from __future__ import annotations

import pytest

from bot.intake.redact import REDACTED, redact

BODY = "A" * 36


@pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_11AB_"])
def test_github_tokens_are_redacted(prefix: str) -> None:
    token = prefix + BODY
    assert redact({"summary": f"leaked {token} in a log"}) == {"summary": f"leaked {REDACTED} in a log"}


def test_credential_keys_are_dropped_but_empty_ones_kept() -> None:
    assert redact({"Token": "abc", "assignees": [], "note": "fine"}) == {
        "Token": REDACTED, "assignees": [], "note": "fine"}
