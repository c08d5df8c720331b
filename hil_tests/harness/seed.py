"""The bench fleet on the live server's SQLite file, through the server's own data layer.

A small fleet every scenario knows by name:
- departments DDT and DDPP; pool "Pool DDT" (DDT, on-the-spot allowed), pool "Pool DDPP" (DDPP, no on-the-spot);
- one vehicle per box under test, in "Pool DDT" unless asked otherwise;
- agents: `alice` (DDT, will hold reservations), `bob` (DDT, on-the-spot only), `carol` (DDPP: other pool),
  `max` (DDT fleet manager, permanent access), `eve` (DDT, a 125 kHz EM4100 card for RDM6300 boxes); one
  badge each (UIDs below), plus `UNKNOWN` that nobody holds.
The server keeps clear UIDs only to hash them per box; the box only ever sees keyed hashes.
"""

import os
import time

BADGES = {
    "alice": bytes.fromhex("04a1b2c3d4e5f6"),  # 7-byte MIFARE UID
    "bob": bytes.fromhex("0b0b0b0b"),
    "carol": bytes.fromhex("ca401ca4"),
    "max": bytes.fromhex("04aa55aa55aa55"),
    "eve": bytes.fromhex("1a2b3c4d5e"),  # 125 kHz EM4100 card (RDM6300 readers): version byte + 32-bit number
}
UNKNOWN = bytes.fromhex("deadbeef")
PASSWORD = "banc-essai"  # every bench agent's password (web pages)
AGENTS = {
    "alice": ("Alice Martin", "alice@ddt.example", "DDT", False),
    "bob": ("Bob Bernard", "bob@ddt.example", "DDT", False),
    "carol": ("Carol Petit", "carol@ddpp.example", "DDPP", False),
    "max": ("Max Garnier", "max@ddt.example", "DDT", True),
    "eve": ("Eve Roussel", "eve@ddt.example", "DDT", False),
}


def connect(db_path):
    from server.db import connect as server_connect
    from server.migrations import apply

    db = server_connect(db_path)
    apply(db)
    return db


class BenchFleet:
    """Seeds and reads back the bench fleet in `db_path` (the live server's file; WAL makes it safe)."""

    def __init__(self, db_path):
        self.db_path = db_path
        self.db = connect(db_path)
        self.agent_ids = {}
        self.vehicles = {}  # box_id -> vehicle id
        self.pools = {}
        self.departments = {}
        self._seed_people()

    def _seed_people(self):
        from server.queries import agents, org, positions

        for code, name in (("DDT", "Direction départementale des territoires"),
                           ("DDPP", "Direction départementale de la protection des populations")):
            self.departments[code] = org.ensure_department(self.db, code, name)
            positions.track_at_any_hour(self.db, self.departments[code])  # the bench plays any hour
        self.pools["DDT"] = org.ensure_pool(self.db, "Pool DDT", self.departments["DDT"], on_the_spot=True)
        self.pools["DDPP"] = org.ensure_pool(self.db, "Pool DDPP", self.departments["DDPP"], on_the_spot=False)
        for code in ("DDT", "DDPP"):
            try:
                org.add_habilitation(self.db, self.pools[code], department_id=self.departments[code])
            except Exception:
                pass  # already there (the seed is idempotent)
        for key, (name, email, dept, permanent) in AGENTS.items():
            found = agents.by_email(self.db, email)
            if found:
                agent_id = found["id"]
            else:
                agent_id = agents.create(self.db, name, email, self.departments[dept], password=PASSWORD,
                                         role="manager" if permanent else "agent")
                if permanent:  # fleet staff: every car of the bench's departments
                    agents.set_permanent_access(self.db, agent_id, department_ids=list(self.departments.values()))
            agents.add_badge(self.db, agent_id, BADGES[key].hex())
            self.agent_ids[key] = agent_id

    def add_box(self, box_id, key_hex, plate=None, pool="DDT"):
        """A vehicle for the box in `pool` and the box registered with its key; returns the vehicle id."""
        from server.queries import boxes, org

        plate = plate or "BX-%03d-AA" % (box_id % 1000)
        vehicle_id = org.upsert_vehicle(self.db, plate, "Renault Zoé", self.pools[pool], self.departments[pool],
                                        12, 25000)
        boxes.register(self.db, box_id, vehicle_id, key_hex)
        self.vehicles[box_id] = vehicle_id
        return vehicle_id

    def reserve(self, box_id, agent, start, end):
        """A booking of the box's vehicle for `agent` through the server's booking layer (the same rules and
        transaction as the web page), made just before it starts; returns the reservation id."""
        from server.queries import reservations
        from server.queries.common import Rules

        start, end = int(start), int(end)
        return reservations.create(self.db, self.agent_ids[agent], self.vehicles[box_id], start, end,
                                   now=start - 60, rules=Rules())

    def command(self, box_id, cmd, arg=0):
        from server.queries import boxes

        boxes.add_command(self.db, box_id, cmd, arg, int(time.time()))

    # --- reading back ----------------------------------------------------------------------------
    def rows(self, sql, params=()):
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    def trips(self, box_id):
        return self.rows("SELECT * FROM trips WHERE box_id = ? ORDER BY box_trip, start", (box_id,))

    def badge_events(self, box_id):
        return self.rows("SELECT * FROM badge_events WHERE box_id = ? ORDER BY t, id", (box_id,))

    def box(self, box_id):
        found = self.rows("SELECT * FROM boxes WHERE id = ?", (box_id,))
        return found[0] if found else None

    def records(self, box_id):
        from server.queries import box_records

        return box_records.stored_seqs(self.db, box_id)

    def wait(self, predicate, timeout, interval=0.2):
        """Poll predicate() until truthy (returned) or timeout (returns the last falsy value)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def close(self):
        self.db.conn.close()


def fresh_db(directory):
    return os.path.join(directory, "bench.sqlite")
