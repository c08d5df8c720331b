import io
import json
import os
import stat
import subprocess
import sys

import pytest

from app import config as box_config  # firmware/ is on the path (conftest.py)
from tools import provision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLEET = os.path.join(ROOT, "tools", "fleet_example.csv")
SETTINGS = {"server_host": "autopartage.test", "server_port": 8080, "server_path": "/api/v1/sync",
            "apn": "orange.m2m", "board": "auto"}
# The keys the Unix/ESP32 HAL reads (docs/architecture.md, "Box configuration").
CONTRACT_KEYS = {"box_id", "key", "vehicle", "server_host", "server_port", "server_path", "apn", "board", "reader",
                 "modem"}


class RecordingRegistrar:
    """Stands in for the server's box-register command and records every registration it is asked for."""

    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def register(self, box_id, plate, key_hex):
        self.calls.append((box_id, plate, key_hex))
        if plate in self.fail:
            return False, "Error: database is locked"
        return True, ""


def run(out_dir, registrar, cars=None, **kwargs):
    out = io.StringIO()
    status = provision.provision(cars or provision.read_fleet(FLEET), str(out_dir), SETTINGS, registrar, out=out,
                                 **kwargs)
    return status, out.getvalue()


def snapshot(out_dir):
    files = {}
    for dirpath, _dirs, names in os.walk(out_dir):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                files[path] = (f.read(), os.stat(path).st_mtime_ns)
    return files


def config(out_dir, plate):
    with open(provision.config_path(str(out_dir), plate)) as f:
        return json.load(f)


def test_example_fleet_has_44_cars_in_4_departments():
    cars = provision.read_fleet(FLEET)
    assert len(cars) == 44
    assert {c["department"] for c in cars} == {"DDT", "DDPP", "DDCS", "DSDEN"}


def test_each_car_gets_a_private_config_following_the_contract(tmp_path):
    registrar = RecordingRegistrar()
    status, _ = run(tmp_path, registrar)
    assert status == provision.EXIT_OK
    keys = set()
    for car in provision.read_fleet(FLEET):
        path = provision.config_path(str(tmp_path), car["plate"])
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        data = config(tmp_path, car["plate"])
        assert set(data) == CONTRACT_KEYS
        assert data["box_id"] == car["box_id"] and data["vehicle"] == car["plate"]
        assert data["reader"] == car["reader"] and data["modem"] == car["modem"]
        assert data["server_port"] == 8080 and data["apn"] == "orange.m2m"
        assert data["board"] == {"sim800": "tcall_sim800", "sim7000": "tcall_sim7000", "a7670": "lilygo_t_a7670e",
                                 "sim7080": "lilygo_t_sim7080g"}[car["modem"]]
        assert len(bytes.fromhex(data["key"])) == 16
        assert box_config.check(data) == (dict(box_config.check({})[0], **data), [])  # the box's own schema
        keys.add(data["key"])
    assert len(keys) == 44
    assert stat.S_IMODE(os.stat(tmp_path / "boxes").st_mode) == 0o700
    assert sorted(c[0] for c in registrar.calls) == list(range(1, 45))
    assert {c[2] for c in registrar.calls} == keys


def test_rerun_changes_nothing_and_registers_nothing(tmp_path):
    run(tmp_path, RecordingRegistrar())
    before = snapshot(tmp_path)
    again = RecordingRegistrar()
    status, output = run(tmp_path, again)
    assert status == provision.EXIT_OK
    assert snapshot(tmp_path) == before
    assert again.calls == []
    assert "inchangé 44" in output


def test_keys_are_not_printed_unless_asked_and_then_only_once(tmp_path):
    status, output = run(tmp_path, RecordingRegistrar())
    keys = [config(tmp_path, c["plate"])["key"] for c in provision.read_fleet(FLEET)]
    assert not any(k in output for k in keys)

    other = tmp_path / "second"
    _, first = run(other, RecordingRegistrar(), show_keys=True)
    keys = [config(other, c["plate"])["key"] for c in provision.read_fleet(FLEET)]
    assert all(first.count(k) == 1 for k in keys)
    _, rerun = run(other, RecordingRegistrar(), show_keys=True)
    assert not any(k in rerun for k in keys)


