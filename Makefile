# `make up` runs Tertulia on this machine (installing only what it needs); `make test` runs
# every test tier (adding the test toolchain).
PY ?= python3
VENV := .venv
PORT ?= 8080
DATA_DIR ?= ./data
CHAT_REPLICAS ?= 1
# `make up DEMO=1` fills an empty system with demo users, rooms and messages.
DEMO ?=
BIN := $(VENV)/bin
# Two workers (pytest-xdist): most tests wait on servers they started, so two files at a
# time fill the two cores; each file stays on one worker, the browser tests on one
# (tests/conftest.py). `make test XDIST=` runs everything in one process.
XDIST ?= -n 2 --dist loadscope --no-loadscope-reorder
PYTEST := $(BIN)/pytest -q -ra $(XDIST)

.PHONY: up test test-unit test-integration test-slow test-e2e lint asyncapi nats-config bench image clean

# Re-install when the project's dependencies change. `make up` needs only what runs the
# system ([project.dependencies]); tests and lint add the dev extra (which includes it).
$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'
	touch $@ $(VENV)/.installed-run

up: $(VENV)/.installed-run
	$(BIN)/tertulia up --port $(PORT) --data-dir $(DATA_DIR) --chat-replicas $(CHAT_REPLICAS) \
		$(if $(DEMO),--demo)

# The whole suite, every tier (slow and integration included); pytest's own exit code is
# the result, so "no tests collected" (5) fails too.
test: $(VENV)/.installed
	$(BIN)/lint-imports
	$(PYTEST)

test-unit: $(VENV)/.installed
	$(PYTEST) tests/unit tests/contract

test-integration: $(VENV)/.installed
	$(PYTEST) -m integration

test-slow: $(VENV)/.installed
	$(PYTEST) -m slow

# Browser tests (Playwright driving the system Chromium at /usr/bin/chromium).
test-e2e: $(VENV)/.installed
	$(PYTEST) -m e2e tests/e2e

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The one image of every service, localhost/tertulia:<version>, exported to
# dist/tertulia-image.tar (docker-archive): Debian's buildah and debootstrap, as root, no
# Docker daemon (infra/image/build.sh; docs/deploy.md, "The image").
image: $(VENV)/.installed-run
	PYTHON=$(BIN)/python infra/image/build.sh

# Regenerate the event documentation from shared/contracts.
asyncapi: $(VENV)/.installed
	$(BIN)/python docs/gen_asyncapi.py > docs/asyncapi.yaml.tmp
	mv docs/asyncapi.yaml.tmp docs/asyncapi.yaml

# NATS users and permissions from shared/contracts, into every auth.conf under infra/.
nats-config: $(VENV)/.installed
	$(BIN)/python -m shared.contracts.permissions > infra/nats/auth.conf.tmp
	mv infra/nats/auth.conf.tmp infra/nats/auth.conf
	find infra -name auth.conf ! -path infra/nats/auth.conf -exec cp infra/nats/auth.conf {} \;

# The benchmark (bench/README.md): Tertulia side by side with the servers it is judged by.
# `make bench BENCH_ARGS="--quick"` for a smoke run; any bench/run.py option goes there.
BENCH_ARGS ?=

$(VENV)/.installed-bench: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev,bench]'
	touch $@

# npm ci again only when the lock file changed (or node_modules is gone).
bench/node_modules/.installed: bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	touch $@

bench: $(VENV)/.installed-bench bench/node_modules/.installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	find . -path ./$(VENV) -prune -o -type d \
		\( -name __pycache__ -o -name .pytest_cache -o -name .ruff_cache \
		   -o -name .hypothesis \) -prune -print -exec rm -rf {} +
