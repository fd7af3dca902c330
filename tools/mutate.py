"""`make mutate`: mutation testing of the pure rules with mutmut, one module at a time.

Each module runs in its own scratch directory (.mutate/<name>/) against only the fast tests that exercise
it, with one worker (the machine is shared). At the end every surviving mutant is printed (module, line,
the mutation) in the allowlist's own format; the exit code is 1 if any survives that
tests/mutation_allowlist.txt does not list with a reason, or if an entry for a module that ran matches no
survivor any more (stale: the code changed or a test now kills it). Entries key on the function and the
mutated line's text, not on mutmut's numbering, which shifts whenever the function changes.
Under a mutant its tests run fastest first (tools/mutmut_order.py), so a killed mutant costs little.
Usage: python tools/mutate.py [MODULE ...] [--flows] [--only PATTERN]  (default: every module of TARGETS).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutate"
ALLOWLIST = ROOT / "tests" / "mutation_allowlist.txt"
COPIED = ("tests", "policies", "specs", "fixtures", "deploy", ".github", "README.md")
FAST = ["tests/rules/"]
CLI = ["tests/test_seed_exercises.py", "tests/test_readiness_golden.py"]

# name -> (file to mutate, mutant-name glob(s) joined by `|`, or None for the whole file, tests that exercise it)
Target = tuple[str, str | None, list[str]]
TARGETS: dict[str, Target] = {
    "lifecycle": ("bot/rules/lifecycle.py", None, FAST),
    "readiness": ("bot/rules/readiness.py", None, FAST + CLI),
    "scoring": ("bot/rules/scoring.py", None, FAST),
    "dryrun": ("bot/rules/dryrun.py", None, FAST + CLI),
    "spec": ("bot/rules/spec.py", None, FAST + CLI),
    "codeowners": ("bot/rules/codeowners.py", None, FAST),
    "audit": ("bot/rules/audit.py", None, FAST + ["tests/test_audit_integrity.py"]),
    "caps": ("bot/rules/caps.py", None, FAST),
    "recurrence": ("bot/rules/recurrence.py", None, FAST),
    "seal": ("bot/rules/seal.py", None, FAST + ["tests/test_seal.py"]),
    "delivery": ("bot/rules/delivery.py", None, FAST),
    "remedies": ("bot/rules/remedies.py", None, FAST + ["tests/test_evidence_package.py"]),
    "criteria": ("bot/rules/criteria.py", None, FAST),
    # the backup evidence's age only (the rest of workloads.py is not a rule)
    "workloads": ("bot/desired_state/workloads.py", "bot.desired_state.workloads.x__backup_verified*",
                  FAST + ["tests/test_manifests.py"]),
    "redact": ("bot/intake/redact.py", None, FAST + ["tests/test_normalize.py", "tests/intake/test_projection.py"]),
    # not "sync": that name is bot/flows/sync.py's (FLOWS), which wins the lookup of a name given on the command line
    "sync_rule": ("bot/rules/sync.py", None, FAST + ["tests/test_sync_confirm.py"]),
}
# The command-line tests that drive each flow (a CLI test takes well under a second: a wide selection costs
# mainly on survivors, which run every selected test that reached the mutated function).
_DRIVE = {
    "merge": ["test_merge_flow", "test_lifecycle", "test_seal", "test_github_defects", "test_cooldown",
              "test_audit_integrity", "test_evidence_recovery", "test_command_trace", "test_coalescing", "test_refresh",
              "test_github_refresh", "test_github_forge", "test_sync_confirm"],
    "approve": ["test_approve_flow", "test_lifecycle", "test_seal", "test_github_protection", "test_github_defects",
                "test_cooldown", "test_coalescing", "test_command_trace", "test_github_shallow", "test_github_forge",
                "test_evidence_recovery", "test_refresh"],
    "rollback": ["test_rollback_flow", "test_lifecycle", "test_seal", "test_github_defects", "test_sync_confirm",
                 "test_dry_run_flow", "cli/test_input_edges"],
    "check_dry_run": ["test_dry_run_flow", "test_lifecycle", "test_seal", "test_github_protection",
                      "test_seed_exercises", "test_command_trace", "test_coalescing", "test_cooldown",
                      "test_github_shallow", "test_github_forge", "test_github_pull_review", "test_pull_review",
                      "test_github_defects", "test_evidence_recovery", "test_replay_point",
                      "forge/test_local_notes_race"],
    "check_readiness": ["test_readiness_flow", "test_lifecycle", "test_readiness_golden", "test_lost_points",
                        "test_audit_integrity", "test_pull_review", "test_github_protection", "test_github_defects",
                        "test_seal", "test_replay_point", "test_cooldown", "test_coalescing", "test_github_shallow",
                        "test_github_forge", "test_command_trace", "cli/test_input_edges", "test_evidence_recovery",
                        "forge/test_local_notes_race"],
    "subject": ["test_dry_run_flow", "test_lifecycle", "test_audit_integrity", "test_seal", "test_merge_flow",
                "test_pull_review", "test_readiness_flow", "test_rollback_flow", "test_github_defects",
                "test_approve_flow", "test_refresh"],
    "derive": ["test_lifecycle", "test_seal", "test_audit_integrity", "test_readiness_golden", "test_coalescing",
               "test_refresh", "test_github_defects"],
}
# A target's first test path is its own tests, run first under each of its mutants (tools/mutmut_order.py).
FLOWS: dict[str, Target] = {
    p.stem: (f"bot/flows/{p.name}", None,
             [f"tests/{t}.py" for t in drive[:1]] + FAST + [f"tests/{t}.py" for t in drive[1:]])
    for p in sorted((ROOT / "bot" / "flows").glob("*.py")) if p.name != "__init__.py"
    for drive in [_DRIVE.get(p.stem, ["test_lifecycle"])]
}

# Run mutmut in a Python whose `bot` is the mutated copy: the editable install's finder would win otherwise.
_BOOT = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')];"
    "from mutmut.__main__ import cli; cli()"
)


def _config(path: str, tests: list[str]) -> str:
    quoted = lambda items: "[" + ", ".join(f'"{i}"' for i in items) + "]"  # noqa: E731
    return (
        "[tool.mutmut]\n"
        'source_paths = ["bot"]\n'
        f"only_mutate = {quoted([path])}\n"
        f"also_copy = {quoted(list(COPIED))}\n"
        f"pytest_add_cli_args_test_selection = {quoted(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "mutmut_order", "-x", "-q"]\n'
        "[tool.pytest.ini_options]\n"
        'filterwarnings = ["error"]\n'
    )


Key = tuple[str, tuple[str, ...], tuple[str, ...]]  # function, original lines, mutated lines


def function_of(mutant: str) -> str:
    """`bot.rules.spec.x_load__mutmut_3` -> `bot.rules.spec.load`; a method `xǁCǁm` -> `C.m`."""
    module, _, name = mutant.rsplit("__mutmut_", 1)[0].rpartition(".")
    name = name[2:].replace("ǁ", ".") if name.startswith("xǁ") else name.removeprefix("x_")
    return f"{module}.{name}"


def allowlist() -> dict[Key, str]:
    """(function, original lines, mutated lines) -> reason. An entry is a block:

        bot.rules.codeowners.parse
          - parts = line.split("#", 1)[0].split()
          + parts = line.split("#")[0].split()
          why: only element [0] is read, identical either way
    """
    out: dict[Key, str] = {}
    entry: list[str] = []
    lines = ALLOWLIST.read_text().splitlines() if ALLOWLIST.exists() else []
    for number, line in enumerate([*lines, ""], 1):
        if line.startswith("#"):
            continue
        if line.strip() and line[:1] == " ":
            entry.append(line.strip())
            continue
        if entry:  # a blank or an unindented line ends the entry before it
            function, changed = entry[0], entry[1:]
            reasons = [c[4:].strip() for c in changed if c.startswith("why:")]
            if not reasons or not reasons[0] or any(c[:2] not in ("- ", "+ ") for c in changed if c[:4] != "why:"):
                sys.exit(f"{ALLOWLIST.name}: the entry for {function} before line {number} needs `- `/`+ ` lines "
                         "and a `why:` reason")
            key = (function, tuple(c[2:] for c in changed if c[:2] == "- "),
                   tuple(c[2:] for c in changed if c[:2] == "+ "))
            out[key] = reasons[0]
        entry = [line.strip()] if line.strip() else []
    return out


def mutmut(where: Path, *args: str, first: str = "") -> str:
    done = subprocess.run([sys.executable, "-c", _BOOT, *args], cwd=where, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "INCIDENT_BOT_MUTATE_FIRST": first,
                               "PYTHONPATH": os.pathsep.join(filter(None, [str(where / "_plugins"),
                                                                          os.environ.get("PYTHONPATH")]))})
    if done.returncode not in (0, 1) and args[0] != "run":
        sys.exit(f"mutmut {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def matches(pattern: str | None, mutant: str) -> bool:
    return pattern is None or any(fnmatch.fnmatchcase(mutant, p) for p in pattern.split("|"))


def run_one(name: str, target: Target) -> tuple[dict[str, int], list[tuple[str, str]], set[str]]:
    """The count of mutants by status, the survivors, and the functions whose mutants ran."""
    path, pattern, tests = target
    where = SCRATCH / name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    shutil.copytree(ROOT / "bot", where / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for d in COPIED:
        if (ROOT / d).is_file():
            shutil.copy2(ROOT / d, where / d)
        else:
            shutil.copytree(ROOT / d, where / d, ignore=shutil.ignore_patterns("__pycache__"))
    (where / "pyproject.toml").write_text(_config(path, tests))
    (where / "_plugins").mkdir()
    shutil.copy2(ROOT / "tools" / "mutmut_order.py", where / "_plugins" / "mutmut_order.py")
    ran = mutmut(where, "run", "--max-children", "1", *(pattern.split("|") if pattern else []), first=tests[0])
    counts: dict[str, int] = {}
    survivors, functions = [], set()
    for line in mutmut(where, "results", "--all", "true").splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if not mutant or not matches(pattern, mutant):
            continue
        counts[status] = counts.get(status, 0) + 1
        functions.add(function_of(mutant))
        if status not in ("killed", "timeout", "caught by type check"):
            survivors.append((mutant, status))
    if counts and set(counts) == {"not checked"}:  # mutmut stopped before the first mutant: say why
        spinner = {chr(c) for c in range(0x2800, 0x2900)}  # mutmut's progress frames (braille patterns)
        tail = [line for line in ran.replace("\r", "\n").splitlines() if line.strip() and not spinner & set(line)][-15:]
        sys.exit(f"{name}: mutmut ran no mutant; the end of its output:\n" + "\n".join(tail))
    return counts, survivors, functions


def key_of(mutant: str, diff: str) -> Key:
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    return (function_of(mutant), tuple(ln[1:].strip() for ln in changed if ln[0] == "-"),
            tuple(ln[1:].strip() for ln in changed if ln[0] == "+"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: {', '.join(TARGETS)}")
    parser.add_argument("--flows", action="store_true", help="the flows (bot/flows/*.py) instead")
    parser.add_argument("--only", metavar="PATTERN", help="only the mutants whose name matches (globs joined by |),"
                        " e.g. 'bot.flows.subject.x_diff_problems*' (mutmut names: `module.x_function__mutmut_N`)")
    args = parser.parse_args(argv)
    table = FLOWS if args.flows else TARGETS
    names = args.modules or list(table)
    unknown = [n for n in names if n not in {**TARGETS, **FLOWS}]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}")
    allowed = allowlist()
    unexplained, used = [], set()
    for name in names:
        started = time.monotonic()
        target = table.get(name) or {**TARGETS, **FLOWS}[name]  # a name in both: the table asked for
        if args.only:
            target = (target[0], args.only, target[2])
        path = target[0]
        counts, survivors, functions = run_one(name, target)
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        took = time.monotonic() - started
        print(f"== {name}: {sum(counts.values())} mutants ({summary}) in {took:.0f} s", flush=True)
        source = (ROOT / path).read_text().splitlines()
        for mutant, status in survivors:
            key = key_of(mutant, mutmut(SCRATCH / name, "show", mutant))
            line = next((n for n, text in enumerate(source, 1) if key[1] and text.strip() == key[1][0]), "?")
            mark = f"allowed: {allowed[key]}" if key in allowed else "NOT ALLOWED"
            print(f"  {mutant} line {line} [{status}] {mark}")
            print(f"{key[0]}\n" + "".join(f"  - {t}\n" for t in key[1]) + "".join(f"  + {t}\n" for t in key[2]))
            used.add(key)
            if key not in allowed:
                unexplained.append(mutant)
        for key in allowed:  # an entry of a function that ran (all of the module, unless --only) must still hold
            if key[0] in functions and key not in used:
                print(f"  stale allowlist entry (no such surviving mutant): {key[0]}: {' / '.join(key[1])}")
                unexplained.append(key[0])
    if unexplained:
        print(f"{len(unexplained)} surviving mutant(s) outside {ALLOWLIST.relative_to(ROOT)} or stale entries")
        return 1
    print("no surviving mutant outside the allowlist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
