"""NMEA 0183 parser for the GPS receiver: bytes in, integer fixes out.

`NmeaParser().feed(line)` takes one line as read from the UART and returns a `Fix` when the line completes
the position of an epoch (one receiver second), else None. It never raises: bad input bumps a counter.

Sentences: RMC, GGA, VTG, GSA, GLL, GNS and ZDA (the date, for receivers that send GGA without RMC) from any
talker (two capital letters: GP, GN, GL, GA, GB, BD, GQ, GI, IN...; `P...` is proprietary and ignored); NMEA
4.10/4.11 fields are read (RMC/GNS navigational status S, C, U or V). The checksum is mandatory.
Units (integers only; ESP32 floats are 32-bit): latitude/longitude in 1e-7 degree, speed in mm/s, course in
centidegrees, HDOP x100, time in epoch seconds `t` (0 until a date has been seen: GGA carries none) plus
`ms`, and `tod_ms` (milliseconds since midnight UTC, always set). -1 means "not reported" for speed_mms,
course_cdeg, hdop_c and sats.

Framing rules (what a real UART delivers):
- a line may carry junk or the head of a previous, cut sentence (`$GPGGA,0301$GPGLL,...`): the sentence is
  the text from the last `$`; a cut fragment before it counts as rejected;
- the checksum `*HH` must be there and match; only CR, LF, spaces or tabs may follow it; a missing CR is fine;
- every byte of the sentence must be ASCII (a byte above 0x7F: rejected); a control byte is only rejected
  where it lands in a field the parser reads (as pynmea2 does);
- lines longer than MAX_LINE are rejected without being parsed.

Epochs: a receiver sends several sentences per second (u-blox: RMC, VTG, GGA, GSA). Sentences with a time
(RMC, GGA, GNS, GLL) open or join the epoch of that time; VTG and GSA join the current epoch. The fix is
emitted once the epoch holds a position and every position sentence type this receiver is known to send
(RMC-like and GGA-like, learned during the first epoch, which is therefore emitted when the second starts);
an epoch left incomplete (a lost sentence) is emitted when the next one starts. Validity comes from RMC/GLL
status, the mode indicator and GGA/GNS quality.

Counters: `sentences` (accepted sentences of the supported types), `crc_fails`, `rejected` (bad framing,
malformed or out-of-range fields, cut fragments), `ignored` (good checksum, unsupported talker or type).
"""

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

MAX_LINE = const(160)

_RMC = const(1)
_GGA = const(2)
_VTG = const(3)
_GSA = const(4)
_GLL = const(5)
_GNS = const(6)
_ZDA = const(7)

_TYPES = {b"RMC": _RMC, b"GGA": _GGA, b"VTG": _VTG, b"GSA": _GSA, b"GLL": _GLL, b"GNS": _GNS, b"ZDA": _ZDA}
_PROPRIETARY = const(0x50)  # "P": $PUBX, $PMTK... are not talker sentences
_NAV_STATUS = b"SCUV"  # NMEA 4.10 navigational status; V = "not given" (u-blox always sends it)
_HEX = b"0123456789ABCDEFabcdef"
_POW10 = (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000)
# Cumulative days before each month (non-leap year).
_MONTH_DAYS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class Fix:
    """One epoch's position. Plain attributes, integers (see the module docstring for units)."""

    def __init__(self, t, ms, lat, lon, speed_mms, course_cdeg, quality, hdop_c, sats, valid, tod_ms=-1):
        self.t = t  # epoch seconds, 0 while the date is unknown (no RMC seen yet)
        self.ms = ms
        # milliseconds since midnight UTC: always known, what intervals are measured with
        self.tod_ms = tod_ms if tod_ms >= 0 else (t % 86400) * 1000 + ms
        self.lat = lat
        self.lon = lon
        self.speed_mms = speed_mms
        self.course_cdeg = course_cdeg
        self.quality = quality
        self.hdop_c = hdop_c
        self.sats = sats
        self.valid = valid

    def __repr__(self):
        return "Fix(t=%d.%03d lat=%d lon=%d speed_mms=%d course_cdeg=%d quality=%d hdop_c=%d sats=%d valid=%s)" % (
            self.t, self.ms, self.lat, self.lon, self.speed_mms, self.course_cdeg, self.quality, self.hdop_c,
            self.sats, self.valid)


