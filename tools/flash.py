"""Flashage d'un boîtier (ou de plusieurs à la suite) sur un port série.

Étapes par boîtier :
  1. contrôle de l'image MicroPython ESP32 fournie : taille, SHA-256 attendu (--image-sha256), en-tête lu
     par `esptool image-info` (hors ligne) ;
  2. esptool erase-flash ;  3. esptool write-flash 0x1000 IMAGE ;
  4. attente du REPL MicroPython (mpremote) ;
  5. mpremote copie build/firmware (hal, drivers, app, protocol, main.py) et le config.json du boîtier ;
  6. version lue dans les fichiers copiés (app.version.VERSION), comparée à firmware/app/version.py ;
  7. redémarrage (--reset hard : RTS sur EN ; soft : Ctrl-D au REPL ; none : aucun, banc port Unix) et
     lecture de la ligne « BOOT <version> » que le firmware écrit au démarrage ; le firmware reste en marche.
--frozen : l'image contient déjà le firmware, gelé dedans (construite avec firmware/manifest.py, voir
docs/firmware.md « Image ESP32 avec le firmware gelé ») ; l'étape 5 ne copie alors que config.json, et la
version relue à l'étape 6 est celle des modules gelés.
--dry-run fait les contrôles locaux et affiche les commandes exactes sans toucher à la carte.
--skip-esptool ne fait que les étapes 4 à 7 (carte qui a déjà MicroPython sans le firmware, ou banc avec
le port Unix de MicroPython derrière un pty) : un boîtier dont le firmware tourne n'a plus de REPL sur
l'USB (le lecteur de badge prend l'UART0), il se reflashe entièrement.

Plusieurs boîtiers : --fleet CSV --configs OUT [--plate P ...] flashe à la suite les véhicules du CSV avec
OUT/boxes/<plaque>/config.json (écrits par tools/provision) ; l'outil attend Entrée entre deux boîtiers
(sauf --no-prompt).

Codes de sortie : 0 tous les boîtiers flashés et vérifiés ; 1 une étape a échoué ; 2 entrée invalide
(image, empreinte, configuration, CSV) ; 3 la version relue diffère ; 4 esptool ou mpremote introuvable.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

from tools import provision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BUILD = os.path.join(ROOT, "build", "firmware")
VERSION_FILE = os.path.join(ROOT, "firmware", "app", "version.py")

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_VERSION_MISMATCH = 3
EXIT_TOOL_MISSING = 4

# Classic ESP32 (LilyGO T-Call): MicroPython's ESP32_GENERIC image is written at 0x1000 into 4 MB of flash.
CHIP = "esp32"
IMAGE_OFFSET = 0x1000
FLASH_BYTES = 4 * 1024 * 1024
# What goes onto the box, in this order (build/firmware follows firmware/manifest.py).
FIRMWARE_ITEMS = ("hal", "drivers", "app", "protocol", "main.py")
CONFIG_KEYS = ("box_id", "key", "vehicle", "server_host", "server_port", "server_path", "apn", "board", "reader",
               "modem")
VERSION_CODE = 'from app import version; print("VERSION=" + version.VERSION)'
READY_CODE = 'import sys; print("IMPL=" + sys.implementation.name)'


class FlashError(Exception):
    """A step failed; `code` is the exit code it maps to."""

    def __init__(self, message, code=EXIT_STEP_FAILED):
        Exception.__init__(self, message)
        self.code = code


def tool_path(name):
    """The tool from this virtualenv when present (pinned versions), otherwise from PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(candidate):
        return candidate
    return shutil.which(name) or name


