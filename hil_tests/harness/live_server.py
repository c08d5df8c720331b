"""A live server for the bench: the real Flask app in a child process on a free loopback port, with a
temporary real SQLite file, plus read access to that file for assertions.
"""

import json
import os
import subprocess
import sys
import threading
import time

from hil_tests.harness.firmware import ROOT
from hil_tests.harness.simclock import ENV as SIM_ENV


class ServerProcess:
    def __init__(self, db_path, host="127.0.0.1", port=0, log_path=None, quiet=True, clock=None, settings=None):
        self.db_path = db_path
        self.settings = settings or {}  # extra server config, e.g. {"NO_SHOW_DELAY_MINUTES": 1440}
        self.clock = clock
        self.host = host
        self.port = port
        self.log_path = log_path or (db_path + ".log")
        self.quiet = quiet
        self.proc = None

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def address(self):
        return (self.host, self.port)

    def start(self, timeout=30.0):
        cmd = [sys.executable, "-m", "hil_tests.harness.serve", "--db", self.db_path, "--host", self.host,
               "--port", str(self.port)]
        if self.quiet:
            cmd.append("--quiet")
        for key, value in sorted(self.settings.items()):
            cmd += ["--set", "%s=%s" % (key, json.dumps(value))]
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        if self.clock is not None:
            env[SIM_ENV] = self.clock.env()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        deadline = time.monotonic() + timeout
        head = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("LISTENING "):
                self.port = int(line.split()[1])
                threading.Thread(target=self._drain, daemon=True).start()
                return self
            head.append(line)
        self.stop()
        raise RuntimeError("server did not start:\n" + "".join(head))

    def _drain(self):
        with open(self.log_path, "a") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()

    def log(self, tail=4000):
        try:
            with open(self.log_path) as f:
                return f.read()[-tail:]
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
