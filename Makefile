# Two commands on a fresh clone: `make run` (serve on SQLite) and `make test` (the whole suite).
# Both bootstrap: uv is installed with pip if missing, then the locked dependencies are synced.

PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen

.DEFAULT_GOAL := help
.PHONY: help bootstrap browser run test lint typecheck pytest bench bench-quick

help:
	@echo "make run    set up, migrate the SQLite database and serve on 127.0.0.1:8000"
	@echo "            (PORT=8001: another port; ECOMMERCE=1: also start the reference"
	@echo "            ecommerce server and use it)"
	@echo "make test   set up and run the whole suite (ruff, mypy, pytest)"

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet

# `make run PORT=8001` serves on another port; `make run ECOMMERCE=1` also starts the reference
# ecommerce server and points the gateway at it.
PORT ?= 8000
ECOMMERCE ?= 0
ECOMMERCE_PORT ?= 18130

run: bootstrap
ifeq ($(ECOMMERCE),1)
	@.venv/bin/catalog-gateway devserver ecommerce --port $(ECOMMERCE_PORT) & \
	  trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	  echo "reference ecommerce server on http://127.0.0.1:$(ECOMMERCE_PORT)"; \
	  CATALOG_GATEWAY_ECOMMERCE_URL=http://127.0.0.1:$(ECOMMERCE_PORT) \
	  .venv/bin/catalog-gateway serve --port $(PORT)
else
	@.venv/bin/catalog-gateway serve --port $(PORT)
endif

test: bootstrap browser lint typecheck pytest

# The console's browser tests drive Debian's Chromium through Playwright (which never downloads
# a browser here). As root, install it when missing; otherwise say so: the browser tests then
# skip, or fail when CI=true.
CHROMIUM := /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@test -x $(CHROMIUM) || echo "$(CHROMIUM) is missing (install Debian's chromium as root): \
	the console's browser tests will be skipped, or fail when CI=true"

lint:
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) lint-imports

typecheck:
	$(RUN) mypy src

# pytest-xdist: one worker per core (2 here), scheduled by work stealing (a worker that runs
# out takes pending tests from the other, so one slow module does not hold up the end).
# `make pytest PYTEST_WORKERS=0` runs serially; plain `.venv/bin/pytest` is serial too.
# Not --dist loadfile/loadscope/loadgroup: they schedule by node id, and schemathesis's items
# share one, so they silently run 1 of the 19 API-conformance items.
PYTEST_WORKERS ?= auto

pytest:
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist worksteal

bench: bootstrap
	$(RUN) python bench/run.py

bench-quick: bootstrap
	$(RUN) python bench/run.py --quick
