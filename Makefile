# siting: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint bench data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## Plan the embedded Jiading demo into out/jiading-demo/.
demo: $(STAMP)
	$(BIN)/siting demo --out out/jiading-demo

## Install what tests need, lint, and run the whole suite.
test: $(STAMP)
	$(BIN)/ruff check siting tests scripts notebooks
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check siting tests scripts notebooks

## Per-stage timings of the demo.
bench: $(STAMP)
	$(BIN)/python scripts/bench_demo.py

## Rebuild the embedded demo data from ../shared/data.
data: $(STAMP)
	$(BIN)/python scripts/build_demo_data.py

clean:
	rm -rf out .pytest_cache
