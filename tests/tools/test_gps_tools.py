"""tools/tracks.py, tools/nmea_dump.py, tools/odometer.py and the nmea/odometer benchmarks."""

import json
import math
import os
import shutil
import subprocess
import sys

import pynmea2
import pytest

from tools import tracks
from tools.bench import nmea as bench_nmea
from tools.bench import odometer as bench_odometer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
INTERPRETERS = [sys.executable] + ([MICROPYTHON] if os.path.exists(MICROPYTHON) else [])


def _moving_seconds(points):
    return sum(1 for p in points if p.speed_mps > 0.5)


def test_routes_are_deterministic_and_start_near_a_prefecture():
    a = tracks.generate_route(5, "urban", 300)
    b = tracks.generate_route(5, "urban", 300)
    assert a == b and a.length_m == b.length_m
    assert len(a) == 301 and all(q.t - p.t == 1 for p, q in zip(a, a[1:]))
    lyon = tracks.generate_route(0, "mixed", 10)
    assert abs(lyon[0].lat - 45.75935) < 0.011 and abs(lyon[0].lon - 4.8426) < 0.011
    assert tracks.generate_route(6, "urban", 300) != a


def test_route_kinds_drive_like_their_names():
    urban = tracks.generate_route(1, "urban", 1800)
    highway = tracks.generate_route(1, "highway", 1800)
    parked = tracks.generate_route(1, "parked", 600)
    stops = sum(1 for p, q in zip(urban, urban[1:]) if p.speed_mps > 0 and q.speed_mps == 0)
    assert stops >= 8 and max(p.speed_mps for p in urban) <= 14.0  # stop-and-go, 50 km/h
    assert 25 <= tracks.true_length_m(highway) / 1800 <= 36  # 90-130 km/h
    assert tracks.true_length_m(parked) == 0 and all(p.speed_mps == 0 for p in parked)
    mixed = tracks.generate_route(1, "mixed", 3600)
    assert max(p.speed_mps for p in mixed) > 28 and min(p.speed_mps for p in mixed[2000:]) == 0
    with pytest.raises(ValueError):
        tracks.generate_route(1, "boat", 10)


def test_true_length_is_the_arc_and_close_to_the_1hz_polyline():
    route = tracks.generate_route(2, "urban", 1200)
    poly = tracks.true_length_m(list(route))  # a plain list: sum of 1 Hz geodesic steps
    assert route.length_m >= poly * 0.999 and abs(route.length_m - poly) < route.length_m * 0.005


def test_clean_stream_is_valid_nmea_that_pynmea2_reads_back():
    route = tracks.generate_route(3, "highway", 60)
    epochs = list(tracks.nmea_stream(route, 3, "none"))
    assert len(epochs) == len(route)
    for point, lines in zip(route, epochs):
        kinds = [pynmea2.parse(line.decode(), check=True).sentence_type for line in lines]
        assert kinds == ["RMC", "VTG", "GGA", "GSA"]
        rmc = pynmea2.parse(lines[0].decode(), check=True)
        assert abs(rmc.latitude - point.lat) < 2e-7 and abs(rmc.longitude - point.lon) < 2e-7
        assert abs(rmc.spd_over_grnd * 1852 / 3600 - point.speed_mps) < 0.001
        assert lines[0].endswith(b"\r\n")


def _positions(lines_per_epoch):
    out = []
    for lines in lines_per_epoch:
        try:
            msg = pynmea2.parse(lines[2].decode(), check=True)
        except (pynmea2.ParseError, UnicodeDecodeError):
            out.append(None)
            continue
        out.append((msg.latitude, msg.longitude) if msg.gps_qual else None)
    return out


def test_parked_receiver_wanders_a_few_metres():
    route = tracks.generate_route(4, "parked", 3600)
    positions = _positions(tracks.nmea_stream(route, 4, "realistic", multipath_per_h=0, garbage=0))
    lat0, lon0 = route[0].lat, route[0].lon
    m, n = tracks.radii(lat0)
    offsets = [math.hypot(math.radians(la - lat0) * m, math.radians(lo - lon0) * n * math.cos(math.radians(lat0)))
               for la, lo in filter(None, positions)]
    rms = math.sqrt(sum(o * o for o in offsets) / len(offsets))
    assert 2.0 <= rms <= 7.0 and max(offsets) < 20


