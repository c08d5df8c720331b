"""Allow-lists computed per box: reservations of the coming 48 h, permanent roles, on-the-spot agents."""

from conftest import future

from protocol import codes, keys
from server.queries import agents as agents_q
from server.queries import allowlist, badge_events, boxes, org, reservations, trips
from server.queries.common import Rules

KEY = bytes(range(16))


def test_entries_cover_reservations_roles_and_on_the_spot_agents(db, fleet):
    boxes.register(db, 3, fleet.car, KEY.hex())
    agents_q.set_permanent_access(db, fleet.manager, pool_ids=[fleet.pool])
    agents_q.add_badge(db, fleet.manager, "0411223344")
    now = future(1)
    res = reservations.create(db, fleet.agent2, fleet.car, now + 3600, now + 7200, now, Rules())
    reservations.create(db, fleet.agent, fleet.car, now + 72 * 3600, now + 73 * 3600, now, Rules())  # beyond 48 h
    entries = allowlist.entries_for_box(db, 3, now)
    by_kind = {}
    for e in entries:
        by_kind.setdefault(e["kind"], []).append(e)
    assert [(e["reservation"], e["start"], e["badge"]) for e in by_kind[codes.KIND_RESERVATION]] == [
        (res, now + 3600, keys.badge_hash(KEY, bytes.fromhex("04a1b2c3d4e5f7")))]
    assert [e["badge"] for e in by_kind[codes.KIND_ROLE]] == [keys.badge_hash(KEY, bytes.fromhex("0411223344"))]
    # pool allows on-the-spot: both habilitated departments' agents with badges
    assert sorted(e["agent_id"] for e in by_kind[codes.KIND_SPOT]) == sorted([fleet.agent, fleet.agent2])
    assert len({e["id"] for e in entries}) == len(entries)
    assert allowlist.entries_for_box(db, 3, now) == entries  # stable ids
    org.set_pool_on_the_spot(db, fleet.pool, False)
    assert codes.KIND_SPOT not in {e["kind"] for e in allowlist.entries_for_box(db, 3, now)}
    assert allowlist.entries_for_box(db, 99, now) == []


def test_changes_are_full_first_then_diffs_then_none(db, fleet):
    boxes.register(db, 3, fleet.car, KEY.hex())
    now = future(1)
    first = allowlist.changes_for_box(db, 3, now)
    assert first["full"] and first["version"] == 1 and len(first["add"]) == 2
    assert set(first["add"][0]) == {"id", "badge", "kind", "start", "end", "reservation"}
    assert allowlist.changes_for_box(db, 3, now) is None
    res = reservations.create(db, fleet.agent, fleet.car, now + 3600, now + 7200, now, Rules())
    second = allowlist.changes_for_box(db, 3, now)
    assert not second["full"] and second["version"] == 2
    assert [e["reservation"] for e in second["add"]] == [res] and second["remove"] == []
    reservations.cancel(db, res, fleet.agent, now)
    third = allowlist.changes_for_box(db, 3, now)
    assert third["add"] == [] and third["remove"] == [second["add"][0]["id"]]


def test_badge_hashes_resolve_to_agents_for_events_and_trips(db, fleet):
    boxes.register(db, 3, fleet.car, KEY.hex())
    h = keys.badge_hash(KEY, bytes.fromhex("04a1b2c3d4e5f6"))
    assert allowlist.agent_for_hash(db, 3, h) == fleet.agent  # by hashing, before any list was sent
    allowlist.changes_for_box(db, 3, future(1))
    assert allowlist.agent_for_hash(db, 3, h.hex()) == fleet.agent
    assert allowlist.agent_for_hash(db, 3, b"\0" * 8) is None
    ev = badge_events.add(db, 3, 1000, h, True, codes.REASON_SPOT)
    assert db.execute("SELECT agent_id, vehicle_id FROM badge_events WHERE id = ?", (ev,)).fetchone()[:] == (
        fleet.agent, fleet.car)
    t0 = future(1)
    trip = trips.record_start(db, 3, 5, t0, h, 0, 0)
    row = trips.get(db, trip)
    assert row["agent_id"] == fleet.agent and row["unplanned"] == 1 and row["department_id"] == fleet.ddt
    res = reservations.get(db, row["reservation_id"])
    assert res["unplanned"] == 1 and res["agent_id"] == fleet.agent
    trips.record_end(db, 3, 5, t0 + 1800, 0, 12000, codes.END_BADGE)
    assert reservations.get(db, row["reservation_id"])["end"] == t0 + 1800


def test_a_stranger_badge_is_not_attributed(db, fleet):
    boxes.register(db, 4, fleet.car2, KEY.hex())  # DDPP pool: DDT agents are not habilitated
    assert allowlist.agent_for_hash(db, 4, keys.badge_hash(KEY, bytes.fromhex("04a1b2c3d4e5f6"))) is None
    assert allowlist.agent_for_hash(db, 4, keys.badge_hash(KEY, bytes.fromhex("04a1b2c3d4e5f7"))) == fleet.agent2


def test_permanent_access_agents_are_read_through_their_partial_index_not_a_scan(db):
    """Every sync that recomputes an allow-list runs this query; at national scale a scan of the agents
    cost ~6 ms a sync."""
    plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + allowlist.ROLE_BADGES_SQL,
                                               (codes.KIND_ROLE, 1, 1)))
    assert "USING INDEX agents_permanent" in plan or "USING COVERING INDEX agents_permanent" in plan, plan


def test_on_the_spot_badges_are_read_from_indexes_only(db):
    """An on-the-spot list holds ~1000 badges at national scale: reading each agent's and badge's row cost
    4 ms a diff, the covering indexes of migration 0006 1 ms."""
    plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + allowlist.SPOT_BADGES_SQL,
                                               (codes.KIND_SPOT, 1)))
    assert "COVERING INDEX agents_department_active" in plan, plan
    assert "COVERING INDEX badges_agent_active" in plan, plan
