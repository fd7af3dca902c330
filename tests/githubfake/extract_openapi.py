"""Maintainer tool: cut the extra OpenAPI operations the fake needs out of GitHub's full description.

`/work/shared/github-openapi/subset.json` covers 22 operations; the fake also serves a few more (get a
commit, reviews, branch protection PUT, ...).  This script copies those operations, with every component
they reference (kept as `$ref`s, not dereferenced), from the npm package `@octokit/openapi`:

    cd /tmp && npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python tests/githubfake/extract_openapi.py package/generated/api.github.com.json \
        > tests/githubfake/openapi_extra.json

Media-type `examples` and `x-octokit` keys are dropped, as in subset.json.  Not used at test time.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

EXTRA_OPERATIONS = (
    "git/get-blob",
    "git/get-commit",
    "git/get-tree",
    "git/delete-ref",
    "repos/get-branch",
    "repos/get-commit",
    "repos/update-branch-protection",
    "checks/get",
    "issues/list-comments",
    "pulls/update",
    "pulls/list-files",
    "pulls/request-reviewers",
    "pulls/create-review",
    "pulls/list-reviews",
    # for the GitHub forge (bot/forge/github): branch listing by prefix, diffs between commits, token identity
    "git/list-matching-refs",
    "repos/compare-commits",
    "users/get-authenticated",
)
DROPPED_KEYS = ("examples", "x-octokit")


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in DROPPED_KEYS}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _component_closure(doc: dict[str, Any], roots: Any) -> dict[str, dict[str, Any]]:
    components: dict[str, dict[str, Any]] = {}
    pending = sorted(_refs(roots))
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)  # "#/components/<kind>/<name>"
        if name in components.setdefault(kind, {}):
            continue
        body = _strip(doc["components"][kind][name])
        components[kind][name] = body
        pending.extend(sorted(_refs(body)))
    return {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}


def extract(source: Path) -> dict[str, Any]:
    raw = source.read_bytes()
    doc = json.loads(raw)
    paths: dict[str, dict[str, Any]] = {}
    for template, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") in EXTRA_OPERATIONS:
                paths.setdefault(template, {})[method] = _strip(op)
    missing = set(EXTRA_OPERATIONS) - {op["operationId"] for item in paths.values() for op in item.values()}
    if missing:
        raise SystemExit(f"operations not found: {sorted(missing)}")
    return {
        "openapi": doc["openapi"],
        "info": {
            "title": "GitHub REST API: operations the fake serves beyond shared subset.json",
            "version": doc["info"]["version"],
            "x-source": f"npm @octokit/openapi generated/{source.name} sha256 {hashlib.sha256(raw).hexdigest()}",
        },
        "paths": dict(sorted(paths.items())),
        "components": _component_closure(doc, paths),
    }


if __name__ == "__main__":
    json.dump(extract(Path(sys.argv[1])), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
