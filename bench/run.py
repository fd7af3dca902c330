"""`make bench`: every figure next to its baseline from the same run, PASS/MISS against its target.

Writes bench/results/latest.json (python version, CPU count, date, every figure and the raw results);
`python -m bench.readme` renders the README's Performance table from it.

    python -m bench.run [--quick]    # --quick: fewer incidents and rounds, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LATEST = RESULTS / "latest.json"
GITHUB_RESULTS = RESULTS / "github_requests.json"
BUDGET_S = 300  # `make bench` must finish in under 5 minutes
T = TypeVar("T")


def status(figure: dict[str, Any]) -> str:
    """PASS/MISS against the target, which bounds the ratio (or, with `target_on: value`, the value); from
    above, from below with `target_at_least`, or exactly with `target_exact`."""
    target = figure.get("target")
    if target is None:
        return "INFO"
    measured = figure["value"] if figure.get("target_on") == "value" else figure["ratio"]
    if figure.get("target_exact"):
        return "PASS" if measured == target else "MISS"
    if figure.get("target_at_least"):
        return "PASS" if measured >= target else "MISS"
    return "PASS" if measured <= target else "MISS"


def _number(value: float) -> str:
    if value >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def line(figure: dict[str, Any]) -> str:
    value = f"{_number(figure['value'])} {figure['unit']}"
    detail = f" [{figure['detail']}]" if figure.get("detail") else ""
    target = f"(target {figure['target_text']})" if figure.get("target_text") else ""
    if figure.get("baseline") is None:
        return f"  {figure['status']:4s}  {figure['name']}: {value}{detail}  {target}".rstrip()
    base = f"{_number(figure['baseline'])} {figure['baseline_unit']}"
    return (f"  {figure['status']:4s}  {figure['name']}\n"
            f"        {value}{detail}  vs  {figure['baseline_name']}: {base}  ->  ratio {figure['ratio']:.2f}x "
            f"{target}").rstrip()


def _timed(title: str, func: Callable[[], T]) -> tuple[T, float]:
    print(f"\n== {title}", flush=True)
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    return result, elapsed


def github_requests() -> tuple[dict[str, Any] | None, list[dict[str, Any]], str]:
    """Run bench/github_requests.py (written separately) if present; its figures as data, or a note.

    It exits 1 when a request budget is missed or the server saw a request GitHub's description
    forbids; its figures are still reported (the budget misses show as MISS)."""
    if not (BENCH / "github_requests.py").is_file():
        return None, [], "skipped: bench/github_requests.py is not present"
    GITHUB_RESULTS.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "bench.github_requests"], cwd=ROOT, capture_output=True, text=True)
    if not GITHUB_RESULTS.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return None, [], f"failed: python -m bench.github_requests exited {done.returncode}: {' | '.join(tail)}"
    data: dict[str, Any] = json.loads(GITHUB_RESULTS.read_text("utf-8"))
    note = "ok"
    if done.returncode != 0:
        problems = [ln for ln in done.stderr.splitlines() if ln.startswith("MISS")]
        note = f"python -m bench.github_requests exited {done.returncode}: {'; '.join(problems) or 'see its output'}"
    return data, github_figures(data), note


def _operations(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """(operation, record) pairs from github_requests.json, whether it holds a list or a mapping."""
    ops = data.get("operations", data) if isinstance(data, dict) else data
    if isinstance(ops, dict):
        return [(str(k), v) for k, v in ops.items() if isinstance(v, dict)]
    if isinstance(ops, list):
        return [(str(v.get("operation") or v.get("name") or i), v) for i, v in enumerate(ops) if isinstance(v, dict)]
    return []


def _count(record: dict[str, Any], name: str) -> float | None:
    value = record.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def github_figures(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for op, record in _operations(data):
        requests = _count(record, "requests")
        if requests is None:
            continue
        naive = _count(record, "naive")
        budget = _count(record, "budget")
        out.append({
            "id": f"github.{op}",
            "section": "GitHub API requests per operation (local GitHub-speaking server, bench/github_requests.py)",
            "name": str(record.get("title") or op),
            "value": requests, "unit": "request" if requests == 1 else "requests",
            "baseline": naive, "baseline_unit": "requests",
            "baseline_name": "naive: one Contents API call per file written",
            "ratio": (requests / naive) if naive else None,
            "target": budget, "target_on": "value",
            "target_text": f"<= {budget:g} requests" if budget is not None else "",
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer incidents and rounds (smoke test)")
    args = parser.parse_args(argv)

    from bench import lifecycle_bench, normalize_bench, receiver_bench, startup_bench, storm_bench

    started = time.perf_counter()
    durations: dict[str, float] = {}
    print(f"incident-bot benchmarks: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.platform()}")

    normalize, durations["normalize"] = _timed(
        "normalization throughput (one core)", lambda: normalize_bench.measure(rounds=5 if args.quick else 15))
    startup, durations["startup"] = _timed(
        "command start-up (subprocess wall time)", lambda: startup_bench.measure(rounds=5 if args.quick else 21))
    count = 12 if args.quick else 100
    lifecycle, durations["lifecycle"] = _timed(
        "lifecycle on the local forge (in-process via bot.cli.main)",
        lambda: lifecycle_bench.measure(count, count, 2 if args.quick else 5))
    storm, durations["storm"] = _timed(
        "alert storm through open (bench/storm_bench.py)",
        lambda: storm_bench.measure(200 if args.quick else 1000, 2 if args.quick else 10))
    receiver, durations["receiver"] = _timed(
        "webhook receiver on loopback: load, bare baseline, kill -9 (bench/receiver_bench.py)",
        lambda: receiver_bench.measure(2000 if args.quick else 10_000))
    (github, github_figs, github_note), durations["github_requests"] = _timed(
        "GitHub API requests per operation (python -m bench.github_requests)", github_requests)
    if github_note != "ok":
        print(f"  note: GitHub request counts {github_note}")
    violations = (github or {}).get("violations") or []
    if violations:
        print(f"  note: the GitHub-speaking server saw {len(violations)} request(s) GitHub's description forbids")

    figures = [*normalize_bench.figures(normalize), *startup_bench.figures(startup),
               *lifecycle_bench.figures(lifecycle), *storm_bench.figures(storm), *receiver_bench.figures(receiver),
               *github_figs]
    for figure in figures:
        figure["status"] = status(figure)

    section = None
    print("\n== figures (median of repeated runs; each ratio is against its baseline measured in the same run)")
    for figure in figures:
        if figure["section"] != section:
            section = figure["section"]
            print(f"\n{section}")
        print(line(figure))
    elapsed = time.perf_counter() - started
    misses = [f for f in figures if f["status"] == "MISS"]
    print(f"\n{len(figures)} figures, {sum(f['status'] == 'PASS' for f in figures)} PASS, {len(misses)} MISS; "
          f"bench took {elapsed:.0f} s (budget {BUDGET_S} s: {'ok' if elapsed < BUDGET_S else 'OVER'})")

    RESULTS.mkdir(exist_ok=True)
    document = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "quick": args.quick,
            "elapsed_s": round(elapsed, 1),
            "durations_s": {k: round(v, 1) for k, v in durations.items()},
            "github_requests": github_note,
        },
        "figures": figures,
        "results": {"normalize": normalize, "startup": startup, "lifecycle": lifecycle, "storm": storm,
                    "receiver": receiver,
                    "github_requests": github},
    }
    LATEST.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {LATEST.relative_to(ROOT)}; `python -m bench.readme` updates README.md from it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
