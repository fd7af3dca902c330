"""`policies/branch-protection.yaml` as GitHub's branch protection: the request body that applies it
(PUT /repos/{o}/{r}/branches/{b}/protection) and the drift between the policy and the live settings
(GET of the same URL). Pure data in, data out."""

from __future__ import annotations

from typing import Any

# The GitHub Actions app: the source of every check run created with a workflow's GITHUB_TOKEN (GitHub's own
# REST examples show it as `"performed_via_github_app": {"id": 15368, "slug": "github-actions"}`).
GITHUB_ACTIONS_APP_ID = 15368
ANY_APP = -1  # GitHub: "Pass -1 to explicitly allow any app to set the status"; a GET shows it as null

_FLAGS = ("enforce_admins", "allow_force_pushes", "allow_deletions", "required_linear_history")
_REVIEWS = ("required_approving_review_count", "require_code_owner_reviews", "dismiss_stale_reviews",
            "require_last_push_approval")


def app_id(app: str, judge_app_id: int | None) -> int:
    """The GitHub App id a required check must come from. `judge`: the incident-bot App when one is configured
    (INCIDENT_BOT_APP_ID), else GitHub Actions (the plain GITHUB_TOKEN posts as it)."""
    if app == "judge":
        return judge_app_id or GITHUB_ACTIONS_APP_ID
    if app == "github-actions":
        return GITHUB_ACTIONS_APP_ID
    if app == "any":
        return ANY_APP
    return int(app)


def required_checks(policy: dict[str, Any], judge_app_id: int | None) -> list[tuple[str, int]]:
    """(context, app_id) of every required check, sorted."""
    return sorted((c["context"], app_id(c["app"], judge_app_id)) for c in policy["required_status_checks"]["checks"])


def protection_body(policy: dict[str, Any], judge_app_id: int | None) -> dict[str, Any]:
    """The PUT body. `checks` with an `app_id` each, not the deprecated `contexts`: GitHub then counts a check
    only from that App, so a look-alike check run from any other source never satisfies it
    (https://docs.github.com/en/rest/branches/branch-protection#update-branch-protection)."""
    reviews = policy["required_pull_request_reviews"]
    checks = [{"context": c, "app_id": a} for c, a in required_checks(policy, judge_app_id)]
    return {
        "required_status_checks": {"strict": bool(policy["required_status_checks"]["strict"]), "checks": checks},
        "enforce_admins": bool(policy["enforce_admins"]),
        "required_pull_request_reviews": {key: reviews[key] for key in _REVIEWS},
        "restrictions": None,
        "allow_force_pushes": bool(policy["allow_force_pushes"]),
        "allow_deletions": bool(policy["allow_deletions"]),
        "required_linear_history": bool(policy.get("required_linear_history", False)),
    }


def live_settings(live: dict[str, Any] | None) -> dict[str, Any]:
    """The live protection (GET body, None when unprotected) in the policy's own shape; a check required
    from any source (the deprecated `contexts`, or `app_id` null) has app_id ANY_APP."""
    live = live or {}
    checks = live.get("required_status_checks")
    reviews = live.get("required_pull_request_reviews")
    pinned = {(c["context"], int(c.get("app_id") or ANY_APP)) for c in (checks or {}).get("checks", [])}
    named = {c for c, _ in pinned}
    pinned |= {(c, ANY_APP) for c in (checks or {}).get("contexts", []) if c not in named}
    return {
        "required_status_checks": None if checks is None else {
            "strict": bool(checks.get("strict")),
            "checks": sorted(pinned),
        },
        "required_pull_request_reviews": None if reviews is None else {
            "required_approving_review_count": int(reviews.get("required_approving_review_count", 0)),
            **{key: bool(reviews.get(key)) for key in _REVIEWS[1:]},
        },
        **{flag: bool((live.get(flag) or {}).get("enabled")) for flag in _FLAGS},
    }


def drift(policy: dict[str, Any], live: dict[str, Any] | None, judge_app_id: int | None) -> list[str]:
    """Every setting where GitHub differs from the policy, as `path: policy X, live Y` lines."""
    branch = policy["branch"]
    if live is None:
        return [f"{branch}: not protected on GitHub (run `incident-bot protect`)"]
    now = live_settings(live)
    found = []
    wanted = {
        "required_status_checks": {"strict": bool(policy["required_status_checks"]["strict"]),
                                   "checks": required_checks(policy, judge_app_id)},
        "required_pull_request_reviews": policy["required_pull_request_reviews"],
    }
    sections = (("required_status_checks", ("strict", "checks")), ("required_pull_request_reviews", _REVIEWS))
    for section, keys in sections:
        have = now[section]
        if have is None:
            found.append(f"{branch}: {section}: policy requires it, live has none")
            continue
        for key in keys:
            want = wanted[section][key]
            if have[key] != want:
                found.append(f"{branch}: {section}.{key}: policy {_show(want)}, live {_show(have[key])}")
    for flag in _FLAGS:
        want = bool(policy.get(flag, False))
        if now[flag] != want:
            found.append(f"{branch}: {flag}: policy {want!r}, live {now[flag]!r}")
    return found


def _show(value: Any) -> str:
    """Checks as `name@app_id` (`name@any` when any source counts); other values as Python shows them."""
    if isinstance(value, list):
        return "[" + ", ".join(f"{c}@{'any' if a == ANY_APP else a}" for c, a in value) + "]"
    return repr(value)
