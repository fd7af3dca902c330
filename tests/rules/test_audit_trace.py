"""The audit trace (bot/rules/audit.py), pure: the stored line's format, what `audit verify` names for each way a
trace is broken, the command entries validation.md lists, and the chain `audit show` and the check run draw.
The command-line side on real repositories is tests/test_audit_integrity.py and tests/test_command_trace.py."""

from __future__ import annotations

import hashlib
import shlex

import pytest

from bot.errors import InputError
from bot.rules import audit
from bot.rules.audit import GENESIS, append, parse, serialize, verify

ID = "HM-2026-05-17-01"
AT = "2026-05-17T10:00:00Z"


def chain(*steps: str | tuple[str, str, dict]) -> list[audit.AuditEntry]:
    entries: list[audit.AuditEntry] = []
    for s in steps:
        step, status, evidence = (s, "ok", {}) if isinstance(s, str) else s
        entries.append(append(entries, ID, step, status, AT, evidence))
    return entries


# --- the stored line -------------------------------------------------------------------------------------------

def test_an_entry_is_one_sorted_compact_json_line_whose_hash_is_sha256_of_the_rest() -> None:
    """Traces written by an earlier release keep verifying: the format is fixed."""
    [entry] = chain(("webhook_received", "ok", {"files": ["a.json"]}))
    body = (f'{{"at":"{AT}","evidence":{{"files":["a.json"]}},"incident_id":"{ID}","prev":"{GENESIS}","seq":1,'
            '"status":"ok","step":"webhook_received"}')
    assert entry.hash == hashlib.sha256(body.encode()).hexdigest()
    assert entry.to_line() == body.replace('"incident_id"', f'"hash":"{entry.hash}","incident_id"')
    assert serialize([entry]) == entry.to_line() + "\n"


def test_each_entry_links_to_the_one_before_it() -> None:
    first, second, third = chain("webhook_received", "incident_event_normalized", "command")
    assert (first.seq, first.prev) == (1, GENESIS)
    assert (second.seq, second.prev, third.seq, third.prev) == (2, first.hash, 3, second.hash)
    assert len({first.hash, second.hash, third.hash}) == 3


def test_a_step_outside_the_chain_and_its_extras_is_refused() -> None:
    for step in (*audit.CHAIN, *audit.EXTRA_STEPS, audit.COMMAND):
        append([], ID, step, "ok", AT, {})
    with pytest.raises(ValueError) as unknown:
        append([], ID, "deploy", "ok", AT, {})
    assert str(unknown.value) == "unknown audit step 'deploy'"


def test_a_stored_trace_reads_back_as_written_blank_lines_aside() -> None:
    entries = chain("webhook_received", ("readiness", "blocked", {"reasons": ["score=20"]}))
    text = serialize(entries)
    assert parse(text.replace("\n", "\n\n  \n", 1), "audit.jsonl") == entries


@pytest.mark.parametrize(("line", "kind"), [('{"seq": 1}', "KeyError"), ('[1, 2]', "TypeError")])
def test_a_line_that_is_not_an_entry_names_the_file_and_the_line(line: str, kind: str) -> None:
    text = serialize(chain("webhook_received")) + line + "\n"
    with pytest.raises(InputError) as bad:
        parse(text, "incidents/x/audit.jsonl")
    assert str(bad.value) == f"incidents/x/audit.jsonl: line 2: not an audit entry ({kind})"


def test_a_line_that_is_not_json_names_the_file_and_the_line() -> None:
    with pytest.raises(InputError) as bad:
        parse(serialize(chain("webhook_received")) + "{not json\n", "incidents/x/audit.jsonl")
    assert str(bad.value).startswith("incidents/x/audit.jsonl line 2: line 1 column 2: not JSON")


# --- audit verify ----------------------------------------------------------------------------------------------

def test_an_intact_trace_verifies_and_its_head_is_the_last_hash() -> None:
    entries = chain("webhook_received", "incident_event_normalized")
    result = verify(entries, [e.hash for e in entries])
    assert (result.ok, result.problems, result.head) == (True, (), entries[-1].hash)
    assert verify([]).head == GENESIS and verify([]).ok


def test_a_deleted_trace_verifies_nothing() -> None:
    result = verify([], [], exists=False)
    assert (result.ok, result.problems) == (False, ("no audit trace (audit branch missing or deleted)",))


def test_an_audit_commit_the_bot_did_not_seal_is_named() -> None:
    result = verify(chain("webhook_received"), unsealed=["c" * 40, "d" * 40])
    assert result.problems == ("audit commit cccccccccccc is not sealed by the bot (written by someone else)",
                               "audit commit dddddddddddd is not sealed by the bot (written by someone else)")
    assert not result.ok


