# sopkit — everyday commands. Quick start: `make cycle`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Optional: make cycle DATA=path/to/folder CYCLE=2026-11 PARAMS=params/cycle.yaml
CYCLE_ARGS := $(if $(DATA),--data $(DATA)) $(if $(CYCLE),--cycle $(CYCLE)) $(if $(PARAMS),--params $(PARAMS))

PEERS  := .venv-peers

.PHONY: lock setup cycle test lint format browser postgres lab peers benchmark clean help

help:
	@echo "make cycle   set up .venv and run the monthly cycle on the sample company"
	@echo "make test    the whole test suite (installs headless Chromium and PostgreSQL when run as root)"
	@echo "make lab     open the notebooks in JupyterLab"
	@echo "make lint    ruff"
	@echo "make lock    refresh constraints.txt, the exact library versions make setup installs"
	@echo "make benchmark  the figures of docs/benchmarks.md, side by side with the peers"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "sopkit needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab,test]"
	@touch $(STAMP)

setup: $(STAMP)

# Re-resolve pyproject.toml's ranges in a throw-away venv and write the exact versions.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[lab,test]"
	{ sed -n '/^#/p' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable \
	  | grep -v -i '^sopkit'; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf .venv-lock
	@echo "constraints.txt refreshed: run make test, then commit it"

cycle: setup
	$(BIN)/sop cycle $(CYCLE_ARGS)

# Debian's chromium and chromedriver for the real-browser check of the reports.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing Debian chromium + chromium-driver for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "note: chromium is not installed and cannot be installed here (needs root and apt-get);"; \
		echo "      the browser test will say so (it fails under CI=true)"; \
	fi

# Debian's PostgreSQL server binaries for the plan-of-record tests: the tests start
# their own throw-away server (initdb + pg_ctl as a non-root user, on a free port).
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing Debian postgresql for the plan-of-record tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "note: PostgreSQL is not installed and cannot be installed here (needs root and apt-get);"; \
		echo "      the PostgreSQL store tests will say so (they fail under CI=true)"; \
	fi

lint: setup
	$(BIN)/ruff check sopkit tests notebooks benchmarks conftest.py

format: setup
	$(BIN)/ruff format sopkit tests benchmarks

test: setup browser postgres lint
	$(BIN)/python -m pytest

# Peers for the side-by-side benchmarks: statsforecast pins pandas<3, so it gets
# its own virtualenv and runs as a subprocess.
$(PEERS)/.installed-stamp:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet "statsforecast==2.1.1" psutil
	@touch $@

peers: $(PEERS)/.installed-stamp

# The figures of docs/benchmarks.md, measured side by side (lumpy_blend: about 4.5 min here); the Dask
# scaling section is its own long run: .venv/bin/python benchmarks/scale.py
benchmark: setup peers
	$(BIN)/python benchmarks/cycle_time.py
	$(BIN)/python benchmarks/forecast_speed.py --statsforecast-python $(PEERS)/bin/python
	$(BIN)/python benchmarks/forecast_accuracy.py --statsforecast-python $(PEERS)/bin/python
	$(BIN)/python benchmarks/forecast_stability.py
	$(BIN)/python benchmarks/supply_speed.py --markdown
	$(BIN)/python benchmarks/supply_speed.py --markdown --allocate-by units
	$(BIN)/python benchmarks/supply_allocation.py
	$(BIN)/python benchmarks/purchase_lead_times.py
	$(BIN)/python benchmarks/lumpy_blend.py
	$(BIN)/python benchmarks/promotion_lift.py

lab: setup
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf runs/ data/sample/ .pytest_cache