def expected_version(path=VERSION_FILE):
    with open(path) as f:
        match = re.search(r'^VERSION\s*=\s*"([^"]+)"', f.read(), re.M)
    if not match:
        raise FlashError("version introuvable dans %s" % path, EXIT_BAD_INPUT)
    return match.group(1)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def check_image(path, expected_sha256, expected_size=None, esptool=None, run=subprocess.run):
    """Size, SHA-256 and esptool's own offline header check of the MicroPython image. Raises FlashError."""
    if not os.path.isfile(path):
        raise FlashError("image introuvable : %s" % path, EXIT_BAD_INPUT)
    size = os.path.getsize(path)
    if size == 0 or IMAGE_OFFSET + size > FLASH_BYTES:
        raise FlashError("taille d'image %d octets impossible pour %d Mo de flash à 0x%x"
                         % (size, FLASH_BYTES >> 20, IMAGE_OFFSET), EXIT_BAD_INPUT)
    if expected_size is not None and size != expected_size:
        raise FlashError("taille d'image %d octets, attendu %d" % (size, expected_size), EXIT_BAD_INPUT)
    actual = sha256_file(path)
    if actual != expected_sha256.lower():
        raise FlashError("SHA-256 de l'image %s, attendu %s : mauvais fichier ou fichier abîmé"
                         % (actual, expected_sha256.lower()), EXIT_BAD_INPUT)
    result = run([esptool or tool_path("esptool"), "--chip", CHIP, "image-info", path],
                 capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines() or ["?"]
        raise FlashError("esptool refuse l'image : %s" % lines[-1], EXIT_BAD_INPUT)
    return size, actual


def check_config(path, allow_unix=False):
    """Load a box config.json and check it against the contract before it goes onto a box."""
    try:
        with open(path) as f:
            config = json.load(f)
    except OSError as exc:
        raise FlashError("configuration illisible %s : %s" % (path, exc.strerror), EXIT_BAD_INPUT) from None
    except ValueError:
        raise FlashError("configuration %s : JSON invalide" % path, EXIT_BAD_INPUT) from None
    missing = [k for k in CONFIG_KEYS if k not in config]
    if missing:
        raise FlashError("configuration %s : champs manquants %s" % (path, ", ".join(missing)), EXIT_BAD_INPUT)
    if not provision._valid_key(config["key"]):
        raise FlashError("configuration %s : clé invalide" % path, EXIT_BAD_INPUT)
    if config["board"] == "unix" and not allow_unix:
        raise FlashError("configuration %s : profil 'unix' (banc) sur un vrai boîtier ; refaire le "
                         "provisionnement avec --board tcall_sim800" % path, EXIT_BAD_INPUT)
    return config


def check_build(build_dir):
    missing = [item for item in FIRMWARE_ITEMS if not os.path.exists(os.path.join(build_dir, item))]
    if missing:
        raise FlashError("build incomplet %s (manque %s) : lancer `make firmware`" % (build_dir, ", ".join(missing)),
                         EXIT_BAD_INPUT)


class Plan:
    """The exact commands for one box; `steps` is [(label, argv, cwd, kind)].

    kind "run": a child process that must exit 0; "ready"/"version": an mpremote exec retried until the
    board answers; "boot": reset the board on its serial line and read the `BOOT <version>` line the
    running firmware prints at start (argv is then a description, not a command).
    """

    def __init__(self, port, config_path, build_dir, image=None, baud=460800, reset="hard", remote_dir="",
                 frozen=False):
        self.port = port
        self.reset = reset
        esptool = tool_path("esptool")
        mpremote = [tool_path("mpremote"), "connect", port]
        # ":./" is the board's current directory: "/" on an ESP32, the process's cwd on the Unix port.
        remote = ":" + (remote_dir.rstrip("/") + "/" if remote_dir else "./")
        self.steps = []
        if image:
            base = [esptool, "--chip", CHIP, "--port", port, "--baud", str(baud)]
            self.steps.append(("effacement de la flash", base + ["erase-flash"], None, "run"))
            self.steps.append(("écriture de MicroPython", base + ["write-flash", "0x%x" % IMAGE_OFFSET, image],
                               None, "run"))
        self.steps.append(("attente du REPL MicroPython", mpremote + ["resume", "exec", READY_CODE], None, "ready"))
        if not frozen:  # a frozen image carries the firmware: nothing of build/firmware goes onto the flash
            self.steps.append(("copie du firmware", mpremote + ["resume", "fs", "cp", "-r"] + list(FIRMWARE_ITEMS)
                               + [remote], build_dir, "run"))
        self.steps.append(("copie de config.json", mpremote + ["resume", "fs", "cp", os.path.abspath(config_path),
                                                               remote + "config.json"], None, "run"))
        # Read from the copied files: proves they are complete and importable before the board restarts.
        self.steps.append(("version des fichiers copiés", mpremote + ["resume", "exec", VERSION_CODE], None,
                           "version"))
        if reset != "none":
            # Once main.py runs, the badge reader owns UART0 (hal/esp32.py): the REPL is gone from the USB
            # port, so the running firmware's version is read from the BOOT line it prints before that.
            how = ("impulsion RTS sur EN (comme esptool --after hard-reset)" if reset == "hard"
                   else "Ctrl-C Ctrl-C Ctrl-D au REPL (soft reset)")
            self.steps.append(("redémarrage et version du firmware en marche",
                               ["<%s sur %s, puis lecture de la ligne BOOT <version> à 115200 bauds>" % (how, port)],
                               None, "boot"))


def format_command(argv, cwd=None):
    text = shlex.join(argv)
    return "(cd %s && %s)" % (shlex.quote(cwd), text) if cwd else text


def run_streaming(argv, cwd, timeout_s, out):
    """Run a child, copying its output live (esptool's percentage, mpremote's cp lines); return (rc, text)."""
    try:
        child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 errors="replace")
    except OSError as exc:
        raise FlashError("impossible de lancer %s : %s" % (argv[0], exc.strerror), EXIT_TOOL_MISSING) from None
    lines = []
    deadline = time.monotonic() + timeout_s
    for line in child.stdout:
        lines.append(line)
        out.write("      | " + line.rstrip("\r\n").split("\r")[-1] + "\n")
        out.flush()
        if time.monotonic() > deadline:
            child.kill()
            break
    try:
        rc = child.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        rc = child.wait()
    return rc, "".join(lines)


