# Forewarn: two commands do all the set-up.
#   make run   installs into .venv, migrates the embedded SQLite database, loads a demo world and serves
#              the UI, API and a task worker on http://127.0.0.1:8000 (make run PORT=8101 HOST=0.0.0.0:
#              elsewhere; links in messages follow unless FOREWARN_PUBLIC_URL names the address)
#   make test  installs what the tests need and runs every check on SQLite and on PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 3000
# The demo's SMS, Telegram and Viber, which hear callbacks signed with published secrets (docs/callbacks.md);
# `make run` only, never a default. DEMO_CHANNELS=off make run leaves them out.
DEMO_CHANNELS ?= on
# PostgreSQL for the second test pass; the test runner creates its own test_* database there.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/forewarn
PYTEST_ARGS ?=

.PHONY: run test install install-dev lint check-postgres check-chromium test-sqlite test-postgres test-fast test-browser test-crash bench bench-pii bench-inbox messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Forewarn needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/forewarn migrate
	$(BIN)/forewarn demo-data --if-empty --customers $(DEMO_CUSTOMERS)
	@echo "Open http://$(HOST):$(PORT) and sign in with one of the accounts above (they are kept in var/demo-credentials.txt)."
	@echo "Write to the demo as a customer: http://$(HOST):$(PORT)/engage/messages/simulate/, or curl as in docs/callbacks.md."
	FOREWARN_DEMO_CHANNELS=$(DEMO_CHANNELS) $(BIN)/forewarn serve --host $(HOST) --port $(PORT)

# The rules of docs/architecture.md as checks: ruff (with every noqa's reason), mypy, the layers
# (lint-imports, contracts in pyproject.toml) and the project's own rules (scripts/check_rules.py).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_rules.py
	FOREWARN_DATA_DIR=$$(mktemp -d) $(BIN)/forewarn manage makemigrations --check --dry-run

check-chromium:
	@scripts/ensure-chromium.sh

check-postgres: install-dev
	@$(BIN)/python scripts/ensure_postgres.py "$(TEST_POSTGRES_URL)"

# The SQLite pass measures coverage and fails below the floor in pyproject.toml ([tool.coverage.report]).
test-sqlite: install-dev check-chromium
	FOREWARN_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -n 2 --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

test-postgres: install-dev check-chromium check-postgres
	FOREWARN_DATA_DIR=$$(mktemp -d) FOREWARN_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint test-sqlite test-postgres

# Lanes for everyday work; `make test` (and CI) still runs them all, on both databases.
# test-fast: unit, API and lint-rule tests on SQLite, no browser and no crash tests (about a minute).
test-fast: install-dev
	FOREWARN_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -n 2 -m "not browser and not crash" $(PYTEST_ARGS)

test-browser: install-dev check-chromium
	FOREWARN_DATA_DIR=$$(mktemp -d) $(BIN)/pytest -n 2 -m browser $(PYTEST_ARGS)

test-crash: install-dev check-postgres
	FOREWARN_DATA_DIR=$$(mktemp -d) FOREWARN_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -m crash $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python bench/import_customers.py

# Presidio is installed for this benchmark only (the pii-bench extra), never for the service or its tests.
bench-pii: install-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,pii-bench]'
	$(BIN)/python bench/pii.py

# The inbox at a million tickets over HTTP, on a PostgreSQL database of its own on the test server
# (BENCH_INBOX_ARGS="--tickets 20000" for a quick check).
bench-inbox: install-dev check-postgres
	$(BIN)/python bench/inbox.py --database-url $(TEST_POSTGRES_URL) $(BENCH_INBOX_ARGS)

messages: install-dev
	cd src/forewarn && FOREWARN_DATA_DIR=$$(mktemp -d) ../../$(BIN)/django-admin makemessages -l uk -l ru --no-obsolete --ignore 'tests/*' --ignore '*/tests/*' --settings forewarn.settings
	cd src/forewarn && FOREWARN_DATA_DIR=$$(mktemp -d) ../../$(BIN)/django-admin compilemessages --settings forewarn.settings

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
