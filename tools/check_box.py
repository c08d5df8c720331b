"""Recette d'un boîtier flashé, avant sa pose dans un véhicule : un verdict OK / ÉCHEC par point.

Points contrôlés, dans cet ordre (le passage du badge provoque la synchronisation de fin de trajet) :
  1. démarrage du firmware et sa version ;
  2. relais au repos : démarreur bloqué ;
  3. lecture d'un badge (le badge « technicien » : un agent à accès permanent, gestionnaire ou mécanicien) ;
  4. relais : déblocage au badge accordé, reblocage au second passage ;
  5. synchronisation avec le serveur (la trame de fin de trajet, après le second passage du badge) ;
  6. modem : inscription sur le réseau (la synchronisation est passée par GPRS) et niveau de signal ;
  7. GPS : position valide ;
  8. version du firmware connue du serveur.

Où regarder :
  - le serveur : --server-db, le fichier SQLite du serveur (lu seulement) ; le boîtier doit y être
    enregistré (tools/provision) ;
  - le boîtier : sur le banc (port Unix de MicroPython), --control URL, la ligne de contrôle du HAL Unix
    (broches relais, LED, buzzer) ; sur un vrai boîtier, sans --control, l'outil pose les questions au
    technicien (bips entendus, claquement du relais, démarreur) et il répond o/n ; avec --port (le câble
    USB du boîtier), il redémarre le boîtier et lit sa version sur la ligne série.

Codes de sortie : 0 boîtier bon pour le service ; 1 au moins un point en échec ; 2 arguments invalides
(base absente, boîtier inconnu du serveur).
"""

import argparse
import io
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION_FILE = os.path.join(ROOT, "firmware", "app", "version.py")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

OK = "OK"
FAIL = "ÉCHEC"
SKIP = "NON TESTÉ"

FEEDBACK = {1: "accordé", 2: "pas de réservation maintenant", 3: "refusé", 4: "boîtier pas prêt"}
GPS_STATES = {0: "pas de position", 1: "position valide", 2: "GPS muet (aucune trame)"}
MIN_CSQ = 10  # below about -93 dBm GPRS gets unreliable in a parked car


def expected_version(path=VERSION_FILE):
    with open(path) as f:
        match = re.search(r'^VERSION\s*=\s*"([^"]+)"', f.read(), re.M)
    return match.group(1) if match else None


def csq_dbm(csq):
    """AT+CSQ's 0..31 scale to dBm (-113 + 2*csq), as the SIM800 manual gives it."""
    return -113 + 2 * csq


class ServerView:
    """The box's row on the server, read through the server's own data layer."""

    def __init__(self, db_path):
        from server.db import connect

        if not os.path.exists(db_path):
            raise FileNotFoundError(db_path)
        self.db = connect(db_path)

    def box(self, box_id):
        from server.queries import boxes

        found = boxes.get(self.db, box_id)
        return dict(found) if found else None

    def close(self):
        self.db.conn.close()


class ControlObserver:
    """Bench: reads pins and buzzer pulses on the Unix HAL control channel (a hil_tests ControlClient)."""

    automatic = True

    def __init__(self, client):
        self.client = client

    def mark(self):
        return self.client.mark()

    def boot_version(self, timeout):
        event = self.client.wait_boot(timeout, 0)
        return event.value if event is not None else None

    def relay_blocked(self, timeout):
        if self.client.pin("relay") == 1:
            return True
        return self.client.wait_pin("relay", 1, timeout, 0) is not None

    def feedback(self, since, timeout):
        return self.client.buzzer_pulses(since, timeout=timeout)

    def relay_changed_to(self, value, since, timeout):
        return self.client.wait_pin("relay", value, timeout, since) is not None


class TechnicianObserver:
    """Real box: the technician reports what the box did (bips, relay click, starter). With `port` (the
    box's USB serial line), the box is reset and its `BOOT <version>` line read, as tools/flash does."""

    automatic = False

    def __init__(self, ask, port=None, reset="hard"):
        self.ask = ask
        self.port = port
        self.reset = reset
        self.boot_error = None

    def mark(self):
        return 0

    def boot_version(self, timeout):
        if not self.port:
            return None  # read from the server once the box has synced
        from tools import flash

        try:
            return flash.reset_and_read_boot(self.port, self.reset, timeout, io.StringIO())
        except flash.FlashError as exc:
            self.boot_error = str(exc)
            return None

    def relay_blocked(self, timeout):
        return self._yes("Contact mis, sans badge : le démarreur est-il bloqué (le moteur ne se lance pas) ? [o/n] ")

    def feedback(self, since, timeout):
        answer = self.ask("Combien de bips le boîtier a-t-il faits ? (0 si aucun) ").strip()
        return int(answer) if answer.isdigit() else 0

    def relay_changed_to(self, value, since, timeout):
        if value == 0:
            return self._yes("Le relais a-t-il claqué et le moteur démarre-t-il ? [o/n] ")
        return self._yes("Moteur coupé : le relais a-t-il claqué et le démarreur est-il de nouveau bloqué ? [o/n] ")

    def _yes(self, question):
        return self.ask(question).strip().lower() in ("o", "oui", "y", "yes")


