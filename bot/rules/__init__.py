"""Every pure decision: the lifecycle table, the readiness gate and its scoring, dry-run, spec, CODEOWNERS, audit."""
