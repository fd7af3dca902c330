"""deploy/argocd/notifications.yaml as Argo CD Notifications reads it, and what its webhook sends to the receiver.

Every shape here is Argo CD's, read from its source and documentation:
- argocd-notifications-cm keys `service.<type>.<name>`, `trigger.<name>`, `template.<name>` (notifications-engine
  pkg/api/config.go ParseConfig, https://github.com/argoproj/notifications-engine/blob/
  cf274d2e5cf0df418062fcd1b458ccf3468ef070/pkg/api/config.go);
- the webhook service's options (url, headers [{name, value}], basicAuth, retries: pkg/services/webhook.go
  WebhookOptions) and what it sends: method and body from the template's `webhook.<service>` entry, the method
  GET unless set, every header `Header.Set(name, value)`, nothing signed
  (https://argo-cd.readthedocs.io/en/stable/operator-manual/notifications/services/webhook/);
- `$key` in a service's settings is replaced from argocd-notifications-secret (config.go replaceStringSecret,
  keyPattern `[$][\\w-]+`);
- a trigger is a list of conditions {when, send, oncePer, description} (pkg/triggers/service.go Condition),
  as Argo CD's catalog writes them (argo-cd notifications_catalog/triggers/on-sync-succeeded.yaml);
- an Application subscribes with the annotation `notifications.argoproj.io/subscribe.<trigger>.<service>`
  (argo-cd docs/operator-manual/notifications/subscriptions.md);
- the template's fields are the Application's (the CRD schema in tests/argocd/schemas/application.json), rendered
  by Go's text/template, where a missing map key prints `<no value>`.
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from argocd_helpers import (
    ACTION,
    APP_SCHEMA,
    CONDITION_FIELDS,
    FIELD,
    SUBSCRIBE,
    WEBHOOK_OPTIONS,
    application,
    cm,
    entries,
    in_crd,
    synced,
    webhook_request,
)

from bot.intake.argocd import ENV_ARGOCD, observation
from bot.intake.webhook import Secrets, SignatureError, detect_source, verify
from bot.receiver.config import secrets_from_env

# ------------------------------------------------------------------ what Argo CD reads


def test_the_fixture_application_is_valid_against_argo_cds_crd() -> None:
    assert [e.message for e in jsonschema.Draft7Validator(APP_SCHEMA).iter_errors(synced())] == []


def test_the_webhook_service_has_only_the_options_argo_cd_knows_and_posts_to_the_receivers_route() -> None:
    services = {k: v for k, v in cm().items() if k.startswith("service.")}
    assert list(services) == ["service.webhook.incident-bot"]
    options = yaml.safe_load(services["service.webhook.incident-bot"])
    assert set(options) <= WEBHOOK_OPTIONS
    assert all(set(h) == {"name", "value"} for h in options["headers"])
    assert detect_source(options["url"].split("example.com", 1)[1]) == "argocd"


def test_every_trigger_is_a_list_of_argo_cd_conditions_sending_a_defined_template() -> None:
    templates = entries("template.")
    triggers = entries("trigger.")
    assert set(triggers) == {"incident-bot-sync-succeeded", "incident-bot-sync-failed", "incident-bot-health-degraded"}
    for name, conditions in triggers.items():
        assert isinstance(conditions, list) and conditions, name
        for c in conditions:
            assert set(c) <= CONDITION_FIELDS and {"when", "send"} <= set(c), name
            assert set(c["send"]) <= set(templates), name
            # the fields a condition reads are the Application's, and it guards operationState, which the
            # template reads (Go fails a render on a field of a missing object)
            for path in re.findall(r"app\.([A-Za-z.?]+)", c["when"] + " " + c.get("oncePer", "")):
                assert in_crd(path.replace("?", "").split(".")), f"{name}: app.{path} is not a field of an Application"
            assert "app.status.operationState != nil" in c["when"], name


def test_the_template_is_a_webhook_post_whose_fields_are_the_applications() -> None:
    template = entries("template.")["incident-bot-sync"]
    assert set(template) == {"webhook"}
    spec = template["webhook"]["incident-bot"]
    assert set(spec) <= {"method", "path", "body"} and spec["method"] == "POST"  # GET is the default
    for action in ACTION.findall(spec["body"]):
        found = FIELD.match(action.strip())
        assert found and in_crd(found.group(1).split(".")[1:]), action


def test_the_application_subscribes_to_every_trigger_through_the_webhook_service() -> None:
    annotations = application()["metadata"]["annotations"]
    subscribed = {k.removeprefix(SUBSCRIBE) for k in annotations if k.startswith(SUBSCRIBE)}
    assert subscribed == {f"{t}.incident-bot" for t in entries("trigger.")}


# ------------------------------------------------------------------ what the receiver gets


@pytest.mark.parametrize(("status", "verdict"), [
    ({}, "ok"),
    ({"operationState__phase": "Failed", "sync__status": "OutOfSync"}, "failed"),
    ({"health__status": "Degraded"}, "failed"),
    ({"operationState__phase": "Running", "sync__status": "OutOfSync"}, None),
])
def test_the_rendered_body_is_what_the_receiver_reads_and_says_what_the_application_says(status, verdict) -> None:
    app = synced("b" * 40, **status)
    method, url, headers, body = webhook_request(app, {"incident-bot-token": "t0ken"})
    assert (method, url) == ("POST", "https://alerts.example.com/webhook/argocd")
    data = json.loads(body)  # valid JSON for every status Argo CD reports
    from_notification = observation(data, "body", "2026-05-17T08:43:00Z")
    from_app_get = observation(app, "argocd app get -o json", "2026-05-17T08:43:00Z")
    assert from_notification.verdict()[0] == verdict
    assert {**from_notification.evidence(), "source": "-"} == {**from_app_get.evidence(), "source": "-"}


def test_a_field_the_application_lacks_renders_as_go_does_and_is_read_as_absent() -> None:
    app = synced()
    del app["status"]["operationState"]["finishedAt"]
    _, _, _, body = webhook_request(app, {})
    data = json.loads(body)
    assert data["finished_at"] == "<no value>"
    assert observation(data, "body", "2026-05-17T08:43:00Z").finished_at is None


def test_the_header_the_service_sends_is_what_the_receiver_verifies() -> None:
    app = synced()
    secrets = secrets_from_env({ENV_ARGOCD: "s3cret-value"})
    _, _, headers, body = webhook_request(app, {"incident-bot-token": "s3cret-value"})
    verify("argocd", headers, body, secrets, 0.0)  # accepted
    _, _, unset, _ = webhook_request(app, {})  # the key missing from argocd-notifications-secret: sent as "$..."
    with pytest.raises(SignatureError, match="does not match"):
        verify("argocd", unset, body, secrets, 0.0)
    with pytest.raises(SignatureError, match="no token configured"):
        verify("argocd", headers, body, Secrets(), 0.0)
