"""Normalization of the seed fixtures and of real vendor payloads (fixtures/vendor, see SOURCES.md)."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, ROOT

from bot.config.loader import schema_errors

VENDOR = FIXTURES / "vendor"

# (file, flag) -> fields a human reads off the payload, per event.
READABLE = [
    ("grafana_unified_firing.json", "grafana", [
        {"alertname": "High memory usage", "type": "high_memory_usage", "status": "firing",
         "started_at": "2021-10-12T07:51:03Z", "fingerprints": ["c6eadffa33fcdf37"], "incident_id": "HM-2021-10-12-01"},
        {"alertname": "High CPU usage", "type": "unclassified", "status": "firing",
         "started_at": "2021-10-12T07:56:03Z", "fingerprints": ["bc97ff14869b13e3"], "incident_id": "UN-2021-10-12-01"},
    ]),
    ("grafana_unified_resolved.json", "grafana", [
        {"alertname": "Test alert", "status": "resolved", "fingerprints": ["d8a21484c9c25a60"],
         "metric_context": {"B0": 24}},
    ]),
    ("grafana_unified_values_v11.json", "grafana", [
        {"alertname": "Memory (copy)", "metric_context": {"A": 2473545728, "B": 0, "C": 1, "minute": 9},
         "fingerprints": ["e6349a25f5ef0e9e"]},
    ]),
    ("grafana_unified_v12_keep_test.json", "grafana", [
        {"alertname": "TestAlert", "metric_context": {"B": 22, "C": 1}, "started_at": "2026-05-05T13:04:57Z"},
    ]),
    ("alertmanager_v4.json", "alertmanager", [
        {"alertname": "High CPU Temperature", "severity": "critical",
         "fingerprints": ["a1bc48475b20e73d", "c2ea85182f28cbd9"]},
    ]),
    ("pagerduty_v3_incident_triggered.json", "pagerduty", [
        {"service": "pig208", "status": "firing", "pd": ("PFQZPSY", None), "severity": "critical"},
    ]),
    ("pagerduty_v3_incident_resolved.json", "pagerduty", [{"status": "resolved"}]),
    ("pagerduty_v3_incident_priority_updated.json", "pagerduty", [
        {"service": "API Service", "pd": ("PGR0VU2", "d3640fbd41094207a1c11e58e46b1662"),
         "incident_key": "d3640fbd41094207a1c11e58e46b1662", "started_at": "2020-04-09T15:16:27Z"},
    ]),
]

NOT_ALERTS = [
    ("grafana_legacy.json", "grafana", "$.alerts: legacy Grafana dashboard alert"),
    ("grafana_legacy_ok.json", "grafana", "$.alerts: legacy Grafana dashboard alert"),
    ("grafana_unified_alerting_lib_expected.json", "grafana", "$.alerts[0].startsAt: zero time"),
    ("pagerduty_v3_service_updated.json", "pagerduty", "$.event.resource_type: 'service' event is not an incident"),
    ("pagerduty_v2_legacy.json", "pagerduty", "$.event: PagerDuty V2 webhook (deprecated)"),
    ("pagerduty_v2_legacy_resolve.json", "pagerduty", "$.event: PagerDuty V2 webhook (deprecated)"),
    ("opsgenie_create.json", "grafana", "$.alerts: required field is missing"),
    ("opsgenie_close.json", "pagerduty", "$.event: required field is missing"),
    ("alertmanager_v4.json", "grafana", "$.version: webhook version '4' is not Grafana's"),
    ("grafana_unified_firing.json", "alertmanager", "$.version: Alertmanager webhook version '1'"),
]


def _events(out: str) -> list[dict]:
    data = json.loads(out)
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize(("name", "flag", "expected"), READABLE, ids=[f"{n}-{f}" for n, f, _ in READABLE])
def test_vendor_payload_gives_readable_event(cli, name, flag, expected):
    run = cli("normalize", "--repo", ROOT, f"--{flag}", VENDOR / name)
    assert run.code == 0, run.err
    events = _events(run.out)
    assert len(events) == len(expected)
    for event, want in zip(events, expected, strict=True):
        assert schema_errors(event, "incident_event") == []
        for key, value in want.items():
            if key == "fingerprints":
                assert [r["fingerprint"] for r in event["source_refs"][flag]] == value
            elif key == "pd":
                ref = event["source_refs"]["pagerduty"][0]
                assert (ref["incident_id"], ref["incident_key"]) == value
            else:
                assert event[key] == value, key


@pytest.mark.parametrize(("name", "flag", "message"), NOT_ALERTS, ids=[f"{n}-{f}" for n, f, _ in NOT_ALERTS])
def test_non_alert_payload_is_unusable_input(cli, tmp_path, name, flag, message):
    out = tmp_path / "event.json"
    run = cli("normalize", "--repo", ROOT, f"--{flag}", VENDOR / name, "--out", out)
    assert run.code == 2
    assert run.err.startswith(f"incident-bot: {VENDOR / name}: {message}")
    assert len(run.err.splitlines()) == 1
    assert not out.exists(), "nothing is written for unusable input"


def test_seed_event_from_either_source_alone_has_same_identity(cli):
    both = json.loads(cli("normalize", "--repo", ROOT, "--grafana", FIXTURES / "webhook_grafana.json",
                          "--pagerduty", FIXTURES / "webhook_pagerduty.json").out)
    grafana = json.loads(cli("normalize", "--repo", ROOT, "--grafana", FIXTURES / "webhook_grafana.json").out)
    pagerduty = json.loads(cli("normalize", "--repo", ROOT, "--pagerduty", FIXTURES / "webhook_pagerduty.json").out)
    assert grafana["incident_key"] == both["incident_key"] == pagerduty["incident_key"]
    assert grafana["incident_id"] == both["incident_id"] == "HM-2026-05-17-01"
    assert pagerduty["type"] == "high_memory_usage"  # classified from the PagerDuty title
    assert pagerduty["pod"] is None and both["pod"] == "api-7b4"


def test_output_is_byte_identical_and_order_independent(cli, tmp_path):
    args = ["normalize", "--repo", ROOT, "--grafana", FIXTURES / "webhook_grafana.json",
            "--pagerduty", FIXTURES / "webhook_pagerduty.json"]
    first = cli(*args).out
    assert cli(*args).out == first
    swapped = ["normalize", "--repo", ROOT, "--pagerduty", FIXTURES / "webhook_pagerduty.json",
               "--grafana", FIXTURES / "webhook_grafana.json"]
    assert cli(*swapped).out == first
    assert first == (FIXTURES / "incident_event.expected.json").read_text()


def test_personal_data_and_secrets_never_reach_the_event(cli):
    out = cli("normalize", "--repo", ROOT, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json").out
    raw = (FIXTURES / "webhook_pagerduty.json").read_text()
    for secret in ("Dana Whitfield", "dana.whitfield@acme-health.example", "415-555-0134", "s3cr3tToken", "PXAW3QH"):
        assert secret in raw  # the fixture really carries it
        assert secret not in out


def test_urls_lose_credentials_and_tokens(cli, tmp_path):
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    payload["alerts"][0]["generatorURL"] = "https://admin:hunter2@grafana.example.com/alerting/x/view?orgId=1&api_key=abc123"
    payload["alerts"][0]["labels"]["service"] = "appointments-api"
    path = tmp_path / "g.json"
    path.write_text(json.dumps(payload))
    event = json.loads(cli("normalize", "--repo", ROOT, "--grafana", path).out)
    url = event["source_refs"]["grafana"][0]["generator_url"]
    assert "hunter2" not in url and "admin" not in url and "abc123" not in url
    assert url.startswith("https://grafana.example.com/alerting/x/view?orgId=1&api_key=")


def test_sources_about_different_incidents_exit_1_naming_the_field(cli):
    run = cli("normalize", "--repo", ROOT, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", VENDOR / "pagerduty_v3_incident_triggered.json")
    assert run.code == 1
    assert "service differs (grafana: 'appointments-api', pagerduty: 'pig208')" in run.err


def test_metric_context_never_decides_identity(cli, tmp_path):
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    payload["alerts"][0]["values"]["memory_percent"] = 55
    payload["alerts"][0]["labels"]["window"] = "1h"
    path = tmp_path / "g.json"
    path.write_text(json.dumps(payload))
    run = cli("normalize", "--repo", ROOT, "--grafana", path, "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0
    event = json.loads(run.out)
    assert event["window_minutes"] == 60 and event["metric_context"]["memory_percent"] == 55


def test_group_with_two_incidents_gives_two_events_never_one_mixed(cli, tmp_path):
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    other = json.loads(json.dumps(payload["alerts"][0]))
    other["labels"]["pod"] = "api-9c2"
    other["fingerprint"] = "77aa00bb11cc22dd"
    other["startsAt"] = "2026-05-17T08:14:00Z"
    payload["alerts"].append(other)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(payload))
    events = _events(cli("normalize", "--repo", ROOT, "--grafana", path).out)
    assert [(e["incident_id"], e["pod"]) for e in events] == [("HM-2026-05-17-01", "api-7b4"),
                                                             ("HM-2026-05-17-02", "api-9c2")]
    assert [len(e["source_refs"]["grafana"]) for e in events] == [1, 1]
    # PagerDuty names the first one by its key: it joins that incident only
    run = cli("normalize", "--repo", ROOT, "--grafana", path, "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0, run.err
    merged = _events(run.out)
    assert ["pagerduty" in e["source_refs"] for e in merged] == [True, False]


def test_resolved_and_firing_of_one_incident_merge_as_firing(cli, tmp_path):
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    resolved = json.loads(json.dumps(payload["alerts"][0]))
    resolved.update(status="resolved", endsAt="2026-05-17T09:00:00Z", fingerprint="0123456789abcdef")
    payload["alerts"].append(resolved)
    path = tmp_path / "g.json"
    path.write_text(json.dumps(payload))
    event = json.loads(cli("normalize", "--repo", ROOT, "--grafana", path).out)
    assert event["status"] == "firing"
    assert sorted(r["status"] for r in event["source_refs"]["grafana"]) == ["firing", "resolved"]


@pytest.mark.parametrize("text", ["", "{", "[1, 2", "null", "42", "\"alerts\""])
def test_not_json_or_not_an_object(cli, tmp_path, text):
    path = tmp_path / "w.json"
    path.write_text(text)
    run = cli("normalize", "--repo", ROOT, "--grafana", path)
    assert run.code == 2
    assert run.err.startswith(f"incident-bot: {path}: ") and len(run.err.splitlines()) == 1


def test_missing_file(cli, tmp_path):
    run = cli("normalize", "--repo", ROOT, "--grafana", tmp_path / "nope.json")
    assert (run.code, run.err.strip()) == (2, f"incident-bot: {tmp_path / 'nope.json'}: file not found")