BOOT_RE = re.compile(rb"(?:^|[\r\n])BOOT (\S+)\r?\n")


def reset_and_read_boot(port, mode, timeout_s, out):
    """Reset the board on its serial line and return the version of its `BOOT <version>` line."""
    import serial

    try:
        line = serial.serial_for_url(port, baudrate=115200, timeout=0.2, do_not_open=True)
        line.dtr = False  # IO0 high (normal boot) and EN released while the port opens
        line.rts = False
        line.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise FlashError("port %s : %s" % (port, exc)) from None
    try:
        try:
            if mode == "hard":
                line.rts = True  # EN low: the ESP32 is held in reset
                time.sleep(0.1)
                line.rts = False
            else:
                line.write(b"\r\x03\x03\x04")
        except (serial.SerialException, OSError) as exc:
            raise FlashError("redémarrage impossible sur %s (%s) : essayer --reset soft" % (port, exc)) from None
        data = b""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                chunk = line.read(256)
            except (serial.SerialException, OSError) as exc:
                raise FlashError("port %s fermé pendant le redémarrage (%s)" % (port, exc)) from None
            if not chunk:
                continue
            data += chunk
            match = BOOT_RE.search(data)
            if match:
                return match.group(1).decode("ascii", "replace")
        tail = data[-120:].decode("ascii", "replace").strip().replace("\r", "").replace("\n", " / ")
        raise FlashError("aucune ligne BOOT en %d s après le redémarrage (reçu : %r)" % (timeout_s, tail))
    finally:
        line.close()


