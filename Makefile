# Every target creates .venv itself: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check bench bench-quick soak clean i18n i18n-extract i18n-update i18n-compile

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/workflow demo

test: $(STAMP)
	$(BIN)/ruff check src cli tests
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src cli tests

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.run --full

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest --timeout=0 -m "not slow" tests/reliability

# PostgreSQL failover (issue 24): dozens of kills of a primary, synchronous and asynchronous
.PHONY: failover
failover: $(STAMP)
	WORKFLOW_FAILOVER_KILLS=$${WORKFLOW_FAILOVER_KILLS:-30} $(BIN)/pytest -s --timeout=0 tests/test_failover.py

# the multi-process proofs, bigger: 32 processes x 300 rounds, 100 kills per configuration
.PHONY: scaleout
scaleout: $(STAMP)
	WORKFLOW_CONTENTION_PROCS=32 WORKFLOW_CONTENTION_ROUNDS=300 WORKFLOW_CRASH_KILLS_PER_POINT=20 \
		$(BIN)/pytest -s tests/test_scaleout_concurrency.py tests/test_scaleout_crash.py

# Translations (docs/translations.md): extract the marked messages into the template, merge it
# into each language's catalogue (then translate the new entries), compile what ships
LOCALES := src/workflow/locale
i18n: i18n-extract i18n-update i18n-compile

i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F pyproject.toml --no-location --sort-output --no-wrap --omit-header \
		--project directive-workflow --version 0.1.0 \
		-o $(LOCALES)/workflow.pot src/workflow cli

i18n-update: $(STAMP)
	$(BIN)/pybabel update -D workflow -i $(LOCALES)/workflow.pot -d $(LOCALES) \
		--no-wrap --ignore-obsolete --no-fuzzy-matching

i18n-compile: $(STAMP)
	$(BIN)/pybabel compile -D workflow -d $(LOCALES) --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache workflow.db workflow.db-*
