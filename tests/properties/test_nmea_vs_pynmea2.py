"""Differential test: the firmware NMEA parser against pynmea2 on generated valid and corrupted sentences.

Both must agree on the verdict (accepted, checksum failure, rejected, ignored) and, for accepted sentences,
on every field the firmware keeps. pynmea2 is the oracle for framing, checksum, sentence typing and every
value it converts (time, date, coordinates, speeds, course, GGA quality). Where the firmware is deliberately
stricter than pynmea2 (which converts fields lazily and shrugs at most malformed values) the rule is
written out below in `strict_rules`, each one a line a reviewer can check:

- numbers are plain decimals (digits and one dot): no sign, exponent, "inf", spaces or underscores;
- coordinates: exactly 2 (latitude) or 3 (longitude) degree digits, minutes below 60, at least one decimal,
  |lat| <= 90, |lon| <= 180, hemisphere N/S and E/W (pynmea2 reads anything else as 0 or north/east),
  and a coordinate comes with its hemisphere, a latitude with a longitude, a position with a time
  (and with a GGA quality);
- time is hhmmss or hhmmss.s+, date exactly ddmmyy; RMC/GLL status is A or V;
- a sentence carries at least the fields up to the last one the firmware reads;
- a line without `*HH` is counted as rejected (a cut line), where pynmea2 raises ChecksumError;
- GSA fix type is empty, 1, 2 or 3; GNS mode letters are N/E until the first fix letter (A, D, P, R, F);
- the NMEA 4.10 navigational status (RMC and GNS field 13) is empty or one of S, C, U, V;
- a talker is two capital letters not starting with P (proprietary): any other talker is ignored;
- ZDA: day, month and year are plain integers, the year within 1970..2099 and the date real.
Validity (a derived value, not a field): RMC/GLL status A and mode indicator not N or E (pynmea2's own
is_valid rejects u-blox NMEA 4.1 sentences whose navigational status is V, so it cannot be the oracle here);
GGA quality 1..5 (pynmea2's ValidGGAFix rule).

Framing (the sentence starts at the last '$', bytes above 0x7F) is covered by unit tests in
tests/firmware/test_nmea.py; the strategies here always emit one '$' and ASCII only, except for the
high-byte mutation, where the firmware must reject even with a matching checksum.
"""

import datetime
import re

import pynmea2
from drivers.nmea import NmeaParser, days_from_civil
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DECIMAL = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")
INTEGER = re.compile(r"^\d+$")
TIME = re.compile(r"^\d{6}(\.\d+)?$")
# Every talker a receiver may use: GPS, GLONASS, Galileo, BeiDou (two IDs), QZSS, NavIC, combined, inertial...
TALKERS = ("GP", "GN", "GL", "GA", "BD", "GB", "GQ", "GI", "IN", "II", "QZ")
TALKER = re.compile(r"^[A-OQ-Z][A-Z]$")
MIN_FIELDS = {"RMC": 9, "GGA": 8, "VTG": 8, "GSA": 17, "GLL": 6, "GNS": 8, "ZDA": 4}  # data fields, after the head
PREFIX = b"$GPGLL,4545.58200,N,00450.55600,E,120000.00,A,A*"  # gives VTG/GSA an epoch with a position


class Reject(Exception):
    pass


def checksum(body):
    c = 0
    for ch in body.encode("latin-1"):
        c ^= ch
    return c


def line_of(body, mutation="none"):
    """'$' + body + '*HH\\r\\n', then one mutation."""
    cs = "%02X" % checksum(body)
    if mutation == "bad_checksum":
        cs = "%02X" % (checksum(body) ^ 0x21)
    elif mutation == "lower_checksum":
        cs = cs.lower()
    elif mutation == "no_checksum":
        return ("$" + body + "\r\n").encode("latin-1")
    elif mutation == "high_byte":
        body = body[:7] + "\xe9" + body[7:]
        cs = "%02X" % checksum(body)
    elif mutation == "lf_only":
        return ("$%s*%s\n" % (body, cs)).encode("latin-1")
    return ("$%s*%s\r\n" % (body, cs)).encode("latin-1")


