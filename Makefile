# make run: set up and serve with a demo on the embedded Valkey.  make test: set up and run everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean browser mutation

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

# The page tests drive Debian's Chromium and need a CJK font for zh-CN: installed here when
# this user may (root, or sudo without a password), else make stops at once naming the command.
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi cjk; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "make test needs Chromium and a CJK font for the page tests; run:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y $(BROWSER_PACKAGES)"; exit 1; fi; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES)

test: browser lint
	$(BIN)/pytest -q

# Mutation testing of the pure rules (auction/) by their fast tests; not part of `make test`
# (about 10 minutes on 2 cores). `$(BIN)/mutmut browse` reads the survivors.
mutation: $(STAMP)
	$(BIN)/mutmut run; $(BIN)/mutmut results

bench: $(STAMP)
	$(BIN)/python loadtests/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
