"""The renderer registry: the one list of `renders:` names the action catalog may use."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SPEC

from bot.config.loader import SCHEMAS
from bot.desired_state.renderers import RENDERERS


def test_the_schema_enum_is_the_registry() -> None:
    schema = json.loads((SCHEMAS / "actions.schema.json").read_text("utf-8"))
    enum = schema["properties"]["actions"]["additionalProperties"]["properties"]["renders"]["enum"]
    assert enum == list(RENDERERS)


def test_an_unregistered_renderer_in_the_catalog_is_unusable_input(cli, repo_copy: Path) -> None:
    actions = repo_copy / "policies/actions.yaml"
    actions.write_text(actions.read_text("utf-8").replace("renders: replicas_plus_one", "renders: replicas_x2"))
    run = cli("spec", "lint", "--repo", repo_copy, SPEC)
    assert run.code == 2
    assert run.err.startswith("incident-bot: policies/actions.yaml: $.actions.scale_up_replicas_one.renders: ")
    assert "'replicas_x2' is not one of" in run.err and len(run.err.splitlines()) == 1