# ---------------------------------------------------------------------------------------------------------
# Field strategies. Each field is (valid values, corrupt values). A sentence is drawn valid, then at most one
# or two fields are emptied or replaced by a corrupt value, and a no-fix variant empties the whole position:
# that way most examples get through and every rule is still exercised.

def _time_valid():
    frac = st.one_of(st.just(""), st.integers(0, 999).map(lambda v: "." + str(v)),
                     st.integers(0, 99).map(lambda v: ".%02d" % v))
    return st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), frac).map(
        lambda t: "%02d%02d%02d%s" % t)


def _coord_valid(deg_digits, max_deg):
    return st.tuples(st.integers(0, max_deg - 1), st.integers(0, 59), st.integers(1, 7), st.integers(0, 9999999)
                     ).map(lambda t: "%0*d%02d.%s" % (deg_digits, t[0], t[1], ("%07d" % t[3])[:t[2]]))


def _decimal_valid(max_int, max_dec):
    return st.tuples(st.integers(0, max_int), st.integers(0, max_dec), st.integers(0, 999)).map(
        lambda t: str(t[0]) if t[1] == 0 else "%d.%s" % (t[0], ("%03d" % t[2])[:t[1]]))


TIME_F = (_time_valid(), ["2500000.00", "123460.00", "12a456.00", "1234", "123456.", "123456.x", "126000", "12345"])
LAT_F = (_coord_valid(2, 90), ["4545", "45A5.123", "4560.123", "9100.000", "045.123", "4545.12.3", "9000.0000",
                               "4545.", "-4545.1"])
LON_F = (_coord_valid(3, 180), ["00450", "0045A.12", "00460.5", "18100.00", "0450.12", "18000.000", "+0450.12"])
NS_F = (st.sampled_from(["N", "S"]), ["X", "n", "E"])
EW_F = (st.sampled_from(["E", "W"]), ["X", "e", "N"])
SPEED_F = (_decimal_valid(300, 3), ["1.2.3", "-1.0", "abc", "1e3", ".", "inf", " 1.0"])
COURSE_F = (_decimal_valid(400, 2), ["1.2.3", "-5", "x", "1e2", "."])
HDOP_F = (_decimal_valid(99, 2), ["1.2.3", "-1", "x", "nan"])
INT_F = (st.integers(0, 24).map(lambda v: "%02d" % v), ["x", "-1", "1.5", " 3"])
QUALITY_F = (st.integers(0, 8).map(str), ["x", "-1", "1.0"])
DATE_F = (st.dates(datetime.date(1969, 1, 1), datetime.date(2068, 12, 31)).map(lambda d: d.strftime("%d%m%y")),
          ["310226", "1a0326", "000000", "32126", "290223", "01132a"])
STATUS_F = (st.sampled_from(["A", "V"]), ["X", "a", ""])
MODE_F = (st.sampled_from(["A", "D", "N", "E", "F", "R", ""]), ["X"])
MUTATION = st.sampled_from(["none"] * 12 + ["bad_checksum", "lower_checksum", "no_checksum", "high_byte",
                                            "lf_only", "truncate", "unknown_talker"])


@st.composite
def sentence_of(draw, kind, specs, position_at=None, optional=0):
    """Draw the fields of `specs` (a list of (valid, corrupt) or constant strings), then spoil a few."""
    fields = []
    for spec in specs:
        fields.append(spec if isinstance(spec, str) else draw(spec[0]))
    # the last `optional` fields may be left out (older NMEA versions)
    fields = fields[:len(fields) - draw(st.integers(0, optional))] if optional else fields
    if position_at is not None and draw(st.integers(0, 5)) == 0:
        for i in range(position_at, position_at + 4):
            fields[i] = ""  # no fix
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(fields) - 1))
        spec = specs[i]
        bad = [""] if isinstance(spec, str) else spec[1] + [""]
        if draw(st.integers(0, 2)) == 0:
            fields[i] = draw(st.sampled_from(bad))
    mutation = draw(MUTATION)
    if mutation == "truncate":
        fields = fields[:draw(st.integers(0, len(fields) - 1))]
    talkers = ["PX", "gp", "G1"] if mutation == "unknown_talker" else TALKERS  # proprietary, lower case, digit
    talker = draw(st.sampled_from(talkers))
    return line_of(",".join([talker + kind] + fields), mutation)


