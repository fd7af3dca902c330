"""One module per command: each reads through a forge, asks the rules, and records the result."""
