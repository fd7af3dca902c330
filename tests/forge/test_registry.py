"""The forge registry as the CLI uses it: INCIDENT_BOT_FORGE names a registered forge (default: local)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES

from bot.errors import InputError
from bot.forge.registry import FORGES, ForgeSettings, forge_from_env, make_forge


def test_the_default_forge_is_the_local_one(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    assert forge_from_env(tmp_path, {}).name == "local"
    assert forge_from_env(tmp_path, {"INCIDENT_BOT_FORGE": "local"}).name == "local"


def test_a_factory_gets_the_environment_it_is_handed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="GITHUB_TOKEN"):  # the GitHub factory reads only `env`
        make_forge("github", ForgeSettings(tmp_path, {"GITHUB_REPOSITORY": "acme/gitops"}))
    assert sorted(FORGES) == ["github", "local"]


def test_an_unknown_forge_is_one_line_naming_the_known_ones(cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    monkeypatch.setenv("INCIDENT_BOT_FORGE", "gitlab")
    result = cli("open", "--grafana", FIXTURES / "webhook_grafana.json", "--repo", tmp_path)
    assert result.code == 2 and result.out == ""
    assert result.err == "incident-bot: environment: INCIDENT_BOT_FORGE: unknown forge 'gitlab' (known: github, local)\n"
    refs = subprocess.run(["git", "-C", str(tmp_path), "for-each-ref"], capture_output=True, text=True, check=True)
    assert refs.stdout == ""  # nothing was written
