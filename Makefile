# deepswap's front door. `make train` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
export OMP_WAIT_POLICY ?= PASSIVE
# pytest-xdist workers for `make test` (auto: one per core, one torch thread each; 0: in this process)
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help install fixtures train test test-full lint format clean bench

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --no-compile $(TORCH_PIN)  # no .pyc for all of torch: about 1 min less
	$(PIP) install -q --no-compile -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## Create .venv and install deepswap with its dev tools

fixtures: $(STAMP)  ## Fetch the real-face test fixtures (SCRFD, photos) into ~/.cache/deepswap/fixtures
	$(PY) tests/fixtures/fetch.py

train: $(STAMP)  ## Train the main job (synthetic faces, CPU, ~15 min); extra Hydra overrides via ARGS="..."
	$(PY) -m deepswap.train $(ARGS)

test: $(STAMP) fixtures  ## Run the default test suite (no slow or GPU tests)
	WANDB_MODE=disabled $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

test-full: $(STAMP) fixtures  ## Run every test, slow ones included
	WANDB_MODE=disabled $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not gpu" $(ARGS)

bench: $(STAMP)  ## Print the renderer and generator benchmark tables
	$(PY) experiments/benchmarks/bench_render.py
	$(PY) experiments/benchmarks/bench_generators.py --quick

lint: $(STAMP)  ## ruff check + format check
	$(VENV)/bin/ruff check deepswap tests experiments
	$(VENV)/bin/ruff format --check deepswap tests experiments

format: $(STAMP)  ## ruff format + autofix
	$(VENV)/bin/ruff format deepswap tests experiments
	$(VENV)/bin/ruff check --fix deepswap tests experiments

clean:  ## Remove caches and run outputs (not .venv, not ~/.cache/deepswap)
	rm -rf .pytest_cache .ruff_cache logs outputs build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
