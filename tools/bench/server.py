"""Server benchmark at national scale: a real SQLite file with 10,000 vehicles, 100,000 agents and
1,000,000 reservations, then the figures of issue 6, each printed as `name: value`:

  availability_p95_ms   GET /reserver?date=..&start=..&end=.. through the real app (test client): session,
                        habilitated pools, free cars for the slot, page rendered, search logged
  booking_p95_ms        POST /reserver booking a free car through the real app: CSRF, rules, the
                        BEGIN IMMEDIATE transaction that checks overlaps and inserts, redirect
  ingest_ratio, syncs_per_s   added by the sync endpoint's part (see PARTS below)

Usage: python -m tools.bench server [--scale 0.01] [--samples 200] [--keep DIR]
The dataset is built with raw executemany in one transaction (the schema comes from server.migrations);
`dataset_build_s` says how long it took. --scale shrinks every count (a quick run for tests).

Hooks: PARTS is the list of measuring functions `part(ctx) -> [(name, value)]`; the sync endpoint adds
its own (`ingest_ratio`: position records per second through POST /api/v1/sync over a raw executemany of
the same rows; `syncs_per_s`: frames of 50 records) with `PARTS.append(...)` or in `sync_parts()` below.
`ctx` carries the database path, the app, the test client factory, the vehicle/agent counts, a seeded
random generator and `now`.
"""

import argparse
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from server import create_app, timeutil  # noqa: E402
from server.db import connect  # noqa: E402
from server.migrations import apply, history_load  # noqa: E402

VEHICLES = 10_000
AGENTS = 100_000
RESERVATIONS = 1_000_000
DEPARTMENTS = 100            # one per French département
POOLS_PER_DEPARTMENT = 10    # 10 cars per pool
PASSWORD = "bench-password-0"


class Context:
    def __init__(self, path, app, now, vehicles, agents, rng, samples):
        self.path, self.app, self.now = path, app, now
        self.vehicles, self.agents, self.rng, self.samples = vehicles, agents, rng, samples
        self.users = []  # (agent id, e-mail) with a password: who the HTTP parts log in as

    def client(self, agent_id=None):
        """A test client, logged in as `agent_id` (one of self.users) when given; returns (client, csrf)."""
        client = self.app.test_client()
        if agent_id is None:
            return client, None
        email = dict(self.users)[agent_id]
        token = _csrf(client.get("/connexion"))
        r = client.post("/connexion", data={"email": email, "password": PASSWORD, "csrf_token": token})
        if r.status_code != 302:
            raise RuntimeError("bench login refused for %s (%d)" % (email, r.status_code))
        return client, _csrf(client.get("/compte"))


