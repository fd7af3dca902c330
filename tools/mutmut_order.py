"""A pytest plugin for `make mutate`: under a mutant, run its own tests first, then the rest fastest first.

mutmut 3 passes a mutant's tests to pytest, which runs them in collection order, and stops at the first
failure (`-x`). A killed mutant costs the time until its first failing test: most tests that reach a mutated
line fail under it, so the fastest first kills soonest. The durations are mutmut's own, from the clean run
(mutants/mutmut-stats.json); without them (that clean run itself) the order is pytest's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def durations() -> dict[str, float]:
    try:
        stats = json.loads(Path("mutmut-stats.json").read_text())
    except (OSError, ValueError):
        return {}
    found = stats.get("duration_by_test") if isinstance(stats, dict) else None
    return {str(k): float(v) for k, v in found.items()} if isinstance(found, dict) else {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The flow's own test file first (INCIDENT_BOT_MUTATE_FIRST: its tests are written to kill its mutants),
    then every other test by duration."""
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return
    took = durations()
    first = os.environ.get("INCIDENT_BOT_MUTATE_FIRST") or None
    if took or first:
        items.sort(key=lambda item: (not (first and item.nodeid.startswith(first)),
                                     took.get(item.nodeid, float("inf"))))  # stable: ties keep pytest's order
