"""Normalization throughput: `json.loads` + `normalize` of one Grafana delivery, against `json.loads` alone.

The measured path is what the CLI does per delivery minus file I/O. Groups of 1, 10 and 100 alerts are
built from fixtures/webhook_grafana.json, each alert with its own pod and fingerprint (so a group of n
alerts is n incidents, n events). The process is pinned to one CPU while it measures; the two sides
are timed in alternating samples and the ratio is the median of the per-sample ratios.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.config.policy import load_policy
from bot.intake.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 100)
TARGET = 5.0  # at most 5x the cost of json.loads alone


def grafana_group(n: int) -> dict[str, Any]:
    """One Grafana unified-alerting delivery of `n` firing alerts on distinct pods of the api Deployment."""
    base: dict[str, Any] = json.loads((ROOT / "fixtures" / "webhook_grafana.json").read_text("utf-8"))
    template = base["alerts"][0]
    alerts = []
    for i in range(n):
        alert = copy.deepcopy(template)
        pod = f"api-{0x7b4000 + i:x}-{i:05d}"
        alert["labels"]["pod"] = pod
        alert["fingerprint"] = f"{0x6f2c1a9e4b7d0000 + i:016x}"
        alert["valueString"] = alert["valueString"].replace("api-7b4", pod)
        alert["annotations"]["description"] = alert["annotations"]["description"].replace("api-7b4", pod)
        alerts.append(alert)
    base["alerts"] = alerts
    base["commonLabels"].pop("pod", None)
    base["title"] = f"[FIRING:{n}] HighMemoryUsage appointments"
    return base


@contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one CPU while measuring (Linux); yields a note saying what was done."""
    if not hasattr(os, "sched_getaffinity"):
        yield "not pinned (no sched_setaffinity)"
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield f"pinned to CPU {cpu}"
    finally:
        os.sched_setaffinity(0, before)


def _loops_for(func: Callable[[], object], seconds: float) -> int:
    """How many calls make one sample of about `seconds`."""
    loops = 1
    while True:
        started = time.perf_counter()
        for _ in range(loops):
            func()
        if time.perf_counter() - started >= seconds / 4:
            return max(1, int(loops * seconds / max(time.perf_counter() - started, 1e-9)))
        loops *= 2


def _sample(func: Callable[[], object], loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        func()
    return (time.perf_counter() - started) / loops


def measure(rounds: int = 15, sample_seconds: float = 0.04) -> dict[str, Any]:
    types = load_policy(ROOT).incident_types
    results: dict[str, Any] = {"sizes": {}, "rounds": rounds}
    with one_core() as pinning:
        results["cpu"] = pinning
        for n in SIZES:
            text = json.dumps(grafana_group(n))
            name = f"grafana-{n}.json"

            def baseline(text: str = text) -> object:
                return json.loads(text)

            def measured(text: str = text, name: str = name) -> object:
                return normalize({"grafana": (json.loads(text), name)}, types)

            events = len(normalize({"grafana": (json.loads(text), name)}, types))
            assert events == n, f"a group of {n} distinct pods gave {events} events"
            loops_b, loops_m = _loops_for(baseline, sample_seconds), _loops_for(measured, sample_seconds)
            base_t, meas_t, ratios = [], [], []
            for _ in range(rounds):
                b = _sample(baseline, loops_b)
                m = _sample(measured, loops_m)
                base_t.append(b)
                meas_t.append(m)
                ratios.append(m / b)
            t_base, t_meas = statistics.median(base_t), statistics.median(meas_t)
            results["sizes"][str(n)] = {
                "alerts": n,
                "events": events,
                "payload_bytes": len(text.encode("utf-8")),
                "json_loads_s": t_base,
                "loads_normalize_s": t_meas,
                "events_per_s": n / t_meas,
                "json_loads_alerts_per_s": n / t_base,
                "ratio": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
    return results


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for n, r in results["sizes"].items():
        out.append({
            "id": f"normalize.grafana_{n}",
            "section": "Normalization (one core)",
            "name": f"Grafana group of {n} alert{'s' if r['alerts'] > 1 else ''}: json.loads + normalize",
            "value": r["events_per_s"], "unit": "events/s",
            "detail": f"{r['loads_normalize_s'] * 1e6:,.0f} us per delivery",
            "baseline": r["json_loads_alerts_per_s"], "baseline_unit": "alerts/s",
            "baseline_name": f"json.loads only: {r['json_loads_s'] * 1e6:,.0f} us per delivery",
            "ratio": r["ratio"], "target": TARGET, "target_text": f"<= {TARGET:g}x",
        })
    return out


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
