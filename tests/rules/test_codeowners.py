"""CODEOWNERS on plain text: the last matching pattern wins, and every changed path is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.rules.codeowners import may_approve, owners, parse

CODEOWNERS = """\
# comment line
*            @everyone
/deploy/     @sre @alice   # trailing comment
deploy/**/db-*.yaml @dba
docs/*.md    @writers
/bin?        @tools
"""


def test_every_changed_path_is_checked_not_only_the_first() -> None:
    rules = parse(CODEOWNERS)
    paths = ["deploy/api/deployment.yaml", "deploy/db/db-statefulset.yaml"]
    assert may_approve(rules, paths, "@alice") == ["deploy/db/db-statefulset.yaml"]
    assert may_approve(rules, list(reversed(paths)), "alice") == ["deploy/db/db-statefulset.yaml"]
    assert may_approve(rules, paths, "@sre") == ["deploy/db/db-statefulset.yaml"]


def test_last_matching_pattern_wins() -> None:
    rules = parse(CODEOWNERS)
    assert owners(rules, "deploy/api/deployment.yaml") == ("@sre", "@alice")
    assert owners(rules, "deploy/db/db-statefulset.yaml") == ("@dba",)
    assert owners(rules, "README.md") == ("@everyone",)


def test_single_star_stops_at_a_slash_and_question_mark_is_one_character() -> None:
    rules = parse(CODEOWNERS)
    assert owners(rules, "docs/guide.md") == ("@writers",)
    assert owners(rules, "docs/deep/guide.md") == ("@everyone",)
    assert owners(rules, "bin1/run") == ("@tools",)
    assert owners(rules, "bin12/run") == ("@everyone",)


def test_anchored_pattern_does_not_match_deeper() -> None:
    rules = parse("/deploy/ @sre\nconfig @ops\n")
    assert owners(rules, "deploy/x.yaml") == ("@sre",)
    assert owners(rules, "sub/deploy/x.yaml") == ()
    assert owners(rules, "sub/config/x.yaml") == ("@ops",)  # unanchored: any depth


def test_unowned_path_needs_no_owner() -> None:
    assert may_approve(parse("/deploy/ @sre\n"), ["README.md"], "@bob") == []


def test_pattern_with_a_slash_inside_is_anchored_to_the_root() -> None:
    rules = parse("* @everyone\ndocs/*.md @writers\nlib/X @libx\n/Xorg/ @x\nconfig/ @ops\n")
    assert owners(rules, "sub/docs/guide.md") == ("@everyone",)
    assert owners(rules, "docs/guidemd") == ("@everyone",)
    assert owners(rules, "sub/lib/X") == ("@everyone",)
    assert owners(rules, "Xorg/xorg.conf") == ("@x",)
    assert owners(rules, "sub/config/x.yaml") == ("@ops",)  # a trailing slash alone does not anchor


def test_double_star_matches_zero_or_more_directories() -> None:
    rules = parse("* @everyone\ndeploy/**/db-*.yaml @dba\n/logs/**.gz @ops\n/v?.txt @v\n")
    assert owners(rules, "deploy/db-x.yaml") == ("@dba",)
    assert owners(rules, "deploy/a/b/db-x.yaml") == ("@dba",)
    assert owners(rules, "other/db-x.yaml") == ("@everyone",)
    assert owners(rules, "logs/a.gz") == ("@ops",)
    assert owners(rules, "logs/a/b.gz") == ("@everyone",)  # `**` inside a component is one `*` (gitignore)
    assert owners(rules, "other.gz") == ("@everyone",)
    assert owners(rules, "logs/a/bgz") == ("@everyone",)
    assert owners(rules, "v1.txt") == ("@v",)


def test_only_the_first_hash_starts_a_comment() -> None:
    assert owners(parse("/deploy/ @sre # owner # note\n"), "deploy/x") == ("@sre",)


# Golden cases as folders (fixtures/codeowners/<case>/{CODEOWNERS, expected.json}): GitHub's own examples
# from "About code owners" (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-
# features/customizing-your-repository/about-code-owners#example-of-a-codeowners-file) and its syntax
# exceptions (no `!`, no `[ ]`), plus this repository's `/deploy/*` case (issue 16).
GOLDEN = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "codeowners").iterdir())


@pytest.mark.parametrize("case", GOLDEN, ids=[c.name for c in GOLDEN])
def test_github_documented_examples(case: Path) -> None:
    rules = parse((case / "CODEOWNERS").read_text())
    expected = json.loads((case / "expected.json").read_text())
    assert {path: list(owners(rules, path)) for path in expected} == expected
