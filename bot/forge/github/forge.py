"""The GitHub forge: the verbs of `bot.forge.base.Forge` on a GitHub repository (PyGithub), so the
lifecycle that runs on the local forge runs on GitHub unchanged.

Where each request goes (reads of commits and files: see `reads.py`):
- branches: GET /git/matching-refs/heads/<prefix> (one request, paginated); head: GET /git/ref/heads/<b>,
  except the default branch, which is GITHUB_SHA when the run was triggered on it (no request);
- commit_chain: per phase POST /git/trees (base_tree + inline contents) and POST /git/commits, then ONE
  ref write (POST /git/refs, or PATCH /git/refs/heads/<b> with force=false): the ref is the lock, so
  a racer's write fails with 422 and becomes RefConflict; orphaned trees and commits are harmless;
- pull requests: GET /pulls?head=owner:branch&state=all, POST /pulls, POST /issues/{n}/labels,
  POST /pulls/{n}/requested_reviewers, PATCH /pulls/{n} (body; state=closed with a comment first),
  PUT /pulls/{n}/merge;
- checks: one POST /check-runs per result; GET /commits/{sha}/check-runs; reviews: GET/POST /pulls/{n}/reviews.
"""

from __future__ import annotations

import dataclasses
import os
import re
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.errors import ForgeError, InputError, RuleRefusal
from bot.forge.base import (
    BRIDGE_PHASE,
    CONCLUSIONS,
    Check,
    Commit,
    Forge,
    PullRequest,
    RefCollision,
    RefConflict,
    Review,
    Sealer,
    blocking_ref,
)
from bot.forge.github import protection
from bot.forge.github.api import Api, MissingPermission, Settings, installation_token
from bot.forge.github.errors import AlreadyExists, ApiError, BranchNotProtected, MethodNotAllowed, OwnPullRequest
from bot.forge.github.reads import Reads
from bot.render.report import fit_summary

DEFAULT_IDENTITY = "incident-bot[bot]"
# GitHub's 405 for a merge method the repository forbids ("Squash merges are not allowed on this repository.")
_NOT_ALLOWED = re.compile(r"not allowed on this repository", re.IGNORECASE)
_APPROVES = re.compile(r"^Approves-Action:\s*(\S+)\s*$", re.MULTILINE)


