"""Provisionnement des boîtiers : une clé et une configuration par véhicule, enregistrées sur le serveur.

Lit la liste de flotte (CSV : plate,box_id,department,model,pool,reader,modem ; voir tools/fleet_example.csv)
et, pour chaque véhicule, crée OUT/boxes/<plaque>/config.json (fichier 0600, dossier 0700) avec une clé de
16 octets tirée de os.urandom, puis enregistre le boîtier sur le serveur : par sa couche de données avec
--server-db FICHIER (recommandé), sinon par `flask --app server box-register BOX_ID PLAQUE --key-file -`
(la clé passe par l'entrée standard, jamais par la ligne de commande).

Relancer l'outil ne change rien : une configuration existante garde sa clé ; un boîtier déjà enregistré
avec cette clé n'est pas ré-enregistré. --force réécrit les configurations qui diffèrent du CSV (en gardant
la clé) ; --rotate-key PLAQUE tire une nouvelle clé pour ce véhicule (il faut alors re-flasher le boîtier).
Les clés ne sont jamais écrites dans la sortie, sauf avec --show-keys, et alors une seule fois, à leur création.

Codes de sortie : 0 tout est à jour ; 1 au moins un enregistrement serveur a échoué (relancer) ;
2 CSV ou arguments invalides (rien n'a été écrit) ; 3 une configuration diffère du CSV et --force manque.
"""

import argparse
import csv
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

EXIT_OK = 0
EXIT_REGISTER_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DRIFT = 3

READERS = ("pn532", "rdm6300")
MODEMS = ("sim800", "sim7000", "a7670", "sim7080")
# Board profiles of firmware/hal/esp32.py ("auto": the LilyGO board that carries the car's modem).
BOARDS = ("auto", "tcall_sim800", "tcall_sim7000", "lilygo_t_a7670e", "lilygo_t_sim7080g", "unix")
AUTO_BOARD = {"sim800": "tcall_sim800", "sim7000": "tcall_sim7000", "a7670": "lilygo_t_a7670e",
              "sim7080": "lilygo_t_sim7080g"}
COLUMNS = ("plate", "box_id", "department", "model", "pool", "reader", "modem")
# French SIV plates (since 2009): two letters, three digits, two letters; I, O and U are never used.
PLATE_RE = re.compile(r"^[A-HJ-NP-TV-Z]{2}-[0-9]{3}-[A-HJ-NP-TV-Z]{2}$")
KEY_BYTES = 16
REGISTERED_FILE = "registered.json"


class FleetError(ValueError):
    """The fleet CSV cannot be used; `line` is the 1-based line of the file (0 when not tied to a line)."""

    def __init__(self, line, message):
        ValueError.__init__(self, "ligne %d : %s" % (line, message) if line else message)
        self.line = line


def read_fleet(path):
    """Parse and validate the fleet CSV; return a list of dicts (box_id as int). Raises FleetError."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise FleetError(0, "impossible de lire %s : %s" % (path, exc.strerror)) from None
    except UnicodeDecodeError:
        raise FleetError(0, "%s n'est pas en UTF-8" % path) from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FleetError(1, "colonnes manquantes : %s" % ", ".join(missing))
    cars = []
    plates = {}
    ids = {}
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in row.values()):
            continue
        car = {c: (row.get(c) or "").strip() for c in COLUMNS}
        car["plate"] = car["plate"].upper()
        if not PLATE_RE.match(car["plate"]):
            raise FleetError(line, "plaque invalide %r (format AB-123-CD)" % car["plate"])
        try:
            car["box_id"] = int(car["box_id"])
        except ValueError:
            raise FleetError(line, "box_id invalide %r" % car["box_id"]) from None
        if not 1 <= car["box_id"] <= 65535:
            raise FleetError(line, "box_id %d hors de 1..65535" % car["box_id"])
        if not car["department"]:
            raise FleetError(line, "direction (department) vide")
        if car["reader"] not in READERS:
            raise FleetError(line, "lecteur %r inconnu (%s)" % (car["reader"], "|".join(READERS)))
        if car["modem"] not in MODEMS:
            raise FleetError(line, "modem %r inconnu (%s)" % (car["modem"], "|".join(MODEMS)))
        if car["plate"] in plates:
            raise FleetError(line, "plaque %s déjà à la ligne %d" % (car["plate"], plates[car["plate"]]))
        if car["box_id"] in ids:
            raise FleetError(line, "box_id %d déjà à la ligne %d" % (car["box_id"], ids[car["box_id"]]))
        plates[car["plate"]] = line
        ids[car["box_id"]] = line
        cars.append(car)
    if not cars:
        raise FleetError(0, "%s ne contient aucun véhicule" % path)
    return cars


def box_dir(out_dir, plate):
    return os.path.join(out_dir, "boxes", plate)


def config_path(out_dir, plate):
    return os.path.join(box_dir(out_dir, plate), "config.json")


def desired_config(car, settings):
    """The config.json content for a car (without the key), following docs/architecture.md."""
    return {
        "box_id": car["box_id"],
        "vehicle": car["plate"],
        "server_host": settings["server_host"],
        "server_port": settings["server_port"],
        "server_path": settings["server_path"],
        "apn": settings["apn"],
        "board": AUTO_BOARD[car["modem"]] if settings["board"] == "auto" else settings["board"],
        "reader": car["reader"],
        "modem": car["modem"],
    }


def key_fingerprint(key_hex):
    """A short, non-reversible tag of a key, safe to print and to keep next to the registration."""
    return hashlib.sha256(bytes.fromhex(key_hex)).hexdigest()[:12]


def make_private_dir(path, chmod_existing=True):
    """Create `path` 0700; an existing directory is tightened to 0700 only when it is one of ours."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    elif chmod_existing:
        os.chmod(path, 0o700)


