# Offline access decision from the allow-list the server pushes.
#
# Entries: {"id", "badge" (8-byte keyed hash, protocol.keys.badge_hash), "kind", "start", "end",
# "reservation"}. Badge identifiers are never stored in clear: the box hashes the uid it reads with its
# own key and looks the hash up.
#
# Rules, in order (first that applies wins):
# 1. No allow-list ever received: "box not ready" (REASON_NOT_READY, 4 pulses).
# 2. A role entry (fleet manager, mechanic): granted at any time, clock known or not (REASON_ROLE).
# 3. Clock known (now):
#    - a reservation of this badge with start - early_s <= now <= end + late_s: granted (REASON_RESERVATION);
#    - a spot entry, and no reservation of anyone is under way or starts within spot_gap_s: granted as an
#      unplanned trip (REASON_SPOT); a spot entry but a reservation in the way: "no reservation now"
#      (REASON_RESERVED_BY_OTHER, 2 pulses);
#    - reservations of this badge, none now: "no reservation now" (REASON_EXPIRED if the last one is over,
#      else REASON_NO_RESERVATION_NOW, 2 pulses);
#    - otherwise denied (REASON_UNKNOWN_BADGE, 3 pulses).
# 4. Clock unknown (power loss, no GPS fix nor server answer yet). The box knows a lower bound `lb` of now
#    (last time known + uptime, app/clock.py). The unknown-clock rule: the holder of the *earliest
#    reservation of the car that is not known to be over* (end + late_s >= lb) is granted
#    (REASON_RESERVATION): that is the car's current or next user, and refusing them because the box lost
#    power would strand them. Every other reservation holder and every spot agent gets "box not ready"
#    (REASON_CLOCK_UNKNOWN, 4 pulses: wait for the GPS); unknown badges are denied.
# Standing entries (roles, on-the-spot) lapse on a box out of touch: when the last server answer is more
# than `offline_days` old (app/clock.py offline_s, kept across reboots), they are ignored, so a badge the
# server deactivated stops working even on a box out of coverage. Reservations keep their own windows.
# A badge refused only because its standing entry lapsed gets "box not ready" (REASON_LIST_STALE, 4
# pulses): the box needs a sync. Nothing here touches a running engine (app/immobilizer.py).
from protocol import codes

GRANTED = 1
NO_RESERVATION = 2
DENIED = 3
NOT_READY = 4


class Decision:
    def __init__(self, outcome, reason, reservation=0, entry=None):
        self.outcome = outcome  # GRANTED .. NOT_READY (= buzzer pulses)
        self.reason = reason  # protocol.codes.REASON_*
        self.reservation = reservation  # reservation id, 0 for roles and unplanned trips
        self.entry = entry

    @property
    def granted(self):
        return self.outcome == GRANTED

    def __repr__(self):
        return "Decision(%d, %d, %d)" % (self.outcome, self.reason, self.reservation)


def _valid_entry(entry):
    try:
        return (isinstance(entry["id"], int) and isinstance(entry["badge"], (bytes, bytearray))
                and len(entry["badge"]) == 8 and entry["kind"] in (codes.KIND_RESERVATION, codes.KIND_ROLE,
                                                                   codes.KIND_SPOT)
                and isinstance(entry.get("start", 0), int) and isinstance(entry.get("end", 0), int)
                and isinstance(entry.get("reservation", 0), int))
    except (KeyError, TypeError):
        return False


