"""Lifecycle on the local forge: open + check readiness + check dry-run + approve + merge per incident.

Every step is a real command, run in-process through `bot.cli.main` (so interpreter start-up, measured
by startup_bench, does not drown the figures) against a real git repository built like
tests/lifecycle_helpers.make_repo. Scenarios:

- `single`: one incident in a fresh repository (repeated; medians);
- `days`: N incidents in one repository, each on its own pod and its own day (the realistic history:
  `open` scans only same-day incident branches of the same type to deduplicate);
- `same_day`: N incidents in one repository, all on the same day (distinct pods): the worst case for
  that scan.

Per-incident cost must stay flat as the repository's history grows. The machine's load drifts during a
series (a minute or more), so the last 10 incidents are compared with "first 10" incidents run at the same
time: each of the last 10 is paired with the same-numbered incident of a second, young repository (its
first 10, same scenario), run just before it; the figure is the median of the paired ratios. The plain
first-10 median of the series itself is kept in the results as well.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("open", "check readiness", "check dry-run", "approve", "merge")
FLAT_TARGET = 1.25  # last-10 median per-incident cost at most 1.25x the first-10 median
WINDOW = 10


def make_repo(path: Path) -> Path:
    """A throwaway incident-bot repository (policies, specs, desired state, CODEOWNERS) with one commit."""
    path.mkdir(parents=True)
    for name in ("policies", "specs", "deploy", ".github"):
        shutil.copytree(ROOT / name, path / name)
    ident = ["-c", "user.name=SRE", "-c", "user.email=sre@example.com"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-qm", "initial desired state"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


def grafana_delivery(i: int, day: date) -> dict[str, Any]:
    """The seed's Grafana alert, moved to its own pod (of Deployment api), fingerprint and day."""
    payload: dict[str, Any] = json.loads((ROOT / "fixtures" / "webhook_grafana.json").read_text("utf-8"))
    alert = payload["alerts"][0]
    pod = f"api-{0x5c0000 + i:x}-{i:05d}"
    alert["labels"]["pod"] = pod
    payload["commonLabels"]["pod"] = pod
    alert["fingerprint"] = f"{0x6f2c1a9e4b7d0000 + i:016x}"
    alert["startsAt"] = f"{day.isoformat()}T08:12:30.157076+00:00"
    alert["valueString"] = alert["valueString"].replace("api-7b4", pod)
    return payload


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def one_incident(repo: Path, payload_file: Path) -> dict[str, float]:
    """The five commands for one new incident; raises if any of them does not succeed."""
    r = str(repo)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    code, out, err = _cli("open", "--repo", r, "--grafana", str(payload_file))
    timings["open"] = time.perf_counter() - started
    if code != 0 or not out.startswith("OPENED "):
        raise SystemExit(f"bench: open gave exit {code}: {out}{err}")
    incident_id = out.split("incident=", 1)[1].split()[0]
    for step, argv in (
        ("check readiness", ("check", "readiness", incident_id)),
        ("check dry-run", ("check", "dry-run", incident_id)),
        ("approve", ("approve", incident_id, "--reviewer", "@alice")),
        ("merge", ("merge", incident_id)),
    ):
        t = time.perf_counter()
        code, out, err = _cli(*argv, "--repo", r)
        timings[step] = time.perf_counter() - t
        if code != 0:
            raise SystemExit(f"bench: `{' '.join(argv)}` on {incident_id} gave exit {code}: {out}{err}")
    timings["total"] = time.perf_counter() - started
    return timings