class _Bad(Exception):
    pass


def _fixed(field, digits):
    """b"12.345" -> 12345 for digits=3 (extra decimals truncated); -1 if empty; _Bad if not a decimal."""
    if not field:
        return -1
    dot = field.find(b".")
    if dot < 0:
        if not field.isdigit():
            raise _Bad()
        return int(field) * _POW10[digits]
    ip = field[:dot]
    fp = field[dot + 1:]
    if ip:
        if not ip.isdigit():
            raise _Bad()
        whole = int(ip)
    elif fp:
        whole = 0
    else:
        raise _Bad()
    n = len(fp)
    if n == 0:
        return whole * _POW10[digits]
    if not fp.isdigit():
        raise _Bad()
    if n >= digits:
        return whole * _POW10[digits] + (int(fp[:digits]) if digits else 0)
    return whole * _POW10[digits] + int(fp) * _POW10[digits - n]


def _int(field):
    """Unsigned integer field; -1 if empty."""
    if not field:
        return -1
    if not field.isdigit():
        raise _Bad()
    return int(field)


def _angle(field, hemi, deg_digits, limit_deg, pos, neg):
    """b"4545.58200", b"N" -> 1e-7 degrees (rounded). None when both are empty. Degrees take exactly
    `deg_digits` digits and the minutes at least one decimal (as receivers send them and pynmea2 wants)."""
    if not field:
        if hemi:
            raise _Bad()
        return None
    dot = deg_digits + 2
    if len(field) <= dot + 1 or field[dot] != 0x2E:  # "."
        raise _Bad()
    head = field[:dot]
    frac = field[dot + 1:]
    if not head.isdigit() or not frac.isdigit():
        raise _Bad()
    # minutes x 1e7 (decimals beyond the 7th are dropped)
    n = len(frac)
    if n > 7:
        frac = frac[:7]
        n = 7
    minutes = int(head[deg_digits:]) * 10000000 + int(frac) * _POW10[7 - n]
    if minutes >= 600000000:
        raise _Bad()
    value = int(head[:deg_digits]) * 10000000 + (minutes + 30) // 60
    if value > limit_deg * 10000000:
        raise _Bad()
    if hemi == pos:
        return value
    if hemi == neg:
        return -value
    raise _Bad()


def _tod_ms(field):
    """b"hhmmss[.sss]" -> milliseconds of the day; -1 if empty."""
    if not field:
        return -1
    if len(field) < 6:
        raise _Bad()
    head = field[:6]
    if not head.isdigit():
        raise _Bad()
    hh = int(head[:2])
    mm = int(head[2:4])
    ss = int(head[4:6])
    if hh > 23 or mm > 59 or ss > 59:
        raise _Bad()
    ms = 0
    if len(field) > 6:
        if field[6] != 0x2E:  # "."
            raise _Bad()
        frac = field[7:]
        if not frac.isdigit():  # "083559." is not a time
            raise _Bad()
        n = len(frac)
        ms = int(frac[:3]) if n >= 3 else int(frac) * _POW10[3 - n]
    return ((hh * 60 + mm) * 60 + ss) * 1000 + ms


def days_from_civil(y, m, d):
    """Days since 1970-01-01 for a proleptic Gregorian date."""
    leap = 1 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 0
    days = (y - 1970) * 365 + (y - 1969) // 4 - (y - 1901) // 100 + (y - 1601) // 400
    return days + _MONTH_DAYS[m - 1] + (leap if m > 2 else 0) + d - 1


