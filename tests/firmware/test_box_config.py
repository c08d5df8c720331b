# The box's config.json: one schema (app/config.py), checked once at boot; a bad field is named and
# replaced by its default, the box still boots.
from app import config

GOOD = {"box_id": 7, "key": "00112233445566778899aabbccddeeff", "vehicle": "AB-123-CD",
        "server_host": "autopartage.test", "server_port": 8080, "server_path": "/api/v1/sync", "apn": "orange.m2m",
        "board": "tcall_sim800", "reader": "rdm6300", "modem": "sim7000"}


def test_a_provisioned_config_passes_as_it_is_and_missing_fields_take_their_defaults():
    checked, problems = config.check(GOOD)
    assert problems == []
    for name in GOOD:
        assert checked[name] == GOOD[name]
    assert checked["watchdog_ms"] == 30000 and checked["clock_factor"] == 1 and checked["data_dir"] == "data"
    empty, problems = config.check({})
    assert problems == [] and empty["server_port"] == 80 and empty["server_path"] == "/api/v1/sync"
    assert empty["reader"] == "pn532" and empty["key"] == "" and empty["box_id"] == 0
    assert empty["modem"] == "auto"  # no family named: the driver asks the modem (AT+CGMM), never assumes 2G


def test_each_bad_field_is_named_and_falls_back_to_its_default():
    bad = dict(GOOD, server_port="8080", reader="nfc", key="not a key", box_id=-1, watchdog_ms=True,
               uarts={"gps": 5})
    checked, problems = config.check(bad)
    named = sorted([p.split(":")[0] for p in problems])
    assert named == ["box_id", "key", "reader", "server_port", "uarts", "watchdog_ms"]
    assert "server_port: an integer expected" in problems
    assert "reader: one of pn532, rdm6300 expected" in problems
    assert "box_id: -1 outside 0..4294967295" in problems
    assert checked["server_port"] == 80 and checked["reader"] == "pn532" and checked["key"] == ""
    assert checked["box_id"] == 0 and checked["watchdog_ms"] == 30000 and checked["uarts"] is None
    assert checked["apn"] == "orange.m2m"  # the good fields are kept


def test_unknown_fields_are_kept_and_reported_and_a_non_object_is_refused():
    checked, problems = config.check(dict(GOOD, sever_host="typo.test"))
    assert checked["sever_host"] == "typo.test" and problems == ["sever_host: unknown field, kept unchecked"]
    checked, problems = config.check([1, 2])
    assert problems == ["config.json: a JSON object expected"] and checked["server_port"] == 80


def test_checked_writes_each_problem_to_the_log():
    lines = []
    checked = config.checked(dict(GOOD, key="xyz"), lines.append)
    assert lines == ["config: key: 3 characters, 32..32 expected"] and checked["key"] == ""
