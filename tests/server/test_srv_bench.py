"""The server benchmark runs end to end at a tiny scale and prints its figures as `name: value` lines."""

import re

from tools.bench import server as bench


def test_server_bench_prints_its_figures(capsys):
    assert bench.main(["--scale", "0.002", "--samples", "10"]) == 0
    out = capsys.readouterr().out
    figures = dict(re.findall(r"^(\w+): (\S+)$", out, re.M))
    assert int(figures["dataset_reservations"]) >= 200
    assert float(figures["availability_p95_ms"]) > 0 and float(figures["booking_p95_ms"]) > 0
    assert figures["availability_errors"] == "0"


def test_p95_is_the_95th_percentile():
    assert bench.p95(list(range(1, 101))) == 95
    assert bench.p95([3.0]) == 3.0
