# Autopartage: every entry point a developer, the bench or CI uses.
# `make test` works from nothing: it creates .venv, installs the pinned tools and runs every suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MICROPYTHON := $(BIN)/micropython
STAMP := $(VENV)/.installed
# JavaScript the tests load into the browser (never served to users): axe-core, pinned, from npm.
NODE_DIR := .node
AXE_VERSION := 4.14.1
AXE := $(NODE_DIR)/node_modules/axe-core/axe.min.js
STUBS := .stubs
ESP32_STUBS := micropython-esp32-stubs==1.28.0.post4
STDLIB_STUBS := micropython-stdlib-stubs==1.28.0.post6
# Heap given to the MicroPython unit tests: close to what an ESP32 without PSRAM offers.
MP_TEST_HEAP ?= 512K

.PHONY: setup test lint typecheck firmware pytest mptest demo bench bench-matrix clean system-packages

setup: $(STAMP) $(AXE)

# The browser test's accessibility check; skipped (with the reason) when npm is missing.
$(AXE):
	@if command -v npm >/dev/null; then \
		npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix $(NODE_DIR) \
			axe-core@$(AXE_VERSION); \
	else echo "npm not found: the accessibility test will be skipped"; fi

$(STAMP): setup.cfg pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -rf $(STUBS)
	$(BIN)/pip install --quiet --no-deps --target $(STUBS) $(ESP32_STUBS)
	# Only the private helper package of the stdlib stubs: the rest would shadow CPython's typeshed.
	$(BIN)/pip install --quiet --no-deps --target $(STUBS)/.stdlib $(STDLIB_STUBS)
	mv $(STUBS)/.stdlib/_mpy_shed $(STUBS)/ && rm -rf $(STUBS)/.stdlib
	touch $(STAMP)

# Debian packages the browser test and the flashing bench need; installed only when we are root
# (CI, a fresh machine); otherwise the tests that need them say what is missing.
system-packages:
	@if [ "$$(id -u)" = "0" ] && { ! command -v chromium >/dev/null || ! command -v socat >/dev/null \
			|| ! command -v npm >/dev/null; }; then \
		echo "Installing Debian packages: chromium socat npm"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium socat npm >/dev/null; \
	fi

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy firmware

firmware: setup
	$(PY) -m tools.build_firmware

pytest: setup firmware
	# The power-cut scenario kills the firmware at 200 random points of a scripted day (issue 7).
	AUTOPARTAGE_POWER_CUTS=200 $(BIN)/pytest

mptest: setup firmware
	$(MICROPYTHON) -X heapsize=$(MP_TEST_HEAP) tools/mptest.py --build build/firmware tests/firmware tests/protocol

test: setup lint typecheck firmware pytest mptest

# Every bench scenario on every emulated modem family (sim800, a7670, sim7080); `make test` runs them all on
# the SIM800 and the trip scenario on every family.
bench-matrix: setup firmware
	AUTOPARTAGE_BENCH_MATRIX=1 $(BIN)/pytest hil_tests/test_scenario_*.py

demo: setup firmware
	$(PY) -m tools.demo

bench: setup firmware
	$(PY) -m tools.bench all

clean:
	rm -rf build $(STUBS) .pytest_cache .mypy_cache .ruff_cache
