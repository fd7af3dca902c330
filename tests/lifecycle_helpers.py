"""A throwaway incident-bot repository on disk (real git), and a way to drive the CLI against it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from conftest import FIXTURES, ROOT

ID = "HM-2026-05-17-01"
BRANCH = f"incident/{ID}"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in ("policies", "specs", "deploy", ".github"):
        shutil.copytree(ROOT / name, path / name)
    shutil.copytree(FIXTURES, path / "fixtures", ignore=shutil.ignore_patterns("vendor", "readiness"))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qm", "initial desired state")
    return path


def human_commit(repo: Path, branch: str, files: dict[str, str | None], message: str = "manual edit") -> str:
    """A commit made by a person on `branch` (a worktree, so main's checkout is untouched)."""
    wt = repo.parent / f"wt-{abs(hash((str(repo), branch, message))) % 10**8}"
    git(repo, "worktree", "add", "-q", str(wt), branch)
    try:
        for rel, text in files.items():
            target = wt / rel
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        git(wt, "add", "-A")
        git(wt, "-c", "user.name=Mallory", "-c", "user.email=m@example.com", "commit", "-qm", message)
        return git(wt, "rev-parse", "HEAD").strip()
    finally:
        git(repo, "worktree", "remove", "--force", str(wt))


def traced_human_commit(repo: Path, files: dict[str, str | None]) -> str:
    """Mallory's commit on the incident branch, typed with the bot's trailers, plus the audit entry that would
    hide it (readiness then passes, losing only "change equals rendering"; the dry-run must block). Its sha."""
    from bot.flows import trace
    from bot.flows.workspace import Workspace
    from bot.forge.local import LocalForge

    sha = human_commit(repo, BRANCH, files, f"tidy\n\nIncident-Id: {ID}\nPhase: implement")
    trace.record(Workspace(LocalForge(repo)), ID, "spec_diff_created", "ok", {"commit": sha, "phase": "implement"})
    return sha


def smuggle_deletion(repo: Path) -> str:
    """A traced human commit deleting a manifest the plan does not touch (readiness passes at 24/25). Its sha."""
    return traced_human_commit(repo, {"deploy/appointments-db/namespace.yaml": None})


def merged_seed(cli: Any, repo: Path) -> str:
    """The seed incident opened, judged, approved, merged, and post-merge run: its trace ends with `sync pending`
    for the merge commit, which is returned."""
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0, run.err
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo).code == 0
    merge = git(repo, "rev-parse", "main").strip()
    assert cli("post-merge", "--repo", repo, "--commit", merge).code == 0
    return merge


def grafana_payload(**labels: str) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    payload["alerts"][0]["labels"].update(labels)
    payload["commonLabels"].update(labels)
    return payload


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


# ------------------------------------------------------------------ many alerts for one workload (issue 13)
# Built from the vendors' recorded payloads (fixtures/webhook_*.json, fixtures/vendor/alertmanager_v4.json):
# a vendor computes a fingerprint from the alert's labels, so one pod's alert keeps its fingerprint across
# deliveries (https://prometheus.io/docs/alerting/latest/notifications/ "Alert.Fingerprint").

def _fingerprint(salt: str, pod: str) -> str:
    import hashlib

    return hashlib.sha256(f"{salt}:{pod}".encode()).hexdigest()[:16]


def _labels(pod: str, namespace: str, service: str, alertname: str) -> dict[str, str]:
    return {"alertname": alertname, "namespace": namespace, "pod": pod, "service": service, "severity": "critical"}


def grafana_group(alerts: list[tuple[str, str]], *, namespace: str = "appointments-api",
                  service: str = "appointments-api", alertname: str = "HighMemoryUsage",
                  ended: str = "2026-05-17T09:05:00Z") -> dict[str, Any]:
    """A Grafana unified alerting group: one alert per (pod, firing|resolved)."""
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    template = payload["alerts"][0]
    payload["alerts"] = [
        {**template, "status": status, "labels": {**template["labels"], **_labels(pod, namespace, service, alertname)},
         "fingerprint": _fingerprint("grafana", pod), "endsAt": ended if status == "resolved" else template["endsAt"]}
        for pod, status in alerts]
    payload["status"] = "firing" if any(s == "firing" for _, s in alerts) else "resolved"
    payload["commonLabels"] = {"alertname": alertname, "namespace": namespace, "service": service}
    return payload


def alertmanager_group(alerts: list[tuple[str, str]], *, namespace: str = "appointments-api",
                       service: str = "appointments-api", alertname: str = "HighMemoryUsage",
                       ended: str = "2026-05-17T09:05:00Z") -> dict[str, Any]:
    """An Alertmanager webhook v4 group: one alert per (pod, firing|resolved)."""
    payload = json.loads((FIXTURES / "vendor" / "alertmanager_v4.json").read_text())
    template = payload["alerts"][0]
    payload["alerts"] = [
        {**template, "status": status, "labels": _labels(pod, namespace, service, alertname),
         "startsAt": "2026-05-17T08:12:29Z", "endsAt": ended if status == "resolved" else template["endsAt"],
         "fingerprint": _fingerprint("alertmanager", pod)}
        for pod, status in alerts]
    payload["status"] = "firing" if any(s == "firing" for _, s in alerts) else "resolved"
    payload["commonLabels"] = {"alertname": alertname, "namespace": namespace, "service": service}
    payload["groupKey"] = '{}:{alertname="' + alertname + '"}'
    return payload


def pagerduty_incident(pod: str, number: int, status: str = "triggered", *, service: str = "appointments-api",
                       namespace: str = "appointments-api") -> dict[str, Any]:
    """A PagerDuty v3 incident event whose dedup key is the derived key of the pod's alert (README)."""
    payload = json.loads((FIXTURES / "webhook_pagerduty.json").read_text())
    data = payload["event"]["data"]
    data.update(id=f"Q{number:013d}", number=number, status=status,
                incident_key=f"HighMemoryUsage/{service}/{namespace}/{pod}",
                title=f"[FIRING:1] HighMemoryUsage {service} {pod}")
    data["service"]["summary"] = service
    payload["event"].update(id=f"01EVENT{number:019d}", event_type=f"incident.{status}")
    return payload
