"""One workload, many alerts (issue 13), end to end through the CLI on a real temporary repository:
alerts join the open incident of their workload whatever the pod or the source, a group carrying two
workloads opens two incidents, an alert of another type waits behind the lock, a resolution before the
merge closes the incident without remediation, and a recurrence after a closed incident is a new one."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from lifecycle_helpers import (
    BRANCH,
    ID,
    alertmanager_group,
    git,
    grafana_group,
    make_repo,
    pagerduty_incident,
    write_json,
)

PODS = [f"api-7b4c{n:02d}f-q{n}x" for n in range(20)]  # <deployment>-<replicaset hash>-<pod hash>


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def opens(cli, repo: Path, **deliveries: dict[str, Any]) -> list[str]:
    """`open` with one delivery per source; its output lines."""
    argv: list[Any] = ["open", "--repo", repo]
    for source, payload in deliveries.items():
        n = len(list(repo.parent.glob("delivery-*.json")))
        argv += [f"--{source}", write_json(repo.parent / f"delivery-{n}.json", payload)]
    run = cli(*argv)
    assert run.code == 0, run.err
    return run.out.splitlines()


def incident_branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "incident/*", "--format=%(refname:short)").split()


def pulls(repo: Path) -> list[dict[str, Any]]:
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split()
    return [json.loads(git(repo, "show", f"{ref}:pull.json")) for ref in refs]


def steps(repo: Path, incident_id: str = ID) -> list[str]:
    text = git(repo, "show", f"audit/{incident_id}:incidents/{incident_id}/audit.jsonl")
    # the causal chain and what happened instead; each command's own `command` entry is left out
    return [s for s in (json.loads(line)["step"] for line in text.splitlines()) if s != "command"]


def event(repo: Path, incident_id: str = ID, branch: str = BRANCH) -> dict[str, Any]:
    return json.loads(git(repo, "show", f"{branch}:incidents/{incident_id}/event.json"))


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def storm() -> list[tuple[str, dict[str, Any], list[str]]]:
    """50 alerts for the 20 pods of Deployment api: three Grafana and three Alertmanager groups (distinct pods
    within a group, as a vendor groups by labels) and four PagerDuty incidents, in a shuffled order;
    (source, payload, pods) per delivery."""
    rng = random.Random(13)
    pods = rng.sample(PODS, len(PODS))
    grafana = [pods[:9], pods[9:18], rng.sample(PODS, 8)]  # every pod but the last two, then repeats
    manager = [rng.sample(PODS, 7), rng.sample(PODS, 7), rng.sample(PODS, 6)]
    paged = [pods[18], pods[19], rng.choice(PODS), rng.choice(PODS)]
    out: list[tuple[str, dict[str, Any], list[str]]] = []
    out += [("grafana", grafana_group([(p, "firing") for p in chunk]), chunk) for chunk in grafana]
    out += [("alertmanager", alertmanager_group([(p, "firing") for p in chunk]), chunk) for chunk in manager]
    out += [("pagerduty", pagerduty_incident(pod, 2000 + n), [pod]) for n, pod in enumerate(paged)]
    rng.shuffle(out)
    return out


def test_fifty_alerts_for_twenty_pods_of_one_deployment_are_one_incident_that_merges(cli, repo: Path,
                                                                                     monkeypatch):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T08:40:00Z")
    deliveries = storm()
    sent_alerts = sum(len(p["alerts"]) if s != "pagerduty" else 1 for s, p, _ in deliveries)
    assert (sent_alerts, len(deliveries)) == (50, 10)
    lines = [line for source, payload, _ in deliveries for line in opens(cli, repo, **{source: payload})]
    assert lines[0] == f"OPENED incident={ID} pull=#1"
    assert set(lines[1:]) <= {f"UPDATED incident={ID} pull=#1", f"DUPLICATE incident={ID} pull=#1"}
    assert incident_branches(repo) == [BRANCH] and len(pulls(repo)) == 1

    got = event(repo)
    assert got["pods"] == sorted(PODS) and len(got["alert_keys"]) == 20
    # vendor identities exactly as sent: every fingerprint and PagerDuty incident of the 10 deliveries
    sent = {(s, a["fingerprint"]) for s, p, _ in deliveries if s != "pagerduty" for a in p["alerts"]}
    sent |= {(s, p["event"]["data"]["id"]) for s, p, _ in deliveries if s == "pagerduty"}
    kept = {(s, r.get("fingerprint") or r.get("incident_id")) for s, refs in got["source_refs"].items() for r in refs}
    assert kept == sent
    assert len(git(repo, "ls-tree", "--name-only", f"{BRANCH}:incidents/{ID}/sources/").split()) == 10
    # one pod-template annotation, one plan: the same remediation as for one alert
    assert git(repo, "diff", "--name-only", f"main...{BRANCH}", "--", "deploy").split() == [
        "deploy/appointments-api/deployment.yaml"]
    body = pulls(repo)[0]["body"]  # the pull request body was updated with every source
    assert all(f"`{s}` `{ident}`" in body for s, ident in sent)

    # a delivery seen before changes nothing
    head = git(repo, "rev-parse", BRANCH)
    source, payload, _ = deliveries[3]
    assert opens(cli, repo, **{source: payload}) == [f"DUPLICATE incident={ID} pull=#1"]
    assert git(repo, "rev-parse", BRANCH) == head

    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS incident={ID} score=25/25"), run.err
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@alice").code == 0
    assert cli("merge", ID, "--repo", repo).code == 0
    assert cli("replay", ID, "--repo", repo).code == 0


def test_a_group_of_two_workloads_opens_two_incidents(cli, repo: Path):
    """Today the second incident of a group was reported DUPLICATE and never opened."""
    group = grafana_group([(PODS[0], "firing")])
    group["alerts"] += grafana_group([("db-0", "firing")], namespace="appointments-db",
                                     service="appointments-db")["alerts"]
    assert opens(cli, repo, grafana=group) == [f"OPENED incident={ID} pull=#1",
                                               "OPENED incident=HM-2026-05-17-02 pull=#2"]
    assert incident_branches(repo) == [BRANCH, "incident/HM-2026-05-17-02"]
    assert event(repo)["pods"] == [PODS[0]]
    assert event(repo, "HM-2026-05-17-02", "incident/HM-2026-05-17-02")["pods"] == ["db-0"]
    plan = git(repo, "show", "incident/HM-2026-05-17-02:incidents/HM-2026-05-17-02/plan.md")
    assert "StatefulSet" in plan
    # the same group again: nothing new for either
    assert opens(cli, repo, grafana=group) == [f"DUPLICATE incident={ID} pull=#1",
                                               "DUPLICATE incident=HM-2026-05-17-02 pull=#2"]


def test_one_pod_resolving_while_another_fires_validates_nothing(cli, repo: Path):
    assert opens(cli, repo, grafana=grafana_group([(PODS[0], "firing"), (PODS[1], "firing")])) == [
        f"OPENED incident={ID} pull=#1"]
    lines = opens(cli, repo, alertmanager=alertmanager_group([(PODS[0], "firing"), (PODS[1], "resolved")]))
    assert lines == [f"UPDATED incident={ID} pull=#1"]
    assert "alert_resolved" in steps(repo)
    assert not {"validate", "resolved_unremediated"} & set(steps(repo))
    assert pulls(repo)[0]["state"] == "open"
    # the last firing pod resolves: every alert of the incident is resolved, before any merge
    lines = opens(cli, repo, grafana=grafana_group([(PODS[0], "resolved")]))
    assert lines == [f"RESOLVED-UNREMEDIATED incident={ID} pull=#1 (pull request closed: resolved before remediation)"]


def resolved_seed(cli, repo: Path, ended: str = "2026-05-17T08:30:00Z") -> list[str]:
    return opens(cli, repo, grafana=grafana_group([("api-7b4", "resolved")], ended=ended))


def test_resolution_before_merge_closes_the_pull_request_and_every_step_refuses(cli, repo: Path):
    assert opens(cli, repo, grafana=grafana_group([("api-7b4", "firing")]),
                 pagerduty=pagerduty_incident("api-7b4", 1742)) == [f"OPENED incident={ID} pull=#1"]
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    assert resolved_seed(cli, repo) == [
        f"RESOLVED-UNREMEDIATED incident={ID} pull=#1 (pull request closed: resolved before remediation)"]
    pull = pulls(repo)[0]
    assert pull["state"] == "closed" and "resolved before a remediation was merged" in pull["comments"][0]
    assert steps(repo)[-1] == "resolved_unremediated" and "validate" not in steps(repo)

    refused = "alerts resolved at 20"
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        run = cli(*argv, "--repo", repo)
        assert run.code == 1 and refused in run.err and "before any remediation was merged" in run.err, argv
    assert "restarted-by" not in git(repo, "show", "main:deploy/appointments-api/deployment.yaml")

    # the same resolution again, or from PagerDuty, changes nothing
    refs = git(repo, "for-each-ref")
    assert resolved_seed(cli, repo) == [f"DUPLICATE incident={ID} pull=#1"]
    assert opens(cli, repo, pagerduty=pagerduty_incident("api-7b4", 1742, "resolved")) == [
        f"DUPLICATE incident={ID} pull=#1"]
    assert git(repo, "for-each-ref") == refs

    # the pod alerts again the same day: a new incident with the next sequence number
    again = grafana_group([("api-7b4", "firing")])
    again["alerts"][0]["startsAt"] = "2026-05-17T11:00:00Z"
    assert opens(cli, repo, grafana=again) == ["OPENED incident=HM-2026-05-17-02 pull=#2"]


def test_repeated_resolution_after_the_merge_validates_once(cli, repo: Path):
    assert opens(cli, repo, grafana=grafana_group([("api-7b4", "firing")])) == [f"OPENED incident={ID} pull=#1"]
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo).code == 0
    merge = git(repo, "rev-parse", "main").strip()
    assert cli("post-merge", "--repo", repo, "--commit", merge).code == 0
    # resolved at the vendor before the merge reached main: not evidence that the change worked
    assert resolved_seed(cli, repo)[0].startswith(f"SKIPPED incident={ID} pull=#1 (resolved at 2026-05-17T08:30:00Z")
    ended = now()
    for _ in range(3):
        lines = resolved_seed(cli, repo, ended)
    assert lines == [f"DUPLICATE incident={ID} pull=#1"]
    assert steps(repo).count("validate") == 1 and steps(repo)[-1] == "validate"

    # a same-day recurrence after the merged and validated incident: a new incident, not the merged branch
    merged_head = git(repo, "rev-parse", BRANCH)
    again = grafana_group([(PODS[3], "firing")])
    again["alerts"][0]["startsAt"] = "2026-05-17T15:00:00Z"
    assert opens(cli, repo, grafana=again) == ["OPENED incident=HM-2026-05-17-02 pull=#2"]
    assert git(repo, "rev-parse", BRANCH) == merged_head


WAITS = (f"WAITING incident={ID} pull=#1 (high_cpu_usage alert for Deployment/appointments-api/api waits: "
         f"{ID} holds the lock on it)")


def second_type(repo: Path) -> None:
    """A second incident type on main (its own alert name and prefix, the same spec)."""
    types = repo / "policies" / "incident_types.yaml"
    types.write_text(types.read_text().replace("# Alerts that match no type", (
        "  high_cpu_usage:\n    prefix: HC\n    spec: specs/high_memory_usage/specify.md\n"
        "    alertnames: [HighCPUUsage]\n# Alerts that match no type")))
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "a second incident type")


def test_an_alert_of_another_type_waits_behind_the_lock_until_the_holder_closes(cli, repo: Path):
    second_type(repo)
    assert opens(cli, repo, grafana=grafana_group([(PODS[0], "firing")])) == [f"OPENED incident={ID} pull=#1"]
    cpu = grafana_group([(PODS[1], "firing")], alertname="HighCPUUsage")
    assert opens(cli, repo, grafana=cpu) == [WAITS]
    assert opens(cli, repo, grafana=cpu) == [WAITS]  # a redelivery records nothing new
    assert incident_branches(repo) == [BRANCH] and steps(repo).count("waiting") == 1

    # the holder's alert resolves before its merge: it closes, and the waiting alert is opened
    assert opens(cli, repo, grafana=grafana_group([(PODS[0], "resolved")])) == [
        f"RESOLVED-UNREMEDIATED incident={ID} pull=#1 (pull request closed: resolved before remediation)",
        "OPENED incident=HC-2026-05-17-01 pull=#2"]
    assert steps(repo)[-1] == "lock_released"
    assert event(repo, "HC-2026-05-17-01", "incident/HC-2026-05-17-01")["pods"] == [PODS[1]]


def test_the_lock_is_released_when_the_holder_merges(cli, repo: Path):
    """Atlantis unlocks when the pull request is merged (https://www.runatlantis.io/docs/locking): post-merge
    opens what waited, on the new main."""
    second_type(repo)
    assert opens(cli, repo, grafana=grafana_group([(PODS[0], "firing")])) == [f"OPENED incident={ID} pull=#1"]
    assert opens(cli, repo, grafana=grafana_group([(PODS[1], "firing")], alertname="HighCPUUsage")) == [WAITS]
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo).code == 0
    run = cli("post-merge", "--repo", repo, "--commit", git(repo, "rev-parse", "main").strip())
    assert run.code == 0 and run.out.splitlines()[-1] == "OPENED incident=HC-2026-05-17-01 pull=#2", run.out
    assert steps(repo)[-1] == "lock_released"
    # rendered on the new main: the merged remediation is its starting point
    assert git(repo, "merge-base", "main", "incident/HC-2026-05-17-01").strip() == git(repo, "rev-parse", "main").strip()
