"""`incident-bot spool list|retry|drop` and the receiver's environment, through the real CLI."""

from __future__ import annotations

import pytest
from receiver_helpers import PD_BODY, Forge, pagerduty_body, pd_headers, receiver, until

from bot.errors import ForgeError, InputError
from bot.receiver.config import secrets_from_env, settings_from_env


def test_spool_list_retry_drop(tmp_path, cli):
    forge = Forge(fail=lambda: ForgeError("forge down"))
    with receiver(tmp_path, forward=forge, attempts=1) as rx:
        for n in range(2):
            body = pagerduty_body(n, pod=f"pod-{n}")
            rx.post("/webhook/pagerduty", body, pd_headers(body))
        rx.post("/webhook/pagerduty", b"nope", pd_headers(b"nope"))
        spool = str(rx.spool_path)
        assert until(lambda: cli("spool", "list", "--spool", spool, "--state", "dead").out.count(" dead ") == 2)
        listed = cli("spool", "list", "--spool", spool)
        assert listed.code == 0
        assert "ForgeError: forge down" in listed.out and "r1 rejected" in listed.out
        assert listed.out.splitlines()[-1] == "pending=0 forwarded=0 coalesced=0 dead=2 rejected=1"
        forge.fail = lambda: None
        retried = cli("spool", "retry", "--spool", spool, "1")
        assert (retried.code, retried.out.strip()) == (0, "RETRY delivery=1 (pending; the running receiver forwards it)")
        assert len(forge.wait_for(1)) == 1
        assert cli("spool", "drop", "--spool", spool, "2", "r1").code == 0
        assert until(lambda: cli("spool", "list", "--spool", spool).out.splitlines()[-1]
                     == "pending=0 forwarded=1 coalesced=0 dead=0 rejected=0")
        refused = cli("spool", "retry", "--spool", spool, "1")  # forwarded already: a rule refuses
        assert refused.code == 1 and "1: is forwarded, not dead" in refused.err
        assert cli("spool", "drop", "--spool", spool, "1").code == 1
        assert cli("spool", "retry", "--spool", spool, "r9").code == 1
    assert cli("spool", "retry", "--spool", spool, "x1").code == 2
    missing = cli("spool", "list", "--spool", str(tmp_path / "none.db"))
    assert missing.code == 2 and "no spool here" in missing.err
    assert forge.calls[0][1] == pagerduty_body(0, pod="pod-0")
    assert PD_BODY  # the fixture itself stays untouched


def test_secrets_from_env():
    secrets = secrets_from_env({"INCIDENT_BOT_PAGERDUTY_SECRET": "new-secret old-secret",
                                "INCIDENT_BOT_GRAFANA_SECRET": "  g-secret\n", "INCIDENT_BOT_ALERTMANAGER_TOKEN": ""})
    assert (secrets.pagerduty, secrets.grafana, secrets.alertmanager_tokens) == (("new-secret", "old-secret"),
                                                                                ("g-secret",), ())
    assert secrets.configured() == ("grafana", "pagerduty")
    other = secrets_from_env({"INCIDENT_BOT_GRAFANA_SIGNATURE_HEADER": "X-Sig",
                              "INCIDENT_BOT_GRAFANA_TIMESTAMP_HEADER": "", "INCIDENT_BOT_RELAY_SECRET": "relay"})
    assert (other.grafana_header, other.grafana_timestamp_header, other.relay) == ("X-Sig", None, ("relay",))


def test_settings_from_env():
    settings = settings_from_env({"INCIDENT_BOT_SPOOL": "/var/lib/incident-bot/spool.db",
                                  "INCIDENT_BOT_FORWARD": "dispatch", "GITHUB_REPOSITORY": "acme/gitops",
                                  "GITHUB_TOKEN": "ghs_x", "INCIDENT_BOT_FORWARD_ATTEMPTS": "5",
                                  "INCIDENT_BOT_BODY_DEADLINE": "2.5", "INCIDENT_BOT_HEADER_TIMEOUT": "3"})
    assert (str(settings.spool), settings.attempts, settings.body_deadline, settings.header_timeout) == (
        "/var/lib/incident-bot/spool.db", 5, 2.5, 3.0)
    assert settings.dispatch is not None and settings.dispatch.api_url == "https://api.github.com"
    assert "ghs_x" not in repr(settings)
    assert settings_from_env({}).forward == "open"


@pytest.mark.parametrize("env,named", [
    ({"INCIDENT_BOT_FORWARD": "carrier-pigeon"}, "INCIDENT_BOT_FORWARD"),
    ({"INCIDENT_BOT_FORWARD": "dispatch", "GITHUB_TOKEN": "t"}, "GITHUB_REPOSITORY"),
    ({"INCIDENT_BOT_FORWARD": "dispatch", "GITHUB_REPOSITORY": "a/b"}, "GITHUB_TOKEN"),
    ({"INCIDENT_BOT_FORWARD_ATTEMPTS": "many"}, "INCIDENT_BOT_FORWARD_ATTEMPTS"),
    ({"INCIDENT_BOT_MAX_BODY": "99999999"}, "INCIDENT_BOT_MAX_BODY"),
])
def test_bad_settings_name_the_variable(env, named):
    with pytest.raises(InputError) as caught:
        settings_from_env(env)
    assert caught.value.field == named


def test_serve_refuses_to_start_without_any_credential(tmp_path, cli, monkeypatch):
    for name in ("INCIDENT_BOT_PAGERDUTY_SECRET", "INCIDENT_BOT_GRAFANA_SECRET", "INCIDENT_BOT_ALERTMANAGER_TOKEN",
                 "INCIDENT_BOT_ALERTMANAGER_BASIC_AUTH", "INCIDENT_BOT_RELAY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INCIDENT_BOT_SPOOL", str(tmp_path / "spool.db"))
    result = cli("serve", "--repo", str(tmp_path), "--port", "0")
    assert result.code == 2 and "INCIDENT_BOT_PAGERDUTY_SECRET" in result.err
