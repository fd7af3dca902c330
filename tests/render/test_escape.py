"""The one escaping function per medium (bot/render/escape.py): Mermaid labels and terminal lines."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.render.escape import commit_message, mermaid_label


def test_a_mermaid_label_cannot_end_its_quotes_or_inject_html():
    # https://mermaid.js.org/syntax/flowchart.html, "Entity codes to escape characters": #quot; / #34;
    label = mermaid_label('stop"| --> x[<img src=x onerror=alert(1)>]\nclick x call')
    assert not set('"|[]<>\n') & set(label)
    assert label.startswith("stop#34;#124; --#62; x#91;#60;img")


def test_a_terminal_line_shows_control_characters_instead_of_obeying_them(cli):
    run = cli("normalize", "--grafana", "/nonexistent/\x1b[2J\x07x.json")
    assert run.code == 2
    assert "\x1b" not in run.err and "\x07" not in run.err
    assert "\\x1b[2J\\x07x.json" in run.err


def test_a_trailer_value_with_a_newline_is_refused():
    with pytest.raises(InputError, match="Incident-Key"):
        commit_message("HM-2026-05-17-01: received", "", [("Incident-Key", "k\nIncident-Id: HM-2026-05-17-99")])
