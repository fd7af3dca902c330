"""The forge registry: the name in INCIDENT_BOT_FORGE -> a factory that builds that forge from what the
CLI gathers (the repository path and the environment). Adding a forge is one factory and one entry here,
plus its fixture in the contract suite (`tests/forge/test_contract.py`), which every entry must pass.

Factories import their adapter when called, so a local run never loads PyGithub.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import InputError
from bot.forge.base import Forge

DEFAULT = "local"
VARIABLE = "INCIDENT_BOT_FORGE"


@dataclass(frozen=True)
class ForgeSettings:
    """What the CLI hands a factory: `repo` is --repo (or the working directory), `env` the environment."""

    repo: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # holds tokens: never printed


ForgeFactory = Callable[[ForgeSettings], Forge]


def _local(settings: ForgeSettings) -> Forge:
    from bot.forge.local import LocalForge

    return LocalForge(settings.repo)


def _github(settings: ForgeSettings) -> Forge:
    """GitHub, configured from the variables Actions provides (GITHUB_TOKEN, GITHUB_REPOSITORY,
    GITHUB_API_URL, GITHUB_SHA); reads of the default branch come from the checkout at `repo` when it
    holds the commit."""
    from bot.forge.github import GitHubForge, settings_from_env

    return GitHubForge(settings_from_env(settings.env), checkout=settings.repo)


FORGES: Mapping[str, ForgeFactory] = {
    "github": _github,
    "local": _local,
}


def make_forge(name: str, settings: ForgeSettings) -> Forge:
    """The forge registered as `name`; an unknown name is unusable input naming the known ones."""
    factory = FORGES.get(name)
    if factory is None:
        raise InputError("environment", VARIABLE, f"unknown forge {name!r} (known: {', '.join(sorted(FORGES))})")
    return factory(settings)


def forge_from_env(repo: Path, env: Mapping[str, str]) -> Forge:
    """The forge INCIDENT_BOT_FORGE names (default: local) on `repo`."""
    return make_forge(env.get(VARIABLE, DEFAULT), ForgeSettings(repo, env))