def rmc():
    return sentence_of("RMC", [TIME_F, STATUS_F, LAT_F, NS_F, LON_F, EW_F, SPEED_F, COURSE_F, DATE_F, "", "",
                               MODE_F, NAV_F], position_at=2, optional=2)


def gga():
    return sentence_of("GGA", [TIME_F, LAT_F, NS_F, LON_F, EW_F, QUALITY_F, INT_F, HDOP_F, "172.4", "M", "47.6", "M",
                               "", ""], position_at=1)


NAV_F = (st.sampled_from(["V", "S", "C", "U"]), ["X", "SS"])
GNS_MODE = (st.text("ADNEPRF", min_size=1, max_size=4), ["X", "AX", "NX", ""])


def gns():
    return sentence_of("GNS", [TIME_F, LAT_F, NS_F, LON_F, EW_F, GNS_MODE, INT_F, HDOP_F, "172.4", "47.6", "", "",
                               NAV_F], position_at=1, optional=1)


DAY_F = (st.integers(1, 31).map(lambda v: "%02d" % v), ["00", "32", "x", "-1"])
MONTH_F = (st.integers(1, 12).map(lambda v: "%02d" % v), ["00", "13", "x"])
YEAR_F = (st.integers(1970, 2099).map(str), ["1969", "2100", "20x6", "26"])


def zda():
    return sentence_of("ZDA", [TIME_F, DAY_F, MONTH_F, YEAR_F, "00", "00"])


def gll():
    return sentence_of("GLL", [LAT_F, NS_F, LON_F, EW_F, TIME_F, STATUS_F, MODE_F], position_at=0, optional=1)


def vtg():
    return sentence_of("VTG", [COURSE_F, "T", "", "M", SPEED_F, "N", SPEED_F, "K", MODE_F])


SV_F = (st.one_of(st.just(""), st.integers(1, 32).map(lambda v: "%02d" % v)), ["x"])
FIX_TYPE_F = (st.sampled_from(["1", "2", "3"]), ["4", "x", "0"])


def gsa():
    return sentence_of("GSA", ["A", FIX_TYPE_F] + [SV_F] * 12 + [HDOP_F, HDOP_F, HDOP_F])


# ---------------------------------------------------------------------------------------------------------
# The oracle: pynmea2 plus the strict rules.

def _decimal(raw, converted):
    """A pynmea2-converted number, or None if the field is empty; Reject if not a plain decimal."""
    if raw == "":
        return None
    if not DECIMAL.match(raw) or not isinstance(converted, (float, int)) and not hasattr(converted, "as_tuple"):
        raise Reject("number %r" % raw)
    return float(converted)


def _time_ms(msg, raw):
    if raw == "":
        return None
    ts = msg.timestamp
    if not TIME.match(raw) or not isinstance(ts, datetime.time):
        raise Reject("time %r" % raw)
    return ((ts.hour * 60 + ts.minute) * 60 + ts.second) * 1000 + ts.microsecond // 1000


def _position(msg, lat, ns, lon, ew, tod):
    if lat == ns == lon == ew == "":
        return None
    if "" in (lat, ns, lon, ew) or ns not in ("N", "S") or ew not in ("E", "W"):
        raise Reject("position fields")
    if not re.match(r"^\d{4}\.\d+$", lat) or not re.match(r"^\d{5}\.\d+$", lon):
        raise Reject("coordinate format")
    if int(lat[2:4]) >= 60 or int(lon[3:5]) >= 60:
        raise Reject("minutes")
    la, lo = msg.latitude, msg.longitude  # pynmea2's conversion
    if abs(la) > 90 or abs(lo) > 180:
        raise Reject("range")
    if tod is None:
        raise Reject("position without time")
    return round(la * 1e7), round(lo * 1e7)