def flash_box(plan, expected, out, boot_timeout_s=30.0, step_timeout_s=300.0):
    """Run a plan; return the version read back. Raises FlashError."""
    total = len(plan.steps)
    version = None
    for number, (label, argv, cwd, kind) in enumerate(plan.steps, 1):
        out.write("  [%d/%d] %s ...\n" % (number, total, label))
        out.flush()
        started = time.monotonic()
        detail = ""
        if kind in ("ready", "version"):
            text = _retry_until_answer(argv, out, boot_timeout_s)
            if kind == "version":
                match = re.search(r"VERSION=(\S+)", text)
                if not match:
                    raise FlashError("version illisible dans la réponse du boîtier : %r" % text[-200:])
                version = match.group(1)
                detail = ", version %s" % version
        elif kind == "boot":
            version = reset_and_read_boot(plan.port, plan.reset, boot_timeout_s, out)
            detail = ", BOOT %s" % version
        else:
            rc, text = run_streaming(argv, cwd, step_timeout_s, out)
            if rc != 0:
                lines = text.strip().splitlines() or ["(aucune sortie)"]
                raise FlashError("%s : échec (code %d) : %s" % (label, rc, lines[-1]))
        if kind in ("version", "boot") and version != expected:
            raise FlashError("version relue %s, attendu %s" % (version, expected), EXIT_VERSION_MISMATCH)
        out.write("  [%d/%d] %s : ok (%.1f s)%s\n" % (number, total, label, time.monotonic() - started, detail))
        out.flush()
    return version


