"""incident-bot: alerts in, reviewed and provable GitOps remediations out."""

__version__ = "0.1.0"
