# Two commands on a fresh clone: `make run` (serve on SQLite) and `make test` (the whole suite).
# Both bootstrap: uv is installed with pip if missing, then the locked dependencies are synced.

PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen

.DEFAULT_GOAL := help
.PHONY: help bootstrap run test lint typecheck pytest

help:
	@echo "make run    set up, migrate the SQLite database and serve on 127.0.0.1:8000"
	@echo "make test   set up and run the whole suite (ruff, mypy, pytest)"

bootstrap:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	@$(UV) sync --frozen --quiet

run: bootstrap
	$(RUN) catalog-gateway serve

test: bootstrap lint typecheck pytest

lint:
	$(RUN) ruff check src tests
	$(RUN) ruff format --check src tests

typecheck:
	$(RUN) mypy src

pytest:
	$(RUN) pytest
