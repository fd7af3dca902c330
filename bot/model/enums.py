"""Verdicts, check conclusions, blast radii and audit steps as StrEnums: compared, stored and printed
as their plain string values, so files and messages are unchanged."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """The readiness gate's and the dry-run's answer."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    SEMI_MANUAL = "SEMI-MANUAL"
    BLOCK = "BLOCK"

    @property
    def exit_code(self) -> int:
        return {Verdict.PASS: 0, Verdict.SEMI_MANUAL: 3, Verdict.BLOCK: 1}[self]


class Conclusion(StrEnum):
    """A check's conclusion on a commit (GitHub's check-run conclusions that the bot posts)."""

    SUCCESS = "success"
    ACTION_REQUIRED = "action_required"
    FAILURE = "failure"
    NEUTRAL = "neutral"  # not applicable: the gate on a pull request that is not an incident's
    SKIPPED = "skipped"  # `make test` on an incident pull request whose dry-run proved it changes no code

    @classmethod
    def of(cls, verdict: Verdict) -> Conclusion:
        return {Verdict.PASS: cls.SUCCESS, Verdict.SEMI_MANUAL: cls.ACTION_REQUIRED,
                Verdict.BLOCK: cls.FAILURE}[verdict]


class Radius(StrEnum):
    """Blast radius, narrowest first: the order is the rank."""

    POD = "pod"
    DEPLOYMENT = "deployment"
    NAMESPACE = "namespace"
    CLUSTER = "cluster"

    @property
    def rank(self) -> int:
        return list(Radius).index(self)


RADII: tuple[str, ...] = tuple(r.value for r in Radius)


class AuditStep(StrEnum):
    """The causal chain of the seed chapter, in order, then the steps after a merge."""

    WEBHOOK_RECEIVED = "webhook_received"
    INCIDENT_EVENT_NORMALIZED = "incident_event_normalized"
    SPECIFY = "specify"
    SPEC_DIFF_CREATED = "spec_diff_created"
    COMMIT = "commit"
    READINESS = "readiness"
    DRY_RUN = "dry_run"
    REVIEW = "review"
    MERGE = "merge"
    VALIDATE = "validate"
    ROLLBACK = "rollback"
    SYNC = "sync"
    REFRESH = "refresh"
    ESCALATE = "escalate"  # a new incident recorded instead of opened: its service is at its cap of open pulls
    # one workload, many alerts (issue 13): outside the causal chain, each says what happened instead
    ALERT_RESOLVED = "alert_resolved"  # some of the incident's alerts resolved, others still fire
    RESOLVED_UNREMEDIATED = "resolved_unremediated"  # every alert resolved before a merge: closed, no change
    WAITING = "waiting"  # an alert of another type for this workload waits behind this incident's lock
    LOCK_RELEASED = "lock_released"  # the waiting alerts were opened once this incident let go of the workload
    COMMAND = "command"  # an incident-bot command that touched the incident (outside the causal chain)


class AuditStatus(StrEnum):
    OK = "ok"
    BLOCKED = "blocked"
    REFUSED = "refused"
