# Qualitrail: `make run` starts the local stack, `make test` runs the whole suite.
# Both install what is missing: the virtual environment from requirements.lock, the npm pins of
# contracts/ (solc, anvil), and for the browser tests Debian's chromium and a CJK font.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONTZPATH :=

.PHONY: install run test chaos mutate lint typecheck contracts-check compose-check demo clean

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

contracts/node_modules/.installed: contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The console's web assets (htmx, ECharts) and axe-core for its accessibility tests: served by us.
console/node_modules/.installed: console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages for the browser tests, as root or through sudo.
APT_INSTALL = if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq $(1) >/dev/null; \
	else sudo apt-get update -qq && sudo apt-get install -y -qq $(1) >/dev/null; fi
# A CJK font: the pages are tested in Chinese at phone width, and Chromium draws boxes without one.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

/usr/bin/chromium:
	@$(call APT_INSTALL,chromium)

$(CJK_FONT):
	@$(call APT_INSTALL,fonts-wqy-microhei)

install: $(VENV)/.installed contracts/node_modules/.installed console/node_modules/.installed

run: install
	$(BIN)/qualitrail run

demo: install
	$(BIN)/qualitrail demo

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy analysis domain workflows activities api readmodel cli contracts chain certificates observability services temporal console worker.py settings.py

contracts-check: install
	$(BIN)/python -m contracts.compile --check

# docker-compose.yml resolved with .env.example as Compose resolves it, each container's settings
# loaded, mounted files and one-shot job retries checked: a few seconds, no Docker engine needed.
compose-check: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/deploy/test_compose.py tests/deploy/test_compose_env.py \
		tests/deploy/test_dockerfile.py

# Groups of tests in pytest processes, two at a time (tests/lanes.py, decision 026).
test: install /usr/bin/chromium $(CJK_FONT) lint typecheck contracts-check compose-check
	$(BIN)/python -m tests.lanes -q -p no:cacheprovider --timeout 600 --durations=15

# The full crash-and-restart run (bench/chaos.py, 300 tickets, two kill rounds): about 3.5 minutes, so
# opt-in. `make test` runs its fast variant (40 tickets, every component SIGKILLed once, ~1.5 minutes).
chaos: install
	$(BIN)/python -m pytest -q -s -p no:cacheprovider -m chaos tests/chaos

# Mutation testing of the core rules (opt-in, like a benchmark): [tool.mutmut] in pyproject.toml
# selects the modules and the tests; the scores go to docs/testing.md. About 40 minutes on 2 cores.
# QT_PYTEST_HARD_EXIT=0: mutmut runs pytest in its own process, which must not exit early.
# MUTATE="certificates.verify.x*" limits the run to those mutants (mutmut's name patterns).
# The certificate tests share two Anvil nodes prepared once, one per mutant run at a time (decision 032).
MUTATE ?=
mutate: install
	rm -rf mutants
	QT_PYTEST_HARD_EXIT=0 nice -n 15 $(BIN)/python -m tests.certificates.shared_chain --slots 2 -- \
		$(BIN)/mutmut run --max-children 2 $(MUTATE)
	$(BIN)/python bench/mutation_report.py

clean:
	rm -rf $(VENV) contracts/node_modules console/node_modules var mutants .pytest_cache .mypy_cache .ruff_cache
