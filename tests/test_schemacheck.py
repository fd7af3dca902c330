"""The fast schema checker agrees with jsonschema on every schema file we ship."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from bot.config.loader import SCHEMAS
from bot.config.schemacheck import is_valid, unsupported

NAMES = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
VALID = {
    "actions": yaml.safe_load((ROOT / "policies/actions.yaml").read_text()),
    "readiness_profiles": yaml.safe_load((ROOT / "policies/readiness.yaml").read_text()),
    "incident_types": yaml.safe_load((ROOT / "policies/incident_types.yaml").read_text()),
    "emergency_stop": yaml.safe_load((ROOT / "policies/emergency_stop.yaml").read_text()),
    "branch_protection": yaml.safe_load((ROOT / "policies/branch-protection.yaml").read_text()),
    "remediation_limits": yaml.safe_load((ROOT / "policies/remediation.yaml").read_text()),
    "readiness": json.loads((FIXTURES / "readiness_pass.json").read_text()),
    "incident_event": json.loads((FIXTURES / "incident_event.expected.json").read_text()),
    "context": {"stateless": True, "hpa_enabled": False},
    "audit_command": {"command": "incident-bot check readiness HM-2026-05-17-01", "head": "a" * 40, "base": None,
                      "exit_code": 1, "verdict": "BLOCK", "message": "score=22/25 below threshold 23"},
    "argocd_application": json.loads((FIXTURES / "argocd" / "application_synced.json").read_text()),
    "argocd_notification": {"application": "appointments", "namespace": "argocd", "revision": "a" * 40,
                            "sync_status": "Synced", "health_status": "Healthy", "operation_phase": "Succeeded",
                            "finished_at": "2026-05-17T08:42:58Z"},
    "spec_frontmatter": {"incident_type": "high_memory_usage", "max_blast_radius": "deployment",
                         "pre_approved_actions": [{"name": "restart_pod"}, {"name": "x", "requires": ["stateless"]}]},
}
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.floats(-1, 2, allow_nan=False),
                   st.sampled_from(["", "pod", "cluster", "HM-2026-05-17-01", "restart_pod", "x" * 3, "Bad Name"]))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["a", "spec", "name", "auto", "engaged", "type"]), inner, max_size=3), max_leaves=6)


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def test_every_schema_has_a_valid_example():
    assert sorted(VALID) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_schemas_use_only_supported_keywords_and_are_valid_2020_12(name: str):
    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    assert unsupported(schema) == []


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_fast_checker_agrees_with_jsonschema(data):
    name = data.draw(st.sampled_from(NAMES))
    doc = json.loads(json.dumps(VALID[name]))
    path = data.draw(st.sampled_from(list(_paths(doc))))
    if path:
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(VALUES)
    else:
        doc = data.draw(VALUES)
    schema = _schema(name)
    assert is_valid(doc, schema) == Draft202012Validator(schema).is_valid(doc)


@pytest.mark.parametrize("name", NAMES)
def test_valid_examples_pass_both(name: str):
    assert is_valid(VALID[name], _schema(name))
    assert Draft202012Validator(_schema(name)).is_valid(VALID[name])


def test_schema_files_listed_are_shipped():
    assert Path(SCHEMAS / "incident_event.schema.json").is_file()
