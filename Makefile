# Two entry points on a fresh clone: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench fuzz mutate mutate-flows clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bot.demo

lint: $(STAMP)
	$(BIN)/ruff check bot tests $(wildcard bench tools)
	$(BIN)/mypy
	PATH="$(BIN):$$PATH" $(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/zizmor --persona auditor --offline --no-progress --color never .github/workflows .github/actions
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema custom.github-workflows-require-timeout .github/workflows/*.yml

test: lint
	$(BIN)/python -m pytest

# Mutation testing (not part of `make test`): MODULES=dryrun limits it; survivors outside
# tests/mutation_allowlist.txt fail the target. One worker: the machine is shared.
MUTATE_STAMP := $(VENV)/.installed-mutate
$(MUTATE_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,lint,mutate]'
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	$(BIN)/python tools/mutate.py $(MODULES)

mutate-flows: $(MUTATE_STAMP)
	$(BIN)/python tools/mutate.py --flows $(MODULES)

# The input-edge fuzz suite (tests/test_fuzz_inputs.py) with a long budget; `make test` runs it small.
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	INCIDENT_BOT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/test_fuzz_inputs.py

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .mutate
