"""Argo CD admission of deploy/argocd/: what Argo CD itself checks before it syncs anything.

Every rule here is Argo CD's, read from its source at the commit named in tests/argocd/SOURCES.md
(https://github.com/argoproj/argo-cd/tree/37ee0097cf851bc2dd7665fc081bbce61a7e836e):

- the objects validate against Argo CD's own CRD schemas (manifests/crds/, converted to JSON under
  tests/argocd/schemas/), with unknown fields refused as `kubectl apply` does by default (server-side
  field validation `Strict`: https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation);
- an Application's destination must be permitted by its AppProject's `destinations`, with Argo CD's glob
  semantics (pkg/apis/application/v1alpha1/app_project_types.go: isDestinationMatched / globMatch, gobwas/glob
  without separators, `!` for a deny pattern); an empty `destination.namespace` is matched as "" and refused
  (InvalidSpecError, https://github.com/argoproj/argo-cd/issues/11510);
- its repoURL must match `sourceRepos` (IsSourcePermitted: NormalizeGitURL, glob with `/` as separator);
- every object it renders must be in the project's namespace/cluster resource whitelists (IsGroupKindNamePermitted,
  filepath.Match on group and kind), and every namespaced one must land in a permitted namespace;
- a sync window's kind is exactly `allow` or `deny` (types.go SyncWindow.Validate: "kind '%s' mismatch: can
  only be allow or deny"), its schedule a 5-field cron and its duration a Go duration.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ARGOCD = ROOT / "deploy" / "argocd"
SCHEMAS = ROOT / "tests" / "argocd" / "schemas"
SCHEMA_OF = {"Application": "application.json", "AppProject": "appproject.json"}
# Argo CD creates project `default` like this when it does not exist (server/server.go initializeDefaultProject)
DEFAULT_PROJECT = {"kind": "AppProject", "metadata": {"name": "default"}, "spec": {
    "sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}
# The kinds of deploy/ that are cluster-scoped (Kubernetes API reference); every other kind there is namespaced.
CLUSTER_SCOPED = {("", "Namespace"), ("", "PersistentVolume"), ("rbac.authorization.k8s.io", "ClusterRole"),
                  ("rbac.authorization.k8s.io", "ClusterRoleBinding"), ("apiextensions.k8s.io", "CustomResourceDefinition")}
IN_CLUSTER = "https://kubernetes.default.svc"


# ------------------------------------------------------------------ Argo CD's matching rules, as implemented


def gobwas_glob(pattern: str, value: str, separators: str = "") -> bool:
    """github.com/gobwas/glob Match: `*` any run of non-separators, `**` anything, `?` one non-separator,
    `[a-z]` / `[!a-z]` classes, `{a,b}` alternatives, `\\` escapes."""
    sep = re.escape(separators)
    anything_but_sep = f"[^{sep}]" if separators else "."
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 2
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += anything_but_sep + "*"
        elif c == "?":
            out += anything_but_sep
        elif c == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1:end]
            out += "[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]"
            i = end
        elif c == "{":
            end = pattern.index("}", i)
            out += "(?:" + "|".join(re.escape(a) for a in pattern[i + 1:end].split(",")) + ")"
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.fullmatch(out, value, re.DOTALL) is not None


def glob_match(pattern: str, value: str, separators: str = "") -> bool:
    """app_project_types.go globMatch with allowNegation=true."""
    if pattern.startswith("!"):
        return not gobwas_glob(pattern[1:], value, separators)
    return pattern == "*" or gobwas_glob(pattern, value, separators)


def filepath_match(pattern: str, value: str) -> bool:
    """Go's path/filepath.Match on a group or kind (neither holds `/`): `*`, `?`, `[...]` and `[^...]`."""
    out = ""
    for part in re.split(r"(\[[^]]*\])", pattern):
        if part.startswith("["):
            out += "[^" + part[2:-1] + "]" if part[1:2] == "^" else part
        else:
            out += "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in part)
    return re.fullmatch(out, value) is not None