def _date_days(field):
    """b"ddmmyy" -> days since 1970-01-01 (negative in 1969); None if empty. Years 69-99 are 19xx, 00-68
    are 20xx (as strptime's %y)."""
    if not field:
        return None
    if len(field) != 6 or not field.isdigit():
        raise _Bad()
    d = int(field[:2])
    m = int(field[2:4])
    y = int(field[4:6])
    y += 1900 if y >= 69 else 2000
    if m < 1 or m > 12 or d < 1 or d > _DAYS_IN_MONTH[m - 1]:
        raise _Bad()
    if m == 2 and d == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        raise _Bad()
    return days_from_civil(y, m, d)


def _talker_ok(head):
    a = head[0]
    b = head[1]
    return a != _PROPRIETARY and 0x41 <= a <= 0x5A and 0x41 <= b <= 0x5A


def _nav_status(f, i):
    """NMEA 4.10 navigational status at f[i] (absent in older sentences): checked, it never spoils a fix."""
    if len(f) > i and f[i] and (len(f[i]) != 1 or f[i][0] not in _NAV_STATUS):
        raise _Bad()


def _mode_ok(field):
    """NMEA 2.3 mode indicator: N (no fix) and E (estimated, dead reckoning) are not a measured fix."""
    return not field or (field[0] != 0x4E and field[0] != 0x45)