def _series(workdir: Path, name: str, count: int, same_day: bool) -> dict[str, Any]:
    repo, young = make_repo(workdir / name), make_repo(workdir / f"{name}-young")
    first_day = date(2026, 1, 1)
    window = min(WINDOW, count // 2) or 1

    def incident(target: Path, i: int) -> dict[str, float]:
        day = first_day if same_day else first_day + timedelta(days=i)
        payload_file = workdir / f"{target.name}-{i}.json"
        payload_file.write_text(json.dumps(grafana_delivery(i, day)), "utf-8")
        return one_incident(target, payload_file)

    runs, young_runs = [], []
    for i in range(count):
        if i >= count - window:  # the young repository's k-th incident right before the k-th of the last ones
            young_runs.append(incident(young, i - (count - window)))
        runs.append(incident(repo, i))
    totals = [r["total"] for r in runs]
    last = runs[-window:]
    paired = [r["total"] / y["total"] for r, y in zip(last, young_runs, strict=True)]
    return {
        "incidents": count,
        "same_day": same_day,
        "window": window,
        "total_s": sum(totals),
        "per_incident_s": totals,
        "first_window_median_s": statistics.median(totals[:window]),
        "last_window_median_s": statistics.median(totals[-window:]),
        "young_window_median_s": statistics.median(y["total"] for y in young_runs),
        "growth_ratio": statistics.median(paired),
        "series_ratio": statistics.median(totals[-window:]) / statistics.median(totals[:window]),
        "open_growth_ratio": statistics.median(r["open"] / y["open"] for r, y in zip(last, young_runs, strict=True)),
        "steps_first_window_median_s": {s: statistics.median(r[s] for r in runs[:window]) for s in STEPS},
        "steps_last_window_median_s": {s: statistics.median(r[s] for r in last) for s in STEPS},
        "steps_young_window_median_s": {s: statistics.median(y[s] for y in young_runs) for s in STEPS},
    }


def _git_spawn_s(repo: Path, rounds: int = 15) -> float:
    """Median wall time of one `git rev-parse HEAD` in the repository: the unit cost of the local forge."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(incidents: int = 100, same_day_incidents: int = 100, single_repeats: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="incident-bot-bench-") as tmp:
        work = Path(tmp)
        singles = []
        spawn = []
        for k in range(single_repeats):
            repo = make_repo(work / f"single-{k}")
            payload_file = work / f"single-{k}.json"
            payload_file.write_text(json.dumps(grafana_delivery(0, date(2026, 5, 17))), "utf-8")
            singles.append(one_incident(repo, payload_file))
            spawn.append(_git_spawn_s(repo, 5))
        single = {
            "repeats": single_repeats,
            "total_s": statistics.median(r["total"] for r in singles),
            "steps_s": {s: statistics.median(r[s] for r in singles) for s in STEPS},
            "git_spawn_s": statistics.median(spawn),
        }
        return {
            "in_process": "commands run through bot.cli.main in this process (no interpreter start-up)",
            "single": single,
            "days": _series(work, "days", incidents, same_day=False),
            "same_day": _series(work, "same-day", same_day_incidents, same_day=True),
        }


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    single = results["single"]
    out: list[dict[str, Any]] = [{
        "id": "lifecycle.single",
        "section": "Lifecycle on the local forge (in-process)",
        "name": "one incident: open + check readiness + check dry-run + approve + merge",
        "value": single["total_s"] * 1000, "unit": "ms",
        "detail": ", ".join(f"{s} {v * 1000:.0f}" for s, v in single["steps_s"].items()),
        "baseline": single["git_spawn_s"] * 1000, "baseline_unit": "ms",
        "baseline_name": "one `git rev-parse HEAD` process",
        "ratio": single["total_s"] / single["git_spawn_s"], "target": None, "target_text": "(cost in git spawns)",
    }]
    for key, label in (("days", "distinct days"), ("same_day", "the same day")):
        s = results[key]
        w = s["window"]
        out.append({
            "id": f"lifecycle.{key}",
            "section": "Lifecycle on the local forge (in-process)",
            "name": f"{s['incidents']} incidents on {label}, one repository: per incident, last {w} vs first {w}",
            "value": s["last_window_median_s"] * 1000, "unit": "ms",
            "detail": f"all {s['incidents']} in {s['total_s']:.1f} s; this series' own first {w}: "
                      f"{s['first_window_median_s'] * 1000:.0f} ms, {s['series_ratio']:.2f}x",
            "baseline": s["young_window_median_s"] * 1000, "baseline_unit": "ms",
            "baseline_name": f"first {w} of a young repository, interleaved",
            "ratio": s["growth_ratio"], "target": FLAT_TARGET, "target_text": f"<= {FLAT_TARGET:g}x (flat)",
        })
    s = results["same_day"]
    w = s["window"]
    out.append({
        "id": "lifecycle.same_day.open",
        "section": "Lifecycle on the local forge (in-process)",
        "name": f"the `open` step alone, {s['incidents']} incidents on the same day: last {w} vs first {w} "
                "(it scans the day's incident branches to deduplicate)",
        "value": s["steps_last_window_median_s"]["open"] * 1000, "unit": "ms",
        "baseline": s["steps_young_window_median_s"]["open"] * 1000, "baseline_unit": "ms",
        "baseline_name": f"first {w} of a young repository, interleaved",
        "ratio": s["open_growth_ratio"], "target": None, "target_text": "grows with the day's incidents",
    })
    return out


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    result = measure(n, n, 2)
    for k in ("days", "same_day"):
        result[k].pop("per_incident_s")
    print(json.dumps(result, indent=2))
