"""The sync endpoint's part of `python -m tools.bench server` (PARTS, called with the national dataset).

  ingest_ratio        position records per second through POST /api/v1/sync (Flask test client: HTTP
                      handling, decode, HMAC check, AES-CTR decrypt, dedup, store, allow-list diff, reply
                      encoded), divided by the rows per second of raw sqlite `executemany` calls of the
                      same rows into a table of the same schema, indexes and settings (taken from the
                      migrated database), in the same run: the frames go in 8 rounds, and each round's
                      rows go into two raw tables, just before and just after it (goal >= 0.3).
                      The boxes send full frames (MAX_FRAME bytes, ~500 positions), as a box with a backlog
                      does; `ingest_positions` says how many went through (1,000,000 at scale 1).
  syncs_per_s         frames of 50 position records, each from the next box in turn, every sync recomputing
                      the box's allow-list diff (a box syncing every few minutes: the worst case).
  syncs_per_s_allow_unchanged   the same within SYNC_ALLOW_REFRESH_S of the box's last diff (frames back to
                      back, as a box emptying its backlog sends them).
  also printed: ingest_positions, ingest_positions_per_s, ingest_frames, raw_executemany_rows_per_s,
                ingest_dropped, sync_errors, allow_entries_per_box (mean, on-the-spot pools hold ~1000).

Standalone (small dataset): python -m tools.bench server_sync [--scale 0.01]
"""

import os
import sqlite3
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from protocol import codes, frame, keys  # noqa: E402

NATIONAL_POSITIONS = 1_000_000
NATIONAL_VEHICLES = 10_000
INGEST_BOXES = 200
SYNC_RECORDS = 50
OCTETS = {"Content-Type": "application/octet-stream"}
HEALTH = {"fw": "1.0.0", "csq": 15, "mv": 12500, "backlog": 0, "gps": 1, "uptime": 3600, "reset": 1}
BOX_ID0 = 1000
INGEST_ROUNDS = 8


class Fleet:
    """The bench's boxes: registered on vehicles of the dataset, each with its counter, sequence, held
    allow-list version and open trip."""

    def __init__(self, ctx, n):
        from server.db import connect, write
        from server.queries import boxes

        self.ctx = ctx
        self.client = ctx.app.test_client()
        self.boxes = []
        db = connect(ctx.path)
        with write(db):
            for i in range(n):
                box_id = BOX_ID0 + i
                key = bytes(ctx.rng.randrange(256) for _ in range(16))
                vehicle = 1 + (i * 7919) % ctx.vehicles
                boxes.register(db, box_id, vehicle, key.hex())
                self.boxes.append({"id": box_id, "key": key, "counter": 0, "seq": 0, "allow": 0, "rx": 0,
                                   "entries": {}, "t": ctx.now - 3 * 86400 + i * 37})
        db.conn.close()

    def post(self, b, data, counter):
        r = self.client.post("/api/v1/sync", data=data, headers=OCTETS)
        if r.status_code != 200:
            raise RuntimeError("sync answered HTTP %d" % r.status_code)
        return self.apply(b, r.data, counter)

    def apply(self, b, body, counter):
        answer = frame.decode_response(body, b["id"], counter, b["key"])
        if answer["error"]:
            return answer
        b["rx"] = counter
        allow = answer["allow"]
        if allow is not None:
            if allow["full"]:
                b["entries"] = {}
            for rid in allow["remove"]:
                b["entries"].pop(rid, None)
            for e in allow["add"]:
                b["entries"][e["id"]] = e
            b["allow"] = allow["version"]
        return answer

    def health(self, b):
        return dict(HEALTH, allow=b["allow"], rx=b["rx"])

    def frame(self, b, records):
        b["counter"] += 1
        data, n = frame.pack_request(b["id"], b["counter"], records, self.health(b), b["key"])
        return data, b["counter"], n

    def records(self, b, kind, n, **fields):
        out = []
        for _ in range(n):
            b["seq"] += 1
            b["t"] += 5
            r = {"type": kind, "seq": b["seq"], "t": b["t"]}
            r.update(fields)
            out.append(r)
        return out

    def positions(self, b, n):
        """n position samples of a car driving north-east at ~50 km/h, one every 5 s."""
        out = []
        base = 450000000 + (b["id"] % 1000) * 10000
        for _ in range(n):
            b["seq"] += 1
            b["t"] += 5
            k = b["seq"]
            out.append({"type": "pos", "seq": k, "t": b["t"], "lat": base + k * 480 + (k * 7) % 13,
                        "lon": 48000000 + k * 510 - (k * 11) % 17, "speed": 1390 + (k % 7) * 3, "course": 45})
        return out

    def settle(self, b):
        """Sync until the box holds its whole allow-list (long lists come in several answers)."""
        for _ in range(64):
            data, counter, _n = self.frame(b, [])
            answer = self.post(b, data, counter)
            if answer["error"]:
                raise RuntimeError("sync error %d" % answer["error"])
            if answer["allow"] is None and not answer["commands"]:
                return
        raise RuntimeError("allow-list of box %d did not settle" % b["id"])

    def open_trip(self, b):
        """A badge-in and trip start with a badge of the box's list, or agent 1's badge (a stranger to
        most cars, resolved by allowlist.agent_for_hash's fallback) when the list is empty."""
        entries = list(b["entries"].values())
        badge = entries[0]["badge"] if entries else keys.badge_hash(b["key"], bytes.fromhex("04%012x" % 1))
        recs = self.records(b, "badge", 1, badge=badge, granted=True, reason=codes.REASON_SPOT)
        recs += self.records(b, "trip_start", 1, trip=b["seq"], badge=badge, reservation=0, odo_m=1000)
        data, counter, _n = self.frame(b, recs)
        answer = self.post(b, data, counter)
        if answer["error"]:
            raise RuntimeError("sync error %d" % answer["error"])