class NmeaParser:
    def __init__(self):
        self.sentences = 0
        self.crc_fails = 0
        self.rejected = 0
        self.ignored = 0
        self.last = None  # the last Fix returned
        self._seen_rmc = False  # RMC or GLL: status, speed
        self._seen_gga = False  # GGA or GNS: quality, HDOP
        self._learned = False  # one epoch boundary passed: _seen_* describe this receiver
        self._days = None  # last date seen (RMC), days since 1970
        self._last_tod = -1
        self._new_epoch(-1)
        self._pending = None

    def _new_epoch(self, tod):
        self._tod = tod
        self._emitted = False
        self._lat = None
        self._lon = None
        self._has_rmc = False
        self._has_gga = False
        self._status_ok = True
        self._quality = -1
        self._speed = -1
        self._course = -1
        self._hdop = -1
        self._sats = -1

    # -- framing ----------------------------------------------------------------------------------------

    def feed(self, line):
        """One line (bytes, CR/LF optional) -> a Fix when it completes an epoch's position, else None."""
        try:
            return self._feed(line)
        except _Bad:
            self.rejected += 1
        except Exception:  # nothing escapes the reader, whatever the bytes
            self.rejected += 1
        return None

    def _feed(self, line):
        if len(line) > MAX_LINE:
            self.rejected += 1
            return None
        start = line.rfind(b"$")
        if start < 0:
            if line.strip():
                self.rejected += 1
            return None
        if start and line.find(b"$") < start:
            self.rejected += 1  # the head of a cut sentence
        star = line.find(b"*", start)
        if star < 0:
            self.rejected += 1
            return None
        tail = line[star + 1:]
        if len(tail) < 2 or tail[2:].strip():
            self.rejected += 1
            return None
        hi = _HEX.find(tail[0:1])
        lo = _HEX.find(tail[1:2])
        if hi < 0 or lo < 0:
            self.rejected += 1
            return None
        body = line[start + 1:star]
        c = 0
        high = 0
        for b in body:  # one pass for the checksum and the ASCII check (max()/min() cost as much each)
            c ^= b
            high |= b
        if high > 127 or not body:
            self.rejected += 1
            return None
        if c != ((hi - 6 if hi > 15 else hi) << 4) + (lo - 6 if lo > 15 else lo):
            self.crc_fails += 1
            return None
        fields = body.split(b",")
        head = fields[0]
        kind = _TYPES.get(head[2:])
        if kind is None or len(head) != 5 or not _talker_ok(head):
            self.ignored += 1
            return None
        if kind == _RMC:
            self._rmc(fields)
        elif kind == _GGA:
            self._gga(fields)
        elif kind == _VTG:
            self._vtg(fields)
        elif kind == _GSA:
            self._gsa(fields)
        elif kind == _GLL:
            self._gll(fields)
        elif kind == _ZDA:
            self._zda(fields)
        else:
            self._gns(fields)
        self.sentences += 1
        return self._complete()

    def flush(self):
        """At the end of the input: the Fix of an epoch still waiting for its other sentences, or None."""
        out = self._pending
        self._pending = None
        if out is None and self._lat is not None and not self._emitted:
            out = self._make()
        if out is not None:
            self.last = out
        return out

    # -- epochs -----------------------------------------------------------------------------------------

    def _join(self, tod):
        """A timed sentence: join the current epoch or start a new one (keeping an unsent one pending)."""
        if tod != self._tod or tod < 0:
            if self._tod >= 0:
                self._learned = True
            if self._lat is not None and not self._emitted:
                self._pending = self._make()
            if tod >= 0 and self._days is not None and 0 <= tod < self._last_tod - 43200000:
                self._days += 1  # midnight passed without a date (GGA-only receiver)
            if tod >= 0:
                self._last_tod = tod
            self._new_epoch(tod)

    def _complete(self):
        out = self._pending
        if out is not None:
            self._pending = None
        elif (self._lat is not None and not self._emitted and self._learned
              and (self._has_rmc or not self._seen_rmc) and (self._has_gga or not self._seen_gga)):
            out = self._make()
        if out is not None:
            self.last = out
        return out

    def _make(self):
        self._emitted = True
        tod = self._tod
        t = 0
        if self._days is not None:
            t = self._days * 86400 + tod // 1000
        if self._has_gga:
            quality = self._quality if self._quality > 0 else 0
        else:
            quality = 1 if self._status_ok else 0
        # GGA quality 6 (estimated), 7 (manual) and 8 (simulator) are not measured fixes
        valid = self._status_ok and 0 < quality < 6
        return Fix(t, tod % 1000, self._lat, self._lon, self._speed, self._course, quality, self._hdop,
                   self._sats, valid, tod)

    def _position(self, fields, i):
        """lat, N/S, lon, E/W at fields[i:i+4] -> (lat, lon) or None; _Bad if half filled or malformed."""
        lat = _angle(fields[i], fields[i + 1], 2, 90, b"N", b"S")
        lon = _angle(fields[i + 2], fields[i + 3], 3, 180, b"E", b"W")
        if (lat is None) != (lon is None):
            raise _Bad()
        return lat, lon

    # -- sentences: each validates every field it keeps before touching the epoch ------------------------

    def _rmc(self, f):
        # RMC,time,status,lat,NS,lon,EW,speed_kn,course,date,magvar,magEW[,mode[,navstatus]]
        if len(f) < 10:
            raise _Bad()
        tod = _tod_ms(f[1])
        status = f[2]
        if status != b"A" and status != b"V":
            raise _Bad()
        lat, lon = self._position(f, 3)
        knots = _fixed(f[7], 3)
        course = _fixed(f[8], 2)
        days = _date_days(f[9])
        mode_ok = _mode_ok(f[12]) if len(f) > 12 else True
        _nav_status(f, 13)
        if lat is not None and tod < 0:
            raise _Bad()
        if days is not None:
            self._days = days
        self._join(tod)
        self._seen_rmc = True
        self._has_rmc = True
        self._status_ok = self._status_ok and status == b"A" and mode_ok
        if knots >= 0:
            self._speed = (knots * 1852 + 1800) // 3600
        if course >= 0:
            self._course = course % 36000
        if lat is not None:
            self._lat = lat
            self._lon = lon

    def _gga(self, f):
        # GGA,time,lat,NS,lon,EW,quality,sats,hdop,alt,M,geoid,M,age,station
        if len(f) < 9:
            raise _Bad()
        tod = _tod_ms(f[1])
        lat, lon = self._position(f, 2)
        quality = _int(f[6])
        sats = _int(f[7])
        hdop = _fixed(f[8], 2)
        if lat is not None and (tod < 0 or quality < 0):
            raise _Bad()
        self._fix_quality(tod, quality, sats, hdop, lat, lon)

    def _fix_quality(self, tod, quality, sats, hdop, lat, lon):
        # GGA and GNS carry the same fix-quality fields for the epoch `tod`
        self._join(tod)
        self._seen_gga = True
        self._has_gga = True
        self._quality = quality
        self._sats = sats
        self._hdop = hdop
        if lat is not None:
            self._lat = lat
            self._lon = lon

    def _gns(self, f):
        # GNS,time,lat,NS,lon,EW,mode(one letter per constellation),sats,hdop,alt,geoid,age,station[,nav]
        if len(f) < 9:
            raise _Bad()
        tod = _tod_ms(f[1])
        lat, lon = self._position(f, 2)
        mode = f[6]
        sats = _int(f[7])
        hdop = _fixed(f[8], 2)
        _nav_status(f, 13)
        if lat is not None and tod < 0:
            raise _Bad()
        # any constellation with a real fix (A autonomous, D differential, P precise, R/F RTK) counts
        quality = 0
        for ch in mode:
            if ch in b"ADPRF":
                quality = 2 if ch == 0x44 else 1
                break
            if ch not in b"NE":
                raise _Bad()
        self._fix_quality(tod, quality, sats, hdop, lat, lon)

    def _gll(self, f):
        # GLL,lat,NS,lon,EW,time,status[,mode]
        if len(f) < 7:
            raise _Bad()
        lat, lon = self._position(f, 1)
        tod = _tod_ms(f[5])
        status = f[6]
        if status != b"A" and status != b"V":
            raise _Bad()
        mode_ok = _mode_ok(f[7]) if len(f) > 7 else True
        if lat is not None and tod < 0:
            raise _Bad()
        self._join(tod)
        self._status_ok = self._status_ok and status == b"A" and mode_ok
        if lat is not None and self._lat is None:
            self._lat = lat
            self._lon = lon

    def _zda(self, f):
        # ZDA,time,day,month,year,zone_h,zone_m: the UTC date of `time`, the date a GGA-only receiver gives
        if len(f) < 5:
            raise _Bad()
        tod = _tod_ms(f[1])
        day = _int(f[2])
        month = _int(f[3])
        year = _int(f[4])
        if tod < 0 or day < 1 or month < 1 or month > 12 or year < 1970 or year > 2099:
            raise _Bad()
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if day > _DAYS_IN_MONTH[month - 1] or (month == 2 and day == 29 and not leap):
            raise _Bad()
        days = days_from_civil(year, month, day)
        if self._tod >= 0 and tod - self._tod > 43200000:
            days -= 1  # a ZDA of 23:59:59 read while the epoch is already 00:00:00 of the next day
        elif self._tod >= 0 and self._tod - tod > 43200000:
            days += 1
        self._days = days

    def _vtg(self, f):
        # VTG,course_true,T,course_mag,M,speed_kn,N,speed_kmh,K[,mode]
        if len(f) < 9:
            raise _Bad()
        course = _fixed(f[1], 2)
        knots = _fixed(f[5], 3)
        kmh = _fixed(f[7], 3)
        if course >= 0 and self._course < 0:
            self._course = course % 36000
        if self._speed < 0:
            if knots >= 0:
                self._speed = (knots * 1852 + 1800) // 3600
            elif kmh >= 0:
                self._speed = (kmh * 10 + 18) // 36

    def _gsa(self, f):
        # GSA,mode,fixtype,sv x12,pdop,hdop,vdop[,system]
        if len(f) < 18:
            raise _Bad()
        fix_type = _int(f[2])
        hdop = _fixed(f[16], 2)
        if fix_type > 3:
            raise _Bad()
        if self._hdop < 0:
            self._hdop = hdop


def read_fixes(stream, parser=None):
    """Generator over a blocking stream's lines (a file, BytesIO): yields every Fix the parser emits."""
    if parser is None:
        parser = NmeaParser()
    while True:
        line = stream.readline()
        if not line:
            return
        fix = parser.feed(line)
        if fix is not None:
            yield fix