def _csrf(response):
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def build(path, scale, rng, now):
    """The national dataset, bulk-inserted. Returns (vehicles, agents, reservations)."""
    n_veh = max(20, int(VEHICLES * scale))
    n_agents = max(50, int(AGENTS * scale))
    n_res = max(200, int(RESERVATIONS * scale))
    n_dept = max(2, min(DEPARTMENTS, n_veh // (POOLS_PER_DEPARTMENT * 2)))
    db = connect(path)
    apply(db)
    db.conn.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    conn.execute("BEGIN")
    # trips at any hour of the run: the documented exception to the working-hours rule (CNIL), said so
    conn.executemany("INSERT INTO departments (id, code, name, tracking_reason) VALUES (?, ?, ?, ?)",
                     [(d, "D%03d" % d, "Département %d" % d, "Banc de mesure : trajets à toute heure")
                      for d in range(1, n_dept + 1)])
    n_pools = n_dept * POOLS_PER_DEPARTMENT
    conn.executemany("INSERT INTO pools (id, name, department_id, on_the_spot) VALUES (?, ?, ?, ?)",
                     [(p, "Pool %d" % p, (p - 1) // POOLS_PER_DEPARTMENT + 1, p % 2) for p in range(1, n_pools + 1)])
    conn.executemany("INSERT INTO habilitations (pool_id, department_id) VALUES (?, ?)",
                     [(p, (p - 1) // POOLS_PER_DEPARTMENT + 1) for p in range(1, n_pools + 1)])
    conn.executemany(
        "INSERT INTO vehicles (id, plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents) "
        "VALUES (?, ?, 'Renault Clio IV', ?, ?, 12, 30000)",
        [(v, "BN-%06d" % v, (v - 1) % n_pools + 1, ((v - 1) % n_pools) // POOLS_PER_DEPARTMENT + 1)
         for v in range(1, n_veh + 1)])
    conn.executemany("INSERT INTO agents (id, name, email, department_id, ical_token) VALUES (?, ?, ?, ?, ?)",
                     [(a, "Agent %d" % a, "agent%d@bench.gouv.fr" % a, (a - 1) % n_dept + 1, "t%d" % a)
                      for a in range(1, n_agents + 1)])
    conn.executemany("INSERT INTO badges (agent_id, uid_hex) VALUES (?, ?)",
                     [(a, "04%012x" % a) for a in range(1, n_agents + 1)])
    # Reservations: per vehicle, back to back along a year centred on now (no overlap), 1 to 8 hours each.
    per_vehicle = n_res // n_veh
    span = 365 * 86400
    step = span // per_vehicle
    agents_by_dept = {}
    for a in range(1, n_agents + 1):
        agents_by_dept.setdefault((a - 1) % n_dept + 1, []).append(a)
    rows = []
    for v in range(1, n_veh + 1):
        dept = ((v - 1) % n_pools) // POOLS_PER_DEPARTMENT + 1
        staff = agents_by_dept[dept]
        t = now - span // 2 - (now % 3600) + rng.randrange(0, 24) * 3600
        for _ in range(per_vehicle):
            start = t + rng.randrange(0, max(1, step - 8 * 3600)) // 900 * 900
            end = start + rng.randrange(1, 9) * 3600
            status = "cancelled" if rng.random() < 0.05 else "booked"
            rows.append((v, staff[rng.randrange(len(staff))], start, end, status, start - 86400))
            t += step
        if len(rows) >= 100_000:
            _insert_reservations(conn, rows)
            rows = []
    if rows:
        _insert_reservations(conn, rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return n_veh, n_agents, per_vehicle * n_veh


def _insert_reservations(conn, rows):
    with history_load(conn):  # a loaded history, not bookings being made: no mail event for them
        conn.executemany("INSERT INTO reservations (vehicle_id, agent_id, start, end, status, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", rows)


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, (len(values) * 95 + 99) // 100 - 1)]


def _slot(ctx):
    day = timeutil.local(ctx.now + ctx.rng.randrange(1, 30) * 86400)
    hour = ctx.rng.randrange(8, 17)
    return {"date": day.date().isoformat(), "start": "%02d:%02d" % (hour, ctx.rng.choice((0, 15, 30, 45))),
            "end": "%02d:00" % min(23, hour + ctx.rng.randrange(1, 4))}


def availability(ctx):
    """p95 of the availability search through the app."""
    timings, found, errors = [], 0, 0
    for i in range(ctx.samples):
        agent_id = ctx.users[i % len(ctx.users)][0]
        if i % len(ctx.users) == 0 or not hasattr(ctx, "_clients"):
            ctx._clients = {}
        client = ctx._clients.get(agent_id) or ctx.client(agent_id)[0]
        ctx._clients[agent_id] = client
        slot = _slot(ctx)
        t0 = time.perf_counter()
        r = client.get("/reserver", query_string=slot)
        timings.append((time.perf_counter() - t0) * 1000)
        errors += r.status_code != 200
        found += r.get_data(as_text=True).count('name="vehicle_id"')
    return [("availability_p95_ms", round(p95(timings), 2)), ("availability_mean_cars", found // ctx.samples),
            ("availability_errors", errors)]


def booking(ctx):
    """p95 of booking a free car through the app (the car is found first, outside the timing)."""
    timings, refused = [], 0
    clients = {}
    for i in range(ctx.samples):
        agent_id = ctx.users[i % len(ctx.users)][0]
        if agent_id not in clients:
            clients[agent_id] = ctx.client(agent_id)
        client, token = clients[agent_id]
        slot = _slot(ctx)
        page = client.get("/reserver", query_string=slot).get_data(as_text=True)
        cars = re.findall(r'name="vehicle_id" value="(\d+)"', page)
        if not cars:
            refused += 1
            continue
        data = dict(slot, vehicle_id=ctx.rng.choice(cars), csrf_token=token)
        t0 = time.perf_counter()
        r = client.post("/reserver", data=data)
        timings.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 302:
            refused += 1
    return [("booking_p95_ms", round(p95(timings), 2) if timings else -1), ("booking_refused", refused)]


PARTS = [availability, booking]


def sync_parts():
    """The sync endpoint's parts (ingest_ratio, syncs_per_s), when its module provides them."""
    try:
        from tools.bench import server_sync  # written with POST /api/v1/sync
    except ImportError:
        return []
    return list(getattr(server_sync, "PARTS", []))


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.bench server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the national counts (default 1)")
    parser.add_argument("--samples", type=int, default=200, help="requests per measured figure")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--keep", help="build the database in this directory and keep it")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1 or args.samples < 1:
        parser.error("--scale in (0, 1], --samples >= 1")
    rng = random.Random(args.seed)
    work = args.keep or tempfile.mkdtemp(prefix="bench-server-")
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "bench.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    now = int(time.time())
    try:
        t0 = time.perf_counter()
        n_veh, n_agents, n_res = build(path, args.scale, rng, now)
        print("dataset_vehicles: %d" % n_veh)
        print("dataset_agents: %d" % n_agents)
        print("dataset_reservations: %d" % n_res)
        print("dataset_build_s: %.1f" % (time.perf_counter() - t0), flush=True)
        app = create_app({"DATABASE": path, "SECRET_KEY": "bench", "SESSION_COOKIE_SECURE": False,
                          "MAINTENANCE_ON_REQUEST": False})
        ctx = Context(path, app, now, n_veh, n_agents, rng, args.samples)
        db = connect(path)
        from server.queries import agents as agents_q

        for a in rng.sample(range(1, n_agents + 1), 10):
            agents_q.set_password(db, a, PASSWORD)
            ctx.users.append((a, "agent%d@bench.gouv.fr" % a))
        db.conn.close()
        for part in PARTS + sync_parts():
            for name, value in part(ctx):
                print("%s: %s" % (name, value), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
