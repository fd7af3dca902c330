"""The shared vocabulary: incident ids and the refs derived from them, verdicts, conclusions, radii,
audit steps, and the frozen value objects (event, plan, tasks) the flows pass around. Defined once here."""
