"""The desired state under deploy/: objects, workloads, one renderer per action, YAML edits, validation."""
