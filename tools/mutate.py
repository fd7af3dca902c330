"""`make mutate`: mutation testing of the pure rules with mutmut, one module at a time.

Each module runs in its own scratch directory (.mutate/<name>/) against only the fast tests that exercise
it, with one worker (the machine is shared). At the end every surviving mutant is printed (module, line,
the mutation); the exit code is 1 if any survives that tests/mutation_allowlist.txt does not list with a
reason. Usage: python tools/mutate.py [MODULE ...] [--flows]  (default: every module of TARGETS).
"""

from __future__ import annotations

import argparse
import os
import re
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

# name -> (file to mutate, mutant-name pattern or None for the whole file, tests that exercise it)
TARGETS: dict[str, tuple[str, str | None, list[str]]] = {
    "lifecycle": ("bot/rules/lifecycle.py", None, FAST),
    "readiness": ("bot/rules/readiness.py", None, FAST + CLI),
    "scoring": ("bot/rules/scoring.py", None, FAST),
    "dryrun": ("bot/rules/dryrun.py", None, FAST + CLI),
    "spec": ("bot/rules/spec.py", None, FAST + CLI),
    "codeowners": ("bot/rules/codeowners.py", None, FAST),
    "audit": ("bot/rules/audit.py", None, FAST + ["tests/test_audit_integrity.py"]),
    # the backup evidence's age only (the rest of workloads.py is not a rule)
    "workloads": ("bot/desired_state/workloads.py", "bot.desired_state.workloads.x__backup_verified*",
                  FAST + ["tests/test_manifests.py"]),
    "redact": ("bot/intake/redact.py", None, FAST + ["tests/test_normalize.py", "tests/intake/test_projection.py"]),
}
FLOWS = {
    p.stem: (f"bot/flows/{p.name}", None, ["tests/rules/", "tests/test_lifecycle.py"])
    for p in sorted((ROOT / "bot" / "flows").glob("*.py")) if p.name != "__init__.py"
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
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'
        "[tool.pytest.ini_options]\n"
        'filterwarnings = ["error"]\n'
    )


def allowlist() -> dict[str, str]:
    """mutant name -> reason; a line is `<mutant name>  # <reason>` and a reason is required."""
    out = {}
    for line in ALLOWLIST.read_text().splitlines() if ALLOWLIST.exists() else []:
        if not line.strip() or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            sys.exit(f"{ALLOWLIST.name}: {name.strip()} has no reason")
        out[name.strip()] = reason.strip()
    return out


def mutmut(where: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", _BOOT, *args], cwd=where, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if done.returncode not in (0, 1) and args[0] != "run":
        sys.exit(f"mutmut {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def run_one(name: str, target: tuple[str, str | None, list[str]]) -> tuple[dict[str, int], list[tuple[str, str]]]:
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
    mutmut(where, "run", "--max-children", "1", *([pattern] if pattern else []))
    counts: dict[str, int] = {}
    survivors = []
    for line in mutmut(where, "results", "--all", "true").splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if not mutant or (pattern and not re.fullmatch(pattern.replace(".", r"\.").replace("*", ".*"), mutant)):
            continue
        counts[status] = counts.get(status, 0) + 1
        if status not in ("killed", "timeout", "caught by type check"):
            survivors.append((mutant, status))
    return counts, survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: {', '.join(TARGETS)}")
    parser.add_argument("--flows", action="store_true", help="the flows (bot/flows/*.py) instead")
    args = parser.parse_args(argv)
    table = FLOWS if args.flows else TARGETS
    names = args.modules or list(table)
    unknown = [n for n in names if n not in {**TARGETS, **FLOWS}]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}")
    allowed = allowlist()
    unexplained = []
    for name in names:
        started = time.monotonic()
        counts, survivors = run_one(name, {**TARGETS, **FLOWS}[name])
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        took = time.monotonic() - started
        print(f"== {name}: {sum(counts.values())} mutants ({summary}) in {took:.0f} s", flush=True)
        source = (ROOT / {**TARGETS, **FLOWS}[name][0]).read_text().splitlines()
        for mutant, status in survivors:
            diff = mutmut(SCRATCH / name, "show", mutant)
            changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
            mark = f"allowed: {allowed[mutant]}" if mutant in allowed else "NOT ALLOWED"
            removed = next((ln[1:] for ln in changed if ln.startswith("-")), None)
            line = next((n for n, text in enumerate(source, 1) if removed and text.strip() == removed.strip()), "?")
            print(f"  {mutant} line {line} [{status}] {mark}")
            for ln in changed:
                print(f"      {ln}")
            if mutant not in allowed:
                unexplained.append(mutant)
    if unexplained:
        print(f"{len(unexplained)} surviving mutant(s) outside {ALLOWLIST.relative_to(ROOT)}")
        return 1
    print("no surviving mutant outside the allowlist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
