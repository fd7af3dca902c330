"""`check other-pull`: the judge's answer on a pull request that is not an incident's or a rollback's. Branch
protection requires `readiness` and `dry-run` on every pull request into main (the judge posts them, so they
can be pinned to its App); on a person's change they are `neutral`, "not an incident pull request", which
GitHub counts as passing, and that change is held by code-owner review and CI (`make test`) instead.

Checks belong to a commit, not to a pull request: a `neutral` posted on a commit that is also an incident
branch's head would let that incident's pull request pass the gate unjudged. So it is refused there."""

from __future__ import annotations

from bot.errors import RuleRefusal
from bot.flows.workspace import Workspace
from bot.model.enums import Conclusion
from bot.model.ids import incident_branch, is_incident_id, rollback_branch

GATE_CHECKS = ("readiness", "dry-run")
TITLE = "not an incident pull request"


def judged_elsewhere(branch: str) -> bool:
    """incident/<id> and rollback/<id>: the gate judges these (`check readiness`, `check dry-run`)."""
    for prefix in ("incident/", "rollback/"):
        if branch.startswith(prefix) and is_incident_id(branch.removeprefix(prefix)):
            return True
    return False


def check_other_pull(ws: Workspace, branch: str, sha: str, *, same_repository: bool) -> str:
    """Post `readiness` and `dry-run` as neutral on `sha`, the head of a pull request from `branch`."""
    if same_repository and judged_elsewhere(branch):
        raise RuleRefusal(f"{branch} is an incident's branch: the gate judges it (check readiness, check dry-run)")
    for prefix in (incident_branch(""), rollback_branch("")):
        for name, head in sorted(ws.forge.branches(prefix).items()):
            if head == sha:
                raise RuleRefusal(f"{sha[:12]} is also the head of {name}: the gate judges that commit there; "
                                  "push a commit of its own to this pull request")
    summary = (f"`{branch}` is not an incident or rollback branch of this repository, so the readiness gate and "
               "the dry-run do not apply. A person's change is held by branch protection instead: a code owner's "
               "approving review (`.github/CODEOWNERS`) and the test suite (`make test`).")
    for name in GATE_CHECKS:
        ws.forge.record_check(sha, name, Conclusion.NEUTRAL, TITLE, summary)
    return f"NOT APPLICABLE branch={branch} head={sha[:12]}: readiness and dry-run posted neutral"
