"""Caps end to end on a real temporary repository: beyond a service's maximum of open remediation pull requests, a
new incident is recorded (its audit trace, with the delivered sources) and ESCALATED instead of opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_helpers import ID, git, grafana_payload, make_repo, write_json
from test_refresh import MANIFEST, WORKER

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge

LIMITS = "services:\n  appointments-api: {max_open_pulls: 1}\n  default: {max_open_pulls: 5}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "gitops")
    with (path / MANIFEST).open("a") as handle:
        handle.write(WORKER)
    (path / "policies/remediation.yaml").write_text(LIMITS)
    git(path, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", "worker, caps")
    return path


def open_alert(cli, repo: Path, name: str, **labels: str) -> str:
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / f"{name}.json", grafana_payload(**labels)))
    assert run.code == 0, run.err
    return str(run.out.strip())


def test_beyond_the_services_cap_a_new_incident_is_recorded_and_escalated_not_opened(cli, repo: Path):
    assert open_alert(cli, repo, "api") == f"OPENED incident={ID} pull=#1"
    second = "HM-2026-05-17-02"
    line = open_alert(cli, repo, "worker", pod="worker-5c9")  # another workload of the same service
    assert line == (f"ESCALATED incident={second} (service appointments-api has 1 open remediation pull requests "
                    f"({ID}), at most 1 (policies/remediation.yaml): recorded, not opened; a human decides)")
    assert git(repo, "branch", "--list", "incident/*").split() == [f"incident/{ID}"]  # no branch, no pull request
    assert len(git(repo, "for-each-ref", "refs/forge/pulls/").splitlines()) == 1
    ws = Workspace(LocalForge(repo))
    [entry] = trace.entries(ws, second)
    assert (entry.step, entry.status) == ("escalate", "escalated")
    assert all(git(repo, "cat-file", "-e", f"audit/{second}:{f}") == "" for f in entry.evidence["files"])

    # the same alert again records nothing new; another service is under its own cap and opens
    assert open_alert(cli, repo, "worker", pod="worker-5c9").startswith(f"ESCALATED incident={second} ")
    assert len(trace.entries(ws, second)) == 1
    db = open_alert(cli, repo, "db", namespace="appointments-db", pod="db-0", service="appointments-db")
    assert db == "OPENED incident=HM-2026-05-17-03 pull=#2"  # the escalated record keeps its number
    assert cli("audit", "verify", second, "--repo", repo).code == 0
