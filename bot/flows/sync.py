"""`sync confirm`: what Argo CD reported about an Application's sync, recorded against every incident whose
trace waits for it (a `sync pending` entry of that Application whose merge the reported revision contains).
Only traces whose head the bot sealed are read: any other (an entry someone appended without the key) is
named, and nothing is written to it (its entries may be anyone's). The decision is bot/rules/sync.py's; this
is the only writer of `sync ok` and `sync failed`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.errors import InputError
from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.model.enums import AuditStep
from bot.model.ids import is_incident_id
from bot.rules import sync as rule
from bot.rules.audit import AuditEntry


@dataclass(frozen=True)
class Confirmation:
    observation: rule.Observation
    outcomes: list[rule.Outcome] = field(default_factory=list)
    problem: str = ""  # why nothing matched (empty when something did)
    unverified: list[str] = field(default_factory=list)  # incidents whose trace does not verify: not read

    def lines(self) -> list[str]:
        o = self.observation
        said = f"{o.sync_status}/{o.health_status}/{o.operation_phase or '-'} at {o.revision[:12]}"
        text = {rule.CONFIRMED: "sync ok recorded", rule.SYNC_FAILED: "sync failed recorded",
                rule.DUPLICATE: "already recorded, nothing written"}
        return [f"UNVERIFIED incident={i} (its audit trace does not verify: not read, nothing written; see "
                f"`incident-bot audit verify {i}`)" for i in self.unverified] + [
                f"{x.kind} incident={x.incident_id} revision={x.revision[:12]} app={o.application} "
                f"(Argo CD {said}: {text[x.kind]})" for x in self.outcomes]


def confirm(ws: Workspace, obs: rule.Observation) -> Confirmation:
    traces: dict[str, list[AuditEntry]] = {}
    unverified: list[str] = []
    for branch, head in sorted(ws.forge.branches("audit/").items()):
        incident_id = branch.split("/", 1)[1]
        if not is_incident_id(incident_id):
            continue
        # a head the bot sealed vouches for the whole trace beneath it (its seal covers its parents, and the bot
        # never appends to a head it did not seal): no walk of the history, which a fetched trace cannot answer
        if trace.head_sealed(ws, head):
            traces[incident_id] = trace.entries(ws, incident_id)
        else:
            unverified.append(incident_id)
    return replace(_settle(ws, obs, traces), unverified=unverified)


def _settle(ws: Workspace, obs: rule.Observation, traces: dict[str, list[AuditEntry]]) -> Confirmation:
    waiting = [p for incident_id, entries in traces.items() for p in rule.pending(incident_id, entries)]
    apps = sorted({p.application for p in waiting})
    if obs.application not in apps:
        waits = f" (incidents wait for: {', '.join(apps)})" if apps else " (no incident waits for a sync)"
        return Confirmation(obs, problem=f"no incident waits for a sync of Application {obs.application!r}{waits}:"
                                         " nothing recorded")
    status, why = obs.verdict()
    if status is None:
        return Confirmation(obs, problem=f"Application {obs.application!r} at {obs.revision[:12]}: {why}: nothing"
                                         " recorded")
    contained: dict[str, bool] = {obs.revision: True}  # the merge itself: no request
    known: list[bool] = []

    def contains(merge: str) -> bool:
        if merge not in contained:
            if not known:  # asked once: is the reported revision a commit here at all
                try:
                    ws.forge.get_commit(obs.revision)
                    known.append(True)
                except InputError:
                    known.append(False)
            contained[merge] = known[0] and ws.forge.is_ancestor(merge, obs.revision)
        return contained[merge]

    outcomes = rule.settle(obs, waiting, lambda i: traces[i], contains)
    if not outcomes:
        merges = sorted({p.revision[:12] for p in waiting if p.application == obs.application and not p.confirmed})
        where = "is not a commit of this repository" if known == [False] else "contains none of them"
        return Confirmation(obs, problem=f"Application {obs.application!r} at {obs.revision[:12]}: the pending "
                                         f"merges ({', '.join(merges) or 'none'}) are not in it: the revision {where}:"
                                         " nothing recorded")
    for x in outcomes:
        if x.entry is not None:
            trace.record(ws, x.incident_id, AuditStep.SYNC, rule.OK if x.kind == rule.CONFIRMED else rule.FAILED,
                         x.entry)
    return Confirmation(obs, outcomes)
