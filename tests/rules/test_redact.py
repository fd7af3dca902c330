"""Every GitHub token shape is scrubbed from stored free text, not only classic `ghp_` tokens."""

from __future__ import annotations

import pytest

from bot.intake.redact import REDACTED, scrub_text

BODY = "A" * 36


@pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_11AB_"])
def test_github_tokens_are_redacted(prefix: str) -> None:
    token = prefix + BODY
    assert scrub_text(f"leaked {token} in a log") == f"leaked {REDACTED} in a log"


def test_a_url_keeps_what_an_operator_needs_and_loses_its_credentials() -> None:
    from bot.intake.redact import clean_url

    url = "https://user:pw@grafana.example.com:3000/d/x?orgId=1&token=abc&empty=&q=a/b:c,d#frag"
    assert clean_url(url) == "https://grafana.example.com:3000/d/x?orgId=1&token=%5Bredacted%5D&empty=&q=a/b:c,d#frag"
    assert clean_url("file:///etc/x") == "file:///etc/x"  # no host: none is invented
    # a Slack incoming webhook's path is its secret: only the host stays
    assert clean_url("https://hooks.slack.com/services/T0/B0/secret?x=1#f") == "https://hooks.slack.com/[redacted]"
    with pytest.raises(ValueError):
        clean_url("https://grafana.example.com:99999/")


def test_free_text_keeps_its_words_and_loses_urls_secrets_and_bearer_tokens() -> None:
    assert scrub_text("see https://a.example.com/x?api_key=1 now") == "see https://a.example.com/x?api_key=%5Bredacted%5D now"
    assert scrub_text("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer [redacted]"
    assert scrub_text("go to https://x.example.com:99999/y") == f"go to {REDACTED}"  # not a URL: nothing kept
    assert scrub_text("key AKIAIOSFODNN7EXAMPLE, bot xoxb-1234567890-abcdef, call +4915112345678") == (
        f"key {REDACTED}, bot {REDACTED}, call {REDACTED}")


def test_a_plain_query_is_kept_as_sent_and_any_other_is_rebuilt_encoded() -> None:
    from bot.intake.redact import clean_url

    # the operator's link opens exactly as Grafana wrote it
    assert clean_url("https://g.example.com/alerting/x/view?orgId=1&from=now-1h;a=b") == \
        "https://g.example.com/alerting/x/view?orgId=1&from=now-1h;a=b"
    # a space or a quote is not left raw where the link is shown (a pull request body, a terminal)
    assert clean_url("https://g.example.com/v?q=a b&x=\"<y>\"") == "https://g.example.com/v?q=a+b&x=%22%3Cy%3E%22"
    assert clean_url("https://g.example.com/v?orgId=1&sig=abc") == "https://g.example.com/v?orgId=1&sig=%5Bredacted%5D"
