"""The audit trace: one append-only, hash-chained causal chain per incident (pure).

Storage (a file `incidents/<id>/audit.jsonl` on branch `audit/<id>`) is the caller's business; this
module builds entries, verifies a chain, measures coverage and draws the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bot.config.loader import parse_json
from bot.errors import InputError
from bot.render.escape import mermaid_label

CHAIN = (
    "webhook_received", "incident_event_normalized", "specify", "spec_diff_created", "commit",
    "readiness", "dry_run", "review", "merge", "validate",
)
# Steps that must be traced before the gate can score the process (seed: coverage < 1.0 blocks).
BEFORE_READINESS = CHAIN[:5]
# Steps whose entries stand for a commit the bot wrote (its phase commits, a rollback branch's commit).
WRITES_COMMITS = frozenset({"webhook_received", "incident_event_normalized", "specify", "spec_diff_created",
                            "rollback"})
GENESIS = "0" * 64
STATUSES = ("ok", "blocked", "refused")
# Steps outside the causal chain: a rollback, the sync after a merge, a branch rebuilt on a new main; and
# what happens to one workload's many alerts instead of (or beside) a remediation (issue 13)
EXTRA_STEPS = ("rollback", "sync", "refresh", "escalate", "alert_resolved", "resolved_unremediated", "waiting",
               "lock_released")
# An entry outside the causal chain: one `incident-bot` command that touched the incident (issue 15).
COMMAND = "command"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    incident_id: str
    step: str
    status: str
    at: str
    evidence: dict[str, Any]
    prev: str
    hash: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "incident_id": self.incident_id, "step": self.step, "status": self.status,
            "at": self.at, "evidence": self.evidence, "prev": self.prev,
        }

    def computed_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.body(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def to_line(self) -> str:
        return json.dumps({**self.body(), "hash": self.hash}, sort_keys=True, separators=(",", ":"))


def append(entries: list[AuditEntry], incident_id: str, step: str, status: str, at: str,
           evidence: dict[str, Any]) -> AuditEntry:
    """The next entry of the chain (not yet stored)."""
    if step not in CHAIN and step not in (*EXTRA_STEPS, COMMAND):
        raise ValueError(f"unknown audit step {step!r}")
    prev = entries[-1].hash if entries else GENESIS
    seq = entries[-1].seq + 1 if entries else 1
    draft = AuditEntry(seq, incident_id, step, status, at, evidence, prev)
    return AuditEntry(seq, incident_id, step, status, at, evidence, prev, draft.computed_hash())


def parse(text: str, source: str) -> list[AuditEntry]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = parse_json(line, f"{source} line {number}")
            entries.append(AuditEntry(
                seq=data["seq"], incident_id=data["incident_id"], step=data["step"], status=data["status"],
                at=data["at"], evidence=data["evidence"], prev=data["prev"], hash=data["hash"],
            ))
        except (KeyError, TypeError) as exc:
            raise InputError(source, f"line {number}", f"not an audit entry ({exc.__class__.__name__})") from None
    return entries


def serialize(entries: list[AuditEntry]) -> str:
    return "".join(e.to_line() + "\n" for e in entries)


@dataclass(frozen=True)
class Verification:
    ok: bool
    problems: tuple[str, ...]
    head: str


def verify(entries: list[AuditEntry], anchors: list[str] | None = None, *, exists: bool = True,
           unsealed: list[str] | tuple[str, ...] = ()) -> Verification:
    """Check every hash and link; `anchors` are hashes recorded elsewhere (commit trailers) in order;
    `unsealed` are the audit commits the bot did not seal; a trace that does not exist verifies nothing."""
    if not exists:
        return Verification(False, ("no audit trace (audit branch missing or deleted)",), GENESIS)
    problems = [f"audit commit {sha[:12]} is not sealed by the bot (written by someone else)" for sha in unsealed]
    prev = GENESIS
    for index, entry in enumerate(entries):
        label = f"entry {entry.seq} ({entry.step})"
        if entry.seq != index + 1:
            problems.append(f"{label}: at position {index + 1}, expected seq {index + 1} (dropped or reordered)")
        if entry.computed_hash() != entry.hash:
            problems.append(f"{label}: content does not match its hash (edited)")
        if entry.prev != prev:
            problems.append(f"{label}: does not link to the entry before it (dropped, inserted or reordered)")
        prev = entry.hash
    if anchors is not None:
        hashes = [e.hash for e in entries]
        for number, anchor in enumerate(anchors, start=1):
            if anchor not in hashes:
                problems.append(f"entry {number}: recorded in the audit branch history but missing from the trace")
        if len(anchors) != len(entries):
            problems.append(f"trace holds {len(entries)} entries, the audit branch history {len(anchors)}")
    return Verification(not problems, tuple(problems), prev)


def coverage(entries: list[AuditEntry], branch_commits: list[str], required: tuple[str, ...] = BEFORE_READINESS
             ) -> tuple[float, list[str]]:
    """Share of required steps and of branch commits that the trace accounts for, with what is missing."""
    steps = {e.step for e in entries if e.status == "ok"}
    # only an entry of a step that wrote the commit accounts for it: a check's entry names the head it
    # judged, and must not "trace" a human commit there (else a re-run would score higher than the first)
    traced = {c for e in entries if e.step in WRITES_COMMITS and e.status == "ok" for c in _commits(e.evidence)}
    missing = [f"step {s}" for s in required if s not in steps]
    missing += [f"commit {c[:12]} has no audit entry" for c in branch_commits if c not in traced]
    total = len(required) + len(branch_commits)
    return (round((total - len(missing)) / total, 2) if total else 1.0), missing


def _commits(evidence: dict[str, Any]) -> list[str]:
    found = [evidence["commit"]] if isinstance(evidence.get("commit"), str) else []
    found += [c for c in evidence.get("commits", []) if isinstance(c, str)]
    return found


# ------------------------------------------------------------------ commands (issue 15)
# Which command ran, against what, and how it ended: the evidence package's validation.md lists these
# entries only, so a reviewer re-runs exactly what was run. The head is stored as `head`, never `commit`:
# a command entry must not make coverage count a commit as traced.

VALUE_FLAGS_DROPPED = ("--repo",)  # where it ran is the reader's checkout, not part of the command


def command_line(argv: list[str] | tuple[str, ...], scrub: Any) -> str:
    """The command as a reviewer re-runs it in the repository: `--repo DIR` dropped, every word scrubbed of
    secrets (`scrub`: bot.intake.redact.scrub_text), shell-quoted."""
    import shlex

    words: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in VALUE_FLAGS_DROPPED:
            skip = True
            continue
        if any(word.startswith(f"{flag}=") for flag in VALUE_FLAGS_DROPPED):
            continue
        words.append(scrub(word))
    return shlex.join(["incident-bot", *words])


def command_evidence(command: str, head: str | None, base: str | None, exit_code: int, verdict: str,
                     message: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"command": command, "head": head, "base": base, "exit_code": exit_code,
                           "verdict": verdict}
    if message:
        out["message"] = message
    return out


def command_status(exit_code: int, verdict: str) -> str:
    if exit_code == 0:
        return "ok"
    return "blocked" if verdict in ("BLOCK", "SEMI-MANUAL", "DIFFERS", "TAMPERED") else "refused"


# ------------------------------------------------------------------ drawing


@dataclass(frozen=True)
class ChainView:
    reached: tuple[str, ...]
    broken_at: str | None = None
    reason: str = ""
    statuses: dict[str, str] = field(default_factory=dict)


def view(entries: list[AuditEntry]) -> ChainView:
    """Where the chain stands: the steps reached, and the arrow a blocker broke (its latest result)."""
    latest: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.step in CHAIN and not entry.evidence.get("rollback"):
            latest[entry.step] = entry
    reached = []
    broken, reason = None, ""
    for index, step in enumerate(CHAIN):
        if step not in latest:
            # a later step that was refused broke the chain here (e.g. merge without a review)
            later = [latest[s] for s in CHAIN[index + 1:] if s in latest and latest[s].status != "ok"]
            if later:
                broken = step
                reasons = later[-1].evidence.get("reasons") or []
                reason = str(reasons[0]) if reasons else later[-1].status
            break
        entry = latest[step]
        if entry.status != "ok":
            broken = step
            reasons = entry.evidence.get("reasons") or []
            reason = str(reasons[0]) if reasons else entry.status
            break
        reached.append(step)
    # a dry-run's reasons carry their own "BLOCK: " (the check lists them so): the chain adds it once, not twice
    return ChainView(tuple(reached), broken, reason.removeprefix("BLOCK: "), {s: e.status for s, e in latest.items()})


def mermaid(chain: ChainView) -> str:
    """The chain as a Mermaid flowchart; a blocker is drawn as a broken arrow (`-.-x`) with its reason."""
    lines = ["flowchart LR"]
    for step in CHAIN:
        lines.append(f"  {step}([{step}])")
    for before, after in zip(CHAIN, CHAIN[1:], strict=False):
        if before in chain.reached and after in chain.reached:
            lines.append(f"  {before} --> {after}")
        elif before in chain.reached and after == chain.broken_at:
            label = mermaid_label(chain.reason)
            lines.append(f'  {before} -.-x|"BLOCK: {label}"| {after}')
        else:
            lines.append(f"  {before} -.- {after}")
    done = chain.reached
    if done:
        lines.append(f"  class {','.join(done)} done")
    if chain.broken_at:
        lines.append(f"  class {chain.broken_at} blocked")
    lines.append("  classDef done fill:#d4f7d4,stroke:#2b8a3e")
    lines.append("  classDef blocked fill:#ffd6d6,stroke:#c92a2a")
    return "\n".join(lines)


def text_chain(chain: ChainView) -> str:
    """One-line terminal rendering: `a -> b -> c -x d (reason)`."""
    parts = " -> ".join(chain.reached) or "(nothing yet)"
    if chain.broken_at:
        parts += f" -x {chain.broken_at} (BLOCK: {chain.reason})"
    return parts
