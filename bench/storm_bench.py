"""An alert storm through `open` on the local forge: e.g. 1,000 Grafana deliveries for 50 pods of 5 Deployments.

Each delivery is the seed's Grafana alert for one pod (10 pods per Deployment, each Deployment its own
service), sent again and again in a shuffled order (seeded: every run sends the same sequence), as Grafana
re-notifies a firing group. Run in-process through `bot.cli.main` (as lifecycle_bench) on a real git repository
built like tests/lifecycle_helpers.make_repo, with four more Deployments next to the api's.

Reported: the incidents (branches) and pull requests the storm opened (one per workload is the goal: alerts of
one workload join its incident), every outcome line's count, the total time, and the median cost of a delivery
by what it did: one that opened a new incident against one that joined an open incident (its first delivery of
a pod the incident did not hold yet) and one that changed nothing (a repeat).

    python -m bench.storm_bench [--deliveries N] [--pods-per-workload N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lifecycle_bench import ROOT, _cli, make_repo

WORKLOADS = ("api", "worker-a", "worker-b", "worker-c", "worker-d")
MANIFEST = "deploy/appointments-api/deployment.yaml"
SECTION = "Alert storm through `open` (local forge, in-process)"


def _deployment(name: str) -> str:
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: appointments-api
  labels:
    app.kubernetes.io/name: appointments-{name}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: appointments-{name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: appointments-{name}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: {name}
          image: ghcr.io/example/appointments-{name}:1.4.2
          resources:
            limits:
              cpu: 500m
              memory: 512Mi
"""


def storm_repo(path: Path) -> Path:
    repo = make_repo(path)
    with (repo / MANIFEST).open("a", encoding="utf-8") as handle:
        for name in WORKLOADS[1:]:
            handle.write(_deployment(name))
    ident = ["-c", "user.name=SRE", "-c", "user.email=sre@example.com"]
    subprocess.run(["git", *ident, "commit", "-qam", "four more Deployments"], cwd=repo, check=True,
                   capture_output=True)
    return repo


def delivery(workload: str, pod: str, n: int) -> dict[str, Any]:
    """The seed's Grafana alert for `pod` of `workload` (its own service and fingerprint)."""
    payload: dict[str, Any] = json.loads((ROOT / "fixtures" / "webhook_grafana.json").read_text("utf-8"))
    alert = payload["alerts"][0]
    service = "appointments-api" if workload == "api" else f"appointments-{workload}"
    for labels in (alert["labels"], payload["commonLabels"]):
        labels.update(pod=pod, service=service)
    alert["fingerprint"] = f"{0x7e3d2b1a0c000000 + n:016x}"
    alert["valueString"] = alert["valueString"].replace("api-7b4", pod)
    return payload


def measure(deliveries: int = 1000, pods_per_workload: int = 10, seed: int = 13) -> dict[str, Any]:
    pods = [(w, f"{w}-{0x5c0 + k:x}{k:02d}") for w in WORKLOADS for k in range(pods_per_workload)]
    rng = random.Random(seed)
    order = [pods[i % len(pods)] for i in range(deliveries)]
    rng.shuffle(order)
    with tempfile.TemporaryDirectory(prefix="incident-bot-storm-") as tmp:
        work = Path(tmp)
        repo = storm_repo(work / "gitops")
        files = {}
        for n, (workload, pod) in enumerate(pods):
            files[pod] = work / f"{pod}.json"
            files[pod].write_text(json.dumps(delivery(workload, pod, n)), "utf-8")
        seen: set[str] = set()
        timings: dict[str, list[float]] = {}
        counts: dict[str, int] = {}
        lines = []
        started = time.perf_counter()
        for _workload, pod in order:
            t = time.perf_counter()
            code, out, err = _cli("open", "--repo", str(repo), "--grafana", str(files[pod]))
            elapsed = time.perf_counter() - t
            if code != 0:
                raise SystemExit(f"storm: open for {pod} gave exit {code}: {out}{err}")
            outcome = out.split(" ", 1)[0] if out else "NOTHING"
            kind = outcome if pod in seen or outcome != "UPDATED" else "JOINED"  # a new pod added to its incident
            if pod not in seen and outcome == "DUPLICATE":
                kind = "JOINED"  # never expected: a new pod's delivery always brings a new source
            seen.add(pod)
            timings.setdefault(kind, []).append(elapsed)
            counts[outcome] = counts.get(outcome, 0) + 1
            lines.append(out.strip())
        total = time.perf_counter() - started
        branches = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname)",
                                   "refs/heads/incident/"], capture_output=True, text=True, check=True).stdout.split()
        pulls = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname)", "refs/forge/pulls/"],
                               capture_output=True, text=True, check=True).stdout.split()
    return {
        "deliveries": deliveries, "workloads": len(WORKLOADS), "pods": len(pods), "seed": seed,
        "incidents": len(branches), "pull_requests": len(pulls), "outcomes": dict(sorted(counts.items())),
        "total_s": total,
        "median_s": {k: statistics.median(v) for k, v in sorted(timings.items())},
        "count_by_kind": {k: len(v) for k, v in sorted(timings.items())},
        "first_lines": lines[:3],
    }


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    r = results
    median = r["median_s"]
    opened = median.get("OPENED")
    out: list[dict[str, Any]] = [{
        "id": "storm.incidents",
        "section": SECTION,
        "name": f"{r['deliveries']:,} deliveries, {r['pods']} pods of {r['workloads']} Deployments: incidents opened",
        "value": r["incidents"], "unit": "incidents",
        "detail": f"{r['pull_requests']} pull requests; " + ", ".join(f"{k} {v}" for k, v in r["outcomes"].items()),
        "baseline": None, "target": r["workloads"], "target_on": "value",
        "target_text": f"<= {r['workloads']} (one per workload)",
    }, {
        "id": "storm.total",
        "section": SECTION,
        "name": "the whole storm through `open`, one delivery after the other",
        "value": r["total_s"], "unit": "s",
        "detail": f"{r['total_s'] / r['deliveries'] * 1000:.0f} ms per delivery",
        "baseline": None, "target": None, "target_text": "",
    }]
    for kind, label in (("JOINED", "a delivery joining an open incident (a pod it did not hold)"),
                        ("DUPLICATE", "a repeated delivery (nothing new)")):
        if kind in median and opened:
            out.append({
                "id": f"storm.{kind.lower()}",
                "section": SECTION,
                "name": label,
                "value": median[kind] * 1000, "unit": "ms", "detail": f"{r['count_by_kind'][kind]} deliveries",
                "baseline": opened * 1000, "baseline_unit": "ms",
                "baseline_name": f"a delivery opening a new incident ({r['count_by_kind']['OPENED']})",
                "ratio": median[kind] / opened, "target": None, "target_text": "",
            })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storm_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--pods-per-workload", type=int, default=10)
    args = parser.parse_args(argv)
    results = measure(args.deliveries, args.pods_per_workload)
    print(json.dumps(results, indent=2))
    from bench.run import line, status

    for figure in figures(results):
        figure["status"] = status(figure)
        print(line(figure))
    return 0


if __name__ == "__main__":
    sys.exit(main())