def test_an_edited_entry_is_named() -> None:
    entries = chain("webhook_received", "incident_event_normalized")
    edited = [entries[0].__class__(**{**entries[0].__dict__, "status": "blocked"}), entries[1]]
    assert verify(edited).problems == ("entry 1 (webhook_received): content does not match its hash (edited)",)


def test_a_dropped_entry_is_named_by_position_and_link() -> None:
    entries = chain("webhook_received", "incident_event_normalized", "specify")
    assert verify([entries[0], entries[2]]).problems == (
        "entry 3 (specify): at position 2, expected seq 2 (dropped or reordered)",
        "entry 3 (specify): does not link to the entry before it (dropped, inserted or reordered)",
    )
    assert verify(entries[1:]).problems[0] == (
        "entry 2 (incident_event_normalized): at position 1, expected seq 1 (dropped or reordered)")


def test_a_rehashed_trace_is_held_against_the_hashes_the_audit_branch_history_recorded() -> None:
    entries = chain("webhook_received", "incident_event_normalized")
    forged = chain("webhook_received", ("incident_event_normalized", "ok", {"forged": True}))
    anchors = [e.hash for e in entries]
    assert verify(forged, anchors).problems == (
        "entry 2: recorded in the audit branch history but missing from the trace",)
    assert verify(entries[:1], anchors).problems == (
        "entry 2: recorded in the audit branch history but missing from the trace",
        "trace holds 1 entries, the audit branch history 2")
    # a fast-forward append without its history commit (issue 11, finding 5)
    assert verify(chain("webhook_received", "incident_event_normalized", "specify"), anchors).problems == (
        "trace holds 3 entries, the audit branch history 2",)


# --- coverage --------------------------------------------------------------------------------------------------

def test_coverage_is_rounded_to_two_places_and_full_when_nothing_is_required() -> None:
    entries = chain(*audit.BEFORE_READINESS)
    assert audit.coverage(entries, ["1" * 40, "2" * 40]) == (
        0.71, ["commit 111111111111 has no audit entry", "commit 222222222222 has no audit entry"])
    assert audit.coverage([], [], required=()) == (1.0, [])


def test_a_commit_is_traced_by_its_phase_entry_commit_or_commits_and_only_as_text() -> None:
    entries = chain(("webhook_received", "ok", {"commit": "1" * 40}),
                    ("specify", "ok", {"commits": ["2" * 40, 7, "3" * 40]}),
                    ("rollback", "ok", {"commit": 4}))
    assert audit.coverage(entries, ["1" * 40, "2" * 40, "3" * 40], required=()) == (1.0, [])
    assert audit.coverage(entries, ["4"], required=())[1] == ["commit 4 has no audit entry"]
    assert audit.coverage(chain(("rollback", "ok", {"commit": "5" * 40})), ["5" * 40], required=()) == (1.0, [])


# --- the command entries validation.md lists (issue 15) ----------------------------------------------------------

def test_a_command_is_recorded_as_a_reviewer_re_runs_it() -> None:
    """Where it ran (`--repo DIR`, `--repo=DIR`) is dropped; every word is scrubbed, then shell-quoted."""
    argv = ["check", "readiness", ID, "--repo", "/home/sre/gitops", "--repo=/x", "--summary", "a b.md", "--repository"]
    line = audit.command_line(argv, lambda w: w.replace("gitops", "[redacted]"))
    assert line == f"incident-bot check readiness {ID} --summary 'a b.md' --repository"
    assert shlex.split(line)[1:] == ["check", "readiness", ID, "--summary", "a b.md", "--repository"]
    assert audit.command_line(["open", "--grafana", "token=abc"], lambda w: w.replace("abc", "[redacted]")) == \
        "incident-bot open --grafana 'token=[redacted]'"


def test_a_command_entry_names_the_head_never_a_commit_and_its_message_only_when_there_is_one() -> None:
    assert audit.command_evidence("incident-bot merge X", "a" * 40, "b" * 40, 1, "REFUSED", "merge refused: x") == {
        "command": "incident-bot merge X", "head": "a" * 40, "base": "b" * 40, "exit_code": 1, "verdict": "REFUSED",
        "message": "merge refused: x"}
    assert "message" not in audit.command_evidence("incident-bot merge X", None, None, 0, "MERGED")


@pytest.mark.parametrize(("code", "verdict", "status"), [
    (0, "PASS", "ok"), (0, "BLOCK", "ok"), (1, "BLOCK", "blocked"), (1, "SEMI-MANUAL", "blocked"),
    (1, "DIFFERS", "blocked"), (1, "TAMPERED", "blocked"), (1, "REFUSED", "refused"), (2, "", "refused")])
def test_a_command_is_ok_blocked_by_a_verdict_or_refused(code: int, verdict: str, status: str) -> None:
    assert audit.command_status(code, verdict) == status


