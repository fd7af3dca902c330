"""POST /webhook/argocd: Argo CD's sync notification, exactly as its webhook service sends what
deploy/argocd/notifications.yaml renders (tests/argocd_helpers.py), is verified (the shared token, before
anything is stored), spooled, and forwarded to `sync confirm` (local forge) or to the sync workflow
(repository_dispatch `argocd-sync`). Argo CD's webhook service retries network errors and 5xx answers only
(https://argo-cd.readthedocs.io/en/stable/operator-manual/notifications/services/webhook/, Retry Behavior), so a
401 or 400 is final for it, as for the alert vendors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from argocd_helpers import synced, webhook_request
from lifecycle_helpers import git, make_repo, merged_seed
from receiver_helpers import SECRETS, Forge, receiver, until
from test_forward import github, states  # noqa: F401 (the GitHub-speaking fixture)

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge
from bot.receiver.config import Dispatch
from bot.receiver.forwarder import dispatch_forward, open_forward

TOKEN = "argo-Receiver-Token-71c3"
ARGO = replace(SECRETS, tokens={"argocd": (TOKEN,)})


def sent(revision: str, token: str = TOKEN, **status: str) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) of the request Argo CD sends for the Application at `revision`."""
    method, url, headers, body = webhook_request(synced(revision, **status), {"incident-bot-token": token})
    assert method == "POST"
    return url.split("example.com", 1)[1], headers, body


def test_an_unsigned_or_wrongly_signed_report_is_refused_before_anything_is_stored(tmp_path: Path):
    forge = Forge()
    path, headers, body = sent("a" * 40)
    with receiver(tmp_path, forward=forge, secrets=ARGO) as rx:
        assert rx.post(path, body, {"Content-Type": "application/json"}).status_code == 401
        wrong = {**headers, "Authorization": "Bearer not-the-token"}
        assert rx.post(path, body, wrong).status_code == 401
        assert rx.metric("incident_bot_deliveries_rejected_total", source="argocd", reason="bad_signature") == 2
        # a verified body that is no Argo CD report: 400, kept for inspection, never forwarded
        assert rx.post(path, b'{"application": "appointments"}', headers).status_code == 400
        assert rx.metric("incident_bot_deliveries_rejected_total", source="argocd",
                         reason="not_a_notification") == 1
        assert states(rx)["pending"] + states(rx)["forwarded"] == 0
    assert forge.calls == []


def test_a_signed_report_is_spooled_and_records_sync_ok_on_the_local_forge(tmp_path: Path, cli):
    repo = make_repo(tmp_path / "gitops")
    merge = merged_seed(cli, repo)
    forward = open_forward(lambda: Workspace(LocalForge(repo)))
    path, headers, body = sent(merge)
    with receiver(tmp_path, forward=forward, secrets=ARGO) as rx:
        response = rx.post(path, body, headers)
        assert response.status_code == 202 and response.text.startswith("accepted delivery")
        assert rx.post(path, body, headers).text.startswith("duplicate of delivery")  # Argo CD's retry
        assert until(lambda: states(rx)["forwarded"] == 1, timeout=30)
    assert any(f"CONFIRMED incident=HM-2026-05-17-01 revision={merge[:12]}" in line for line in rx.log)
    entries = [e for e in trace.entries(Workspace(LocalForge(repo)), "HM-2026-05-17-01") if e.step == "sync"]
    assert [(e.status, e.evidence["observed"]["source"]) for e in entries[1:]] == [("ok", "argocd-notifications")]


def test_a_report_no_merge_waits_for_is_retried_then_dead_lettered(tmp_path: Path):
    """Argo CD can report a sync before post-merge recorded the merge (its push webhook syncs in seconds): the
    forward is retried with backoff, and a person sees it dead-lettered if no merge ever matches."""
    repo = make_repo(tmp_path / "gitops")
    forward = open_forward(lambda: Workspace(LocalForge(repo)))
    path, headers, body = sent(git(repo, "rev-parse", "main").strip())
    with receiver(tmp_path, forward=forward, secrets=ARGO, attempts=2) as rx:
        assert rx.post(path, body, headers).status_code == 202
        assert until(lambda: states(rx)["dead"] == 1, timeout=30)
    assert any("sync confirm: no incident waits for a sync of Application 'appointments'" in line for line in rx.log)


def test_repository_dispatch_to_the_sync_workflow(tmp_path: Path, github):  # noqa: F811
    url, gh = github
    forward = dispatch_forward(Dispatch(url, "acme/appointments-gitops", "ghs_Token123"))
    path, headers, body = sent("b" * 40)
    with receiver(tmp_path, forward=forward, secrets=ARGO) as rx:
        assert rx.post(path, body, headers).status_code == 202
        assert until(lambda: states(rx)["forwarded"] == 1)
    assert gh.seen[-1][2] == {"event_type": "argocd-sync", "client_payload": {"payload": json.loads(body)}}
