"""Opsgenie, the fourth alert source: one module (bot/intake/opsgenie.py) and its registry line.

Payloads are Opsgenie's own examples (fixtures/vendor/opsgenie_*.json, see SOURCES.md). Opsgenie signs
nothing; the Webhook integration "can add custom headers" (https://docs.opsgenie.com/v1.0/docs/webhook-integration),
so it is configured to send `Authorization: Bearer <token>`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config.loader import schema
from bot.intake.signatures import Secrets, SignatureError
from bot.intake.sources import SOURCES
from bot.intake.webhook import verify

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "fixtures" / "vendor"


def _tagged(tmp_path: Path) -> Path:
    data = json.loads((VENDOR / "opsgenie_create.json").read_text())
    data["alert"]["message"] = "High memory usage on api-7b4"
    data["alert"]["tags"] = ["service:appointments-api", "namespace:appointments-api", "pod:api-7b4"]
    data["alert"]["priority"] = "P1"
    path = tmp_path / "opsgenie.json"
    path.write_text(json.dumps(data))
    return path


def test_create_and_close_normalize_with_the_vendor_ids_kept(cli):
    run = cli("normalize", "--opsgenie", VENDOR / "opsgenie_create.json")
    assert run.code == 0, run.err
    event = json.loads(run.out)
    assert event["incident_key"] == "alert-alias" and event["status"] == "firing"
    assert event["started_at"] == "2017-08-14T11:25:56Z"
    assert event["source_refs"] == {"opsgenie": [{"alert_id": "ec03dad6-62c8-4c94-b38b-d88f398e900f",
                                                  "alias": "alert-alias", "status": "firing", "tiny_id": "2"}]}
    closed = json.loads(cli("normalize", "--opsgenie", VENDOR / "opsgenie_close.json").out)
    assert closed["status"] == "resolved" and closed["incident_key"] == "aliastest"


def test_tags_name_the_workload_and_the_title_the_incident_type(cli, tmp_path):
    event = json.loads(cli("normalize", "--opsgenie", _tagged(tmp_path)).out)
    assert (event["type"], event["service"], event["namespace"], event["pod"], event["severity"]) == (
        "high_memory_usage", "appointments-api", "appointments-api", "api-7b4", "critical")
    assert event["incident_id"] == "HM-2017-08-14-01"


@pytest.mark.parametrize(("change", "field"), [({"action": "Acknowledge"}, "$.action"),
                                               ({"alert": {"alertId": "x"}}, "$.alert.createdAt")])
def test_what_is_not_an_alert_opening_or_closing_is_unusable_input(cli, tmp_path, change, field):
    data = {**json.loads((VENDOR / "opsgenie_create.json").read_text()), **change}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    run = cli("normalize", "--opsgenie", path)
    assert run.code == 2 and field in run.err and len(run.err.splitlines()) == 1


def test_the_bearer_token_is_checked():
    secrets = SOURCES["opsgenie"].read_env({"INCIDENT_BOT_OPSGENIE_TOKEN": "s3cret"}, Secrets())
    assert SOURCES["opsgenie"].configured(secrets)
    verify("opsgenie", {"Authorization": "Bearer s3cret"}, b"{}", secrets, 0.0)
    for headers, problem in (({}, "missing"), ({"Authorization": "Bearer guess"}, "does not match"),
                             ({"Authorization": "Basic czNjcmV0"}, "Bearer scheme")):
        with pytest.raises(SignatureError, match=problem):
            verify("opsgenie", headers, b"{}", secrets, 0.0)
    with pytest.raises(SignatureError, match="no token configured"):
        verify("opsgenie", {"Authorization": "Bearer s3cret"}, b"{}", Secrets(), 0.0)


def test_every_registered_source_is_in_the_event_schema():
    """The event schema's source_refs list is the registry (a new source adds its ref shape there)."""
    assert set(schema("incident_event")["properties"]["source_refs"]["properties"]) == set(SOURCES)


@pytest.mark.parametrize("command", ["normalize", "open"])
def test_every_registered_source_is_a_cli_flag(command, capsys):
    from bot.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = capsys.readouterr().out
    for name in SOURCES:
        assert f"--{name}" in help_text
