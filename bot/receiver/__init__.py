"""The webhook receiver: verified, durable before acknowledged, forwarded by a worker (see README)."""
