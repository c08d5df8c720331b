"""Bench fixtures: a live server, boxes running the real firmware on pty links, real-adapter options.

`--gps-port`, `--modem-port`, `--reader-port`, `--control-port` take pyserial URLs (`/dev/ttyUSB0`,
`rfc2217://...`): the emulators then open those adapters, wired to a real box, instead of a pty link to a
local firmware process. The same scenarios run either way.

`--interpreter frozen32` runs every local box on the frozen 32-bit build (`make frozen`), `--board esp32` through
hal/esp32.py on the bench's machine/esp32 stand-in (hil_tests/esp32_bench); a test may ask for either itself
(`make_bench(interpreter=..., board=...)`).
"""

import os
import shutil
import tempfile

import pytest

from hil_tests.harness import deps
from hil_tests.harness.firmware import BOARDS, INTERPRETERS

PORT_OPTIONS = ("gps", "modem", "reader", "control")
MODEM_FAMILIES = ("sim800", "a7670", "sim7080")
# `make test` runs every scenario on the SIM800 (the bench default) and these on every family too, on the
# default stack (the frozen image and the ESP32 HAL are the SIM800's); the whole matrix (every scenario on every
# family and stack) runs with AUTOPARTAGE_BENCH_MATRIX=1 (`make bench-matrix`).
REPRESENTATIVE = ("test_scenario_trip",)
DEFAULT_STACK = {"interpreter": "mpy64", "board": "unix"}


def pytest_addoption(parser):
    group = parser.getgroup("bench", "bench (hil_tests) options")
    for name in PORT_OPTIONS:
        group.addoption("--%s-port" % name, default=None, metavar="URL",
                        help="pyserial URL of a real adapter wired to the box's %s line" % name)
    group.addoption("--interpreter", choices=INTERPRETERS, default="mpy64",
                    help="micropython running the local boxes: mpy64 (the .mpy build) or frozen32 (make frozen)")
    group.addoption("--board", choices=BOARDS, default="unix",
                    help="HAL of the local boxes: unix (hal/unix.py) or esp32 (hal/esp32.py on the stand-in)")
    group.addoption("--power-cuts", type=int, default=None, metavar="N",
                    help="number of power cuts in the power-cut scenario (default: what fits in about 60 s)")


def pytest_generate_tests(metafunc):
    """Scenarios that use `modem_family` (through make_bench) run once per emulated modem family."""
    if "modem_family" not in metafunc.fixturenames:
        return
    families = MODEM_FAMILIES
    if not os.environ.get("AUTOPARTAGE_BENCH_MATRIX") and metafunc.module.__name__.split(".")[-1] not in REPRESENTATIVE:
        families = families[:1]
    metafunc.parametrize("modem_family", families, scope="module")


def pytest_collection_modifyitems(config, items):
    """Outside the matrix, a modem family other than the first runs only on the default stack."""
    if os.environ.get("AUTOPARTAGE_BENCH_MATRIX"):
        return
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        other_family = params.get("modem_family", MODEM_FAMILIES[0]) != MODEM_FAMILIES[0]
        other_stack = any(params.get(k, v) != v for k, v in DEFAULT_STACK.items())
        (dropped if other_family and other_stack else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long bench runs (deselect with -m 'not slow')")


@pytest.fixture(scope="session")
def bench_ports(request):
    """Real adapter URLs given on the command line, by line name (empty: everything emulated)."""
    ports = {}
    for name in PORT_OPTIONS:
        value = request.config.getoption("--%s-port" % name)
        if value:
            ports[name] = value
    return ports


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="autopartage-bench-")
    yield path
    if not os.environ.get("AUTOPARTAGE_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def live_server():
    """The real server on a free loopback port with a fresh SQLite file and the bench fleet seeded."""
    deps.require("server")
    from hil_tests.harness.live_server import ServerProcess

    directory = tempfile.mkdtemp(prefix="autopartage-server-")
    server = ServerProcess(os.path.join(directory, "bench.sqlite"))
    server.start()
    yield server
    server.stop()
    if not os.environ.get("AUTOPARTAGE_KEEP"):
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_bench(workdir, bench_ports, request, modem_family):
    """make_bench(factor=60) -> a Bench (live server + fleet + clock, boxes with a `modem_family` modem); closed
    at teardown, logs on failure."""
    deps.require("server", "firmware", "modem", "reader", "tracks")
    from hil_tests.harness.bench import Bench

    made = []

    def make(factor=60, **kwargs):
        kwargs.setdefault("modem", modem_family)
        kwargs.setdefault("interpreter", request.config.getoption("--interpreter"))
        kwargs.setdefault("board", request.config.getoption("--board"))
        if kwargs["interpreter"] == "frozen32":
            deps.require("frozen32")
        bench = Bench(os.path.join(workdir, "bench%d" % len(made)), factor=factor, ports=bench_ports, **kwargs)
        made.append(bench)
        return bench

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for bench in made:
        if failed:
            print(bench.diagnostics())
        bench.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture
def box_factory(workdir, bench_ports, request):
    """make(box_id=..., server=(host, port), **kw) -> a started Box; every box is stopped at teardown."""
    from hil_tests.harness.box import Box

    made = []

    def make(box_id=1, server=("127.0.0.1", 9), start=True, **kwargs):
        deps.require("firmware", "modem", "reader")
        kwargs.setdefault("interpreter", request.config.getoption("--interpreter"))
        kwargs.setdefault("board", request.config.getoption("--board"))
        if kwargs["interpreter"] == "frozen32":
            deps.require("frozen32")
        box = Box(os.path.join(workdir, "box%d" % box_id), box_id, server, ports=bench_ports, **kwargs)
        made.append(box)
        if start:
            box.start()
        return box

    yield make
    for box in made:
        box.stop()
