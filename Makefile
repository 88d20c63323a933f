# make run: set up and serve with a demo on the embedded Valkey.  make test: set up and run everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/openbid serve --demo

lint: $(STAMP)
	$(BIN)/ruff format --check auction server streaming tests loadtests
	$(BIN)/ruff check auction server streaming tests loadtests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python loadtests/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
