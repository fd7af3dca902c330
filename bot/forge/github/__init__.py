"""The GitHub forge (PyGithub): `GitHubForge`, configured by `Settings` (see `settings_from_env`)."""

from bot.forge.github.api import Settings, settings_from_env
from bot.forge.github.forge import GitHubForge, fit_summary

__all__ = ["GitHubForge", "Settings", "fit_summary", "settings_from_env"]