def normalize_git_url(url: str) -> str:
    """util/git/git.go NormalizeGitURL for https URLs: lower case, trimmed, no `.git` suffix."""
    return url.strip().lower().removesuffix(".git")


def destination_permitted(project: dict[str, Any], server: str, namespace: str) -> bool:
    """isDestinationMatched (destinations by server; this repository names no cluster by `name`)."""
    matched = False
    for item in project["spec"].get("destinations") or []:
        server_ok = server != "" and glob_match(item.get("server", ""), server)
        namespace_ok = glob_match(item.get("namespace", ""), namespace)
        if server_ok and namespace_ok:
            matched = True
        elif not server_ok and item.get("server", "").startswith("!") and namespace_ok or not namespace_ok and item.get("namespace", "").startswith("!") and server_ok:
            return False
    return matched


def source_permitted(project: dict[str, Any], repo_url: str) -> bool:
    """IsSourcePermitted."""
    wanted, any_matched = normalize_git_url(repo_url), False
    for pattern in project["spec"].get("sourceRepos") or []:
        normalized = ("!" + normalize_git_url(pattern[1:])) if pattern.startswith("!") else normalize_git_url(pattern)
        if glob_match(normalized, wanted, "/"):
            any_matched = True
        elif normalized.startswith("!"):
            return False
    return any_matched


def kind_permitted(project: dict[str, Any], group: str, kind: str, *, namespaced: bool) -> bool:
    """IsGroupKindNamePermitted: a missing namespace whitelist allows every namespaced kind, an empty one none;
    cluster-scoped kinds need an entry in clusterResourceWhitelist."""
    spec = project["spec"]

    def listed(items: list[dict[str, str]] | None) -> bool:
        return any(filepath_match(i["kind"], kind) and filepath_match(i["group"], group) for i in items or [])

    if namespaced:
        white = spec.get("namespaceResourceWhitelist")
        allowed = white is None or (len(white) != 0 and listed(white))
        return allowed and not listed(spec.get("namespaceResourceBlacklist"))
    return listed(spec.get("clusterResourceWhitelist")) and not listed(spec.get("clusterResourceBlacklist"))


_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")


def window_problems(window: dict[str, Any]) -> list[str]:
    """SyncWindow.Validate."""
    problems = []
    if window.get("kind") not in ("allow", "deny"):
        problems.append(f"kind '{window.get('kind')}' mismatch: can only be allow or deny")
    if len(str(window.get("schedule", "")).split()) != 5:
        problems.append(f"cannot parse schedule '{window.get('schedule')}'")
    if not _DURATION.fullmatch(str(window.get("duration", ""))):
        problems.append(f"cannot parse duration '{window.get('duration')}'")
    return problems


# ------------------------------------------------------------------ the admission check


def argo_documents() -> list[dict[str, Any]]:
    return [d for p in sorted(ARGOCD.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text("utf-8")) if d]


def strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused (as the API server's Strict field validation does)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


_VALIDATORS = {kind: jsonschema.Draft7Validator(strict(json.loads((SCHEMAS / name).read_text("utf-8"))))
               for kind, name in SCHEMA_OF.items()}


def rendered(path: str, include: str | None = None) -> Iterator[dict[str, Any]]:
    """The objects a kustomize (or directory) source at `path` renders: the files its kustomizations list,
    or the directory's YAML files matching `directory.include` (a glob, as Argo CD matches it)."""
    root = ROOT / path
    if (root / "kustomization.yaml").is_file():
        for entry in yaml.safe_load((root / "kustomization.yaml").read_text("utf-8"))["resources"]:
            target = root / entry
            if target.is_dir():
                yield from rendered((Path(path) / entry).as_posix())
            else:
                yield from (d for d in yaml.safe_load_all(target.read_text("utf-8")) if d)
    else:
        files = [p for p in sorted(root.glob("*.yaml")) if include is None or gobwas_glob(include, p.name)]
        yield from (d for p in files for d in yaml.safe_load_all(p.read_text("utf-8")) if d)


def admission_problems(documents: list[dict[str, Any]]) -> list[str]:
    problems = []
    projects = {"default": DEFAULT_PROJECT}
    for doc in documents:
        validator = _VALIDATORS.get(doc["kind"])
        if validator is not None:
            for error in validator.iter_errors(doc):
                problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.json_path}: {error.message}")
        if doc["kind"] == "AppProject":
            projects[doc["metadata"]["name"]] = doc
            for i, window in enumerate(doc["spec"].get("syncWindows") or []):
                problems += [f"AppProject/{doc['metadata']['name']}: syncWindows[{i}]: {p}" for p in window_problems(window)]
    for app in (d for d in documents if d["kind"] == "Application"):
        name, spec = app["metadata"]["name"], app["spec"]
        project = projects.get(spec.get("project", ""))
        if project is None:
            problems.append(f"Application/{name}: project {spec.get('project')!r} does not exist")
            continue
        dest = spec.get("destination") or {}
        server, namespace = dest.get("server", ""), dest.get("namespace", "")
        if not destination_permitted(project, server, namespace):
            problems.append(f"Application/{name}: application destination server '{server}' and namespace "
                            f"'{namespace}' do not match any of the allowed destinations in project "
                            f"'{project['metadata']['name']}'")
        if not source_permitted(project, spec["source"]["repoURL"]):
            problems.append(f"Application/{name}: application repo {spec['source']['repoURL']} is not permitted "
                            f"in project '{project['metadata']['name']}'")
        include = (spec["source"].get("directory") or {}).get("include")
        for obj in rendered(spec["source"]["path"], include):
            group = obj["apiVersion"].rpartition("/")[0]
            namespaced = (group, obj["kind"]) not in CLUSTER_SCOPED
            what = f"Application/{name}: {obj['kind']}/{obj['metadata']['name']}"
            if not kind_permitted(project, group, obj["kind"], namespaced=namespaced):
                problems.append(f"{what}: resource {group}:{obj['kind']} is not permitted in project "
                                f"{project['metadata']['name']}")
            target = obj["metadata"].get("namespace") or namespace
            if namespaced and not destination_permitted(project, server, target):
                problems.append(f"{what}: namespace {target!r} is not permitted in project "
                                f"{project['metadata']['name']}")
    return problems


def by_name(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name)


# ------------------------------------------------------------------ deploy/argocd/ as it is


def test_deploy_argocd_is_admitted_by_argo_cd() -> None:
    assert admission_problems(argo_documents()) == []


def test_the_crd_schemas_name_their_source_commit() -> None:
    sources = (ROOT / "tests" / "argocd" / "SOURCES.md").read_text("utf-8")
    assert "37ee0097cf851bc2dd7665fc081bbce61a7e836e" in sources
    for name in SCHEMA_OF.values():
        assert name in sources and (SCHEMAS / name).is_file()


# ------------------------------------------------------------------ what Argo CD refuses (each case: one defect)


def mutated(change: Any) -> list[str]:
    docs = copy.deepcopy(argo_documents())
    change(docs)
    return admission_problems(docs)


def test_an_application_without_destination_namespace_is_refused() -> None:
    """argoproj/argo-cd#11510: the empty namespace is matched against the project's destinations."""
    found = mutated(lambda d: by_name(d, "Application", "appointments")["spec"]["destination"].pop("namespace"))
    assert found == ["Application/appointments: application destination server 'https://kubernetes.default.svc' "
                     "and namespace '' do not match any of the allowed destinations in project 'appointments'"]