class AllowList:
    FILE = "allow"

    def __init__(self):
        self.version = 0
        self.loaded = False  # True once a full list came from the server (or from flash)
        self.entries = {}  # id -> entry
        self.rejected = 0

    def apply(self, allow):
        """Apply a server "allow" section (full list or delta). Bad entries are counted and skipped."""
        if not isinstance(allow, dict):
            self.rejected += 1
            return False
        if allow.get("full"):
            self.entries = {}
            self.loaded = True
        elif not self.loaded:
            # A delta against a list we never had cannot be trusted: wait for a full one.
            self.rejected += 1
            return False
        for entry_id in allow.get("remove") or ():
            if entry_id in self.entries:
                del self.entries[entry_id]
        for entry in allow.get("add") or ():
            if _valid_entry(entry):
                self.entries[entry["id"]] = {
                    "id": entry["id"], "badge": bytes(entry["badge"]), "kind": entry["kind"],
                    "start": entry.get("start", 0), "end": entry.get("end", 0),
                    "reservation": entry.get("reservation", 0),
                }
            else:
                self.rejected += 1
        version = allow.get("version")
        if isinstance(version, int):
            self.version = version
        return True

    def for_badge(self, badge):
        out = []
        for entry in self.entries.values():
            if entry["badge"] == badge:
                out.append(entry)
        return out

    def reservations(self):
        out = [e for e in self.entries.values() if e["kind"] == codes.KIND_RESERVATION]
        out.sort(key=lambda e: (e["start"], e["id"]))
        return out

    def next_start(self, after):
        """Start of the first reservation starting after `after` (epoch), or 0."""
        best = 0
        for entry in self.entries.values():
            if entry["kind"] == codes.KIND_RESERVATION and entry["start"] > after:
                if not best or entry["start"] < best:
                    best = entry["start"]
        return best

    # persistence: JSON with hex badges
    def save(self, fs, store):
        rows = []
        for e in self.entries.values():
            rows.append([e["id"], _hex(e["badge"]), e["kind"], e["start"], e["end"], e["reservation"]])
        store.write(fs, self.FILE, {"v": self.version, "loaded": self.loaded, "e": rows})

    def load(self, fs, store):
        data = store.read(fs, self.FILE)
        if not isinstance(data, dict):
            return False
        try:
            entries = {}
            for row in data["e"]:
                entries[row[0]] = {"id": row[0], "badge": _unhex(row[1]), "kind": row[2], "start": row[3],
                                   "end": row[4], "reservation": row[5]}
            self.entries = entries
            self.version = data["v"]
            self.loaded = bool(data["loaded"])
        except (KeyError, TypeError, ValueError, IndexError):
            return False
        return True


def _hex(data):
    return "".join("%02x" % b for b in data)


def _unhex(text):
    return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


def decide(allow, badge, now, lower_bound, settings, offline_s=None):
    """The decision for one tap. now = epoch s or 0 (unknown); lower_bound = a time now is not before;
    offline_s = seconds since the last server answer (None: the box holds no record of one)."""
    if not allow.loaded:
        return Decision(NOT_READY, codes.REASON_NOT_READY)
    mine = allow.for_badge(badge)
    if offline_s is not None and offline_s > settings.get("offline_days") * 86400:
        booked = [e for e in mine if e["kind"] == codes.KIND_RESERVATION]
        decision = _decide(allow, badge, booked, now, lower_bound, settings)
        if len(booked) < len(mine) and not decision.granted:
            return Decision(NOT_READY, codes.REASON_LIST_STALE)
        return decision
    return _decide(allow, badge, mine, now, lower_bound, settings)


def _decide(allow, badge, mine, now, lower_bound, settings):
    """decide() on `mine`, the entries of this badge still in force."""
    for entry in mine:
        if entry["kind"] == codes.KIND_ROLE:
            return Decision(GRANTED, codes.REASON_ROLE, 0, entry)
    reservations = [e for e in mine if e["kind"] == codes.KIND_RESERVATION]
    spot = [e for e in mine if e["kind"] == codes.KIND_SPOT]
    early = settings.get("early_s")
    late = settings.get("late_s")
    if not now:
        for entry in allow.reservations():
            if entry["end"] + late >= lower_bound:
                if entry["badge"] == badge:
                    return Decision(GRANTED, codes.REASON_RESERVATION, entry["reservation"], entry)
                break
        if reservations or spot:
            return Decision(NOT_READY, codes.REASON_CLOCK_UNKNOWN)
        return Decision(DENIED, codes.REASON_UNKNOWN_BADGE)
    for entry in reservations:
        if entry["start"] - early <= now <= entry["end"] + late:
            return Decision(GRANTED, codes.REASON_RESERVATION, entry["reservation"], entry)
    if spot:
        gap = settings.get("spot_gap_s")
        for entry in allow.reservations():
            # Someone else's reservation under way (within tolerances) or starting soon: the car is taken.
            if entry["start"] - early <= now + gap and now <= entry["end"] + late:
                return Decision(NO_RESERVATION, codes.REASON_RESERVED_BY_OTHER, 0, entry)
        return Decision(GRANTED, codes.REASON_SPOT, 0, spot[0])
    if reservations:
        over = True
        for entry in reservations:
            if entry["end"] + late >= now:
                over = False
        return Decision(NO_RESERVATION, codes.REASON_EXPIRED if over else codes.REASON_NO_RESERVATION_NOW)
    return Decision(DENIED, codes.REASON_UNKNOWN_BADGE)
