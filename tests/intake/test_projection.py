"""Issue 16: a stored source is an allowlisted projection of the delivery (what normalization reads, per
source module), not the delivery with a denylist scrubbed off. Replay still reproduces the event from it,
and nothing else of the payload (webhook URLs, keys, tokens, phone numbers, people) reaches git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT
from lifecycle_helpers import ID, git, make_repo, write_json

from bot.config.policy import load_policy
from bot.errors import InputError
from bot.intake.normalize import normalize
from bot.intake.sources import SOURCES

REAL = sorted([*(FIXTURES / "vendor").glob("*.json"), FIXTURES / "webhook_grafana.json",
               FIXTURES / "webhook_pagerduty.json"])


def _source(path: Path) -> str:
    return next((s for s in SOURCES if s in path.name), "grafana" if "grafana" in path.name else "pagerduty")


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_the_projection_of_every_real_payload_normalizes_to_the_same_event(path: Path) -> None:
    types = load_policy(ROOT).incident_types
    source, data = _source(path), json.loads(path.read_text())
    try:
        expected = normalize({source: (data, path.name)}, types)
    except InputError:
        return  # a refused payload is never stored
    kept = SOURCES[source].kept(data)
    assert normalize({source: (kept, path.name)}, types) == expected
    assert SOURCES[source].kept(kept) == kept  # a stored source is its own projection (what the gate checks)
    assert len(json.dumps(kept)) <= len(json.dumps(data))


SECRETS = {
    "slack": "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "slack-token": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "phone": "+4915112345678",
    "name": "Jane Responder",
    "opsgenie-user": "8d43133c-a002-4e95-bf2b-2d6f95e47c96",
    "opsgenie-username": "oncall.jane@example.com",
}


def _hostile(source: str) -> dict[str, Any]:
    if source == "grafana":
        data = json.loads((FIXTURES / "webhook_grafana.json").read_text())
        alert = data["alerts"][0]
        alert["annotations"].update(notify=SECRETS["slack"], key=SECRETS["aws"], token=SECRETS["slack-token"],
                                    oncall=f"call {SECRETS['phone']}")
        alert["labels"]["team_contact"] = SECRETS["phone"]
        alert["labels"]["severity"] = f"critical {SECRETS['slack-token']}"
        data["commonAnnotations"]["notify"] = SECRETS["slack"]
        return data
    if source == "pagerduty":
        data = json.loads((FIXTURES / "webhook_pagerduty.json").read_text())
        data["event"]["data"]["acknowledged_by"] = {"name": SECRETS["name"], "phone": SECRETS["phone"]}
        data["event"]["data"]["title"] += f" ({SECRETS['aws']})"
        return data
    data = json.loads((FIXTURES / "vendor" / "opsgenie_create.json").read_text())
    data["alert"].update(userId=SECRETS["opsgenie-user"], username=SECRETS["opsgenie-username"],
                         recipients=[SECRETS["name"]], tags=["service:appointments-api", f"owner:{SECRETS['name']}"])
    return data


def _everything_in_git(repo: Path) -> str:
    objects = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").split()
    return subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], input=("\n".join(objects) + "\n").encode(),
                          capture_output=True, check=True).stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("source", ["grafana", "pagerduty", "opsgenie"])
def test_no_secret_or_person_of_a_payload_reaches_git(cli, tmp_path: Path, source: str) -> None:
    repo = make_repo(tmp_path / "gitops")
    run = cli("open", "--repo", repo, f"--{source}", write_json(tmp_path / f"{source}.json", _hostile(source)))
    assert run.code == 0, run.err
    stored = _everything_in_git(repo)
    for name, secret in SECRETS.items():
        assert secret not in stored, name
    if source == "grafana":  # the event and the replay still see the alert as sent
        assert cli("replay", ID, "--repo", repo).code == 0


def _pagerduty(**data: Any) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "webhook_pagerduty.json").read_text())
    payload["event"]["data"].update(data)
    return SOURCES["pagerduty"].kept(payload)["event"]["data"]


def test_a_field_kept_as_sent_is_dropped_when_it_arrives_as_an_object_or_a_list() -> None:
    """An identifier the vendor sends as an object (or a list) could carry anything: it is not stored."""
    person = {"name": SECRETS["name"], "phone": SECRETS["phone"]}
    kept = _pagerduty(incident_key=person, number=[person], urgency=None)
    assert "incident_key" not in kept and "number" not in kept
    assert kept["urgency"] is None  # an explicit null is the vendor's value: kept as sent
    assert SECRETS["phone"] not in json.dumps(kept)


def test_free_text_sent_as_a_number_is_kept_and_as_an_object_dropped() -> None:
    assert _pagerduty(title=1742)["title"] == 1742
    assert "title" not in _pagerduty(title={"text": SECRETS["name"]})
    assert "summary" not in _pagerduty(service={"summary": ["x"]})["service"]


def test_an_array_sent_as_another_shape_is_dropped() -> None:
    data = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    for shape in ("firing", {"status": "firing"}):
        assert "alerts" not in SOURCES["grafana"].kept({**data, "alerts": shape})
