"""`make demo` in short: one box plays one trip of the demo day on a fast clock; the server gets it."""

import os
import subprocess
import sys

from hil_tests.harness import deps
from hil_tests.harness.firmware import ROOT


def test_demo_plays_a_trip_into_the_server(workdir):
    deps.require("server", "seed", "firmware", "modem", "reader", "tracks")
    cmd = [sys.executable, "-m", "tools.demo", "--once", "--port", "0", "--boxes", "1", "--trips", "1",
           "--factor", "600", "--dir", os.path.join(workdir, "demo")]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines()
                 if line.startswith(("trips_on", "km_on", "mails_caught")))
    assert int(lines["trips_on_server"]) == 1, result.stdout
    assert float(lines["km_on_server"]) > 1.0, result.stdout
    assert "admin@demo.gouv.fr" in result.stdout  # the logins are printed
    assert int(lines["mails_caught"]) >= 1, result.stdout  # the booking's confirmation reached the demo's sink
