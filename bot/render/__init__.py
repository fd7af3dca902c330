"""Renderers of results: check-run Markdown, pull request bodies, the SDD artifacts."""
