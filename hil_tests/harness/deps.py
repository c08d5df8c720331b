"""Which pieces the bench needs are present: a scenario is skipped only when a dependency is absent.

Each check looks for the piece by its contract (a module or a capability), not by a version.
"""

import importlib
import os

import pytest

from hil_tests.harness.firmware import FROZEN32, ROOT, firmware_dir


def _module(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


def _firmware():
    # The Unix HAL and a main.py that boots on it (contract: `micropython main.py --config PATH`).
    if not os.path.exists(os.path.join(ROOT, "firmware", "hal", "unix.py")):
        return False
    built = firmware_dir()
    if not os.path.exists(os.path.join(built, "main.py")):
        return False
    return any(os.path.exists(os.path.join(built, "hal", "unix" + ext)) for ext in (".mpy", ".py"))


CHECKS = {
    "firmware": (_firmware, "waiting for the firmware (firmware/hal/unix.py, main.py --config) and `make firmware`"),
    "frozen32": (lambda: os.access(FROZEN32, os.X_OK), "waiting for the frozen 32-bit interpreter (`make frozen`)"),
    "modem": (lambda: _module("hil_tests.emulators.modems"), "waiting for hil_tests/emulators/modems.py"),
    "reader": (lambda: _module("hil_tests.emulators.reader"), "waiting for hil_tests/emulators/reader.py"),
    "gps": (lambda: _module("hil_tests.emulators.gps"), "waiting for the GPS emulator"),
    "tracks": (lambda: _module("tools.tracks"), "waiting for tools/tracks.py"),
    "server": (lambda: _module("server") and hasattr(importlib.import_module("server"), "create_app"),
               "waiting for the server (server.create_app)"),
    "seed": (lambda: _module("server.queries.demo"), "waiting for server/queries/demo.py (demo fleet)"),
}


def missing(*names):
    """The reasons of the absent dependencies among `names` (empty when all are present)."""
    reasons = []
    for name in names:
        check, reason = CHECKS[name]
        try:
            ok = check()
        except Exception:
            ok = False
        if not ok:
            reasons.append(reason)
    return reasons


def require(*names):
    """Skip the calling test when a dependency is absent (never when it is present but broken)."""
    reasons = missing(*names)
    if reasons:
        pytest.skip("; ".join(reasons))
