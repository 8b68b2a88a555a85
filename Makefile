# Hài Lòng — the commands a user runs.  `make run` and `make test` are enough on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-sqlite test-postgres bench lint install clean reliability

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

## Start the server on an embedded SQLite database seeded with demo data; prints the URLs to open.
run: $(STAMP)
	$(BIN)/hailong serve --demo --host $(HOST) --port $(PORT)

## The whole test suite: once on SQLite, once more (database-backed tests) on PostgreSQL.
test: $(STAMP) test-sqlite test-postgres

test-sqlite: $(STAMP)
	HAILONG_TEST_DATABASE=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider tests

test-postgres: $(STAMP)
	@if $(BIN)/python -m survey.db.probe "$(PG_URL)"; then \
	  HAILONG_TEST_DATABASE="$(PG_URL)" $(BIN)/python -m pytest -q -p no:cacheprovider tests/survey tests/kiosk tests/reliability tests/experts tests/par tests/results tests/e2e; \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is not reachable at $(PG_URL) and CI is set: failing"; exit 1; \
	else echo "!! PostgreSQL not reachable at $(PG_URL): the PostgreSQL pass was NOT run (set PG_URL or start PostgreSQL)"; fi

## The long reliability suite (issue 13): kill -9 rounds, two app processes on one database, the restore drill,
## with longer load; on SQLite, then on PostgreSQL at PG_URL.
RELIABILITY_TESTS := tests/survey/test_reliability_kill.py tests/survey/test_reliability_processes.py tests/survey/test_backup_restore.py
reliability: $(STAMP)
	HAILONG_RELIABILITY=long HAILONG_TEST_DATABASE=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider $(RELIABILITY_TESTS)
	@if $(BIN)/python -m survey.db.probe "$(PG_URL)"; then \
	  HAILONG_RELIABILITY=long HAILONG_TEST_DATABASE="$(PG_URL)" $(BIN)/python -m pytest -q -p no:cacheprovider $(RELIABILITY_TESTS); \
	elif [ -n "$$CI" ]; then echo "PostgreSQL is not reachable at $(PG_URL) and CI is set: failing"; exit 1; \
	else echo "!! PostgreSQL not reachable at $(PG_URL): the PostgreSQL reliability pass was NOT run"; fi

## Benchmarks: every figure is printed as a ratio against a baseline measured in the same run.
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build dist *.egg-info hailong.sqlite3
