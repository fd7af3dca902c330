"""`policies/branch-protection.yaml` as GitHub's branch protection: the request body that applies it
(PUT /repos/{o}/{r}/branches/{b}/protection) and the drift between the policy and the live settings
(GET of the same URL). Pure data in, data out."""

from __future__ import annotations

from typing import Any

_FLAGS = ("enforce_admins", "allow_force_pushes", "allow_deletions", "required_linear_history")
_REVIEWS = ("required_approving_review_count", "require_code_owner_reviews", "dismiss_stale_reviews")


def protection_body(policy: dict[str, Any]) -> dict[str, Any]:
    """The PUT body. `contexts` (not `checks`) on purpose: GitHub then requires each check from the App
    that last reported it, so another App cannot satisfy `readiness` with a look-alike check run."""
    checks = policy["required_status_checks"]
    reviews = policy["required_pull_request_reviews"]
    return {
        "required_status_checks": {"strict": bool(checks["strict"]), "contexts": list(checks["contexts"])},
        "enforce_admins": bool(policy["enforce_admins"]),
        "required_pull_request_reviews": {key: reviews[key] for key in _REVIEWS},
        "restrictions": None,
        "allow_force_pushes": bool(policy["allow_force_pushes"]),
        "allow_deletions": bool(policy["allow_deletions"]),
        "required_linear_history": bool(policy.get("required_linear_history", False)),
    }


def live_settings(live: dict[str, Any] | None) -> dict[str, Any]:
    """The live protection (GET body, None when unprotected) in the policy's own shape."""
    live = live or {}
    checks = live.get("required_status_checks")
    reviews = live.get("required_pull_request_reviews")
    contexts = sorted({*(checks or {}).get("contexts", []), *(c["context"] for c in (checks or {}).get("checks", []))})
    return {
        "required_status_checks": None if checks is None else {"strict": bool(checks.get("strict")),
                                                               "contexts": contexts},
        "required_pull_request_reviews": None if reviews is None else {
            "required_approving_review_count": int(reviews.get("required_approving_review_count", 0)),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
        },
        **{flag: bool((live.get(flag) or {}).get("enabled")) for flag in _FLAGS},
    }


def drift(policy: dict[str, Any], live: dict[str, Any] | None) -> list[str]:
    """Every setting where GitHub differs from the policy, as `path: policy X, live Y` lines."""
    branch = policy["branch"]
    if live is None:
        return [f"{branch}: not protected on GitHub (run `incident-bot protect`)"]
    now = live_settings(live)
    found = []
    sections = (("required_status_checks", ("strict", "contexts")), ("required_pull_request_reviews", _REVIEWS))
    for section, keys in sections:
        wanted, have = policy[section], now[section]
        if have is None:
            found.append(f"{branch}: {section}: policy requires it, live has none")
            continue
        for key in keys:
            want = sorted(wanted[key]) if key == "contexts" else wanted[key]
            if have[key] != want:
                found.append(f"{branch}: {section}.{key}: policy {want!r}, live {have[key]!r}")
    for flag in _FLAGS:
        want = bool(policy.get(flag, False))
        if now[flag] != want:
            found.append(f"{branch}: {flag}: policy {want!r}, live {now[flag]!r}")
    return found