class GitHubForge:
    name = "github"

    def __init__(self, settings: Settings, checkout: Path | None = None) -> None:
        self.settings = settings
        self.default_branch = settings.default_branch
        self.api = Api(settings)
        self.reads = Reads(self.api, checkout, settings.default_branch, settings.main_sha, settings.fetched)
        self._identity = settings.identity
        self._login: str | None = None
        self._login_known = installation_token(settings.token)  # GET /user answers 403 to those: skip it
        self._pull_urls: dict[str, str] = {}  # head sha -> pull request URL (details_url of action_required)
        # branch -> its pull request, looked up once per process like a ref (see Reads.ref); the bot's own
        # writes to a pull request forget it, and a merge or close is always decided on GitHub's side
        self._pulls: dict[str, PullRequest | None] = {}
        self._finalizer = weakref.finalize(self, _close, self.api, self.reads)

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> GitHubForge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ identity

    @property
    def bot_identity(self) -> str:
        """The bot's login: configured (INCIDENT_BOT_IDENTITY), else the token's account, else the
        App default (installation tokens cannot read GET /user). Resolved once, only when needed."""
        if self._identity is None:
            self._identity = self.token_login() or DEFAULT_IDENTITY
        return self._identity

    @bot_identity.setter
    def bot_identity(self, value: str) -> None:
        self._identity = value

    def token_login(self) -> str | None:
        """The account the token authenticates as (GET /user, once); None when GitHub will not say."""
        if not self._login_known:
            self._login_known = True
            try:
                self._login = str(self.api.call("GET", "/user", "identify the token", in_repo=False)["login"])
            except (ApiError, MissingPermission):
                self._login = None
        return self._login

    # ------------------------------------------------------------------ refs and reads

    def head(self, branch: str) -> str | None:
        return self.reads.resolve(branch)

    def branches(self, prefix: str) -> dict[str, str]:
        refs = self.api.pages(f"/git/matching-refs/heads/{_quote(prefix)}", f"list branches {prefix}*",
                              per_page=False)
        found = {r["ref"].removeprefix("refs/heads/"): r["object"]["sha"] for r in refs}
        return {name: sha for name, sha in found.items() if name.startswith(prefix)}

    def read(self, ref: str, path: str) -> str | None:
        return self.reads.read(ref, path)

    def tree(self, ref: str, prefix: str) -> dict[str, str]:
        return self.reads.tree(ref, prefix)

    def changed_paths(self, base: str, head: str) -> dict[str, str]:
        return self.reads.changed_paths(base, head)

    def seal_key(self) -> bytes:
        """INCIDENT_BOT_SEAL_KEY (a repository secret): without it the bot neither writes nor judges."""
        key = os.environ.get("INCIDENT_BOT_SEAL_KEY", "").strip()
        if not key:
            raise InputError("environment", "INCIDENT_BOT_SEAL_KEY",
                             "not set (the repository secret the bot seals its commits with)")
        return key.encode("utf-8")

    def get_commit(self, sha: str) -> Commit:
        resolved = self.reads.resolve(sha)
        return self.reads.commit(resolved or sha)

    def commits(self, base: str, head: str) -> list[Commit]:
        return self.reads.commits(base, head)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.reads.is_ancestor(ancestor, descendant)

    # ------------------------------------------------------------------ writing commits

    def commit_chain(
        self, branch: str, parent: str, changes: Sequence[tuple[Mapping[str, str | None], str]], *, create: bool,
        seal: Sealer | None = None, replace: str | None = None,
    ) -> str:
        tree, new = self.reads.tree_of(parent), parent
        author = {"name": self.bot_identity, "email": f"{self.bot_identity}@users.noreply.github.com"}
        for files, message in changes:
            known = self.reads.known_listing(new)  # lets a deletion of an absent file be dropped, not refused
            entries: list[dict[str, str | None]] = [
                {"path": p, "mode": "100644", "type": "blob", "content": t} if t is not None
                else {"path": p, "mode": "100644", "type": "blob", "sha": None}
                for p, t in sorted(files.items()) if t is not None or known is None or p in known
            ]
            if entries:
                tree = self.api.call("POST", "/git/trees", f"write the tree of {branch}",
                                     {"base_tree": tree, "tree": entries})["sha"]
            text = seal(tree, [new], message) if seal else message
            body = {"message": text, "tree": tree, "parents": [new], "author": author, "committer": author}
            commit = self.api.call("POST", "/git/commits", f"write a commit on {branch}", body)["sha"]
            self.reads.wrote(commit, tree, new, dict(files))
            new = commit
        try:
            if replace is not None:
                self._replace(branch, replace, new, tree, author, seal)
            elif create:
                self.api.call("POST", "/git/refs", f"create {branch}", {"ref": f"refs/heads/{branch}", "sha": new})
            else:
                self.api.call("PATCH", f"/git/refs/heads/{_quote(branch)}", f"move {branch}",
                              {"sha": new, "force": False})
        except ApiError as exc:
            self.reads.moved(f"heads/{branch}", None)
            if exc.status == 422:  # "Reference already exists" / "Update is not a fast forward" / gone
                blocking = self._blocking(branch) if create else None
                if blocking is not None:
                    raise RefCollision(f"refs/heads/{branch}", f"refs/heads/{blocking}") from None
                raise RefConflict(f"{branch} moved or already exists ({exc.message}); re-read and retry") from None
            raise
        self.reads.moved(f"heads/{branch}", new)
        pull = self._pulls.get(branch)
        if pull is not None and pull.state == "open":  # an open pull request follows its head branch
            self._pulls[branch] = dataclasses.replace(pull, head_sha=new)
        return new

    def _blocking(self, branch: str) -> str | None:
        """A branch that holds `branch`'s name as a folder (`incident/<id>/x`) or is a folder of it: GitHub then
        refuses the new ref with a bare 422 "Reference update failed" (microsoft/vscode-remote-repositories-
        github#122, googleapis/release-please#1024), which a retry never fixes."""
        parts = branch.split("/")
        existing = [*self.branches(f"{branch}/"),
                    *("/".join(parts[:i]) for i in range(1, len(parts)) if self.head("/".join(parts[:i])))]
        return blocking_ref(branch, existing)

    def _replace(self, branch: str, old: str, new: str, tree: str, author: dict[str, str],
                 seal: Sealer | None) -> None:
        """Move `branch` from `old` to `new`, which does not descend from it, as a compare-and-swap. GitHub's
        ref update has no expected-old-value (PATCH /git/refs: `force` or fast-forward only), so the move takes
        two steps: a fast-forward to a bridge commit whose parents are `old` and `new` (refused with 422 unless
        the branch is still `old` or behind it: a commit a person pushed meanwhile is never lost), then the
        forced move from the bridge to `new`. A run stopped in between leaves the sealed bridge, holding `new`'s
        tree, which the next refresh rebuilds (see BRIDGE_PHASE)."""
        message = f"{branch}: bridge\n\nReplaces: {old}\nPhase: {BRIDGE_PHASE}\n"
        text = seal(tree, [old, new], message) if seal else message
        bridge = self.api.call("POST", "/git/commits", f"write a commit on {branch}", {
            "message": text, "tree": tree, "parents": [old, new], "author": author, "committer": author})["sha"]
        path = f"/git/refs/heads/{_quote(branch)}"
        self.api.call("PATCH", path, f"move {branch}", {"sha": bridge, "force": False})
        self.api.call("PATCH", path, f"move {branch}", {"sha": new, "force": True})

    # ------------------------------------------------------------------ pull requests

    def _pull(self, data: dict[str, Any]) -> PullRequest:
        teams = [f"@{self.settings.owner}/{t['slug']}" for t in data.get("requested_teams") or []]
        users = [f"@{u['login']}" for u in data.get("requested_reviewers") or []]
        state = "merged" if data.get("merged_at") else str(data["state"])
        pull = PullRequest(
            number=int(data["number"]), branch=data["head"]["ref"], base=data["base"]["ref"], title=data["title"],
            body=data.get("body") or "", state=state, head_sha=data["head"]["sha"],
            merge_sha=data.get("merge_commit_sha") if state == "merged" else None,
            labels=tuple(sorted(label["name"] for label in data.get("labels") or [])),
            requested_reviewers=tuple(sorted(users + teams)), url=data.get("html_url") or "",
        )
        self._pull_urls[pull.head_sha] = pull.url
        return pull

    def blob_url(self, sha: str, path: str) -> str:
        """The blob at a commit: GitHub renders pull request descriptions without rewriting relative links, so a
        relative link would 404; a commit-pinned link keeps showing what was reviewed."""
        return f"{self.settings.html_url}/{self.settings.repository}/blob/{sha}/{_quote(path)}"

    def find_pull(self, branch: str) -> PullRequest | None:
        if branch not in self._pulls:
            params = {"head": f"{self.settings.owner}:{branch}", "state": "all", "per_page": 100}
            found = [self._pull(d) for d in self.api.call("GET", "/pulls", f"find the pull request of {branch}",
                                                            params=params)]
            self._pulls[branch] = next((p for p in found if p.state == "open"), found[0] if found else None)
        return self._pulls[branch]

    def _forget_pull(self, number: int | None = None) -> None:
        """The bot changed a pull request (None: opened one): the next lookup asks GitHub again."""
        for branch, pull in list(self._pulls.items()):
            if pull is None or number is None or pull.number == number:
                del self._pulls[branch]

    def open_pull(self, branch: str, title: str, body: str, labels: tuple[str, ...],
                  reviewers: tuple[str, ...] = ()) -> PullRequest:
        request = {"title": title, "head": branch, "base": self.default_branch, "body": body,
                   "maintainer_can_modify": False}
        self._pulls.pop(branch, None)
        try:
            data = self.api.call("POST", "/pulls", f"open the pull request of {branch}", request)
        except AlreadyExists:  # a racer, an earlier run, or a lost answer
            existing = self.find_pull(branch)
            if existing is not None and existing.state == "open":
                return self._complete(existing, labels, reviewers)
            raise
        number, author = int(data["number"]), str(data["user"]["login"])
        if labels:
            data["labels"] = self.api.call("POST", f"/issues/{number}/labels", f"label #{number}",
                                           {"labels": sorted(set(labels))})
        data.update(self._request_reviews(number, reviewers, {author.lower(), self.bot_identity.lower()}))
        pull = self._pulls[branch] = self._pull(data)
        return pull

    def _complete(self, pull: PullRequest, labels: tuple[str, ...], reviewers: tuple[str, ...]) -> PullRequest:
        """An existing pull request gets what an interrupted opening may have left out (labels, reviews)."""
        if not set(labels) <= set(pull.labels):
            self.update_pull(pull.number, labels=labels)
        if reviewers and not pull.requested_reviewers:
            self._request_reviews(pull.number, reviewers, {self.bot_identity.lower()})
        return pull

    def _request_reviews(self, number: int, reviewers: tuple[str, ...], never: set[str]) -> dict[str, Any]:
        """Ask the code owners (@user, @org/team) to review; never the author or the bot. GitHub refuses
        the whole request (422) when one of them has no access: retry without the teams, then give up
        (GitHub also requests code owners by itself when the repository protects with them)."""
        handles = sorted({r.lstrip("@") for r in reviewers}, key=str.lower)
        users = [h for h in handles if "/" not in h and h.lower() not in never]
        owner = self.settings.owner.lower()  # only this organization's teams can be asked (by slug)
        teams = [h.split("/", 1)[1] for h in handles if "/" in h and h.split("/", 1)[0].lower() == owner]
        attempts = [{"reviewers": users, "team_reviewers": teams}] + ([{"reviewers": users}] if teams and users else [])
        for request in attempts:
            request = {k: v for k, v in request.items() if v}
            if not request:
                break
            try:
                data: dict[str, Any] = self.api.call("POST", f"/pulls/{number}/requested_reviewers",
                                                     f"request reviews on #{number}", request)
                return {k: data.get(k) or [] for k in ("requested_reviewers", "requested_teams")}
            except ApiError as exc:
                if exc.status != 422:
                    raise
        return {}

    def update_pull(self, number: int, *, body: str | None = None, labels: tuple[str, ...] = ()) -> None:
        self._forget_pull(number)
        if body is not None:
            self.api.call("PATCH", f"/pulls/{number}", f"update #{number}", {"body": body})
        if labels:
            self.api.call("POST", f"/issues/{number}/labels", f"label #{number}", {"labels": sorted(set(labels))})

    def close_pull(self, number: int, reason: str) -> None:
        """POST /issues/{n}/comments with the reason, then PATCH /pulls/{n} state=closed (GitHub closes a pull
        request only through its update; the comment says why on the conversation a reviewer reads)."""
        self._forget_pull(number)
        self.api.call("POST", f"/issues/{number}/comments", f"comment on #{number}", {"body": reason})
        self.api.call("PATCH", f"/pulls/{number}", f"close #{number}", {"state": "closed"})

    def merge_method(self) -> str:
        """The first merge method the repository allows, in the order merge, squash, rebase (GET /repos/{o}/{r}:
        allow_merge_commit, allow_squash_merge, allow_rebase_merge); a method it forbids is answered with 405."""
        repo = self.api.call("GET", "", "read the repository's merge settings")
        allowed = [m for m, key in (("merge", "allow_merge_commit"), ("squash", "allow_squash_merge"),
                                    ("rebase", "allow_rebase_merge")) if repo.get(key, True)]
        return allowed[0] if allowed else "merge"

    def merge(self, number: int, sha: str, message: str) -> str:
        """PUT /pulls/{n}/merge with a merge commit, the default every repository starts with; a repository that
        forbids it answers 405 "Merge commits are not allowed on this repository.", and the merge is made with
        the method it allows (`merge_method`): one request for its settings only where it is needed."""
        merging = [(b, p) for b, p in self._pulls.items() if p is not None and p.number == number]
        self._forget_pull(number)
        try:
            data = self._put_merge(number, sha, message, "merge")
        except MethodNotAllowed as exc:
            method = self.merge_method() if _NOT_ALLOWED.search(exc.message) else "merge"
            if method == "merge":
                return self._refused(number, sha, exc)
            try:
                data = self._put_merge(number, sha, message, method)
            except ApiError as again:
                return self._refused(number, sha, again)
        except ApiError as exc:
            return self._refused(number, sha, exc)
        merged = str(data["sha"])
        for branch, pull in merging:  # GitHub's answer says what it did: merged, as this commit, at this head
            self._pulls[branch] = dataclasses.replace(pull, state="merged", merge_sha=merged, head_sha=sha)
        return merged

    def _put_merge(self, number: int, sha: str, message: str, method: str) -> Any:
        title, _, rest = message.partition("\n")
        body: dict[str, Any] = {"sha": sha, "merge_method": method}
        if method != "rebase":  # a rebase replays the pull request's own commits and messages
            body.update(commit_title=title, commit_message=rest.strip("\n"))
        return self.api.call("PUT", f"/pulls/{number}/merge", f"merge #{number}", body)

    def _refused(self, number: int, sha: str, exc: ApiError) -> str:
        if exc.status == 409:
            raise RefConflict(f"pull request #{number} head is no longer {sha[:12]} ({exc.message})") from None
        if exc.status == 405:
            pull = self._pull(self.api.call("GET", f"/pulls/{number}", f"read #{number}"))
            if pull.state == "merged" and pull.head_sha == sha and pull.merge_sha:
                return pull.merge_sha  # an earlier attempt merged it (its answer was lost)
            raise RuleRefusal(f"GitHub refused to merge #{number}: {exc.message}") from None
        raise exc

    def finish_merge(self, number: int) -> None:
        return None  # PUT /pulls/{n}/merge moves the base and closes the pull request in one request

    # ------------------------------------------------------------------ checks and reviews

    def record_check(self, sha: str, name: str, conclusion: str, title: str, summary: str) -> Check:
        if conclusion not in CONCLUSIONS:
            raise ForgeError(f"check {name}: conclusion {conclusion!r} is not one of {', '.join(CONCLUSIONS)}")
        text = fit_summary(summary)
        body: dict[str, Any] = {"name": name, "head_sha": sha, "status": "completed", "conclusion": conclusion,
                                "output": {"title": title, "summary": text}}
        if conclusion == "action_required":  # GitHub shows a button leading there: the pull request
            body["details_url"] = self._pull_urls.get(sha) or f"{self.settings.html_url}/{self.settings.repository}" \
                                                              f"/commit/{sha}"
        self.api.call("POST", "/check-runs", f"record the {name} check", body)
        return Check(name, sha, conclusion, title, text)

    def checks(self, sha: str) -> dict[str, Check]:
        runs = self.api.pages(f"/commits/{sha}/check-runs", f"read the checks of {sha[:12]}",
                              {"filter": "latest"}, key="check_runs")
        latest: dict[str, dict[str, Any]] = {}
        app = self.settings.check_app
        for run in sorted(runs, key=lambda r: int(r["id"])):
            if run["status"] != "completed":
                continue
            if app is not None and app not in _app_names(run.get("app") or {}):
                continue  # a look-alike check from another App never counts
            latest[run["name"]] = run
        return {n: Check(n, sha, str(r["conclusion"]), (r.get("output") or {}).get("title") or "",
                         (r.get("output") or {}).get("summary") or "") for n, r in latest.items()}

    def reviews(self, number: int) -> tuple[Review, ...]:
        found = []
        for r in self.api.pages(f"/pulls/{number}/reviews", f"read the reviews of #{number}"):
            state = "approved" if r["state"] == "APPROVED" else str(r["state"]).lower()
            # only an approving review approves the action: a comment carrying the line approves nothing
            action = _APPROVES.search(r.get("body") or "") if state == "approved" else None
            found.append(Review(f"@{r['user']['login']}", r.get("commit_id") or "", state,
                                action.group(1) if action else None))
        return tuple(found)

    def add_review(self, number: int, review: Review) -> None:
        login = self.token_login()
        if login is not None and login.lower() != review.reviewer.lstrip("@").lower():
            raise RuleRefusal(f"approve refused: the token authenticates as @{login}, and GitHub records a review "
                              f"as the token's account: run it with {review.reviewer}'s own token")
        text = f"Approved with `incident-bot approve` on {review.sha[:12]}."
        if review.approves_action:
            text += f"\n\nApproves-Action: {review.approves_action}"
        body = {"commit_id": review.sha, "event": "APPROVE", "body": text}
        try:
            self.api.call("POST", f"/pulls/{number}/reviews", f"approve #{number}", body)
        except OwnPullRequest:
            raise RuleRefusal(f"approve refused by GitHub: the token belongs to the author of #{number} (the "
                              "bot); a code owner approves with their own token") from None

    # ------------------------------------------------------------------ branch protection

    def _protection_path(self, policy: dict[str, Any]) -> str:
        return f"/branches/{_quote(policy['branch'])}/protection"

    def protect(self, policy: dict[str, Any], judge_app_id: int | None) -> None:
        self.api.call("PUT", self._protection_path(policy), f"protect {policy['branch']}",
                      protection.protection_body(policy, judge_app_id))

    def protection_drift(self, policy: dict[str, Any], judge_app_id: int | None) -> list[str]:
        try:
            live = self.api.call("GET", self._protection_path(policy), f"read the protection of {policy['branch']}")
        except BranchNotProtected:
            live = None
        return protection.drift(policy, live, judge_app_id)


def _app_names(app: dict[str, Any]) -> set[str]:
    """What INCIDENT_BOT_CHECK_APP may name an App by: its slug or its id (INCIDENT_BOT_APP_ID in the workflows)."""
    return {str(app.get("slug") or ""), str(app.get("id") or "")} - {""}


def _quote(name: str) -> str:
    return quote(name, safe="/")


def _close(api: Api, reads: Reads) -> None:
    api.close()
    reads.close()


def _conforms(forge: GitHubForge) -> Forge:
    return forge  # mypy checks that GitHubForge implements the Forge protocol


__all__ = ["GitHubForge", "fit_summary"]