@pytest.mark.parametrize(("pattern", "namespace", "permitted"), [
    ("appointments-*", "appointments-api", True),
    ("appointments-*", "payments", False),
    ("appointments-{api,db}", "appointments-db", True),
    ("appointments-?pi", "appointments-api", True),
    ("*", "", True),  # `*` matches even the empty namespace
    ("appointments-*", "", False),
    ("!kube-system", "appointments-api", True),
    ("!kube-system", "kube-system", False),
])
def test_destination_namespace_globs_as_argo_cd_matches_them(pattern: str, namespace: str, permitted: bool) -> None:
    project = {"spec": {"destinations": [{"server": IN_CLUSTER, "namespace": pattern}]}}
    assert destination_permitted(project, IN_CLUSTER, namespace) is permitted


def test_a_deny_destination_refuses_even_when_another_entry_allows() -> None:
    project = {"spec": {"destinations": [{"server": IN_CLUSTER, "namespace": "*"},
                                         {"server": IN_CLUSTER, "namespace": "!appointments-db"}]}}
    assert destination_permitted(project, IN_CLUSTER, "appointments-api")
    assert not destination_permitted(project, IN_CLUSTER, "appointments-db")


def test_source_repos_match_after_normalization_with_slash_as_separator() -> None:
    project = {"spec": {"sourceRepos": ["https://github.com/acme/*"]}}
    assert source_permitted(project, "https://GitHub.com/acme/appointments-gitops.git")
    assert not source_permitted(project, "https://github.com/acme/group/sub")  # `*` stops at `/`
    assert source_permitted({"spec": {"sourceRepos": ["https://github.com/acme/**"]}}, "https://github.com/acme/a/b")


def test_an_application_from_another_repository_is_refused() -> None:
    def change(d: list[dict[str, Any]]) -> None:
        by_name(d, "Application", "appointments")["spec"]["source"]["repoURL"] = "https://github.com/evil/fork.git"
    assert mutated(change) == ["Application/appointments: application repo https://github.com/evil/fork.git is not "
                               "permitted in project 'appointments'"]


def test_a_kind_outside_the_whitelists_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = by_name(argo_documents(), "AppProject", "appointments")
    assert not kind_permitted(project, "rbac.authorization.k8s.io", "ClusterRoleBinding", namespaced=False)
    assert not kind_permitted(project, "", "Secret", namespaced=True)
    assert kind_permitted(project, "apps", "Deployment", namespaced=True)
    assert kind_permitted(project, "", "Namespace", namespaced=False)
    # no namespace whitelist at all allows every namespaced kind; an empty one allows none
    assert kind_permitted({"spec": {}}, "", "Secret", namespaced=True)
    assert not kind_permitted({"spec": {"namespaceResourceWhitelist": []}}, "", "Secret", namespaced=True)
    assert kind_permitted({"spec": {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}}, "x.io", "Y",
                          namespaced=False)


@pytest.mark.parametrize("kind", ["Deny", "Allow", "block", ""])
def test_a_sync_window_kind_other_than_allow_or_deny_is_refused(kind: str) -> None:
    """A `Deny` typo would make the emergency stop do nothing: Argo CD only acts on `allow` and `deny`."""
    found = mutated(lambda d: by_name(d, "AppProject", "appointments")["spec"]["syncWindows"][0].update(kind=kind))
    assert found == [f"AppProject/appointments: syncWindows[0]: kind '{kind}' mismatch: can only be allow or deny"]


def test_a_misspelt_field_is_refused_by_the_crd_schema() -> None:
    def change(d: list[dict[str, Any]]) -> None:
        project = by_name(d, "AppProject", "appointments")["spec"]
        project["syncWindow"] = project.pop("syncWindows")
    found = mutated(change)
    assert len(found) == 1 and "syncWindow" in found[0] and "Additional properties" in found[0]


def test_a_wrong_type_is_refused_by_the_crd_schema() -> None:
    found = mutated(lambda d: by_name(d, "Application", "appointments")["spec"]["syncPolicy"]["automated"]
                    .update(prune="yes"))
    assert len(found) == 1 and "'yes' is not of type 'boolean'" in found[0]


