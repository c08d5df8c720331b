"""Integer geodesy for the odometer: distances between fixes in 1e-7 degrees, in millimetres.

Equirectangular approximation on the WGS84 ellipsoid: at the mid-latitude of two points, one 1e-7 degree of
latitude is M*pi/180*1e-7 metres and one of longitude N*cos(lat)*pi/180*1e-7 metres (M meridional and N
prime-vertical radii of curvature). Both are tabulated per whole degree in nanometres and interpolated
linearly (relative error < 3e-5); the distance is the integer square root of dx^2 + dy^2. Against a Vincenty
geodesic the error is below 0.01 % plus 5 mm for steps up to 5 km anywhere below 80 degrees of latitude, and
below 0.05 % for 5-50 km in France (tests/properties/test_geo_accuracy.py). No floats: ESP32 floats are
32-bit.
"""

# Nanometres per 1e-7 degree at latitude 0..90 (index 91 repeats 90 for the interpolation).
# Generated from WGS84 (a = 6378137 m, f = 1/298.257223563); tests/properties/test_geo_accuracy.py recomputes it.
_LAT_NM = (
    11057428, 11057461, 11057563, 11057732, 11057968, 11058271, 11058641, 11059077, 11059579, 11060145, 11060777,
    11061471, 11062229, 11063049, 11063929, 11064870, 11065869, 11066926, 11068039, 11069207, 11070429, 11071703,
    11073027, 11074401, 11075822, 11077289, 11078799, 11080352, 11081945, 11083576, 11085244, 11086946, 11088681,
    11090446, 11092239, 11094057, 11095900, 11097764, 11099648, 11101548, 11103463, 11105391, 11107328, 11109274,
    11111224, 11113178, 11115132, 11117084, 11119032, 11120974, 11122906, 11124828, 11126735, 11128627, 11130500,
    11132353, 11134183, 11135988, 11137765, 11139513, 11141229, 11142911, 11144557, 11146166, 11147734, 11149261,
    11150744, 11152181, 11153571, 11154912, 11156203, 11157440, 11158624, 11159753, 11160825, 11161838, 11162793,
    11163687, 11164519, 11165288, 11165994, 11166635, 11167211, 11167721, 11168164, 11168540, 11168849, 11169089,
    11169260, 11169364, 11169398, 11169398,
)
_LON_NM = (
    11131949, 11130265, 11125213, 11116795, 11105013, 11089871, 11071372, 11049523, 11024328, 10995797, 10963936,
    10928756, 10890265, 10848476, 10803399, 10755049, 10703439, 10648583, 10590498, 10529201, 10464709, 10397040,
    10326215, 10252254, 10175177, 10095009, 10011771, 9925489, 9836187, 9743891, 9648628, 9550426, 9449314,
    9345321, 9238479, 9128817, 9016369, 8901167, 8783246, 8662640, 8539386, 8413519, 8285076, 8154097, 8020619,
    7884684, 7746330, 7605600, 7462535, 7317179, 7169575, 7019768, 6867802, 6713723, 6557577, 6399413, 6239277,
    6077219, 5913286, 5747530, 5580000, 5410748, 5239825, 5067282, 4893174, 4717553, 4540473, 4361988, 4182153,
    4001023, 3818654, 3635102, 3450424, 3264676, 3077915, 2890201, 2701589, 2512140, 2321910, 2130960, 1939349,
    1747135, 1554378, 1361139, 1167477, 973452, 779125, 584556, 389805, 194933, 0, 0,
)


def scales_nm(lat):
    """(nm per 1e-7 deg of latitude, nm per 1e-7 deg of longitude) at latitude `lat` (1e-7 deg)."""
    if lat < 0:
        lat = -lat
    if lat > 900000000:
        lat = 900000000
    i = lat // 10000000
    frac = (lat % 10000000) // 10000  # thousandths of a degree
    ky = _LAT_NM[i] + (_LAT_NM[i + 1] - _LAT_NM[i]) * frac // 1000
    kx = _LON_NM[i] + (_LON_NM[i + 1] - _LON_NM[i]) * frac // 1000
    return ky, kx


def hypot(a, b):
    """Integer sqrt(a*a + b*b), rounded down (Newton's method from an upper bound)."""
    if a < 0:
        a = -a
    if b < 0:
        b = -b
    if a == 0:
        return b
    if b == 0:
        return a
    n = a * a + b * b
    x = a + b
    while True:
        y = (x + n // x) // 2
        if y >= x:
            return x
        x = y


def offset_mm(lat1, lon1, lat2, lon2):
    """(east, north) displacement in mm from point 1 to point 2 (1e-7 deg; short distances)."""
    ky, kx = scales_nm((lat1 + lat2) // 2)
    dlon = lon2 - lon1
    if dlon > 1800000000:
        dlon -= 3600000000
    elif dlon < -1800000000:
        dlon += 3600000000
    return dlon * kx // 1000000, (lat2 - lat1) * ky // 1000000


def distance_mm(lat1, lon1, lat2, lon2):
    """Distance in mm between two points given in 1e-7 degrees (accurate for up to tens of km)."""
    dx, dy = offset_mm(lat1, lon1, lat2, lon2)
    return hypot(dx, dy)