class Report:
    def __init__(self, out):
        self.out = out
        self.items = []

    def add(self, status, name, detail):
        self.items.append((status, name, detail))
        self.out.write("  [%-9s] %s : %s\n" % (status, name, detail))
        self.out.flush()

    def failed(self):
        return [item for item in self.items if item[0] == FAIL]


def run_checks(box_id, server, observer, present_badge, out=sys.stdout, expected=None, boot_timeout=30.0,
               badge_timeout=60.0, sync_timeout=120.0, min_csq=MIN_CSQ, poll_s=0.5):
    """Run the acceptance; return the Report. `present_badge(text)` asks for (or, on the bench, makes) a tap."""
    report = Report(out)
    row = server.box(box_id)
    before = row["last_counter"] if row else 0
    out.write("Recette du boîtier %d%s\n" % (box_id, " (%s)" % row["plate"] if row and row.get("plate") else ""))

    # 1. Firmware started.
    if observer.automatic or getattr(observer, "port", None):
        version = observer.boot_version(boot_timeout)
        if version is None:
            report.add(FAIL, "Démarrage du firmware", "aucun démarrage vu en %d s (alimentation ? flashage ?)%s"
                       % (boot_timeout, " : " + observer.boot_error if getattr(observer, "boot_error", None)
                          else ""))
        elif expected and version != expected:
            report.add(FAIL, "Démarrage du firmware", "version %s, attendu %s : re-flasher" % (version, expected))
        else:
            report.add(OK, "Démarrage du firmware", "version %s" % version)
    else:
        report.add(SKIP, "Démarrage du firmware", "vu au point 8 (version reçue par le serveur)")

    # 2. Relay at rest.
    if observer.relay_blocked(5.0):
        report.add(OK, "Relais au repos", "démarreur bloqué")
    else:
        report.add(FAIL, "Relais au repos", "démarreur NON bloqué : vérifier le câblage du relais (contact NF)")

    # 3 and 4. Badge read, then relay release and re-arm. A fresh box learns its allow-list at its first
    # sync: until then a tap is answered "not ready" or "denied"; keep asking until granted or timeout.
    deadline = time.monotonic() + badge_timeout
    pulses = 0
    seen = []
    released = False
    while True:
        since = observer.mark()
        present_badge("Présentez le badge technicien devant le lecteur")
        pulses = observer.feedback(since, 5.0)
        if pulses:
            seen.append(pulses)
        if pulses == 1:
            released = observer.relay_changed_to(0, since, 5.0)
            break
        if time.monotonic() >= deadline or not observer.automatic:
            break
        time.sleep(poll_s)
    if seen:
        report.add(OK, "Lecture de badge", "badge lu, réponse %d bip(s) (%s)" % (seen[-1], FEEDBACK.get(seen[-1], "?")))
    else:
        report.add(FAIL, "Lecture de badge", "aucune réponse au badge : lecteur, câble ou antenne du lecteur")
    if pulses != 1:
        report.add(FAIL, "Relais (déblocage / reblocage)",
                   "badge technicien non accordé (%s) : le boîtier est-il enregistré et synchronisé ?"
                   % (FEEDBACK.get(pulses, "aucune réponse")))
    elif not released:
        report.add(FAIL, "Relais (déblocage / reblocage)", "badge accordé mais le relais n'a pas bougé")
    else:
        # The badge-out ends the trip and makes the box sync: that sync carries the health of a box that
        # has been running for a while (a sync at boot may predate the first GPS fix).
        row = server.box(box_id)
        before = row["last_counter"] if row else before
        since = observer.mark()
        present_badge("Présentez à nouveau le badge (fin d'utilisation)")
        if observer.relay_changed_to(1, since, 10.0):
            report.add(OK, "Relais (déblocage / reblocage)", "débloqué au badge, rebloqué au second passage")
        else:
            report.add(FAIL, "Relais (déblocage / reblocage)", "débloqué mais pas rebloqué au second passage")

    # 5. A sync accepted by the server after the start of the acceptance.
    deadline = time.monotonic() + sync_timeout
    row = server.box(box_id)
    while (row is None or row["last_counter"] <= before) and time.monotonic() < deadline:
        time.sleep(poll_s)
        row = server.box(box_id)
    synced = row is not None and row["last_counter"] > before
    if synced:
        report.add(OK, "Synchronisation serveur", "trame acceptée (compteur %d)" % row["last_counter"])
    else:
        report.add(FAIL, "Synchronisation serveur", "aucune trame reçue en %d s (SIM, APN, antenne GSM, serveur)"
                   % sync_timeout)

    # 6. Modem registration and signal, from the health the box sent.
    csq = row.get("csq") if row else None
    if not synced:
        report.add(FAIL, "Modem (réseau et signal)", "pas de synchronisation : modem non inscrit ou sans données")
    elif csq is None or csq == 99:
        report.add(FAIL, "Modem (réseau et signal)", "inscrit, mais niveau de signal inconnu (CSQ 99)")
    elif csq < min_csq:
        report.add(FAIL, "Modem (réseau et signal)", "inscrit, signal faible CSQ %d/31 (%d dBm) : déplacer l'antenne"
                   % (csq, csq_dbm(csq)))
    else:
        report.add(OK, "Modem (réseau et signal)", "inscrit, signal CSQ %d/31 (%d dBm)" % (csq, csq_dbm(csq)))

    # 7. GPS fix.
    gps = row.get("gps") if row else None
    if synced and gps == 1:
        report.add(OK, "GPS", "position valide")
    elif synced:
        report.add(FAIL, "GPS", "%s : antenne GPS face au ciel, hors de l'ombre métallique ; après un premier "
                   "allumage, attendre 5 minutes en plein air et refaire la recette"
                   % GPS_STATES.get(gps, "état inconnu"))
    else:
        report.add(FAIL, "GPS", "inconnu (pas de synchronisation)")

    # 8. Firmware version as the server knows it.
    firmware = row.get("firmware") if row else None
    if not synced:
        report.add(FAIL, "Version du firmware", "inconnue (pas de synchronisation)")
    elif expected and firmware != expected:
        report.add(FAIL, "Version du firmware", "le serveur a reçu %s, attendu %s" % (firmware, expected))
    else:
        report.add(OK, "Version du firmware", "%s" % firmware)

    failed = report.failed()
    if failed:
        out.write("Résultat : À REPRENDRE (%d point(s) en échec)\n" % len(failed))
    else:
        out.write("Résultat : BON POUR LE SERVICE\n")
    return report


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m tools.check_box", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--box-id", type=int, required=True, help="identifiant du boîtier (colonne box_id du CSV)")
    parser.add_argument("--server-db", required=True, help="fichier SQLite du serveur (lu seulement)")
    parser.add_argument("--control", help="banc : URL pyserial de la ligne de contrôle du HAL Unix")
    parser.add_argument("--port", help="vrai boîtier : port USB série (ex. /dev/ttyUSB0) ; le boîtier est "
                                       "redémarré et sa ligne BOOT lue (point 1)")
    parser.add_argument("--reset", choices=("hard", "soft"), default="hard",
                        help="avec --port : redémarrage par RTS sur EN (hard) ou Ctrl-D au REPL (soft)")
    parser.add_argument("--expected-version", default=None,
                        help="version attendue (défaut : firmware/app/version.py)")
    parser.add_argument("--boot-timeout", type=float, default=30.0, help="attente du démarrage (s)")
    parser.add_argument("--badge-timeout", type=float, default=60.0, help="attente d'un badge accordé (s)")
    parser.add_argument("--sync-timeout", type=float, default=120.0, help="attente de la synchronisation (s)")
    parser.add_argument("--min-csq", type=int, default=MIN_CSQ, help="signal minimal accepté (0..31, défaut 10)")
    return parser


