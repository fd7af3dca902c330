"""Configuration at the edge: the one validating loader, the JSON Schemas, the policies read from main."""