def _data(msg, i):
    return msg.data[i] if i < len(msg.data) else ""


def oracle(line):
    """("ok", expected dict) | ("crc", None) | ("reject", None) | ("ignored", None)."""
    if any(b > 127 for b in line):
        return "reject", None
    try:
        msg = pynmea2.parse(line.decode("ascii"), check=True)
    except pynmea2.ChecksumError:
        # no checksum at all is a cut line: a framing error for the firmware, a checksum error for pynmea2
        return ("crc" if b"*" in line else "reject"), None
    except pynmea2.SentenceTypeError:
        return "ignored", None
    except pynmea2.ParseError:
        return "reject", None
    kind = getattr(msg, "sentence_type", None)  # a proprietary sentence ($P...) has none
    # the talker as sent: pynmea2 upper-cases it, the firmware takes only capitals (NMEA's address field)
    if not TALKER.match(line[1:3].decode("ascii")) or kind not in MIN_FIELDS:
        return "ignored", None
    if len(msg.data) < MIN_FIELDS[kind]:
        return "reject", None
    try:
        return "ok", globals()["_expect_" + kind.lower()](msg)
    except Reject:
        return "reject", None


def _mode_ok(mode):
    return mode == "" or mode[0] not in "NE"


def _expect_rmc(msg):
    d = msg.data
    tod = _time_ms(msg, d[0])
    if d[1] not in ("A", "V"):
        raise Reject("status")
    pos = _position(msg, d[2], d[3], d[4], d[5], tod)
    knots = _decimal(d[6], msg.spd_over_grnd)
    course = _decimal(d[7], msg.true_course)
    date = None
    if d[8] != "":
        if not re.match(r"^\d{6}$", d[8]) or not isinstance(msg.datestamp, datetime.date):
            raise Reject("date")
        date = msg.datestamp
    valid = d[1] == "A" and _mode_ok(_data(msg, 11))
    _nav_ok(msg, 12)
    return dict(tod=tod, pos=pos, knots=knots, course=course, date=date, valid=valid, quality=1 if valid else 0)


def _nav_ok(msg, i):
    nav = _data(msg, i)
    if nav not in ("", "S", "C", "U", "V"):
        raise Reject("navigational status")


def _expect_zda(msg):
    d = msg.data
    tod = _time_ms(msg, d[0])
    if tod is None or not all(INTEGER.match(x) for x in d[1:4]) or not 1970 <= int(d[3]) <= 2099:
        raise Reject("zda fields")
    try:
        date = msg.datestamp  # pynmea2 builds a datetime.date: the oracle of a real date
    except ValueError:
        raise Reject("date") from None
    return dict(tod=tod, date=date)


def _expect_gga(msg):
    d = msg.data
    tod = _time_ms(msg, d[0])
    if d[5] != "" and (not INTEGER.match(d[5]) or not isinstance(msg.gps_qual, int)):
        raise Reject("quality")
    quality = msg.gps_qual if d[5] != "" else None
    pos = _position(msg, d[1], d[2], d[3], d[4], tod)
    if pos is not None and quality is None:
        raise Reject("position without quality")
    if d[6] != "" and not INTEGER.match(d[6]):
        raise Reject("sats")
    hdop = _decimal(d[7], float(d[7]) if DECIMAL.match(d[7]) else None)
    return dict(tod=tod, pos=pos, quality=quality, sats=int(d[6]) if d[6] else -1, hdop=hdop,
                valid=quality is not None and 1 <= quality <= 5)


def _expect_gns(msg):
    d = msg.data
    tod = _time_ms(msg, d[0])
    pos = _position(msg, d[1], d[2], d[3], d[4], tod)
    quality = 0
    for ch in msg.mode_indicator:
        if ch in "ADPRF":
            quality = 2 if ch == "D" else 1
            break
        if ch not in "NE":
            raise Reject("mode")
    if d[6] != "" and not INTEGER.match(d[6]):
        raise Reject("sats")
    hdop = _decimal(d[7], float(d[7]) if DECIMAL.match(d[7]) else None)
    _nav_ok(msg, 12)
    return dict(tod=tod, pos=pos, quality=quality, sats=int(d[6]) if d[6] else -1, hdop=hdop, valid=quality > 0)


