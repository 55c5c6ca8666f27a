# `make lab`  — create .venv, install everything, start JupyterLab on notebooks/
# `make test` — create .venv if needed, install everything, run every test
# `make test-fast` — the fast core (no browser, no PostgreSQL, nothing slow) on two workers
# `make test-stress [RUNS=5]` — the whole suite RUNS times beside a CPU hog (tests/stress.py)
# `make test-pythons [PYTHONS="3.10 3.13"]` — the fast core on the oldest and newest Python
PYTHON ?= python3
# Python may keep compiled modules (pytest its rewritten tests): where PYTHONDONTWRITEBYTECODE
# is set, every run compiled every module and test file again (about 5 s of the fast core).
unexport PYTHONDONTWRITEBYTECODE
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test test-fast test-stress test-pythons lab install system-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the project's metadata changes.
$(STAMP): $(BIN)/python pyproject.toml
	@command -v npm >/dev/null 2>&1 || { echo "Node.js (20+) and npm are needed to build the JupyterLab extension"; exit 1; }
	$(BIN)/python -m pip install -q -e ".[test,llm,postgresql,semantic]"
	touch $(STAMP)

# The JupyterLab frontend. The editable install builds it once; this rebuilds it whenever
# labextension/ changes and links the build into .venv, so JupyterLab serves the sources.
LABEXT     := $(VENV)/.labextension
LABEXT_SRC := $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*) \
              labextension/package.json \
              labextension/package-lock.json labextension/tsconfig.json

$(LABEXT): $(STAMP) $(LABEXT_SRC)
	cd labextension && export PATH="$(CURDIR)/$(BIN):$$PATH" && npm install --no-audit --no-fund && npm run build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter labextension develop --overwrite .
	touch $@

install: $(STAMP) $(LABEXT)

# Debian packages the browser and database tests need; installed only where missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# --require-all: a test skipped for a missing dependency (PostgreSQL, Chromium, …) fails
# here, since this target installs them all.
test: install system-deps
	$(BIN)/python -m pytest --require-all

test-fast: install
	$(BIN)/python -m pytest -n 2 -m "not browser and not postgresql and not slow"

RUNS ?= 5
test-stress: install system-deps
	$(BIN)/python tests/stress.py --runs $(RUNS)

# Each version gets its own .venv-X.Y; the frontend built by `make install` is reused.
PYTHONS ?= 3.10 3.13
test-pythons:
	$(PYTHON) tests/pythons.py $(PYTHONS)

lint: install
	$(BIN)/ruff check activemirror_jupyter tests benchmarks
	$(BIN)/ruff format --check activemirror_jupyter tests benchmarks
	cd labextension && npm run lint:check

# Extra JupyterLab options: make lab LAB_ARGS="--port 9999"
LAB_ARGS ?=
lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

bench: install
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(VENV)-3.* build dist labextension/node_modules labextension/lib activemirror_jupyter/labextension
