"""Mutated or truncated payloads never produce a traceback; the pure core touches no network, git or processes."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import FIXTURES, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main

SEEDS = {
    "grafana": json.loads((FIXTURES / "webhook_grafana.json").read_text()),
    "pagerduty": json.loads((FIXTURES / "webhook_pagerduty.json").read_text()),
    "alertmanager": json.loads((FIXTURES / "vendor" / "alertmanager_v4.json").read_text()),
}
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, path: tuple, replacement: Any, delete: bool) -> Any:
    doc = json.loads(json.dumps(doc))
    if not path:
        return replacement
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


def _run(tmp_path: Path, source: str, text: str, capsys) -> tuple[int, str]:
    path = tmp_path / f"{source}.json"
    path.write_text(text)
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    code = main(["normalize", "--repo", str(ROOT), f"--{source}", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    if code == 2:
        assert not out.exists(), "unusable input must write nothing"
    return code, err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_payloads_never_traceback(tmp_path, capsys, data):
    source = data.draw(st.sampled_from(sorted(SEEDS)))
    doc = SEEDS[source]
    path = data.draw(st.sampled_from(_paths(doc)))
    delete = bool(path) and data.draw(st.booleans())
    mutated = _mutate(doc, path, data.draw(JSON_VALUES), delete)
    code, err = _run(tmp_path, source, json.dumps(mutated), capsys)
    assert code in (0, 1, 2)
    if code != 0:
        assert err.startswith("incident-bot: ") and len(err.splitlines()) == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(sorted(SEEDS)), cut=st.floats(min_value=0, max_value=1))
def test_truncated_payloads_exit_2(tmp_path, capsys, source, cut):
    text = json.dumps(SEEDS[source], indent=1)
    code, err = _run(tmp_path, source, text[: int(len(text) * cut * 0.99)], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1


# The pure core, by package: every module under these folders takes plain data and returns plain data.
PURE_PACKAGES = ("intake", "rules", "render", "desired_state")
PURE = sorted(
    "bot." + ".".join(f.relative_to(ROOT / "bot").with_suffix("").parts)
    for pkg in PURE_PACKAGES for f in (ROOT / "bot" / pkg).rglob("*.py") if f.name != "__init__.py"
)
FORBIDDEN = {"git", "github", "subprocess", "requests", "urllib3", "socket", "http"}


def _bot_imports(module: str) -> set[str]:
    """Every module imported by `module` and, transitively, by the bot modules it imports."""
    seen: set[str] = set()
    todo = [module]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        file = ROOT / (name.replace(".", "/") + ".py")
        for node in ast.walk(ast.parse(file.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for imported in names:
                found.add(imported)
                if imported.startswith("bot.") and (ROOT / (imported.replace(".", "/") + ".py")).exists():
                    todo.append(imported)
    return found


def test_pure_core_imports_nothing_that_touches_the_outside():
    assert "bot.rules.lifecycle" in PURE and "bot.intake.normalize" in PURE
    for module in PURE:
        bad = {m for m in _bot_imports(module) if m.split(".")[0] in FORBIDDEN}
        assert not bad, f"{module} imports {bad}"
    # and at run time nothing of git or GitHub gets loaded by the seed commands
    code = ("import sys; from bot.cli import main; main(['readiness', '--readiness', 'fixtures/readiness_pass.json']);"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('git', 'github', 'requests')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab1-. _@:+()/0123456789xyzTOKENghpAKISox"), max_size=60))
def test_scrub_shortcut_never_skips_a_secret(text):
    """The quick guard in scrub_text answers exactly as the full scrub would."""
    from bot.intake import redact

    full = text
    full = redact._URL.sub(lambda m: redact._scrubbed_url(m.group(0)), full)
    full = redact._GH_TOKEN.sub(redact.REDACTED, full)
    full = redact._CLOUD_TOKEN.sub(redact.REDACTED, full)
    full = redact._BEARER.sub(lambda m: f"{m.group(1)} {redact.REDACTED}", full)
    full = redact._EMAIL.sub(redact.REDACTED, full)
    full = redact._PHONE.sub(redact.REDACTED, full)
    full = redact._BARE_PHONE.sub(redact.REDACTED, full)
    assert redact.scrub_text(text) == full
