# Parsing of modem reply lines shared by every SIMCom family: fields, registration status, network time.
# Pure functions (no I/O), so the unit tests run them on both interpreters.

_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)

# 27.007 <stat> values that mean "registered": 1 home, 5 roaming (6/7 "SMS only" and 9/10 "CSFB not
# preferred" carry no data bearer for us; 11 is emergency only).
REGISTERED = (1, 5)


def field_ints(line):
    """'+CSQ: 18,0' -> [18, 0]; a field that is not an integer ("1A2B", empty) gives None."""
    out = []  # type: list
    for part in line.split(":", 1)[-1].split(","):
        try:
            out.append(int(part.strip().strip('"')))
        except ValueError:
            out.append(None)
    return out


def info(lines, prefix):
    """The first line of a reply starting with `prefix`, or None."""
    for line in lines:
        if line.startswith(prefix):
            return line
    return None


def registration_status(line, solicited=True):
    """<stat> of a +CREG/+CGREG/+CEREG line (3GPP TS 27.007 10.1.19-10.1.22), or None if unreadable.
    A solicited reply (to AT+CREG?) is `<n>,<stat>[,<lac>,<ci>[,<AcT>...]]`: the status is the 2nd field.
    An unsolicited one (+CREG: after AT+CREG=1/2) is `<stat>[,<lac>,<ci>[,<AcT>]]`: the 1st."""
    if ":" not in line:
        return None
    fields = field_ints(line)
    index = 1 if solicited else 0
    if len(fields) <= index:
        return None
    return fields[index]


def epoch_from_fields(year, month, day, hour, minute, second):
    """Unix epoch seconds of a UTC date (integers only; 1970..2099)."""
    if month < 1 or month > 12 or day < 1 or day > 31:
        raise ValueError("date")
    days = (year - 1970) * 365 + (year - 1969) // 4 + _DAYS_BEFORE_MONTH[month - 1] + day - 1
    if month > 2 and year % 4 == 0:
        days += 1
    return days * 86400 + hour * 3600 + minute * 60 + second


def parse_cclk(line):
    """'+CCLK: "26/11/27,05:12:30+04"' (quotes optional, zone optional: quarter hours east) -> UTC epoch,
    or None when unreadable or the modem clock was never set."""
    try:
        text = line.split(":", 1)[1].strip().strip('"')
        date, clock = text.split(",")
        yy, mo, dd = [int(x) for x in date.split("/")]
        sign = 1
        cut = clock.find("+")
        if cut < 0:
            cut = clock.find("-")
            sign = -1
        tz = 0
        if cut >= 0:
            tz = sign * int(clock[cut + 1:])
            clock = clock[:cut]
        hh, mi, ss = [int(x) for x in clock.split(":")]
        if yy < 20:
            return None  # the modem's default date (2004/01/01 or 1980): never set by the network
        return epoch_from_fields(2000 + yy, mo, dd, hh, mi, ss) - tz * 15 * 60
    except (ValueError, IndexError):
        return None