class _RawReference:
    """A fresh table with the positions schema and the server's own settings (WAL and `server.db.tune`)
    that receives rows slice by slice, each slice in one executemany and one transaction; `rate()` is the
    rows per second of those calls."""

    def __init__(self, path, schema):
        from server.db import tune

        self.path = path
        self._remove()
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        tune(self.conn)
        for sql in schema:
            self.conn.execute(sql)
        self.rows = 0
        self.elapsed = 0.0

    def add(self, rows):
        t0 = time.perf_counter()
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO positions (trip_id, t, lat, lon, speed, course) VALUES (?, ?, ?, ?, ?, ?)",
                              rows)
        self.conn.execute("COMMIT")
        self.elapsed += time.perf_counter() - t0
        self.rows += len(rows)

    def close(self):
        self.conn.close()
        self._remove()

    def _remove(self):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)


def _rows_of(ctx, fleet, frames):
    """The positions rows (trip_id, t, lat, lon, speed, course) the frames carry, decoded here with the
    protocol's decoder, each in the trip its box has open: what the endpoint is to store."""
    keys_by_box = {b["id"]: b["key"] for b in fleet.boxes}
    conn = sqlite3.connect(ctx.path)
    trip_of = dict(conn.execute("SELECT box_id, id FROM trips WHERE box_id >= ? AND end IS NULL", (BOX_ID0,)))
    conn.close()
    rows = []
    for b, _counter, data in frames:
        trip_id = trip_of[b["id"]]
        for r in frame.decode_request(data, keys_by_box.get, rows=True).records:
            rows.append((trip_id, r[2], r[3], r[4], r[5], r[6]))
    return rows


def _positions_schema(path):
    """CREATE statements of the server's positions table and its indexes, as its migrations made them."""
    conn = sqlite3.connect(path)
    found = conn.execute("SELECT type, sql FROM sqlite_master WHERE tbl_name = 'positions' AND sql IS NOT NULL "
                         "ORDER BY type = 'index'").fetchall()
    conn.close()
    return [sql for _type, sql in found]