def write_private_json(path, data):
    """Write JSON atomically with mode 0600 from the first byte (never readable by others, even briefly)."""
    tmp = path + ".tmp"
    try:
        os.remove(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


class CommandRegistrar:
    """Registers a box through the server's CLI: CMD BOX_ID PLATE --key-file - with the key on the child's
    standard input (exit status 0 = done).

    The key never travels on a command line (where `ps` shows it); it is never echoed: the child's output is
    shown only on failure, with the key masked.
    """

    def __init__(self, command):
        self.command = list(command)

    def register(self, box_id, plate, key_hex):
        argv = self.command + [str(box_id), plate, "--key-file", "-"]
        try:
            result = subprocess.run(argv, input=key_hex + "\n", capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, str(exc)
        output = (result.stdout + result.stderr).replace(key_hex, "<clé>").strip()
        return result.returncode == 0, output


class DatabaseRegistrar:
    """Registers a box through the server's own data layer on its SQLite file (same rules as box-register:
    the vehicle must have been imported). The key never appears on a command line."""

    def __init__(self, db_path):
        from server.db import connect
        from server.migrations import apply

        self.db = connect(db_path)
        apply(self.db)

    def register(self, box_id, plate, key_hex):
        from server.db import write
        from server.queries import audit, boxes, org

        vehicle = org.vehicle_by_plate(self.db, plate)
        if vehicle is None:
            return False, "véhicule %s inconnu du serveur : importez d'abord la flotte (import-fleet)" % plate
        try:
            with write(self.db):
                previous = boxes.get(self.db, box_id)
                boxes.register(self.db, box_id, vehicle["id"], key_hex)
                audit.record(self.db, "box.key" if previous else "box.register", target="box:%d" % box_id,
                             before={"vehicle": previous["vehicle_id"]} if previous else None,
                             after={"vehicle": vehicle["id"], "via": "tools/provision.py"})
        except ValueError as exc:
            return False, "boîtier refusé par le serveur (%s)" % exc
        except Exception as exc:  # sqlite3.OperationalError (locked, read-only...): report, retry next run
            return False, "base du serveur : %s" % exc
        return True, ""

    def close(self):
        self.db.conn.close()


def default_register_command():
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    return [flask if os.path.exists(flask) else "flask", "--app", "server", "box-register"]


def provision(cars, out_dir, settings, registrar, force=False, rotate=(), show_keys=False, out=sys.stdout):
    """Provision every car; return an exit code. Progress lines go to `out`; keys only with show_keys."""
    make_private_dir(out_dir, chmod_existing=False)  # the user's directory: created private, never re-moded
    make_private_dir(os.path.join(out_dir, "boxes"))
    counts = {"créé": 0, "inchangé": 0, "mis à jour": 0, "nouvelle clé": 0, "différent": 0, "enregistré": 0,
              "échec serveur": 0}
    status = EXIT_OK
    total = len(cars)
    for index, car in enumerate(cars, 1):
        plate = car["plate"]
        directory = box_dir(out_dir, plate)
        make_private_dir(directory)
        path = config_path(out_dir, plate)
        existing = load_json(path)
        wanted = desired_config(car, settings)
        new_key = None
        if existing is None or not _valid_key(existing.get("key")):
            new_key = os.urandom(KEY_BYTES).hex()
            action = "créé"
        elif plate in rotate:
            new_key = os.urandom(KEY_BYTES).hex()
            action = "nouvelle clé"
        else:
            current = {k: v for k, v in existing.items() if k != "key"}
            if current == wanted:
                action = "inchangé"
            elif force:
                action = "mis à jour"
            else:
                changed = sorted(k for k in set(current) | set(wanted) if current.get(k) != wanted.get(k))
                action = "différent"
                status = max(status, EXIT_DRIFT)
                _line(out, index, total, plate, "différent du CSV (%s) : inchangé, --force pour réécrire"
                      % ", ".join(changed))
                counts[action] += 1
                continue
        key_hex = new_key or existing["key"]
        if action != "inchangé":
            config = dict(wanted)
            config["key"] = key_hex
            write_private_json(path, config)
        counts[action] += 1
        note = action
        if new_key is not None and show_keys:
            # Shown exactly once, when the key is created; never stored anywhere but config.json and the server.
            note += "  clé %s" % key_hex
        registered = load_json(os.path.join(directory, REGISTERED_FILE)) or {}
        fingerprint = key_fingerprint(key_hex)
        if registrar is None:
            note += ", enregistrement serveur non demandé"
        elif registered.get("fingerprint") == fingerprint and registered.get("box_id") == car["box_id"]:
            note += ", déjà enregistré"
        else:
            ok, output = registrar.register(car["box_id"], plate, key_hex)
            if ok:
                write_private_json(os.path.join(directory, REGISTERED_FILE),
                                   {"box_id": car["box_id"], "fingerprint": fingerprint})
                counts["enregistré"] += 1
                note += ", enregistré sur le serveur"
            else:
                counts["échec serveur"] += 1
                status = max(status, EXIT_REGISTER_FAILED)
                note += ", ÉCHEC de l'enregistrement serveur : %s" % (output.splitlines() or ["?"])[-1]
        _line(out, index, total, plate, "box %d, empreinte %s : %s" % (car["box_id"], fingerprint, note))
    summary = ", ".join("%s %d" % (k, v) for k, v in counts.items() if v)
    out.write("Bilan : %d véhicules ; %s\n" % (total, summary))
    return status


def _valid_key(value):
    return isinstance(value, str) and len(value) == 2 * KEY_BYTES and all(c in "0123456789abcdef" for c in value)


def _line(out, index, total, plate, text):
    out.write("[%2d/%d] %-9s %s\n" % (index, total, plate, text))
    out.flush()


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tools.provision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fleet_csv", help="liste de flotte (CSV UTF-8, voir tools/fleet_example.csv)")
    parser.add_argument("--out", required=True,
                        help="dossier de sortie (créé en 0700) ; les configurations vont dans OUT/boxes/<plaque>/")
    parser.add_argument("--server-host", required=True, help="nom ou adresse du serveur joint par les boîtiers")
    parser.add_argument("--server-port", type=int, default=80, help="port HTTP du serveur (défaut 80)")
    parser.add_argument("--server-path", default="/api/v1/sync", help="chemin de synchronisation")
    parser.add_argument("--apn", default="internet", help="APN de la carte SIM (défaut : internet)")
    parser.add_argument("--board", choices=BOARDS, default="auto",
                        help="profil de carte (auto : la carte LilyGO du modem de la colonne modem, tcall_sim800, "
                             "tcall_sim7000, lilygo_t_a7670e ou lilygo_t_sim7080g ; "
                             "unix : banc d'essai)")
    parser.add_argument("--only", action="append", default=[], metavar="PLAQUE",
                        help="ne traiter que ce véhicule (répétable)")
    parser.add_argument("--force", action="store_true",
                        help="réécrire les configurations qui diffèrent du CSV (la clé est conservée)")
    parser.add_argument("--rotate-key", action="append", default=[], metavar="PLAQUE",
                        help="tirer une nouvelle clé pour ce véhicule (répétable) ; re-flasher ensuite le boîtier")
    parser.add_argument("--show-keys", action="store_true",
                        help="afficher les clés nouvellement créées (une seule fois ; jamais les clés existantes)")
    parser.add_argument("--no-register", action="store_true", help="ne pas enregistrer les boîtiers sur le serveur")
    parser.add_argument("--server-db", default=None,
                        help="enregistrer par la couche de données du serveur dans ce fichier SQLite "
                             "(recommandé sur la machine du serveur : la clé ne passe sur aucune ligne de commande)")
    parser.add_argument("--register-command", default=None,
                        help="commande d'enregistrement, suivie de BOX_ID PLAQUE --key-file - (clé sur l'entrée "
                             "standard) "
                             "(défaut : flask --app server box-register)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cars = read_fleet(args.fleet_csv)
    except FleetError as exc:
        print("CSV invalide : %s" % exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    plates = {c["plate"] for c in cars}
    wanted = {p.upper() for p in args.only + args.rotate_key}
    unknown = sorted(wanted - plates)
    if unknown:
        print("plaque(s) absente(s) du CSV : %s" % ", ".join(unknown), file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.only:
        only = {p.upper() for p in args.only}
        cars = [c for c in cars if c["plate"] in only]
    if not 1 <= args.server_port <= 65535:
        print("port serveur invalide : %d" % args.server_port, file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = {"server_host": args.server_host, "server_port": args.server_port,
                "server_path": args.server_path, "apn": args.apn, "board": args.board}
    registrar = None
    if args.no_register:
        pass
    elif args.server_db:
        if not os.path.exists(args.server_db):
            print("base du serveur introuvable : %s" % args.server_db, file=sys.stderr)
            return EXIT_BAD_INPUT
        registrar = DatabaseRegistrar(args.server_db)
    else:
        command = shlex.split(args.register_command) if args.register_command else default_register_command()
        registrar = CommandRegistrar(command)
    try:
        return provision(cars, args.out, settings, registrar, force=args.force,
                         rotate={p.upper() for p in args.rotate_key}, show_keys=args.show_keys)
    finally:
        if isinstance(registrar, DatabaseRegistrar):
            registrar.close()


if __name__ == "__main__":
    sys.exit(main())