def _retry_until_answer(argv, out, timeout_s):
    """After a write or a reset the board takes a moment to offer its REPL: retry until it answers."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        try:
            result = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=max(5.0, timeout_s))
            last = result.stdout + result.stderr
            if result.returncode == 0 and ("VERSION=" in last or "IMPL=" in last):
                return last
        except subprocess.TimeoutExpired:
            last = "pas de réponse"
        except OSError as exc:
            raise FlashError("impossible de lancer %s : %s" % (argv[0], exc.strerror), EXIT_TOOL_MISSING) from None
        if time.monotonic() >= deadline:
            lines = last.strip().splitlines() or ["(aucune sortie)"]
            raise FlashError("le boîtier ne répond pas sur le REPL : %s" % lines[-1])
        time.sleep(1.0)


def boxes_from_args(args):
    """[(label, config_path, car or None)] for one --config or for the CSV selection. Raises FlashError."""
    if args.config:
        return [(os.path.basename(os.path.dirname(os.path.abspath(args.config))) or args.config, args.config, None)]
    try:
        cars = provision.read_fleet(args.fleet)
    except provision.FleetError as exc:
        raise FlashError("CSV invalide : %s" % exc, EXIT_BAD_INPUT) from None
    wanted = [p.upper() for p in args.plate]
    known = {c["plate"] for c in cars}
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise FlashError("plaque(s) absente(s) du CSV : %s" % ", ".join(unknown), EXIT_BAD_INPUT)
    selected = [c for c in cars if not wanted or c["plate"] in wanted]
    return [(c["plate"], provision.config_path(args.configs, c["plate"]), c) for c in selected]


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tools.flash", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", required=True, help="port série du boîtier (ex. /dev/ttyUSB0)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--config", help="config.json d'un boîtier (écrit par tools/provision)")
    which.add_argument("--fleet", help="liste de flotte CSV : flasher plusieurs boîtiers à la suite")
    parser.add_argument("--configs", help="avec --fleet : dossier de sortie de tools/provision")
    parser.add_argument("--plate", action="append", default=[], metavar="PLAQUE",
                        help="avec --fleet : seulement ces véhicules (répétable ; défaut : tous)")
    parser.add_argument("--image", help="image MicroPython ESP32 (.bin, écrite à 0x1000)")
    parser.add_argument("--image-sha256", help="SHA-256 attendu de l'image (obligatoire avec --image)")
    parser.add_argument("--image-size", type=int, help="taille attendue de l'image en octets (facultatif)")
    parser.add_argument("--frozen", action="store_true",
                        help="l'image contient le firmware gelé (firmware/manifest.py) : ne copier que config.json")
    parser.add_argument("--skip-esptool", action="store_true",
                        help="ne pas effacer ni écrire MicroPython (carte qui a MicroPython mais pas encore "
                             "le firmware ; banc)")
    parser.add_argument("--build", default=DEFAULT_BUILD, help="firmware compilé (défaut build/firmware)")
    parser.add_argument("--baud", type=int, default=460800, help="débit esptool (défaut 460800)")
    parser.add_argument("--reset", choices=("hard", "soft", "none"), default="hard",
                        help="redémarrage après copie : hard (RTS sur EN), soft (Ctrl-D au REPL), "
                             "none (banc port Unix)")
    parser.add_argument("--remote-dir", default="",
                        help="dossier cible sur le boîtier (défaut : la racine ; banc : vide = dossier courant)")
    parser.add_argument("--allow-unix-config", action="store_true",
                        help="accepter une configuration de banc (board=unix) ; seulement pour le banc")
    parser.add_argument("--boot-timeout", type=float, default=30.0, help="attente max du REPL et de la ligne BOOT (s)")
    parser.add_argument("--dry-run", action="store_true", help="afficher les commandes exactes sans les exécuter")
    parser.add_argument("--no-prompt", action="store_true", help="avec --fleet : ne pas attendre Entrée entre boîtiers")
    return parser


def main(argv=None, out=sys.stdout, prompt=input):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.fleet and not args.configs:
        parser.error("--fleet demande --configs (dossier de sortie de tools/provision)")
    if not args.skip_esptool and not (args.image and args.image_sha256):
        parser.error("--image et --image-sha256 sont obligatoires (ou --skip-esptool)")
    if args.frozen and args.skip_esptool:
        parser.error("--frozen écrit l'image qui porte le firmware : incompatible avec --skip-esptool")
    try:
        expected = expected_version()
        boxes = boxes_from_args(args)
        if not args.frozen:
            check_build(args.build)
        configs = []
        for label, path, car in boxes:
            config = check_config(path, allow_unix=args.allow_unix_config)
            if car is not None and (config["vehicle"] != car["plate"] or config["box_id"] != car["box_id"]):
                raise FlashError("%s : la configuration est celle de %s (box %s), pas de %s (box %d) : refaire le "
                                 "provisionnement" % (path, config["vehicle"], config["box_id"], label,
                                                      car["box_id"]), EXIT_BAD_INPUT)
            configs.append(config)
        image = None
        if not args.skip_esptool:
            # Local checks run even with --dry-run: they touch no board.
            image = os.path.abspath(args.image)
            size, _digest = check_image(image, args.image_sha256, args.image_size)
            out.write("Image %s : %d octets, SHA-256 conforme, en-tête ESP32 lu par esptool image-info\n"
                      % (os.path.basename(image), size))
    except FlashError as exc:
        out.write("ERREUR : %s\n" % exc)
        return exc.code
    status = EXIT_OK
    results = []
    for index, ((label, path, _car), config) in enumerate(zip(boxes, configs), 1):
        plan = Plan(args.port, path, args.build, image=image, baud=args.baud, reset=args.reset,
                    remote_dir=args.remote_dir, frozen=args.frozen)
        out.write("== Boîtier %d/%d : %s (box_id %d) sur %s ==\n" % (index, len(boxes), label, config["box_id"],
                                                                    args.port))
        if args.dry_run:
            for label_step, argv_step, cwd, kind in plan.steps:
                text = argv_step[0] if kind == "boot" else format_command(argv_step, cwd)
                out.write("# %s\n%s\n" % (label_step, text))
            continue
        if index > 1 and not args.no_prompt:
            prompt("Branchez le boîtier de %s sur %s puis appuyez sur Entrée " % (label, args.port))
        try:
            version = flash_box(plan, expected, out, boot_timeout_s=args.boot_timeout)
            results.append((label, "OK", "version %s" % version))
        except KeyboardInterrupt:
            out.write("  INTERROMPU : le boîtier %s est à reflasher\n" % label)
            results.append((label, "ÉCHEC", "interrompu"))
            status = max(status, EXIT_STEP_FAILED)
            break
        except FlashError as exc:
            out.write("  ÉCHEC : %s\n" % exc)
            results.append((label, "ÉCHEC", str(exc)))
            status = max(status, exc.code) if exc.code != EXIT_TOOL_MISSING else EXIT_TOOL_MISSING
    if not args.dry_run:
        out.write("Bilan :\n")
        for label, verdict, detail in results:
            out.write("  %-9s %-5s %s\n" % (label, verdict, detail))
    return status


if __name__ == "__main__":
    sys.exit(main())
