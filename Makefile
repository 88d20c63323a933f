# make run: set up and serve with a demo on the embedded Valkey.  make test: set up and run everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean browser font mutation lock

# Every package at the version and with the hashes requirements-dev.lock names (the server's
# own, requirements.lock, is what the Dockerfile installs); then OpenBid itself
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing a dependency in pyproject.toml: pin every package again, with its hashes
LOCK := $(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 --quiet
lock: $(STAMP)
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -o requirements-dev.lock

run: $(STAMP) font
	$(BIN)/openbid serve --demo

# The signed PDFs (成交确认书, 开标记录表) embed a CJK font: installed here when this user may;
# without it the server runs and those two answer 503 DOCUMENTS_UNAVAILABLE.
font:
	@if fc-list 2>/dev/null | grep -qi cjk || [ -n "$$OPENBID_PDF_FONT" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "no CJK font: the signed PDFs answer 503 until: sudo apt-get install -y fonts-noto-cjk"; \
	  exit 0; fi; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk || true

lint: $(STAMP)
	$(BIN)/ruff format --check auction server streaming tests loadtests
	$(BIN)/ruff check auction server streaming tests loadtests
	$(BIN)/mypy
	$(BIN)/mypy tests

# The page tests drive Debian's Chromium and need a CJK font for zh-CN, and the anchoring
# tests' time-stamping authority is `openssl ts` (Debian's openssl is optional, though
# ca-certificates brings it): installed here when this user may (root, or sudo without a
# password), else make stops at once naming the command.
BROWSER_PACKAGES := chromium fonts-noto-cjk openssl
browser:
	@if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi cjk \
	  && command -v openssl >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "make test needs Chromium and a CJK font (page tests) and openssl (a TSA); run:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y $(BROWSER_PACKAGES)"; exit 1; fi; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES)

# The suite on two processes (most tests wait on deadlines, sockets and browsers more than
# they compute), then its coverage of every floor (branches); the pure rules must keep 95%
test: browser lint
	$(BIN)/pytest -q -n 2 --cov --cov-report=term:skip-covered
	$(BIN)/coverage report --include='auction/*' --fail-under=95 --format=total

# Mutation testing of the pure rules (auction/) by their fast tests; not part of `make test`
# (about 20 minutes on 2 cores). `$(BIN)/mutmut browse` reads the survivors.
mutation: $(STAMP)
	$(BIN)/mutmut run; $(BIN)/mutmut results

bench: $(STAMP)
	$(BIN)/python loadtests/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
