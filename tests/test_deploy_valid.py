"""Every manifest under deploy/ validates offline against Kubernetes' own schemas; kustomize layout holds.

kubernetes-validate is used as a library: `kubernetes_validate.validate(obj, version, strict=True)` checks
one object against the JSON Schema bundled for that Kubernetes version (no cluster, no network); strict
mode rejects unknown fields, so a typo such as `livenessProbes` fails instead of being dropped silently.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.37.0"  # the schemas of the pinned kubernetes-validate==1.37.0
KUSTOMIZATION = "kustomization.yaml"
# Custom resources have no bundled schema; their groups are listed here on purpose (e.g. Argo CD's).
CRD_GROUPS = ("argoproj.io/",)
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


MANIFESTS = sorted(
    p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml") and p.name != KUSTOMIZATION
)
KUSTOMIZATIONS = sorted(DEPLOY.rglob(KUSTOMIZATION))


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d is not None]


def all_objects() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p in MANIFESTS for d in documents(p)]


def test_deploy_has_manifests_and_kustomizations() -> None:
    assert MANIFESTS, "deploy/ holds no manifest"
    assert DEPLOY / KUSTOMIZATION in KUSTOMIZATIONS


@pytest.mark.parametrize("path", MANIFESTS, ids=rel)
def test_manifest_validates_against_kubernetes_schema(path: Path) -> None:
    docs = documents(path)
    assert docs, f"{rel(path)} holds no Kubernetes object"
    for doc in docs:
        assert isinstance(doc, dict), f"{rel(path)}: a document is not a mapping"
        if str(doc.get("apiVersion", "")).startswith(CRD_GROUPS):
            assert doc.get("kind") and doc.get("metadata", {}).get("name"), rel(path)
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{rel(path)} {doc['kind']}/{doc['metadata']['name']}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            # The CLI only warns here; a kind without a schema is a failure for us (likely a typo).
            pytest.fail(f"{rel(path)}: {exc.message}")


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=rel)
def test_kustomization_resources_exist(path: Path) -> None:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert data["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert data["kind"] == "Kustomization"
    assert data.get("resources"), f"{rel(path)} lists no resources"
    for entry in data["resources"]:
        target = path.parent / entry
        if target.is_dir():
            assert (target / KUSTOMIZATION).is_file(), f"{rel(path)}: {entry}/ has no {KUSTOMIZATION}"
        else:
            assert target.is_file(), f"{rel(path)}: resource {entry} does not exist"


@pytest.mark.parametrize("path", [m for m in MANIFESTS if (m.parent / KUSTOMIZATION).is_file()], ids=rel)
def test_manifest_is_listed_by_its_kustomization(path: Path) -> None:
    """A file next to a kustomization.yaml but not listed in it would never be synced by Argo CD
    (deploy/argocd/ is a plain directory: it is applied once to bootstrap Argo CD, not synced)."""
    kustomization = path.parent / KUSTOMIZATION
    listed = yaml.safe_load(kustomization.read_text("utf-8"))["resources"]
    assert path.name in listed, f"{rel(path)} is not in {rel(kustomization)}"


def test_root_kustomization_reaches_every_app() -> None:
    listed = yaml.safe_load((DEPLOY / KUSTOMIZATION).read_text("utf-8"))["resources"]
    apps = sorted(k.parent.name for k in KUSTOMIZATIONS if k.parent.parent == DEPLOY)
    assert sorted(listed) == apps


def test_every_namespace_used_is_declared() -> None:
    declared = {d["metadata"]["name"] for _, d in all_objects() if d["kind"] == "Namespace"}
    for path, doc in all_objects():
        if doc["kind"] in CLUSTER_SCOPED:
            continue
        namespace = doc["metadata"].get("namespace")
        assert namespace, f"{rel(path)}: {doc['kind']}/{doc['metadata']['name']} has no metadata.namespace"
        assert namespace in declared, f"{rel(path)}: namespace {namespace} has no Namespace manifest"


def test_workloads_declare_memory_budget_and_probes() -> None:
    """The memory alert compares usage with the limit, so every container must declare one."""
    for path, doc in all_objects():
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            where = f"{rel(path)} container {container['name']}"
            assert container["resources"]["requests"]["memory"], where
            assert container["resources"]["limits"]["memory"], where
            assert "readinessProbe" in container and "livenessProbe" in container, where


def test_deployment_under_hpa_leaves_replicas_to_it() -> None:
    """spec.replicas next to an HPA makes every Argo CD sync fight the autoscaler."""
    targets = {
        (d["metadata"]["namespace"], d["spec"]["scaleTargetRef"]["kind"], d["spec"]["scaleTargetRef"]["name"])
        for _, d in all_objects()
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert targets, "no HorizontalPodAutoscaler under deploy/"
    for path, doc in all_objects():
        if (doc["metadata"].get("namespace"), doc["kind"], doc["metadata"]["name"]) in targets:
            assert "replicas" not in doc["spec"], rel(path)


def test_stateful_example_has_no_backup_evidence_yet() -> None:
    """The seed's stateful blocker must fire for real: no verified restore test is recorded."""
    sts = [d for _, d in all_objects() if d["kind"] == "StatefulSet"]
    assert sts
    for doc in sts:
        assert doc["spec"]["volumeClaimTemplates"]
        assert "incident-bot.dev/backup-verified" not in (doc["metadata"].get("annotations") or {})


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with built-in kustomize) not installed")
def test_kustomize_build_renders_every_manifest() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=120, check=False
    )
    assert built.returncode == 0, built.stderr
    rendered = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout) if d}
    expected = {(d["kind"], d["metadata"]["name"]) for p, d in all_objects() if (p.parent / KUSTOMIZATION).is_file()}
    assert rendered == expected
