"""Demo fleet of the 2016 pilot (site Paixhans, Le Mans): four departments, 44 cars in pools, ~200 agents
with badges, habilitations, a few weeks of trips and bookings. Deterministic for a given seed."""

import random
import time

from server.db import write
from server.migrations import history_load
from server.queries import agents as agents_q
from server.queries import equipment, org

DEPARTMENTS = [
    ("DDT", "Direction départementale des territoires", 22, 90),
    ("DDPP", "Direction départementale de la protection des populations", 10, 45),
    ("DDCS", "Direction départementale de la cohésion sociale", 8, 40),
    ("DSDEN", "Direction des services départementaux de l'éducation nationale", 4, 25),
]
MODELS = [("Renault Clio IV", 12, 21000), ("Toyota Yaris hybride", 11, 23000), ("Peugeot 208", 12, 20000),
          ("Renault Zoé", 4, 26000), ("Citroën Berlingo", 15, 24000), ("Dacia Sandero", 11, 16000)]
FIRST = ["Camille", "Dominique", "Claude", "Sophie", "Nicolas", "Isabelle", "Philippe", "Nathalie", "Pierre",
         "Sandrine", "Laurent", "Valérie", "Julien", "Céline", "Thomas", "Aurélie", "Éric", "Hélène", "Marc", "Anne"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier"]


def _plate(rng, used):
    letters = "ABCDEFGHJKLMNPQRSTVWXYZ"
    while True:
        p = "%s%s-%03d-%s%s" % (rng.choice(letters), rng.choice(letters), rng.randint(1, 999), rng.choice(letters),
                                rng.choice(letters))
        if p not in used:
            used.add(p)
            return p


def populate(db, password="demo-autopartage", seed=2016, now=None):
    """Fill the database; returns the lines to print (logins). Idempotent on departments/vehicles/agents."""
    rng = random.Random(seed)
    now = now or int(time.time())
    out = []
    used = set()
    with write(db):
        dept_ids = {}
        for code, name, _cars, _people in DEPARTMENTS:
            dept_ids[code] = org.ensure_department(db, code, name)
        shared = org.ensure_pool(db, "Pool mutualisé Paixhans", dept_ids["DDT"], on_the_spot=True)
        for code, _name, cars, _people in DEPARTMENTS:
            own = org.ensure_pool(db, "Pool %s" % code, dept_ids[code], on_the_spot=False)
            org.add_habilitation(db, own, department_id=dept_ids[code])
            org.add_habilitation(db, shared, department_id=dept_ids[code])
            for i in range(cars):
                model, rate, price = MODELS[rng.randrange(len(MODELS))]
                pool = shared if i % 2 == 0 and code != "DSDEN" else own
                org.upsert_vehicle(db, _plate(rng, used), model, pool, dept_ids[code], rate, price * 100 // 60)
        badge_n = 0
        people = []
        for code, _name, _cars, count in DEPARTMENTS:
            for i in range(count):
                name = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
                email = "agent%03d.%s@demo.gouv.fr" % (i + 1, code.lower())
                agent_id = agents_q.upsert(db, name, email, dept_ids[code])
                agents_q.set_password(db, agent_id, password) if i < 3 else None
                badge_n += 1
                agents_q.add_badge(db, agent_id, "04%012x" % (0xA0000000 + badge_n))
                people.append((agent_id, code))
        admin_id = agents_q.upsert(db, "Administrateur Flotte", "admin@demo.gouv.fr", dept_ids["DDT"])
        agents_q.update(db, admin_id, role="admin")
        agents_q.set_permanent_access(db, admin_id, department_ids=list(dept_ids.values()))
        agents_q.set_password(db, admin_id, password)
        out.append("Administrateur : admin@demo.gouv.fr / %s" % password)
        for code in dept_ids:
            email = "gestionnaire.%s@demo.gouv.fr" % code.lower()
            mid = agents_q.upsert(db, "Gestionnaire %s" % code, email, dept_ids[code])
            agents_q.update(db, mid, role="manager")
            agents_q.set_password(db, mid, password)
            out.append("Gestionnaire %s : %s / %s" % (code, email, password))
        for code in dept_ids:
            out.append("Agent %s : agent001.%s@demo.gouv.fr / %s" % (code, code.lower(), password))
        for name, kind in (("PC portable 1", "laptop"), ("PC portable 2", "laptop"), ("Vidéoprojecteur A", "projector"),
                           ("Appareil photo", "camera")):
            if not db.execute("""
SELECT 1
FROM equipment
WHERE name = ?""", (name,)).fetchone():
                equipment.create(db, name, kind, dept_ids["DDT"])
    if not db.execute("""
SELECT 1
FROM trips
LIMIT 1""").fetchone():
        history(db, rng, now)
    vehicle_count = db.execute("""
SELECT count(*)
FROM vehicles""").fetchone()[0]
    agent_count = db.execute("""
SELECT count(*)
FROM agents""").fetchone()[0]
    out.insert(0, "Démo : %d directions, %d véhicules, %d agents." % (len(dept_ids), vehicle_count, agent_count))
    return out


def history(db, rng, now, days=35):
    """Five weeks of past trips (boxes 1..44, one per car): reports and the evaluation have data to show."""
    cars = [dict(r) for r in db.execute("""
SELECT id, pool_id, department_id
FROM vehicles
ORDER BY id""").fetchall()]
    drivers = {}
    for car in cars:
        drivers[car["id"]] = [r[0] for r in db.execute("""
SELECT DISTINCT a.id
FROM agents a
JOIN habilitations h
  ON h.pool_id = ?
 AND (h.department_id = a.department_id OR h.agent_id = a.id)
WHERE a.role = 'agent'""", (car["pool_id"],)).fetchall()]
    dept_of = dict(db.execute("""
SELECT id, department_id
FROM agents""").fetchall())
    with write(db), history_load(db.conn):  # past weeks: no booking mail for them
        for n, car in enumerate(cars):
            if not db.execute("""
SELECT 1
FROM boxes
WHERE vehicle_id = ?""", (car["id"],)).fetchone():
                box_id = n + 1
                if not db.execute("""
SELECT 1
FROM boxes
WHERE id = ?""", (box_id,)).fetchone():
                    db.execute("""
INSERT INTO boxes (id, vehicle_id, key_hex, firmware, last_seen, csq, supply_mv, backlog, gps)
VALUES (?, ?, ?, '0.1.0', ?, ?, ?, 0, 1)""",
                               (box_id, car["id"], "%032x" % rng.getrandbits(128), now - rng.randint(60, 7200),
                                rng.randint(8, 28), rng.randint(12100, 12900)))
            car["box"] = db.execute("""
SELECT id
FROM boxes
WHERE vehicle_id = ?""", (car["id"],)).fetchone()
        midnight = now - now % 86400
        trip_no = {}
        for d in range(days, 0, -1):
            day = midnight - d * 86400
            if time.gmtime(day).tm_wday >= 5:
                continue
            for car in cars:
                if car["box"] is None or not drivers[car["id"]] or rng.random() > 0.55:
                    continue
                t = day + 7 * 3600 + rng.randint(0, 4) * 1800
                for _ in range(rng.randint(1, 2)):
                    agent = rng.choice(drivers[car["id"]])
                    length = rng.choice((1, 2, 2, 3, 4, 6)) * 1800
                    km = rng.randint(4, 25) * length // 1800
                    unplanned = rng.random() < 0.15
                    rid = db.execute("""
INSERT INTO reservations (vehicle_id, agent_id, start, end, unplanned, started_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)""",
                                     (car["id"], agent, t, t + length, 1 if unplanned else 0, t + 300,
                                      t - 86400)).lastrowid
                    box_id = car["box"][0]
                    trip_no[box_id] = trip_no.get(box_id, 0) + 1
                    db.execute("""
INSERT INTO trips (box_id, box_trip, vehicle_id, agent_id, department_id, reservation_id, unplanned, start, end,
                   distance_m, end_reason, positions_purged)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0)""",
                               (box_id, trip_no[box_id], car["id"], agent, dept_of[agent], rid, 1 if unplanned else 0,
                                t + 300, t + length - 300, km * 1000 + rng.randint(0, 999)))
                    t += length + rng.randint(1, 4) * 1800
            for _ in range(rng.randint(5, 20)):
                s = day + 8 * 3600 + rng.randint(0, 16) * 1800
                db.execute("""
INSERT INTO searches (agent_id, t, start, end, found)
VALUES (?, ?, ?, ?, ?)""",
                           (rng.choice(list(dept_of)), s - 86400, s, s + 3600,
                            0 if rng.random() < 0.06 else rng.randint(1, 20)))