def test_rotate_key_changes_only_that_car_and_registers_the_new_key(tmp_path):
    run(tmp_path, RecordingRegistrar())
    cars = provision.read_fleet(FLEET)
    target = cars[3]["plate"]
    old = {c["plate"]: config(tmp_path, c["plate"]) for c in cars}
    registrar = RecordingRegistrar()
    status, output = run(tmp_path, registrar, rotate={target})
    assert status == provision.EXIT_OK
    new = {c["plate"]: config(tmp_path, c["plate"]) for c in cars}
    assert new[target]["key"] != old[target]["key"]
    assert {p for p in new if new[p] != old[p]} == {target}
    assert registrar.calls == [(cars[3]["box_id"], target, new[target]["key"])]
    assert new[target]["key"] not in output


def test_config_that_differs_from_the_csv_is_kept_without_force(tmp_path):
    cars = provision.read_fleet(FLEET)[:3]
    run(tmp_path, RecordingRegistrar(), cars=cars)
    before = snapshot(tmp_path)
    changed = [dict(c) for c in cars]
    changed[1]["reader"] = "rdm6300"
    status, output = run(tmp_path, RecordingRegistrar(), cars=changed)
    assert status == provision.EXIT_DRIFT
    assert "reader" in output
    assert snapshot(tmp_path) == before

    key = config(tmp_path, cars[1]["plate"])["key"]
    registrar = RecordingRegistrar()
    status, _ = run(tmp_path, registrar, cars=changed, force=True)
    assert status == provision.EXIT_OK
    updated = config(tmp_path, cars[1]["plate"])
    assert updated["reader"] == "rdm6300" and updated["key"] == key
    assert registrar.calls == []  # same key, already registered


def test_failed_registration_is_reported_and_retried_on_the_next_run(tmp_path):
    cars = provision.read_fleet(FLEET)[:4]
    status, output = run(tmp_path, RecordingRegistrar(fail={cars[2]["plate"]}), cars=cars)
    assert status == provision.EXIT_REGISTER_FAILED
    assert "ÉCHEC" in output and "database is locked" in output
    retry = RecordingRegistrar()
    status, _ = run(tmp_path, retry, cars=cars)
    assert status == provision.EXIT_OK
    assert retry.calls == [(cars[2]["box_id"], cars[2]["plate"], config(tmp_path, cars[2]["plate"])["key"])]


@pytest.mark.parametrize("line, message", [
    ("AB-123-CD,1,DDT,Clio,p,pn532,sim800\nAB-123-CD,2,DDT,Clio,p,pn532,sim800", "déjà"),
    ("AB-123-CD,1,DDT,Clio,p,pn532,sim800\nEF-456-GH,1,DDT,Clio,p,pn532,sim800", "déjà"),
    ("AB-12-CD,1,DDT,Clio,p,pn532,sim800", "plaque invalide"),
    ("AB-123-CD,x,DDT,Clio,p,pn532,sim800", "box_id invalide"),
    ("AB-123-CD,1,DDT,Clio,p,em4100,sim800", "lecteur"),
    ("AB-123-CD,1,,Clio,p,pn532,sim800", "direction"),
])
def test_bad_fleet_csv_is_refused_with_its_line_and_nothing_is_written(tmp_path, capsys, line, message):
    path = tmp_path / "fleet.csv"
    path.write_text("plate,box_id,department,model,pool,reader,modem\n" + line + "\n")
    out = tmp_path / "out"
    status = provision.main([str(path), "--out", str(out), "--server-host", "h", "--no-register"])
    assert status == provision.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and "ligne" in err
    assert not out.exists()


def test_server_cli_registrar_passes_the_contract_arguments_and_masks_the_key(tmp_path):
    log = tmp_path / "calls.txt"
    script = tmp_path / "register.py"
    script.write_text(
        "import sys\n"
        "key = sys.stdin.readline().strip()\n"
        "open(%r, 'a').write(' '.join(sys.argv[1:] + [key]) + '\\n')\n"
        "if sys.argv[2] == 'EF-456-GH':\n"
        "    sys.exit('refused: ' + key)\n" % str(log))
    registrar = provision.CommandRegistrar([sys.executable, str(script)])
    assert registrar.register(7, "AB-123-CD", "00" * 16) == (True, "")
    ok, output = registrar.register(8, "EF-456-GH", "ab" * 16)
    assert not ok and "ab" * 16 not in output and "<clé>" in output
    # the key arrives on standard input, never among the arguments
    assert log.read_text().splitlines() == ["7 AB-123-CD --key-file - " + "00" * 16,
                                            "8 EF-456-GH --key-file - " + "ab" * 16]