def _positions_total(ctx):
    return max(10_000, NATIONAL_POSITIONS * ctx.vehicles // NATIONAL_VEHICLES)


def _fleet(ctx):
    if getattr(ctx, "sync_fleet", None) is None:
        # at least ~5000 positions per box (ten full frames), as many boxes as that allows (<= 200)
        fleet = Fleet(ctx, max(2, min(INGEST_BOXES, ctx.vehicles, _positions_total(ctx) // 5000)))
        for b in fleet.boxes:
            fleet.settle(b)
            fleet.open_trip(b)
        ctx.sync_fleet = fleet
    return ctx.sync_fleet


def ingest(ctx):
    fleet = _fleet(ctx)
    total = _positions_total(ctx)
    per_box = total // len(fleet.boxes)
    frames = []  # (box, counter, bytes): encoded before the clock starts (that is the boxes' work)
    for b in fleet.boxes:
        left = per_box
        while left:
            recs = fleet.positions(b, min(left, 1024))
            data, counter, n = fleet.frame(b, recs)
            # what did not fit goes in the next frame, as the firmware's journal would send it
            b["seq"] = recs[n - 1]["seq"]
            b["t"] = recs[n - 1]["t"]
            frames.append((b, counter, data))
            left -= n
    # The raw reference gets the same rows, decoded from the same frames, in two fresh tables: one slice
    # just before and one just after each round of the ingest, so that it sees the machine (whose speed
    # varies by tens of percent from one minute to the next here) as the ingest does.
    schema = _positions_schema(ctx.path)
    work = os.path.dirname(ctx.path)
    before = _RawReference(os.path.join(work, "raw_before.sqlite"), schema)
    after = _RawReference(os.path.join(work, "raw_after.sqlite"), schema)
    bodies = []
    elapsed = 0.0
    size = -(-len(frames) // INGEST_ROUNDS)
    try:
        for first in range(0, len(frames), size):
            chunk = frames[first:first + size]
            rows = _rows_of(ctx, fleet, chunk)
            before.add(rows)
            t0 = time.perf_counter()
            for _b, _counter, data in chunk:
                r = fleet.client.post("/api/v1/sync", data=data, headers=OCTETS)
                bodies.append(r.data if r.status_code == 200 else b"")
            elapsed += time.perf_counter() - t0
            after.add(rows)
            del rows
    finally:
        before.close()
        after.close()
    raw = (before.rows + after.rows) / (before.elapsed + after.elapsed)
    errors = 0
    for (b, counter, _data), body in zip(frames, bodies):
        try:
            errors += fleet.apply(b, body, counter)["error"] != 0
        except frame.ProtocolError:
            errors += 1
    conn = sqlite3.connect(ctx.path)
    stored = conn.execute("SELECT count(*) FROM positions p JOIN trips t ON t.id = p.trip_id "
                          "WHERE t.box_id >= ?", (BOX_ID0,)).fetchone()[0]
    conn.close()
    sent = per_box * len(fleet.boxes)
    rate = stored / elapsed
    mean_entries = sum(len(b["entries"]) for b in fleet.boxes) // len(fleet.boxes)
    return [("ingest_positions", stored), ("ingest_frames", len(frames)), ("ingest_dropped", sent - stored),
            ("ingest_positions_per_s", int(rate)), ("raw_executemany_rows_per_s", int(raw)),
            ("ingest_ratio", round(rate / raw, 3)), ("sync_errors", errors), ("allow_entries_per_box", mean_entries)]


def _sync_rate(ctx, fleet, refresh_s):
    n = max(ctx.samples, 2 * len(fleet.boxes))
    frames = []
    for i in range(n):
        b = fleet.boxes[i % len(fleet.boxes)]
        data, counter, _n = fleet.frame(b, fleet.positions(b, SYNC_RECORDS))
        frames.append((b, counter, data))
    bodies = []
    app = ctx.app
    saved = app.config.get("SYNC_ALLOW_REFRESH_S")
    app.config["SYNC_ALLOW_REFRESH_S"] = refresh_s
    t0 = time.perf_counter()
    for _b, _counter, data in frames:
        bodies.append(fleet.client.post("/api/v1/sync", data=data, headers=OCTETS).data)
    elapsed = time.perf_counter() - t0
    if saved is None:
        app.config.pop("SYNC_ALLOW_REFRESH_S")
    else:
        app.config["SYNC_ALLOW_REFRESH_S"] = saved
    errors = 0
    for (b, counter, _data), body in zip(frames, bodies):
        try:
            errors += fleet.apply(b, body, counter)["error"] != 0
        except frame.ProtocolError:
            errors += 1
    return n / elapsed, n, errors


def syncs(ctx):
    fleet = _fleet(ctx)
    # worst case: every sync recomputes the box's allow-list diff (a box syncing every few minutes)
    rate, n, errors = _sync_rate(ctx, fleet, 0)
    # a box emptying its backlog: frames back to back, the diff recomputed at most once a minute
    rate_in_step, n2, errors2 = _sync_rate(ctx, fleet, 3600)
    return [("syncs_per_s", round(rate, 1)), ("syncs_measured", n),
            ("syncs_per_s_allow_unchanged", round(rate_in_step, 1)), ("syncs_errors", errors + errors2)]


PARTS = [ingest, syncs]


def main(argv):
    """Standalone: the server bench's dataset and only these parts."""
    from tools.bench import server

    server.PARTS[:] = []
    if not any(a.startswith("--scale") for a in argv):
        argv = ["--scale", "0.01"] + list(argv)
    return server.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