# ------------------------------------------------------------------ prune never deletes state


def test_namespaces_and_claims_under_deploy_are_never_pruned() -> None:
    """With automated prune, deleting a Namespace or PVC manifest would delete the namespace (and everything in
    it) or the claim's data. `argocd.argoproj.io/sync-options: Prune=false` on the object wins over the
    Application's prune policy (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#no-prune-resources)."""
    kept = [d for d in rendered("deploy") if d["kind"] in ("Namespace", "PersistentVolumeClaim")]
    assert {d["kind"] for d in kept} == {"Namespace", "PersistentVolumeClaim"}
    for doc in kept:
        options = (doc["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-options", "")
        assert "Prune=false" in [o.strip() for o in options.split(",")], f"{doc['kind']}/{doc['metadata']['name']}"


# ------------------------------------------------------------------ the emergency stop that holds


def readme_stop_commands() -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(kind, name, JSON patch) of each `kubectl patch` in the README's emergency-stop block, in order."""
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("<!-- emergency-stop:start -->", 1)[1].split("<!-- emergency-stop:end -->", 1)[0]
    found = re.findall(r"kubectl -n argocd patch (\w+) ([\w-]+) --type json \\\n\s+-p '([^']+)'", block)
    assert found and len(found) == block.count("kubectl"), block
    return [(kind, name, json.loads(patch)) for kind, name, patch in found]


def json_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    """RFC 6902 replace/remove (what the README uses); a missing path fails, as the API server refuses it."""
    for op in ops:
        *parents, last = [p for p in op["path"].split("/")[1:]]
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        assert key in target if isinstance(target, dict) else key < len(target), f"no {op['path']}"
        if op["op"] == "remove":
            del target[key]
        else:
            assert op["op"] == "replace"
            target[key] = op["value"]


def stop_problems(commands: list[tuple[str, str, list[dict[str, Any]]]]) -> list[str]:
    """Apply the patches in order to deploy/argocd/'s objects; what would undo or break the stop."""
    docs = argo_documents()
    kinds = {"application": "Application", "appproject": "AppProject"}
    root = ("Application", "appointments-argocd")
    source = by_name(docs, *root)["spec"]["source"]
    managed = {(o["kind"], o["metadata"]["name"]) for o in rendered(source["path"], source["directory"]["include"])}
    heals = "automated" in by_name(docs, *root)["spec"]["syncPolicy"]
    problems = []
    for kind, name, ops in commands:
        target = (kinds[kind], name)
        if target != root and target in managed and heals:
            problems.append(f"{kind}/{name} is patched while {root[1]} still self-heals it from main")
        json_patch(by_name(docs, *target), ops)
        heals = "automated" in by_name(docs, *root)["spec"]["syncPolicy"]
    if heals:
        problems.append(f"{root[1]} still syncs automatically: it re-applies main")
    if by_name(docs, "AppProject", "appointments")["spec"]["syncWindows"][0]["kind"] != "deny":
        problems.append("the emergency window is not deny")
    return problems + admission_problems(docs)


def test_the_readme_emergency_stop_suspends_the_bootstrap_first_and_holds() -> None:
    assert stop_problems(readme_stop_commands()) == []


def test_a_stop_that_patches_only_the_project_or_in_the_wrong_order_is_undone() -> None:
    """The bootstrap Application manages itself and the AppProject with selfHeal: a patch of the project alone
    (or before the bootstrap is suspended) is reverted to main's `allow` within seconds."""
    suspend, close = readme_stop_commands()
    assert stop_problems([close]) == ["appproject/appointments is patched while appointments-argocd still "
                                      "self-heals it from main", "appointments-argocd still syncs automatically: "
                                      "it re-applies main"]
    assert stop_problems([close, suspend]) == ["appproject/appointments is patched while appointments-argocd "
                                               "still self-heals it from main"]