# --- the chain drawn -------------------------------------------------------------------------------------------

HEAD = ("webhook_received", "incident_event_normalized", "specify", "spec_diff_created", "commit")


def test_a_blocked_step_breaks_the_chain_with_its_first_reason_and_a_later_pass_mends_it() -> None:
    blocked = chain(*HEAD, ("readiness", "blocked", {"reasons": ["score=20/25", "second"]}))
    view = audit.view(blocked)
    assert (view.reached, view.broken_at, view.reason) == (HEAD, "readiness", "score=20/25")
    assert view.statuses == {**dict.fromkeys(HEAD, "ok"), "readiness": "blocked"}
    assert audit.text_chain(view) == " -> ".join(HEAD) + " -x readiness (BLOCK: score=20/25)"
    mended = audit.view(blocked + [append(blocked, ID, "readiness", "ok", AT, {})])
    assert (mended.reached, mended.broken_at, mended.reason) == ((*HEAD, "readiness"), None, "")


def test_a_dry_run_reason_carrying_its_own_block_prefix_is_shown_with_one() -> None:
    """The dry-run's reasons read `BLOCK: <path>: ...` (as the check lists them): the chain says BLOCK once."""
    view = audit.view(chain(*HEAD, "readiness", ("dry_run", "blocked", {"reasons": ["BLOCK: deploy/x.yaml: deleted"]})))
    assert view.reason == "deploy/x.yaml: deleted"
    assert audit.text_chain(view).endswith("readiness -x dry_run (BLOCK: deploy/x.yaml: deleted)")


def test_a_step_without_reasons_breaks_the_chain_with_its_status() -> None:
    view = audit.view(chain(*HEAD, ("readiness", "refused", {"reasons": []})))
    assert (view.broken_at, view.reason) == ("readiness", "refused")


def test_a_later_refused_step_breaks_the_chain_where_its_missing_step_is() -> None:
    """`merge` refused without a review: the arrow into `review` is the broken one, with merge's reason."""
    entries = chain(*HEAD, "readiness", "dry_run", ("merge", "refused", {"reasons": ["no approval from a code owner"]}),
                    ("validate", "ok", {}))
    view = audit.view(entries)
    assert (view.reached, view.broken_at, view.reason) == ((*HEAD, "readiness", "dry_run"), "review",
                                                           "no approval from a code owner")
    assert audit.view(chain(*HEAD, ("merge", "refused", {}))).reason == "refused"
    assert audit.view(chain(*HEAD, "merge")).broken_at is None  # a gap without a refusal is not a break


def test_rollback_entries_and_steps_outside_the_chain_are_not_drawn() -> None:
    entries = chain(*HEAD, ("readiness", "blocked", {"rollback": True, "reasons": ["x"]}), "sync", "command")
    view = audit.view(entries)
    assert (view.reached, view.broken_at) == (HEAD, None)
    assert "sync" not in view.statuses and "readiness" not in view.statuses
    assert audit.text_chain(audit.view([])) == "(nothing yet)"


def test_the_mermaid_chart_draws_done_steps_the_broken_arrow_and_the_rest_dotted() -> None:
    view = audit.view(chain(*HEAD, ("readiness", "blocked", {"reasons": ['score "20" | 25']})))
    lines = audit.mermaid(view).splitlines()
    assert lines[0] == "flowchart LR"
    assert lines[1:11] == [f"  {s}([{s}])" for s in audit.CHAIN]
    assert lines[11:15] == [f"  {a} --> {b}" for a, b in zip(HEAD, HEAD[1:], strict=False)]
    assert lines[15] == '  commit -.-x|"BLOCK: score #34;20#34; #124; 25"| readiness'
    assert lines[16:20] == ["  readiness -.- dry_run", "  dry_run -.- review", "  review -.- merge",
                            "  merge -.- validate"]
    assert lines[20:] == [f"  class {','.join(HEAD)} done", "  class readiness blocked",
                          "  classDef done fill:#d4f7d4,stroke:#2b8a3e", "  classDef blocked fill:#ffd6d6,stroke:#c92a2a"]


def test_a_chain_that_stops_without_a_blocker_draws_no_broken_arrow() -> None:
    """After `commit`, before any check ran: the next arrow is dotted, nothing reads BLOCK."""
    chart = audit.mermaid(audit.view(chain(*HEAD)))
    assert "  commit -.- readiness" in chart.splitlines()
    assert "BLOCK" not in chart and "blocked\n" not in chart and "class readiness" not in chart


def test_an_empty_chart_marks_nothing_done_or_blocked() -> None:
    lines = audit.mermaid(audit.view([])).splitlines()
    assert not [line for line in lines if line.startswith("  class ")]
    assert all(" -.- " in line for line in lines[11:20])

