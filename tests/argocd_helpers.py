"""Argo CD Notifications as it reads deploy/argocd/notifications.yaml and sends what it renders (for the tests of
the file, tests/argocd/test_notifications.py, and of the receiver's route, tests/receiver/test_argocd_route.py).
Sources of each rule: the docstring of tests/argocd/test_notifications.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ARGOCD = ROOT / "deploy" / "argocd"
APP_SCHEMA = json.loads((ROOT / "tests" / "argocd" / "schemas" / "application.json").read_text("utf-8"))
FIXTURE = ROOT / "fixtures" / "argocd" / "application_synced.json"
WEBHOOK_OPTIONS = {"url", "headers", "basicAuth", "insecureSkipVerify", "retryWaitMin", "retryWaitMax", "retryMax",
                   "maxIdleConns", "maxIdleConnsPerHost", "maxConnsPerHost", "idleConnTimeout"}
CONDITION_FIELDS = {"when", "send", "oncePer", "description"}
SUBSCRIBE = "notifications.argoproj.io/subscribe."
SECRET_KEY = re.compile(r"[$][\w-]+")  # config.go keyPattern
ACTION = re.compile(r"{{(.*?)}}", re.DOTALL)
FIELD = re.compile(r"^\.app((?:\.[A-Za-z]+)+)$")


def cm() -> dict[str, str]:
    doc = yaml.safe_load((ARGOCD / "notifications.yaml").read_text("utf-8"))
    assert (doc["kind"], doc["metadata"]["name"]) == ("ConfigMap", "argocd-notifications-cm")
    return dict(doc["data"])


def entries(prefix: str) -> dict[str, Any]:
    return {k.removeprefix(prefix): yaml.safe_load(v) for k, v in cm().items() if k.startswith(prefix)}


def application() -> dict[str, Any]:
    return dict(yaml.safe_load((ARGOCD / "application.yaml").read_text("utf-8")))


def in_crd(path: list[str]) -> bool:
    """Whether `status.sync.revision` (as a list) is a field of the Application CRD (`metadata` is Kubernetes'
    ObjectMeta, which the CRD leaves to the API server: its name and namespace)."""
    if path[:1] == ["metadata"]:
        return path[1:] in (["name"], ["namespace"])
    node = APP_SCHEMA
    for part in path:
        props = node.get("properties") or {}
        if part not in props:
            return False
        node = props[part]
    return True


def go_render(template: str, app: dict[str, Any]) -> str:
    """Go's text/template on the actions this template may use: `{{.app.a.b}}` only (anything else fails the
    test, so the renderer cannot be wrong about the file); a missing key prints `<no value>`."""
    def one(match: re.Match[str]) -> str:
        found = FIELD.match(match.group(1).strip())
        assert found, f"template action {match.group(0)!r}: only {{{{.app.<field>}}}} is allowed in this body"
        value: Any = app
        for part in found.group(1).split(".")[1:]:
            assert isinstance(value, dict), f"{match.group(0)}: a field of a non-object (Go fails the render)"
            value = value.get(part)
        return "<no value>" if value is None else str(value)

    return ACTION.sub(one, template)


def webhook_request(app: dict[str, Any], secret: dict[str, str]) -> tuple[str, str, dict[str, str], bytes]:
    """(method, url, headers, body) as notifications-engine's webhook service sends the notification."""
    service = cm()["service.webhook.incident-bot"]
    rendered = yaml.safe_load(SECRET_KEY.sub(lambda m: secret.get(m.group(0)[1:], m.group(0)), service))
    spec = entries("template.")["incident-bot-sync"]["webhook"]["incident-bot"]
    url = rendered["url"].rstrip("/") + ("/" + spec["path"].lstrip("/") if spec.get("path") else "")
    headers = {h["name"]: h["value"] for h in rendered.get("headers") or []}
    return spec.get("method") or "GET", url, headers, go_render(spec["body"], app).encode()


def synced(revision: str = "a" * 40, **status: Any) -> dict[str, Any]:
    app = json.loads(FIXTURE.read_text("utf-8"))
    app["status"]["sync"]["revision"] = revision
    app["status"]["operationState"]["syncResult"]["revision"] = revision
    for path, value in status.items():
        node = app["status"]
        *parents, last = path.split("__")
        for p in parents:
            node = node[p]
        node[last] = value
    return dict(app)
