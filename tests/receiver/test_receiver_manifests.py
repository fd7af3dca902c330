"""deploy/receiver/ validates offline against Kubernetes' schemas (as tests/test_deploy_valid.py does for
deploy/), and stays out of what Argo CD syncs."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RECEIVER = ROOT / "deploy" / "receiver"
KUBERNETES_VERSION = "1.37.0"  # the schemas of the pinned kubernetes-validate==1.37.0
OBJECTS = [d for p in sorted(RECEIVER.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


@pytest.mark.parametrize("doc", OBJECTS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_receiver_manifest_validates_strictly(doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_receiver_has_what_it_needs_and_is_not_synced_by_argo_cd():
    kinds = {d["kind"] for d in OBJECTS}
    assert {"Deployment", "Service", "PersistentVolumeClaim", "Secret"} <= kinds
    (deployment,) = [d for d in OBJECTS if d["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["volumeMounts"][0]["mountPath"] == "/var/lib/incident-bot"
    assert {"name": "INCIDENT_BOT_SPOOL", "value": "/var/lib/incident-bot/spool.db"} in container["env"]
    # a read-only root filesystem leaves SQLite no directory for its temporary files unless /tmp is mounted
    # (SQLite looks for a writable one of SQLITE_TMPDIR, TMPDIR, /var/tmp, /usr/tmp, /tmp:
    # https://www.sqlite.org/tempfiles.html, "Temporary File Storage Locations")
    if container["securityContext"].get("readOnlyRootFilesystem"):
        assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
    synced = yaml.safe_load((ROOT / "deploy" / "kustomization.yaml").read_text())["resources"]
    assert not any(entry.startswith("receiver") for entry in synced)
