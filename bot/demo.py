"""`make demo`: the seed's case study, end to end, on a throwaway copy of this repository.

Every step is a real `incident-bot` command against a real git repository (the local forge); the
story ends with a verified, replayable audit trace and the seed incident's evidence package, written to
capstone/HM-2026-05-17-01/ (git-ignored); nothing else outside a temporary directory is touched.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.cli import main
from bot.config.loader import load_json

ROOT = Path(__file__).resolve().parent.parent
ID = "HM-2026-05-17-01"
# The one thing the demo keeps: the seed incident's evidence package, where the chapter puts it (git-ignored).
PACKAGE = ROOT / "capstone" / ID
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def run(title: str, *argv: str, expect: int) -> str:
    print(f"\n{BOLD}## {title}{RESET}\n{DIM}$ incident-bot {' '.join(argv)}{RESET}")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    for line in out.getvalue().splitlines():
        print(f"  {line}")
    for line in err.getvalue().splitlines():
        print(f"  {DIM}stderr:{RESET} {line}")
    print(f"  {DIM}exit {code}{RESET}")
    if code != expect:
        raise SystemExit(f"demo: expected exit {expect} from `{' '.join(argv)}`, got {code}")
    return out.getvalue()


def make_repo(path: Path) -> None:
    for name in ("policies", "specs", "deploy", ".github"):
        shutil.copytree(ROOT / name, path / name)
    shutil.copytree(ROOT / "fixtures", path / "fixtures", ignore=shutil.ignore_patterns("vendor", "readiness"))
    env = ["-c", "user.name=SRE team", "-c", "user.email=sre@example.com"]
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], [*env, "commit", "-qm", "desired state"]):
        subprocess.run(["git", *cmd], cwd=path, check=True)


def story(repo: Path) -> None:
    r = str(repo)
    g, p = "fixtures/webhook_grafana.json", "fixtures/webhook_pagerduty.json"
    with contextlib.chdir(repo):
        run("1. Normalize Grafana + PagerDuty and compare with the reference (seed exercise 1)",
            "normalize", "--grafana", g, "--pagerduty", p, "--expected", "fixtures/incident_event.expected.json",
            "--out", "/dev/null", expect=0)
        run("2. The Grafana alert opens the incident: branch, one commit per SDD phase, pull request",
            "open", "--repo", r, "--grafana", g, expect=0)
        run("3. PagerDuty pages for the same incident: added to it, no second pull request",
            "open", "--repo", r, "--pagerduty", p, expect=0)
        run("4. Dry-run before the gate is an illegal step", "check", "dry-run", ID, "--repo", r, expect=1)
        run("5. Readiness gate: 25 points scored from the artifacts, posted as a check on the head commit",
            "check", "readiness", ID, "--repo", r, expect=0)
        run("6. Dry-run of the planned action on the same commit", "check", "dry-run", ID, "--repo", r, expect=0)
        run("7. Merge without a code owner's review is refused", "merge", ID, "--repo", r, expect=1)
        run("8. A code owner reviews and approves the head commit", "approve", ID, "--repo", r,
            "--reviewer", "@alice", expect=0)
        run("9. Merge: main holds the new desired state", "merge", ID, "--repo", r, expect=0)
        merge = subprocess.run(["git", "rev-parse", "main"], cwd=repo, check=True, capture_output=True,
                               text=True).stdout.strip()
        run("   post-merge (the push to main) records the merge and `sync pending`: nothing claims a sync yet",
            "post-merge", "--repo", r, "--commit", merge, expect=0)
        app = load_json(repo / "fixtures" / "argocd" / "application_synced.json")
        app["status"]["sync"].update(status="Synced", revision=merge)
        app["status"]["operationState"].update(phase="Succeeded",
                                               finishedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (repo / "argocd-app.json").write_text(json.dumps(app))
        run("   Argo CD reports the sync (`argocd app get appointments -o json`, or its notification): recorded",
            "sync", "confirm", "--repo", r, "--argocd", "argocd-app.json", expect=0)
        resolved = load_json(repo / g)
        resolved["status"] = "resolved"
        # it resolves after the merge (validation counts only for a resolution that follows the change)
        # and, as Grafana sends it, with the values of the evaluation that resolved it: below the threshold
        resolved["alerts"][0].update(status="resolved", endsAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                     values={"C": 0, "memory_percent": 71},
                                     valueString=resolved["alerts"][0]["valueString"].replace("value=1 ]", "value=0 ]")
                                     .replace("value=93 ]", "value=71 ]"))
        (repo / "resolved.json").write_text(json.dumps(resolved))
        run("10. The alert resolves: validation evidence closes the chain", "open", "--repo", r,
            "--grafana", "resolved.json", expect=0)
        blocked = load_json(repo / g)
        blocked["alerts"][0]["labels"].update(namespace="appointments-db", pod="db-0", service="appointments-db")
        blocked["alerts"][0]["startsAt"] = "2026-05-18T03:00:00Z"
        (repo / "db.json").write_text(json.dumps(blocked))
        run("11. A stateful pod without a verified backup: opened, but the gate blocks it whatever the total",
            "open", "--repo", r, "--grafana", "db.json", expect=0)
        run("    its readiness", "check", "readiness", "HM-2026-05-18-01", "--repo", r, expect=1)
        run("12. A forbidden action never passes a dry-run (seed exercise 3)", "dry-run", "--spec",
            "specs/high_memory_usage/specify.md", "--action", "delete_namespace", expect=1)
        run("13. The audit trace of the remediated incident, drawn as the seed's chain",
            "audit", ID, "--repo", r, "--mermaid", expect=0)
        run("    and of the blocked one: the arrow breaks at readiness", "audit", "HM-2026-05-18-01",
            "--repo", r, expect=0)
        run("14. Anyone can verify the hash chain ...", "audit", "verify", ID, "--repo", r, expect=0)
        run("15. ... and replay the event, readiness and dry-run from the record", "replay", ID, "--repo", r,
            expect=0)
        run(f"16. The evidence package for team review, kept in {PACKAGE.relative_to(ROOT)}/: readiness.md and "
            "validation.md, from the trace and the recorded artifacts only", "evidence", ID,
            "--repo", r, "--out", str(PACKAGE), expect=0)


def demo() -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="incident-bot-demo-") as tmp:
        repo = Path(tmp) / "gitops"
        repo.mkdir()
        make_repo(repo)
        print(f"{BOLD}incident-bot demo{RESET}: the seed's high_memory_usage case on a throwaway GitOps repository")
        print(f"{DIM}repository: {repo} (local forge: pull requests, reviews and checks live in git){RESET}")
        story(repo)
    print(f"\n{BOLD}Done in {time.perf_counter() - started:.1f}s{RESET}: the allowed action passed the gate, the "
          "dry-run and a human review; the blockers stopped the chain; the trace verifies and replays.")
    return 0


if __name__ == "__main__":
    sys.exit(demo())