def main(argv=None, out=sys.stdout, ask=input):
    args = build_parser().parse_args(argv)
    try:
        server = ServerView(args.server_db)
    except (FileNotFoundError, ImportError) as exc:
        out.write("ERREUR : base du serveur inutilisable : %s\n" % exc)
        return EXIT_BAD_INPUT
    client = None
    try:
        if server.box(args.box_id) is None:
            out.write("ERREUR : boîtier %d inconnu du serveur : lancer tools/provision d'abord\n" % args.box_id)
            return EXIT_BAD_INPUT
        if args.control:
            from hil_tests.harness.control import ControlClient

            client = ControlClient(args.control, name="check_box")
            observer = ControlObserver(client)

            def present(text):
                ask(text + " puis appuyez sur Entrée ")
        else:
            observer = TechnicianObserver(ask, port=args.port, reset=args.reset)

            def present(text):
                ask(text + " puis appuyez sur Entrée ")
        report = run_checks(args.box_id, server, observer, present, out=out,
                            expected=args.expected_version or expected_version(), boot_timeout=args.boot_timeout,
                            badge_timeout=args.badge_timeout, sync_timeout=args.sync_timeout, min_csq=args.min_csq)
        return EXIT_FAILED if report.failed() else EXIT_OK
    finally:
        if client is not None:
            client.close()
        server.close()


if __name__ == "__main__":
    sys.exit(main())
