"""The backup evidence's age (bot/desired_state/workloads.py): recent enough, and never in the future."""

from __future__ import annotations

import pytest
from conftest import ROOT

from bot.desired_state.workloads import BACKUP_VERIFIED, find_workload, preconditions

DB = "deploy/appointments-db/statefulset.yaml"


@pytest.fixture
def files() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "deploy").rglob("*.yaml")}


def backup_at(files: dict[str, str], when: str, as_of: str, max_age: float = 24) -> bool:
    text = files[DB].replace("  name: db\n", f'  name: db\n  annotations:\n    {BACKUP_VERIFIED}: "{when}"\n', 1)
    files = {**files, DB: text}
    db = find_workload(files, "appointments-db", "db-0", None)
    return preconditions(files, db, as_of=as_of, max_age_hours=max_age)["backup_verified"]


def test_backup_a_few_hours_old_is_verified(files: dict[str, str]) -> None:
    assert backup_at(files, "2026-05-17T01:00:00Z", "2026-05-17T09:00:00Z") is True


def test_backup_exactly_at_the_limit_is_verified_one_second_later_is_not(files: dict[str, str]) -> None:
    assert backup_at(files, "2026-05-16T09:00:00Z", "2026-05-17T09:00:00Z") is True
    assert backup_at(files, "2026-05-16T08:59:59Z", "2026-05-17T09:00:00Z") is False


def test_backup_timestamp_in_the_future_is_not_evidence(files: dict[str, str]) -> None:
    assert backup_at(files, "2026-05-17T09:00:01Z", "2026-05-17T09:00:00Z") is False
    assert backup_at(files, "2026-05-17T09:00:00Z", "2026-05-17T09:00:00Z") is True
