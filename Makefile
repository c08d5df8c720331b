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

.PHONY: FORCE setup test lint typecheck firmware frozen frozen-toolchain pytest mptest demo bench bench-matrix clean \
	system-packages

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

# The frozen 32-bit interpreter (issue 15): the vendored MicroPython (third_party/micropython) built as a 32-bit
# Unix port with asyncio and the firmware frozen from firmware/manifest.py, as the ESP32 image is. Everything
# stays under build/; nothing is rebuilt when neither the sources nor the archive changed.
MPY_SRC_VERSION := 1.28.0
MPY_ARCHIVE := third_party/micropython/micropython-$(MPY_SRC_VERSION)-trimmed.tar.xz
MPY_SRC := build/micropython-$(MPY_SRC_VERSION)
FROZEN32 := build/frozen32/micropython
FROZEN_SOURCES := firmware/manifest.py tools/frozen32/boards/manifest.py tools/frozen32/cryptolib/modcryptolib.c $(shell find firmware protocol -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
FROZEN_FLAGS := MICROPY_FORCE_32BIT=1 MICROPY_PY_FFI=0 MICROPY_PY_SSL=0 MICROPY_PY_BTREE=0 \
	FROZEN_MANIFEST=$(CURDIR)/firmware/manifest.py MICROPY_MANIFEST_PORT_DIR=$(CURDIR)/tools/frozen32 \
	USER_C_MODULES=$(CURDIR)/tools/frozen32
JOBS ?= 2

frozen: $(FROZEN32)

$(MPY_SRC)/.extracted: $(MPY_ARCHIVE)
	rm -rf $(MPY_SRC)
	mkdir -p build
	tar -xJf $(MPY_ARCHIVE) -C build
	touch $@

# The port's objects were built with the flags recorded here: other flags (a user C module added, ...) start over.
FROZEN_FLAGS_STAMP := build/frozen32/flags
$(FROZEN_FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(FROZEN_FLAGS)" ]; then \
		rm -rf $(MPY_SRC)/ports/unix/build-standard; echo "$(FROZEN_FLAGS)" > $@; fi

FORCE:

$(FROZEN32): $(MPY_SRC)/.extracted $(FROZEN_FLAGS_STAMP) $(FROZEN_SOURCES)
	@$(MAKE) --no-print-directory frozen-toolchain
	$(MAKE) -C $(MPY_SRC)/mpy-cross -j$(JOBS) --no-print-directory
	$(MAKE) -C $(MPY_SRC)/ports/unix -j$(JOBS) --no-print-directory $(FROZEN_FLAGS)
	mkdir -p $(dir $@)
	cp $(MPY_SRC)/ports/unix/build-standard/micropython $@.tmp && mv $@.tmp $@

# A 32-bit build needs Debian's gcc-multilib: installed when we are root (CI, a fresh machine), otherwise named.
frozen-toolchain:
	@if ! printf 'int main(void){return 0;}\n' | $(CC) -m32 -x c -o /dev/null - 2>/dev/null; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "Installing Debian packages: gcc-multilib"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-multilib >/dev/null; \
		else \
			echo "make frozen: $(CC) cannot build 32-bit programs; install Debian's gcc-multilib" \
				"(sudo apt-get install gcc-multilib) and run make frozen again" >&2; exit 1; \
		fi; \
	fi

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy firmware

firmware: setup
	$(PY) -m tools.build_firmware

pytest: setup firmware frozen
	# The power-cut scenario kills the firmware at 200 random points of a scripted day (issue 7).
	AUTOPARTAGE_POWER_CUTS=200 $(BIN)/pytest

mptest: setup firmware frozen
	$(MICROPYTHON) -X heapsize=$(MP_TEST_HEAP) tools/mptest.py --build build/firmware tests/firmware tests/protocol
	# The same tests on the 32-bit interpreter (small ints of 31 bits, the bench's cryptolib: tools/frozen32).
	$(FROZEN32) -X heapsize=$(MP_TEST_HEAP) tools/mptest.py tests/firmware tests/protocol

test: setup lint typecheck firmware frozen pytest mptest

# Every bench scenario on every emulated modem family (sim800, a7670, sim7080); `make test` runs them all on
# the SIM800 and the trip scenario on every family (on the default stack).
bench-matrix: setup firmware frozen
	AUTOPARTAGE_BENCH_MATRIX=1 $(BIN)/pytest hil_tests/test_scenario_*.py
	# and the scenarios that do not choose their HAL themselves, through hal/esp32.py (issue 15)
	AUTOPARTAGE_BENCH_MATRIX=1 $(BIN)/pytest --board esp32 hil_tests/test_scenario_access.py \
		hil_tests/test_scenario_block.py hil_tests/test_scenario_network.py hil_tests/test_scenario_modem_faults.py

demo: setup firmware
	$(PY) -m tools.demo

bench: setup firmware frozen
	$(PY) -m tools.bench all

clean:
	rm -rf build $(STUBS) .pytest_cache .mypy_cache .ruff_cache
