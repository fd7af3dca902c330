"""Cool-down and escalation end to end on a real temporary repository: a workload alerting again soon after its
remediation merged gets an incident whose readiness is at best SEMI-MANUAL, naming the remediation that did not
hold; the verdict is judged at the alert's time, so a replay reproduces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_helpers import ID, git, grafana_payload, make_repo, write_json

SECOND = "HM-2026-05-17-02"
MERGED_AT = "2026-05-17T08:30:00Z"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def remediate_first(cli, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_BOT_NOW", MERGED_AT)
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "first.json", grafana_payload()))
    assert run.out.strip() == f"OPENED incident={ID} pull=#1", run.err
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo).code == 0, argv


def alert_again(cli, repo: Path, monkeypatch: pytest.MonkeyPatch, starts_at: str) -> str:
    """Another pod of the same Deployment fires at `starts_at`; the bot runs an hour later still."""
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T12:00:00Z")
    payload = grafana_payload(pod="api-9xz")
    payload["alerts"][0]["startsAt"] = starts_at
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "again.json", payload))
    assert run.code == 0 and run.out.startswith(f"OPENED incident={SECOND}"), (run.out, run.err)
    return str(run.out)


def test_a_recurrence_inside_the_cool_down_is_semi_manual_naming_the_remediation(cli, repo: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch):
    remediate_first(cli, repo, monkeypatch)
    alert_again(cli, repo, monkeypatch, "2026-05-17T09:10:00Z")  # 40 min after the merge; cool-down 120 min
    run = cli("check", "readiness", SECOND, "--repo", repo)
    assert (run.code, run.out.strip()) == (3, f"SEMI-MANUAL incident={SECOND} score=25/25")
    assert (f"repeated failure: {ID} merged at {MERGED_AT} did not hold (Deployment appointments-api/api alerted "
            "again 40 min later, within the 120 min cool-down of high_memory_usage): a human decides") in run.err
    refused = cli("check", "dry-run", SECOND, "--repo", repo)
    assert refused.code == 1  # nothing automatic: the action waits for a person
    # a code owner decides: the explicit approval of the action turns the semi-manual gate into a success
    assert cli("approve", SECOND, "--repo", repo, "--reviewer", "@alice", "--action", "restart_pod").code == 0
    assert cli("check", "readiness", SECOND, "--repo", repo).code == 0
    assert cli("replay", SECOND, "--repo", repo).code == 0  # judged at the alert's time: reproduced


def test_a_recurrence_after_the_cool_down_is_automatic_again(cli, repo: Path, monkeypatch: pytest.MonkeyPatch):
    remediate_first(cli, repo, monkeypatch)
    alert_again(cli, repo, monkeypatch, "2026-05-17T10:31:00Z")  # 121 min after the merge
    run = cli("check", "readiness", SECOND, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS incident={SECOND} score=25/25"), run.err


@pytest.mark.parametrize(("text", "field"), [
    ("types:\n  high_memory_usage: {cooldown_minutes: soon, window_minutes: 60, max_automatic: 1}\n",
     "$.types.high_memory_usage.cooldown_minutes"),
    ("types:\n  low_memory: {cooldown_minutes: 1, window_minutes: 60, max_automatic: 1}\n", "$.types.low_memory"),
])
def test_an_unusable_limits_policy_names_the_file_and_the_field(cli, repo: Path, text: str, field: str):
    (repo / "policies/remediation.yaml").write_text(text)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", "limits")
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "a.json", grafana_payload()))
    assert run.code == 2 and run.err.startswith(f"incident-bot: policies/remediation.yaml: {field}: "), run.err
    assert git(repo, "branch", "--list", "incident/*") == ""
