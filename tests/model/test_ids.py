"""One incident-id pattern: the schemas carry the same one, and it is matched whole."""

from __future__ import annotations

from bot.config.loader import schema
from bot.model.ids import IN_TEXT, INCIDENT_ID_PATTERN, is_incident_id


def test_the_schemas_carry_the_one_pattern():
    for name in ("incident_event", "readiness"):
        assert schema(name)["properties"]["incident_id"]["pattern"] == f"^{INCIDENT_ID_PATTERN}$"


def test_an_id_is_matched_whole():
    assert is_incident_id("HM-2026-05-17-01")
    for bad in ("HM-2026-05-17-01\n", "HM-1-01-01T00-01", " HM-2026-05-17-01", "hm-2026-05-17-01", None, 7):
        assert not is_incident_id(bad)


def test_ids_are_found_in_a_merge_message():
    message = "Merge pull request #3 from acme/incident/HM-2026-05-17-01\n\nIncident-Id: HM-2026-05-17-02\n"
    assert IN_TEXT.findall(message) == ["HM-2026-05-17-01", "HM-2026-05-17-02"]
