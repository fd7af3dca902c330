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


def _rewrite_merge_time(repo: Path, at: str) -> None:
    """Someone with push access to audit/** (not the bot's key) moves the merge entry's time to `at`."""
    import json

    from test_seal import forge_commit

    path = f"incidents/{ID}/audit.jsonl"
    lines = [json.loads(line) for line in git(repo, "show", f"audit/{ID}:{path}").splitlines()]
    for entry in lines:
        if entry["step"] == "merge":
            entry["at"] = at
    forge_commit(repo, f"audit/{ID}", {path: "".join(json.dumps(e) + "\n" for e in lines)}, f"audit {ID}: fix")


def test_a_trace_edited_without_the_seal_does_not_lift_the_cool_down(cli, repo: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """The merge time that starts the cool-down comes from the first incident's trace: edited by someone without
    the bot's key (the merge moved to 05:00, so the recurrence would look 250 min later), it is not the bot's,
    and the recurrence is left to a human, naming the trace."""
    remediate_first(cli, repo, monkeypatch)
    _rewrite_merge_time(repo, "2026-05-17T05:00:00Z")
    alert_again(cli, repo, monkeypatch, "2026-05-17T09:10:00Z")
    run = cli("check", "readiness", SECOND, "--repo", repo)
    assert (run.code, run.out.strip()) == (3, f"SEMI-MANUAL incident={SECOND} score=25/25"), run.err
    assert f"the audit trace of {ID} (merged into main for Deployment appointments-api/api) is not the bot's" in run.err
    assert cli("check", "dry-run", SECOND, "--repo", repo).code == 1


def test_the_bot_never_appends_to_a_trace_it_did_not_seal(cli, repo: Path, monkeypatch: pytest.MonkeyPatch):
    remediate_first(cli, repo, monkeypatch)
    _rewrite_merge_time(repo, "2026-05-17T05:00:00Z")
    head = git(repo, "rev-parse", f"audit/{ID}").strip()
    run = cli("post-merge", "--repo", repo, "--commit", git(repo, "rev-parse", "main").strip())
    assert run.code == 1 and f"audit/{ID} ends in commit {head[:12]}, which incident-bot did not seal" in run.err
    assert git(repo, "rev-parse", f"audit/{ID}").strip() == head  # nothing sealed on top of it