def test_tunnels_multipath_and_garbage_appear_when_asked():
    route = tracks.generate_route(5, "highway", 600)
    tunnel = list(tracks.nmea_stream(route, 5, "realistic", tunnels=[(100, 30)], tunnels_per_h=0, garbage=0))
    assert all(b",V," in lines[0] and b",0,00," in lines[2] for lines in tunnel[100:130])
    assert all(b",A," in lines[0] for lines in tunnel[90:100] + tunnel[130:140] if b"RMC,"in lines[0])
    dirty = [line for lines in tracks.nmea_stream(route, 5, "realistic", garbage=0.2) for line in lines]
    bad = 0
    for line in dirty:
        try:
            pynmea2.parse(line.decode("ascii"), check=True)
        except (pynmea2.ParseError, UnicodeDecodeError):
            bad += 1
    assert bad > len(dirty) * 0.05
    assert any(line.count(b"$") > 1 for line in dirty)  # spliced lines
    assert any(not line.endswith(b"\r\n") for line in dirty)  # missing CR
    jumpy = _positions(tracks.nmea_stream(route, 5, "none", multipath_per_h=3600 / 20))
    steps = [math.hypot(b[0] - a[0], (b[1] - a[1]) * 0.7) * 111000 for a, b in zip(jumpy, jumpy[1:])]
    assert max(steps) > max(p.speed_mps for p in route) + 8  # at least one jump beyond the car's motion


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_nmea_dump_prints_json_per_valid_fix_under_both_interpreters(interpreter, tmp_path):
    route = tracks.generate_route(6, "urban", 120)
    path = tmp_path / "drive.nmea"
    path.write_bytes(tracks.nmea_bytes(route, 6, "realistic", garbage=0.02, tunnels=[(50, 10)], tunnels_per_h=0))
    out = subprocess.run([interpreter, os.path.join(ROOT, "tools", "nmea_dump.py"), "--stats", str(path)],
                         capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 100 and set(rows[0]) == {"t", "lat", "lon", "speed", "course", "quality", "hdop"}
    by_t = {p.t: p for p in route}
    for row in rows:
        point = by_t[row["t"]]
        assert abs(row["lat"] - point.lat) < 0.0002 and abs(row["lon"] - point.lon) < 0.0003
        assert row["quality"] == 1
    assert not any(50 <= row["t"] - route[0].t < 60 for row in rows)  # the tunnel
    assert "crc_fails:" in out.stderr
    # stdin works too, and the output is identical
    again = subprocess.run([interpreter, os.path.join(ROOT, "tools", "nmea_dump.py")], input=path.read_bytes(),
                           capture_output=True, timeout=60)
    assert again.stdout.decode() == out.stdout


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_odometer_tool_prints_the_distance_under_both_interpreters(interpreter, tmp_path):
    route = tracks.generate_route(7, "mixed", 900)
    path = tmp_path / "drive.nmea"
    path.write_bytes(tracks.nmea_bytes(route, 7, "realistic"))
    out = subprocess.run([interpreter, os.path.join(ROOT, "tools", "odometer.py"), str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("distance_m: ")
    measured = int(lines[0].split(": ")[1])
    assert abs(measured - tracks.true_length_m(route)) <= tracks.true_length_m(route) * 0.005
    bad = subprocess.run([interpreter, os.path.join(ROOT, "tools", "odometer.py"), "--nope"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_tools_report_unreadable_files(tmp_path):
    for tool in ("nmea_dump.py", "odometer.py"):
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", tool), str(tmp_path / "missing")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "cannot read" in out.stderr


def _figures(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def test_odometer_bench_prints_its_figures(capsys):
    assert bench_odometer.main(["--seeds", "1", "--duration", "300"]) == 0
    figures = _figures(capsys.readouterr().out)
    for name in ("route_error_pct", "parked_8h_m", "route_error_harsh_pct", "naive_chord_error_pct"):
        assert name in figures
    assert float(figures["route_error_pct"]) >= 0


@pytest.mark.skipif(shutil.which(MICROPYTHON) is None, reason="no micropython next to this interpreter")
def test_nmea_bench_prints_its_figures(capsys):
    assert bench_nmea.main(["--seconds", "60", "--repeat", "1"]) == 0
    figures = _figures(capsys.readouterr().out)
    for name in ("micropython_sentences_per_s", "cpython_sentences_per_s", "pynmea2_sentences_per_s",
                 "ratio_vs_pynmea2"):
        assert name in figures
    assert int(figures["micropython_sentences_per_s"]) > 0
