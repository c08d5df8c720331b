# Dead-reckoning predictor for position samples, integer-only so that the box (MicroPython) and the
# server (CPython) compute the very same prediction: the wire carries only the residual
# (actual delta - predicted delta), which is small when the GPS velocity describes the motion well.
# Any prediction decodes correctly (the residual is exact); a poor one only costs bytes.

# round(sin(d degrees) * 16384) for d = 0..90. Part of protocol version 1: never change a value.
SIN14 = (
    0, 286, 572, 857, 1143, 1428, 1713, 1997, 2280, 2563, 2845, 3126, 3406, 3686, 3964, 4240, 4516, 4790,
    5063, 5334, 5604, 5872, 6138, 6402, 6664, 6924, 7182, 7438, 7692, 7943, 8192, 8438, 8682, 8923, 9162,
    9397, 9630, 9860, 10087, 10311, 10531, 10749, 10963, 11174, 11381, 11585, 11786, 11982, 12176, 12365,
    12551, 12733, 12911, 13085, 13255, 13421, 13583, 13741, 13894, 14044, 14189, 14330, 14466, 14598, 14726,
    14849, 14968, 15082, 15191, 15296, 15396, 15491, 15582, 15668, 15749, 15826, 15897, 15964, 16026, 16083,
    16135, 16182, 16225, 16262, 16294, 16322, 16344, 16362, 16374, 16382, 16384,
)

MAX_DT = 60  # beyond this gap (tunnel, stop of the receiver) no prediction: the residual is the delta
K_LAT = 14743  # 1e-7 degree of latitude per cm (0.89982) * 2**14
K_LON = 14718  # 1e-7 degree of longitude per cm at the equator (0.89832) * 2**14
MIN_COS = 256  # |lat| above ~89.1 degrees: no longitude prediction


def sin14(deg):
    """sin(deg) * 16384 for an integer number of degrees (any sign)."""
    d = deg % 360
    if d <= 90:
        return SIN14[d]
    if d <= 180:
        return SIN14[180 - d]
    if d <= 270:
        return -SIN14[d - 180]
    return -SIN14[360 - d]


def cos_lat14(lat):
    """cos(latitude) * 16384 for lat in 1e-7 degrees, linear between whole degrees."""
    a = lat if lat >= 0 else -lat
    d = a // 10000000
    if d >= 90:
        return 0
    frac = a - d * 10000000
    c0 = SIN14[90 - d]
    c1 = SIN14[89 - d]
    return c0 + (c1 - c0) * frac // 10000000


def predict(lat, speed0, course0, speed1, course1, dt):
    """Predicted (dlat, dlon) in 1e-7 degrees from the previous sample (at lat, speed0 cm/s, course0
    degrees) to the next one (speed1, course1) dt seconds later: the mean of both GPS velocity vectors
    (trapezoidal rule) times dt."""
    if dt <= 0 or dt > MAX_DT:
        return 0, 0
    vn = speed0 * sin14(course0 + 90) + speed1 * sin14(course1 + 90)  # cm/s * 2**15 (sum of two)
    ve = speed0 * sin14(course0) + speed1 * sin14(course1)
    dlat = vn * dt * K_LAT // (1 << 29)
    c = cos_lat14(lat)
    if c < MIN_COS:
        return dlat, 0
    dlon = ve * dt * K_LON // (c << 15)
    return dlat, dlon
