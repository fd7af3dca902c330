"""Forges: where incident branches, pull requests, checks and reviews live (local git or GitHub)."""
