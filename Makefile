# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEMO_DB := data/revisit.db
export PYTHONPATH := $(CURDIR)

.PHONY: run test test-unit test-db test-pages test-browser typecheck format-check venv demo app worker browser lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Debian's chromium (and CJK fonts for its screenshots) for the browser tests; installed on CI only.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  if [ "$${CI:-}" = "true" ]; then \
	    echo "installing Debian chromium and CJK fonts for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium or CJK fonts missing: browser tests skip (apt-get install chromium fonts-noto-cjk)"; fi; \
	fi

demo: $(STAMP)
	@if [ -z "$${DATABASE_URL:-}" ] && [ ! -f $(DEMO_DB) ]; then \
	  echo "building the demo database (first run only)"; \
	  $(PY) -m dashboard.cli demo; \
	elif [ -n "$${DATABASE_URL:-}" ]; then $(PY) -m dashboard.cli demo --if-empty; fi

# The worker runs beside the app and stops with it. The app listens on this machine only unless
# told otherwise: `make run HOST=0.0.0.0` (then set REVISIT_COOKIE_KEY and REVISIT_DEMO_MODE=0).
HOST ?= 127.0.0.1
PORT ?= 8501

run: demo
	@export REVISIT_DEMO_MODE=$${REVISIT_DEMO_MODE:-1}; \
	$(PY) -m dashboard.cli worker & worker=$$!; \
	trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	$(VENV)/bin/streamlit run dashboard/app.py --server.port $(PORT) --server.address $(HOST)

# Every tier, plus the type check and the format check; each tier also has a target of its own.
test: $(STAMP) browser typecheck format-check
	$(PY) -m pytest -q -p no:cacheprovider -rs tests

test-unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -rs tests/unit

test-db: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -rs tests/db

test-pages: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -rs tests/pages

test-browser: $(STAMP) browser
	$(PY) -m pytest -q -p no:cacheprovider -rs tests/browser

typecheck: $(STAMP)
	$(VENV)/bin/mypy

format-check: $(STAMP)
	$(VENV)/bin/ruff format --check core db services dashboard pages demo tests

lint: $(STAMP)
	$(VENV)/bin/ruff check core db services dashboard pages demo tests

clean:
	rm -rf $(VENV) data/*.db