def _expect_gll(msg):
    d = msg.data
    tod = _time_ms(msg, d[4])
    if d[5] not in ("A", "V"):
        raise Reject("status")
    pos = _position(msg, d[0], d[1], d[2], d[3], tod)
    return dict(tod=tod, pos=pos, valid=d[5] == "A" and _mode_ok(_data(msg, 6)))


def _expect_vtg(msg):
    d = msg.data
    course = _decimal(d[0], msg.true_track)
    knots = _decimal(d[4], msg.spd_over_grnd_kts)
    kmh = _decimal(d[6], msg.spd_over_grnd_kmph)
    return dict(course=course, knots=knots, kmh=kmh)


def _expect_gsa(msg):
    d = msg.data
    if d[1] != "" and (not INTEGER.match(d[1]) or int(d[1]) > 3):
        raise Reject("fix type")
    hdop = _decimal(d[15], float(d[15]) if DECIMAL.match(d[15]) else None)
    return dict(hdop=hdop)


# ---------------------------------------------------------------------------------------------------------
# The firmware side, through its public API only.

def firmware(line, prefix=False):
    """(verdict, Fix or None): feed one line to a fresh parser (after a GLL when `prefix`), then flush."""
    p = NmeaParser()
    if prefix:
        body = PREFIX[1:-1]
        c = 0
        for b in body:
            c ^= b
        assert p.feed(PREFIX + b"%02X\r\n" % c) is None and p.sentences == 1
    before = (p.sentences, p.crc_fails, p.rejected, p.ignored)
    fix = p.feed(line)
    after = (p.sentences, p.crc_fails, p.rejected, p.ignored)
    delta = [a - b for a, b in zip(after, before)]
    verdict = {(1, 0, 0, 0): "ok", (0, 1, 0, 0): "crc", (0, 0, 1, 0): "reject", (0, 0, 0, 1): "ignored"}[
        tuple(delta)]
    return verdict, fix or p.flush()


def _speed_mms(knots):
    return round(knots * 1852 / 3.6)


def _assert_close(ours, expected, tolerance, what, line):
    assert abs(ours - expected) <= tolerance, (what, ours, expected, line)


def check(line, prefix=False):
    expected_verdict, exp = oracle(line)
    verdict, fix = firmware(line, prefix)
    assert verdict == expected_verdict, (line, verdict, expected_verdict)
    return exp if verdict == "ok" else None, fix


def _check_position(exp, fix, line):
    if exp["pos"] is None:
        assert fix is None, line
        return False
    assert fix is not None, line
    _assert_close(fix.lat, exp["pos"][0], 1, "lat", line)
    _assert_close(fix.lon, exp["pos"][1], 1, "lon", line)
    _assert_close(fix.tod_ms, exp["tod"], 1, "time", line)
    assert fix.valid == exp["valid"], line
    return True


@SETTINGS
@given(rmc())
def test_rmc_agrees_with_pynmea2(line):
    exp, fix = check(line)
    if exp is None or not _check_position(exp, fix, line):
        return
    assert fix.speed_mms == -1 if exp["knots"] is None else abs(fix.speed_mms - _speed_mms(exp["knots"])) <= 1
    assert fix.course_cdeg == -1 if exp["course"] is None else fix.course_cdeg == round(exp["course"] * 100) % 36000
    if exp["date"] is not None:
        d = exp["date"]
        assert fix.t // 86400 == days_from_civil(d.year, d.month, d.day), line
        assert fix.t % 86400 * 1000 + fix.ms == fix.tod_ms
    else:
        assert fix.t == 0, line
    assert fix.quality == exp["quality"]