def test_cli_help_and_exit_codes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        provision.main(["--help"])
    assert exc.value.code == 0
    assert "--rotate-key" in capsys.readouterr().out
    status = provision.main([FLEET, "--out", str(tmp_path), "--server-host", "h", "--no-register",
                             "--rotate-key", "ZZ-999-ZZ"])
    assert status == provision.EXIT_BAD_INPUT


def test_registration_through_the_real_server_cli_is_idempotent(tmp_path, monkeypatch):
    pytest.importorskip("server.cli")
    import sqlite3

    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    env = dict(os.environ, AUTOPARTAGE_DATABASE=str(tmp_path / "server.sqlite"), AUTOPARTAGE_SECRET_KEY="test")
    # The same CSV feeds the server's fleet import and the provisioning.
    imported = subprocess.run([flask, "--app", "server", "import-fleet", FLEET], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    command = "%s --app server box-register" % flask
    args = [FLEET, "--out", str(tmp_path / "out"), "--server-host", "h", "--only", "DW-757-FM", "--only",
            "FW-384-KZ", "--register-command", command]
    for name in ("AUTOPARTAGE_DATABASE", "AUTOPARTAGE_SECRET_KEY"):
        monkeypatch.setenv(name, env[name])
    by_plate = "SELECT v.plate, b.%s FROM boxes b JOIN vehicles v ON v.id = b.vehicle_id"
    assert provision.main(args) == provision.EXIT_OK
    db = sqlite3.connect(str(tmp_path / "server.sqlite"))
    stored = dict(db.execute(by_plate % "key_hex"))
    assert stored == {p: config(tmp_path / "out", p)["key"] for p in ("DW-757-FM", "FW-384-KZ")}
    # A box that already synced keeps its replay counter: a re-run must not register it again.
    db.execute("UPDATE boxes SET last_counter = 42")
    db.commit()
    assert provision.main(args) == provision.EXIT_OK
    assert dict(db.execute(by_plate % "last_counter")) == {"DW-757-FM": 42, "FW-384-KZ": 42}
    assert provision.main(args + ["--rotate-key", "FW-384-KZ"]) == provision.EXIT_OK
    # a new key keeps the counter too (issue 13): the reflashed box learns it by RESYNC and continues above
    assert dict(db.execute(by_plate % "last_counter")) == {"DW-757-FM": 42, "FW-384-KZ": 42}
    assert dict(db.execute(by_plate % "key_hex"))["FW-384-KZ"] == config(tmp_path / "out", "FW-384-KZ")["key"]
    db.close()


def test_registration_through_the_server_data_layer_covers_the_whole_fleet(tmp_path):
    pytest.importorskip("server.importers")
    import sqlite3

    from server import importers
    from server.db import connect
    from server.migrations import apply

    db_path = str(tmp_path / "server.sqlite")
    db = connect(db_path)
    apply(db)
    with open(FLEET, encoding="utf-8") as f:
        imported, errors = importers.import_fleet(db, f.read())
    assert (imported, errors) == (44, [])
    # One car the server does not know: its registration fails, the others go through.
    db.execute("DELETE FROM vehicle_terms WHERE vehicle_id IN (SELECT id FROM vehicles WHERE plate = 'DQ-397-LL')")
    db.execute("DELETE FROM vehicles WHERE plate = 'DQ-397-LL'")
    db.conn.close()
    out = tmp_path / "out"
    base = [FLEET, "--out", str(out), "--server-host", "h", "--server-db", db_path]
    assert provision.main(base) == provision.EXIT_REGISTER_FAILED
    check = sqlite3.connect(db_path)
    stored = dict(check.execute("SELECT v.plate, b.key_hex FROM boxes b JOIN vehicles v ON v.id = b.vehicle_id"))
    assert len(stored) == 43
    assert all(stored[p] == config(out, p)["key"] for p in stored)
    # every registration is in the server's audit log, never with its key
    logged = check.execute("SELECT action, after FROM audit_log WHERE target LIKE 'box:%'").fetchall()
    assert len(logged) == 43 and {a for a, _ in logged} == {"box.register"}
    assert not any(config(out, p)["key"] in after for p in stored for _, after in logged)
    check.close()
    assert provision.main(base + ["--no-register"]) == provision.EXIT_OK
    assert provision.main([FLEET, "--out", str(out), "--server-host", "h", "--server-db",
                           str(tmp_path / "missing.sqlite")]) == provision.EXIT_BAD_INPUT
