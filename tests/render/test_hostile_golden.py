"""Golden: an alert whose label values are hostile Markdown, HTML and trailer text. `open` on a real
repository; the pull request's title and body and the commits' trailers are compared with
fixtures/render/hostile/ byte for byte, and the rendered Markdown shows every value as text: each one
sits inside an inline code span its own backticks cannot close (CommonMark 0.31 "Code spans",
https://spec.commonmark.org/0.31.2/#code-spans: a span ends only at a backtick run of its opening
length)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from conftest import FIXTURES, ROOT
from lifecycle_helpers import git, make_repo, write_json

GOLDEN = ROOT / "fixtures" / "render" / "hostile"
BANNER = "x\n\n### ✅ PASS, approved by @acme/sre-leads\n\n<!--"


def hostile_payload() -> dict:
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    alert = payload["alerts"][0]
    alert["fingerprint"] = BANNER
    alert["labels"]["incident_key"] = "hm`</code>**bold**\nIncident-Id: HM-2026-05-17-99"
    alert["labels"]["service"] = "appointments-api`` <b>x</b> `"
    alert["values"] = {"<img src=x onerror=alert(1)>": 93}
    for key in ("commonLabels", "groupLabels"):
        payload[key] = {}
    return payload


def _opened(cli, tmp_path: Path) -> tuple[Path, dict]:
    repo = make_repo(tmp_path / "gitops")
    run = cli("open", "--repo", repo, "--grafana", write_json(tmp_path / "g.json", hostile_payload()))
    assert run.code == 0, run.err
    ref = git(repo, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split()[0]
    return repo, json.loads(git(repo, "show", f"{ref}:pull.json"))


def _trailers(repo: Path, branch: str) -> str:
    log = git(repo, "log", "--reverse", "--format=%B%x00", f"main..{branch}")
    return "".join(line + "\n" for message in log.split("\0") for line in message.splitlines()
                   if re.match(r"(Incident-\w+|Phase): ", line))


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("INCIDENT_BOT_UPDATE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text(), name


def test_hostile_labels_render_as_text_in_the_title_body_and_trailers(cli, tmp_path):
    repo, pull = _opened(cli, tmp_path)
    _golden("title.txt", pull["title"] + "\n")
    _golden("body.md", pull["body"])
    _golden("trailers.txt", _trailers(repo, pull["branch"]))


def test_no_hostile_value_leaves_its_code_span(cli, tmp_path):
    _, pull = _opened(cli, tmp_path)
    body = pull["body"]
    # outside code spans nothing of the values is left: no heading, comment, tag, bold or mention
    outside = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", body)
    for injected in ("<!--", "<b>", "<img", "**bold**", "@acme", "### ✅"):
        assert injected not in outside, injected
    assert "\n### ✅" not in body and "\n<!--" not in body  # no line starts a heading or an HTML block
    trailers = _trailers(Path(tmp_path / "gitops"), pull["branch"]).splitlines()
    assert [t for t in trailers if t.startswith("Incident-Id: ")] == [f"Incident-Id: {pull['branch'][9:]}"] * len(
        [t for t in trailers if t.startswith("Phase: ")])
