"""mypy checks the firmware against the MicroPython ESP32 stubs: prove the check bites on a wrong
machine.UART/Pin call (so `make test`'s mypy step is not a rubber stamp)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MYPY = os.path.join(os.path.dirname(sys.executable), "mypy")


def _mypy(tmp_path, source):
    path = tmp_path / "probe.py"
    path.write_text(source)
    return subprocess.run(
        [MYPY, "--config-file", os.path.join(ROOT, "pyproject.toml"), "--no-incremental", str(path)],
        cwd=ROOT, capture_output=True, text=True,
    )


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, ".stubs")), reason="run `make setup` first")
def test_mypy_rejects_wrong_machine_call(tmp_path):
    bad = _mypy(tmp_path, "import machine\nu = machine.UART(1)\nu.writeline(b'x')\nmachine.Pin(4).value('high', 3)\n")
    assert bad.returncode != 0, bad.stdout
    good = _mypy(tmp_path, "import machine\nu = machine.UART(1, baudrate=9600)\nu.write(b'AT')\n")
    assert good.returncode == 0, good.stdout
