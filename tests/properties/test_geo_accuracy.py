"""The odometer's integer distance (app.geo) against a float geodesic reference (Vincenty on WGS84)."""

import math

from app import geo
from hypothesis import given, settings
from hypothesis import strategies as st

from tools import tracks


def test_tables_are_wgs84():
    for d in range(91):
        m, n = tracks.radii(d)
        k = math.pi / 180 * 1e-7 * 1e9
        assert abs(geo._LAT_NM[d] - m * k) <= 0.5
        assert abs(geo._LON_NM[d] - n * math.cos(math.radians(d)) * k) <= 0.5


@settings(max_examples=200, deadline=None)
@given(lat=st.integers(-800000000, 800000000), lon=st.integers(-1790000000, 1790000000),
       bearing=st.floats(0, 2 * math.pi), dist=st.floats(1.0, 5000.0))
def test_steps_up_to_5_km_within_0_01_percent_of_vincenty(lat, lon, bearing, dist):
    m, n = tracks.radii(lat / 1e7)
    lat2 = lat + round(math.degrees(dist * math.cos(bearing) / m) * 1e7)
    lon2 = lon + round(math.degrees(dist * math.sin(bearing) / (n * math.cos(math.radians(lat / 1e7)))) * 1e7)
    ref = tracks.vincenty_m(lat / 1e7, lon / 1e7, lat2 / 1e7, lon2 / 1e7)
    ours = geo.distance_mm(lat, lon, lat2, lon2) / 1000
    # 1e-4 relative plus 5 mm for the integer rounding of short steps
    assert abs(ours - ref) <= ref * 1e-4 + 0.005, (ours, ref)


@settings(max_examples=100, deadline=None)
@given(lat=st.integers(410000000, 510000000), lon=st.integers(-50000000, 90000000),
       bearing=st.floats(0, 2 * math.pi), dist=st.floats(5000.0, 50000.0))
def test_gap_bridging_lengths_in_france_within_0_05_percent(lat, lon, bearing, dist):
    m, n = tracks.radii(lat / 1e7)
    lat2 = lat + round(math.degrees(dist * math.cos(bearing) / m) * 1e7)
    lon2 = lon + round(math.degrees(dist * math.sin(bearing) / (n * math.cos(math.radians(lat / 1e7)))) * 1e7)
    ref = tracks.vincenty_m(lat / 1e7, lon / 1e7, lat2 / 1e7, lon2 / 1e7)
    ours = geo.distance_mm(lat, lon, lat2, lon2) / 1000
    assert abs(ours - ref) <= ref * 5e-4, (ours, ref)


@settings(max_examples=200, deadline=None)
@given(a=st.integers(-10**12, 10**12), b=st.integers(-10**12, 10**12))
def test_integer_hypot_is_the_floor_of_the_true_value(a, b):
    r = geo.hypot(a, b)
    assert r == math.isqrt(a * a + b * b)
