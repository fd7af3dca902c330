"""Command start-up: wall time of the `incident-bot` console script against `python -c pass`.

Both run with the venv's own interpreter, from the repository root, with bytecode caches warm (as after
`pip install`; the environment variable PYTHONDONTWRITEBYTECODE is dropped for the child processes and
every command runs a few times before it is timed). Rounds interleave the commands so that machine noise
hits all of them alike; the ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = 3.0  # at most 3x `python -c pass`


def console_script() -> Path:
    """The venv's `incident-bot` script, next to the running interpreter."""
    script = Path(sys.executable).parent / "incident-bot"
    if not script.is_file():
        raise SystemExit(f"bench: {script} not found; run `make bench` (it installs the package into .venv)")
    return script


def commands() -> dict[str, list[str]]:
    script = str(console_script())
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "incident-bot --help": [script, "--help"],
        "incident-bot readiness --readiness fixtures/readiness_pass.json": [
            script, "readiness", "--readiness", "fixtures/readiness_pass.json"],
    }


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")}
    env.pop("PYTHONPATH", None)
    return env


def _run(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(argv)}` exited {done.returncode}")
    return elapsed


def measure(rounds: int = 21, warmup: int = 3) -> dict[str, Any]:
    env = _env()
    cmds = commands()
    names = list(cmds)
    for _ in range(warmup):
        for name in names:
            _run(cmds[name], env)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]  # rotate so no command always goes first
        for name in order:
            times[name].append(_run(cmds[name], env))
    baseline = names[0]
    out: dict[str, Any] = {"rounds": rounds, "baseline": baseline, "commands": {}}
    for name in names:
        ratios = [t / b for t, b in zip(times[name], times[baseline], strict=True)]
        out["commands"][name] = {
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "ratio": statistics.median(ratios),
        }
    return out


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    base_name = results["baseline"]
    base = results["commands"][base_name]
    out = []
    for name, r in results["commands"].items():
        if name == base_name:
            continue
        out.append({
            "id": "startup." + ("help" if "--help" in name else "readiness"),
            "section": "Command start-up (wall time)",
            "name": name,
            "value": r["median_s"] * 1000, "unit": "ms",
            "baseline": base["median_s"] * 1000, "baseline_unit": "ms", "baseline_name": base_name,
            "ratio": r["ratio"], "target": TARGET, "target_text": f"<= {TARGET:g}x",
        })
    return out


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
