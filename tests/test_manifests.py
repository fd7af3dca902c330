"""bot.desired_state on the real deploy/ tree: finding the workload, its preconditions, minimal renders."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.desired_state.objects import diff_paths
from bot.desired_state.renderers import RESTARTED_BY, SCALED_BY, render
from bot.desired_state.workloads import BACKUP_VERIFIED, ObjectRef, Workload, find_workload, preconditions
from bot.errors import InputError, RuleRefusal

ROOT = Path(__file__).resolve().parent.parent
INCIDENT = "HM-2026-05-17-01"
NEXT_INCIDENT = "HM-2026-05-18-01"
API_DEPLOYMENT = "deploy/appointments-api/deployment.yaml"
API_HPA = "deploy/appointments-api/hpa.yaml"
DB_STATEFULSET = "deploy/appointments-db/statefulset.yaml"


def read_deploy() -> dict[str, str]:
    """What a shell would hand to the pure core: {repo-relative path: text} of every file under deploy/."""
    return {
        p.relative_to(ROOT).as_posix(): p.read_text("utf-8")
        for p in sorted((ROOT / "deploy").rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def files() -> dict[str, str]:
    return read_deploy()


@pytest.fixture
def api(files: dict[str, str]) -> Workload:
    return find_workload(files, "appointments-api", "api-7b4", None)


@pytest.fixture
def db(files: dict[str, str]) -> Workload:
    return find_workload(files, "appointments-db", "db-0", None)


def load(text: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    assert len(docs) == 1
    doc: dict[str, Any] = docs[0]
    return doc


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def assert_valid(text: str) -> None:
    for doc in yaml.safe_load_all(text):
        if doc is not None:
            kubernetes_validate.validate(doc, "1.37.0", strict=True)


# ---------------------------------------------------------------- find_workload


def test_api_found_from_seed_pod(api: Workload) -> None:
    assert api == Workload(
        kind="Deployment",
        name="api",
        namespace="appointments-api",
        path=API_DEPLOYMENT,
        replicas=None,
        hpa=ObjectRef(API_HPA, "api"),
        stateful=False,
        backup_verified=False,
        pvcs=(),
    )


@pytest.mark.parametrize("pod", ["api-7b4", "api-5d8f7c9b6-x2k4q"])
def test_deployment_pod_name_forms(files: dict[str, str], pod: str) -> None:
    assert find_workload(files, "appointments-api", pod, None).name == "api"


def test_db_0_is_the_statefulset(db: Workload) -> None:
    assert (db.kind, db.name, db.namespace, db.path) == ("StatefulSet", "db", "appointments-db", DB_STATEFULSET)
    assert db.replicas == 1
    assert db.hpa is None
    assert db.stateful is True
    assert db.backup_verified is False
    assert db.pvcs == ("backups", "data")


def test_service_label_when_the_alert_has_no_pod(files: dict[str, str], api: Workload) -> None:
    assert find_workload(files, "appointments-api", None, "appointments-api") == api
    assert find_workload(files, None, None, "appointments-db").kind == "StatefulSet"


@pytest.mark.parametrize(
    ("namespace", "pod", "service"),
    [
        ("appointments-api", "worker-7b4", None),  # unknown pod
        ("appointments-api", "db-0", None),  # a pod of another namespace
        ("appointments-db", "db-x", None),  # not an ordinal
        ("appointments-api", "api", None),  # no hash
        ("appointments-api", "api-7b4-x2k4q-extra", None),  # too many segments
        ("appointments-api", None, "billing"),  # unknown service
        ("appointments-api", None, None),  # nothing to go by
    ],
)
def test_no_owner_is_a_refusal(files: dict[str, str], namespace: str, pod: str | None, service: str | None) -> None:
    with pytest.raises(RuleRefusal, match="no "):
        find_workload(files, namespace, pod, service)


def test_ambiguous_owner_is_a_refusal(files: dict[str, str]) -> None:
    twin = files[API_DEPLOYMENT].replace("name: api\n", "name: api-v2\n", 1)
    files = {**files, "deploy/appointments-api/deployment-v2.yaml": twin}
    with pytest.raises(RuleRefusal, match="ambiguous") as caught:
        find_workload(files, "appointments-api", "api-v2-7b4", None)
    assert "Deployment/api (" in str(caught.value) and "Deployment/api-v2 (" in str(caught.value)


# ---------------------------------------------------------------- preconditions


def test_preconditions_of_the_api(files: dict[str, str], api: Workload) -> None:
    assert preconditions(files, api) == {"stateless": True, "hpa_enabled": True, "backup_verified": False}


def test_preconditions_of_the_db(files: dict[str, str], db: Workload) -> None:
    assert preconditions(files, db) == {"stateless": False, "hpa_enabled": False, "backup_verified": False}


def test_a_mounted_claim_makes_a_deployment_stateful(files: dict[str, str], api: Workload) -> None:
    mounted = files[API_DEPLOYMENT].replace(
        "      containers:\n",
        "      volumes:\n        - name: cache\n          persistentVolumeClaim:\n            claimName: cache\n"
        "      containers:\n",
    )
    files = {**files, API_DEPLOYMENT: mounted}
    assert preconditions(files, api)["stateless"] is False
    assert find_workload(files, "appointments-api", "api-7b4", None).pvcs == ("cache",)


def test_a_claim_in_the_namespace_makes_a_deployment_stateful(files: dict[str, str], api: Workload) -> None:
    claim = files["deploy/appointments-db/pvc-backups.yaml"].replace("appointments-db", "appointments-api")
    files = {**files, "deploy/appointments-api/pvc.yaml": claim}
    assert preconditions(files, api)["stateless"] is False


def test_no_hpa_means_hpa_disabled(files: dict[str, str], api: Workload) -> None:
    del files[API_HPA]
    assert preconditions(files, api)["hpa_enabled"] is False


def with_backup_annotation(files: dict[str, str], value: str) -> dict[str, str]:
    text = files[DB_STATEFULSET].replace(
        "  name: db\n", f"  name: db\n  annotations:\n    {BACKUP_VERIFIED}: {value}\n", 1
    )
    return {**files, DB_STATEFULSET: text}


@pytest.mark.parametrize(
    ("value", "verified"),
    [
        ('"2026-05-01T03:00:00Z"', True),
        ('"2026-05-01T03:00:00.5+02:00"', True),
        ('"2026-05-01"', False),  # a date is not a verified restore time
        ('"2026-05-01T03:00:00"', False),  # no offset: ambiguous
        ('"2026-13-01T03:00:00Z"', False),  # month 13
        ('"yesterday"', False),
        ('""', False),
    ],
)
def test_backup_evidence_annotation(files: dict[str, str], db: Workload, value: str, verified: bool) -> None:
    files = with_backup_annotation(files, value)
    assert preconditions(files, db)["backup_verified"] is verified
    assert find_workload(files, "appointments-db", "db-0", None).backup_verified is verified


def test_unquoted_backup_timestamp_is_unusable(files: dict[str, str], db: Workload) -> None:
    files = with_backup_annotation(files, "2026-05-01T03:00:00Z")  # YAML reads a datetime, not a string
    with pytest.raises(InputError) as unusable:
        preconditions(files, db)
    # the one line the CLI prints (exit 2): the file and the field
    assert str(unusable.value) == (f"{DB_STATEFULSET}: metadata.annotations.{BACKUP_VERIFIED}: must be a quoted "
                                   "string")


# ---------------------------------------------------------------- render: restart


def test_restart_annotates_the_pod_template(files: dict[str, str], api: Workload) -> None:
    changes = render(files, api, "pod_template_annotation", INCIDENT)
    assert set(changes) == {API_DEPLOYMENT}
    after = changes[API_DEPLOYMENT]
    assert load(after)["spec"]["template"]["metadata"]["annotations"] == {RESTARTED_BY: INCIDENT}
    assert changed_lines(files[API_DEPLOYMENT], after) == [
        "+      annotations:",
        f'+        {RESTARTED_BY}: "{INCIDENT}"',
    ]
    assert "# No spec.replicas: the HorizontalPodAutoscaler" in after  # comments survive


def test_restart_twice_for_the_same_incident_is_a_no_op(files: dict[str, str], api: Workload) -> None:
    once = {**files, **render(files, api, "pod_template_annotation", INCIDENT)}
    assert render(once, api, "pod_template_annotation", INCIDENT) == {}
    assert diff_paths(files, once) == {API_DEPLOYMENT}


def test_restart_for_a_new_incident_replaces_the_value_in_place(files: dict[str, str], api: Workload) -> None:
    once = {**files, **render(files, api, "pod_template_annotation", INCIDENT)}
    twice = render(once, api, "pod_template_annotation", NEXT_INCIDENT)
    assert changed_lines(once[API_DEPLOYMENT], twice[API_DEPLOYMENT]) == [
        f'-        {RESTARTED_BY}: "{INCIDENT}"',
        f'+        {RESTARTED_BY}: "{NEXT_INCIDENT}"',
    ]


def test_render_is_deterministic(files: dict[str, str], api: Workload) -> None:
    for renders in ("pod_template_annotation", "replicas_plus_one"):
        assert render(files, api, renders, INCIDENT) == render(dict(files), api, renders, INCIDENT)


# ---------------------------------------------------------------- render: scale up


def test_scale_up_raises_the_hpa_minimum(files: dict[str, str], api: Workload) -> None:
    changes = render(files, api, "replicas_plus_one", INCIDENT)
    assert set(changes) == {API_HPA}  # the Deployment has no replica count of its own
    hpa = load(changes[API_HPA])
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 6)
    assert hpa["metadata"]["annotations"] == {SCALED_BY: INCIDENT}
    assert sorted(changed_lines(files[API_HPA], changes[API_HPA])) == sorted(
        ["+  annotations:", f'+    {SCALED_BY}: "{INCIDENT}"', "-  minReplicas: 2", "+  minReplicas: 3"]
    )


def test_scale_up_twice_for_the_same_incident_is_a_no_op(files: dict[str, str], api: Workload) -> None:
    once = {**files, **render(files, api, "replicas_plus_one", INCIDENT)}
    assert render(once, api, "replicas_plus_one", INCIDENT) == {}
    twice = {**once, **render(once, api, "replicas_plus_one", NEXT_INCIDENT)}
    assert load(twice[API_HPA])["spec"]["minReplicas"] == 4


def test_scale_up_at_the_hpa_ceiling_is_refused(files: dict[str, str], api: Workload) -> None:
    files = {**files, API_HPA: files[API_HPA].replace("minReplicas: 2", "minReplicas: 6")}
    with pytest.raises(RuleRefusal, match="ceiling"):
        render(files, api, "replicas_plus_one", INCIDENT)


def test_deployment_without_hpa_gets_one_more_replica(files: dict[str, str]) -> None:
    del files[API_HPA]
    files[API_DEPLOYMENT] = files[API_DEPLOYMENT].replace("  revisionHistoryLimit", "  replicas: 3\n  revision", 1)
    api = find_workload(files, "appointments-api", "api-7b4", None)
    assert (api.replicas, api.hpa) == (3, None)
    changes = render(files, api, "replicas_plus_one", INCIDENT)
    assert set(changes) == {API_DEPLOYMENT}
    deployment = load(changes[API_DEPLOYMENT])
    assert deployment["spec"]["replicas"] == 4
    assert deployment["metadata"]["annotations"] == {SCALED_BY: INCIDENT}
    assert len(changed_lines(files[API_DEPLOYMENT], changes[API_DEPLOYMENT])) == 4
    assert render({**files, **changes}, api, "replicas_plus_one", INCIDENT) == {}


def test_absent_replicas_count_as_the_kubernetes_default(files: dict[str, str]) -> None:
    del files[API_HPA]
    api = find_workload(files, "appointments-api", "api-7b4", None)
    changes = render(files, api, "replicas_plus_one", INCIDENT)
    assert load(changes[API_DEPLOYMENT])["spec"]["replicas"] == 2


# ---------------------------------------------------------------- rendered manifests stay valid


@pytest.mark.parametrize("renders", ["pod_template_annotation", "replicas_plus_one"])
@pytest.mark.parametrize(("namespace", "pod"), [("appointments-api", "api-7b4"), ("appointments-db", "db-0")])
def test_rendered_manifests_validate(files: dict[str, str], renders: str, namespace: str, pod: str) -> None:
    workload = find_workload(files, namespace, pod, None)
    changes = render(files, workload, renders, INCIDENT)
    assert changes
    for text in changes.values():
        assert_valid(text)


def test_a_malformed_incident_id_is_never_written() -> None:
    files = read_deploy()
    api = find_workload(files, "appointments-api", "api-7b4", None)
    with pytest.raises(InputError, match="not an incident id"):
        render(files, api, "pod_template_annotation", "x\nkind: Namespace")


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[A-Z]{2,4}-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2,5}", fullmatch=True))
def test_any_incident_id_round_trips_and_is_idempotent(incident_id: str) -> None:
    files = read_deploy()
    api = find_workload(files, "appointments-api", "api-7b4", None)
    changes = render(files, api, "pod_template_annotation", incident_id)
    annotations = load(changes[API_DEPLOYMENT])["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {RESTARTED_BY: incident_id}
    assert render({**files, **changes}, api, "pod_template_annotation", incident_id) == {}


# ---------------------------------------------------------------- layouts and inputs


def test_flow_style_mapping_falls_back_to_a_full_dump(files: dict[str, str], api: Workload) -> None:
    flow = files[API_DEPLOYMENT].replace(
        "    metadata:\n      labels:", "    metadata:\n      annotations: {team: booking}\n      labels:", 1
    )
    files = {**files, API_DEPLOYMENT: flow}
    changes = render(files, api, "pod_template_annotation", INCIDENT)
    after = changes[API_DEPLOYMENT]
    annotations = load(after)["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"team": "booking", RESTARTED_BY: INCIDENT}
    assert {k: v for k, v in load(after).items() if k != "spec"} == {
        k: v for k, v in load(flow).items() if k != "spec"
    }
    assert list(load(after)) == list(load(flow))  # key order kept
    assert render(files, api, "pod_template_annotation", INCIDENT) == changes  # deterministic
    assert_valid(after)


def test_multi_document_file_edits_only_its_object(files: dict[str, str], api: Workload) -> None:
    combined = files["deploy/appointments-api/service.yaml"] + "---\n" + files[API_DEPLOYMENT]
    files = {k: v for k, v in files.items() if k not in (API_DEPLOYMENT, "deploy/appointments-api/service.yaml")}
    files["deploy/appointments-api/all.yaml"] = combined
    workload = find_workload(files, "appointments-api", "api-7b4", None)
    assert workload.path == "deploy/appointments-api/all.yaml"
    after = render(files, workload, "pod_template_annotation", INCIDENT)["deploy/appointments-api/all.yaml"]
    assert len(changed_lines(combined, after)) == 2
    service, deployment = yaml.safe_load_all(after)
    assert "annotations" not in service["metadata"]
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {RESTARTED_BY: INCIDENT}


def test_kustomization_namespace_wins(files: dict[str, str]) -> None:
    files["deploy/appointments-api/kustomization.yaml"] += "namespace: booking\n"
    assert find_workload(files, "booking", "api-7b4", None).namespace == "booking"
    with pytest.raises(RuleRefusal):
        find_workload(files, "appointments-api", "api-7b4", None)


def test_unknown_renderer_is_an_input_error(files: dict[str, str], api: Workload) -> None:
    with pytest.raises(InputError, match="unknown renderer 'delete_pvc'"):
        render(files, api, "delete_pvc", INCIDENT)


def test_empty_incident_id_is_an_input_error(files: dict[str, str], api: Workload) -> None:
    with pytest.raises(InputError, match="incident_id"):
        render(files, api, "pod_template_annotation", "")


def test_workload_gone_from_the_tree_is_a_refusal(files: dict[str, str], api: Workload) -> None:
    del files[API_DEPLOYMENT]
    with pytest.raises(RuleRefusal, match="Deployment/api"):
        render(files, api, "pod_template_annotation", INCIDENT)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("kind: [unclosed\n", "not YAML"),
        ("- just\n- a list\n", "mapping"),
        ("apiVersion: v1\nkind: Service\n", "kind` and `metadata"),
        ("apiVersion: v1\nkind: Service\nmetadata: {labels: {}}\n", "metadata.name"),
    ],
)
def test_unusable_manifest_is_an_input_error(files: dict[str, str], text: str, match: str) -> None:
    files = {**files, "deploy/appointments-api/broken.yaml": text}
    with pytest.raises(InputError, match=match) as caught:
        find_workload(files, "appointments-api", "api-7b4", None)
    assert caught.value.source == "deploy/appointments-api/broken.yaml"


def test_non_integer_replicas_is_an_input_error(files: dict[str, str]) -> None:
    del files[API_HPA]
    files[API_DEPLOYMENT] = files[API_DEPLOYMENT].replace("  revisionHistoryLimit", '  replicas: "3"\n  revision', 1)
    with pytest.raises(InputError, match=r"spec\.replicas"):
        find_workload(files, "appointments-api", "api-7b4", None)


def test_diff_paths() -> None:
    before = {"a": "1", "b": "2", "c": "3"}
    after = {"a": "1", "b": "two", "d": "4"}
    assert diff_paths(before, after) == {"b", "c", "d"}
    assert diff_paths(before, dict(before)) == set()
