# The firmware version the box reports in its health record and that `tools/flash` reads back.
VERSION = "0.1.0"


def parse_version(text):
    """'1.2.3' -> (1, 2, 3); anything else -> None (a box must never crash on a bad update offer)."""
    parts = text.split(".")
    if len(parts) != 3:
        return None
    numbers = []
    for part in parts:
        if not part or not part.isdigit() or len(part) > 4:
            return None
        numbers.append(int(part))
    return tuple(numbers)


def is_newer(offered, current=VERSION):
    """True when the offered version string is a valid version above the current one."""
    a = parse_version(offered)
    b = parse_version(current)
    return a is not None and b is not None and a > b