@SETTINGS
@given(gga())
def test_gga_agrees_with_pynmea2(line):
    exp, fix = check(line)
    if exp is None or not _check_position(exp, fix, line):
        return
    assert fix.quality == exp["quality"] and fix.sats == exp["sats"], line
    assert fix.hdop_c == (-1 if exp["hdop"] is None else int(round(exp["hdop"] * 100))), line


@SETTINGS
@given(gns())
def test_gns_agrees_with_pynmea2(line):
    exp, fix = check(line)
    if exp is None or not _check_position(exp, fix, line):
        return
    assert fix.quality == exp["quality"] and fix.sats == exp["sats"], line
    assert fix.hdop_c == (-1 if exp["hdop"] is None else int(round(exp["hdop"] * 100))), line


@SETTINGS
@given(gll())
def test_gll_agrees_with_pynmea2(line):
    exp, fix = check(line)
    if exp is not None:
        _check_position(exp, fix, line)


@SETTINGS
@given(vtg())
def test_vtg_agrees_with_pynmea2(line):
    exp, fix = check(line, prefix=True)
    if exp is None:
        return
    assert fix.course_cdeg == -1 if exp["course"] is None else fix.course_cdeg == round(exp["course"] * 100) % 36000
    if exp["knots"] is not None:
        _assert_close(fix.speed_mms, _speed_mms(exp["knots"]), 1, "speed", line)
    elif exp["kmh"] is not None:
        _assert_close(fix.speed_mms, round(exp["kmh"] / 3.6 * 1000), 1, "speed", line)
    else:
        assert fix.speed_mms == -1, line


@SETTINGS
@given(gsa())
def test_gsa_agrees_with_pynmea2(line):
    exp, fix = check(line, prefix=True)
    if exp is None:
        return
    assert fix.hdop_c == (-1 if exp["hdop"] is None else int(round(exp["hdop"] * 100))), line


@SETTINGS
@given(zda())
@example(b"$GPZDA,123460.00,01,01,1970,00,00*6B\r\n")  # a time the pattern matches but no clock shows
def test_zda_dates_gga_fixes_as_pynmea2_reads_the_date(line):
    # a receiver sending GGA without RMC: the GGA of the ZDA's second, then the ZDA; the fix takes its date
    expected_verdict, exp = oracle(line)
    text = line.decode("latin-1")
    zda_time = text[7:].split(",")[0] if text.startswith("$") else ""
    # the GGA of the ZDA's own second when the oracle takes that time (a matching "123460.00" is no time)
    gga_time = zda_time if expected_verdict == "ok" else "083559.00"
    gga_line = line_of("GPGGA,%s,4545.58200,N,00450.55600,E,1,09,1.02,172.4,M,47.6,M,," % gga_time)
    p = NmeaParser()
    assert p.feed(gga_line) is None and p.sentences == 1
    before = (p.sentences, p.crc_fails, p.rejected, p.ignored)
    p.feed(line)
    delta = tuple(a - b for a, b in zip((p.sentences, p.crc_fails, p.rejected, p.ignored), before))
    verdict = {(1, 0, 0, 0): "ok", (0, 1, 0, 0): "crc", (0, 0, 1, 0): "reject", (0, 0, 0, 1): "ignored"}[delta]
    assert verdict == expected_verdict, (line, verdict, expected_verdict)
    fix = p.flush()
    assert fix is not None
    if verdict == "ok":
        d = exp["date"]
        assert fix.t == days_from_civil(d.year, d.month, d.day) * 86400 + exp["tod"] // 1000, line
    else:
        assert fix.t == 0, line


def test_the_oracle_can_disagree():
    # the comparison itself must be able to fail: a wrong checksum is "crc" for pynmea2, not "ok"
    good = line_of("GPGGA,083559.00,4545.58200,N,00450.55600,E,1,09,1.02,172.4,M,47.6,M,,")
    assert oracle(good)[0] == "ok" and firmware(good)[0] == "ok"
    assert oracle(line_of("GPGGA,083559.00,,,,,0,00,99.99,,,,,,", "bad_checksum"))[0] == "crc"
