# The box's config.json (written by tools/provision, read once at boot by main.py): one schema, checked
# in one place like app/settings.py SPEC. A missing field takes its default; a field of the wrong kind or
# out of range takes its default too and is reported by name, so the box still boots (a box with no valid
# key answers every tap "not ready" and never syncs). Fields the schema does not know are kept as they
# are (a newer tools/provision, a board-specific key) and reported.
try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

INT = const(0)  # low, high: the range
TEXT = const(1)  # low, high: the length range, in characters
CHOICE = const(2)  # low: the allowed values
HEX = const(3)  # low, high: the length range, in hex characters
MAP = const(4)  # name -> text (the Unix port's pty paths)

# name: (kind, default, low, high)
SPEC = {
    "box_id": (INT, 0, 0, 0xFFFFFFFF),
    "key": (HEX, "", 32, 32),  # the per-box key (protocol.keys.parse_hex_key)
    "vehicle": (TEXT, "", 0, 16),  # plate, for people reading the file
    "server_host": (TEXT, "", 0, 253),
    "server_port": (INT, 80, 1, 65535),
    "server_path": (TEXT, "/api/v1/sync", 1, 128),
    "apn": (TEXT, "", 0, 63),
    "board": (TEXT, "tcall_sim800", 1, 32),  # a hal board profile
    "reader": (CHOICE, "pn532", ("pn532", "rdm6300"), 0),
    "modem": (TEXT, "auto", 1, 16),  # a modem family (drivers.modem.FAMILIES) or "auto": ask the modem
    "watchdog_ms": (INT, 30000, 1000, 600000),  # real ms without feeding before the watchdog resets the box
    # Unix port only (docs/bench.md)
    "uarts": (MAP, None, 0, 255),
    "control": (TEXT, "", 0, 255),
    "data_dir": (TEXT, "data", 1, 255),
    "clock_factor": (INT, 1, 1, 100000),  # simulated seconds per real second
}


def _problem(kind, value, low, high):
    """Why value is not a valid field of this kind (a short text), or None."""
    if kind == INT:
        if not isinstance(value, int) or isinstance(value, bool):
            return "an integer expected"
        if value < low or value > high:
            return "%d outside %d..%d" % (value, low, high)
        return None
    if kind == CHOICE:
        return None if value in low else "one of %s expected" % ", ".join(low)
    if kind == MAP:
        if not isinstance(value, dict):
            return "a map of name -> text expected"
        for name in value:
            if not isinstance(value[name], str) or len(value[name]) > high:
                return "%s: a text of at most %d characters expected" % (name, high)
        return None
    if not isinstance(value, str):
        return "a text expected"
    if len(value) < low or len(value) > high:
        return "%d characters, %d..%d expected" % (len(value), low, high)
    if kind == HEX:
        for c in value:
            if c not in "0123456789abcdefABCDEF":
                return "hexadecimal expected"
    return None


def check(raw):
    """(config, problems): every SPEC field with a valid value (its default where raw has none or a bad
    one), unknown fields kept; problems = ["field: why", ...], one per field refused or unknown."""
    config = {}
    problems = []
    if not isinstance(raw, dict):
        problems.append("config.json: a JSON object expected")
        raw = {}
    for name in SPEC:
        kind, default, low, high = SPEC[name]
        if name not in raw:
            config[name] = default
            continue
        why = _problem(kind, raw[name], low, high)
        if why is None:
            config[name] = raw[name]
        else:
            config[name] = default
            problems.append("%s: %s" % (name, why))
    for name in raw:
        if name not in SPEC:
            config[name] = raw[name]
            problems.append("%s: unknown field, kept unchecked" % name)
    return config, problems


def checked(raw, log):
    """check(raw), each problem written to log(text) (the console at boot); returns the config."""
    config, problems = check(raw)
    for why in problems:
        log("config: " + why)
    return config
