"""Flask CLI commands (`flask --app server COMMAND --help`). Messages in French: administrators run them."""

import sys
import time

import click
from flask.cli import with_appcontext
from flask import current_app

from server import importers
from server.mail import accounts
from server.db import connect, init_db, write
from server.queries import agents as agents_q
from server.queries import audit, boxes, maintenance, org
from server.queries.common import Rules


def _db():
    return connect(current_app.config["DATABASE"])


def _read(path):
    with open(path, encoding="utf-8-sig") as f:
        return f.read()


def _report(count, errors):
    for e in errors:
        click.echo(e, err=True)
    click.echo("%d ligne(s) importée(s), %d erreur(s)." % (count, len(errors)))
    if errors:
        raise SystemExit(1)


@click.command("import-fleet")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_fleet_command(path):
    """Importe les véhicules (CSV : plate, model, department, pool, cost_per_km_cents, monthly_fixed_cents)."""
    init_db()
    _report(*importers.import_fleet(_db(), _read(path)))


@click.command("import-agents")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Simulation : affiche ce qui changerait, n'enregistre rien.")
@click.option("--no-invite", is_flag=True, help="N'envoie pas d'invitation aux agents sans mot de passe.")
def import_agents_command(path, dry_run, no_invite):
    """Importe les agents (CSV : name, department, email, badges, role, permanent_access).

    Chaque agent actif sans mot de passe ni invitation en cours reçoit une invitation à choisir son mot
    de passe (lien valable INVITATION_VALID_HOURS ; réglez PUBLIC_URL pour que le lien mène au site)."""
    init_db()
    if not no_invite and not dry_run and not current_app.config.get("PUBLIC_URL"):
        click.echo("Attention : PUBLIC_URL n'est pas réglé, les liens d'invitation mèneront à "
                   "http://127.0.0.1:5000.", err=True)
    now = int(time.time())
    invite = None if no_invite else (lambda db, agent: accounts.invite_if_needed(db, agent, now))
    report = importers.import_agents(_db(), _read(path), invite=invite, dry_run=dry_run)
    if dry_run:
        click.echo("Simulation : rien n'est enregistré.")
    for line in report.changes:
        click.echo(line)
    if report.invited:
        click.echo("%d invitation(s) %s." % (len(report.invited), "à envoyer" if dry_run else "en file d'envoi"))
    _report(report.count, report.errors)


def _secret(source, prompt):
    """A secret read from a file (`source`, '-' = standard input) or asked without echo: never from the
    command line, where `ps` and the shell history would keep it."""
    if source is not None:
        text = source.readline().strip()
        if not text:
            raise click.BadParameter("vide", param_hint="fichier du secret")
        return text
    return click.prompt(prompt, hide_input=True, confirmation_prompt=sys.stdin.isatty())


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--name", default="Administrateur", help="Nom affiché.")
@click.option("--department", default="DDT", help="Code de la direction (DDT, DDPP, DDCS, DSDEN).")
@click.option("--password-file", type=click.File("r", encoding="utf-8"), default=None,
              help="Lire le mot de passe (première ligne) dans ce fichier, « - » pour l'entrée standard ; "
                   "sinon il est demandé sans écho.")
def create_admin_command(email, name, department, password_file):
    """Crée (ou promeut) un compte administrateur. Le mot de passe ne se donne jamais sur la ligne de commande."""
    init_db()
    if "@" not in email:
        raise click.BadParameter("adresse e-mail invalide", param_hint="EMAIL")
    password = _secret(password_file, "Mot de passe")
    if not 10 <= len(password) <= 200:
        raise click.BadParameter("10 à 200 caractères", param_hint="mot de passe")
    db = _db()
    with write(db):
        dept_id = org.ensure_department(db, department)
        agent_id = agents_q.upsert(db, name, email, dept_id)
        before = agents_q.get(db, agent_id)
        agents_q.update(db, agent_id, role="admin", active=True)
        agents_q.set_password(db, agent_id, password)
        if before["role"] != "admin":
            audit.record(db, "agent.role", target="agent:%d" % agent_id, before=before["role"], after="admin")
        audit.record(db, "agent.password_set", target="agent:%d" % agent_id, after="create-admin")
    click.echo("Administrateur %s prêt." % email)


@click.command("purge")
@with_appcontext
@click.option("--retention-days", type=int, default=None, help="Par défaut POSITION_RETENTION_DAYS (61).")
def purge_command(retention_days):
    """Réduit les positions plus anciennes que la durée de conservation à des résumés de trajet (CNIL)."""
    days = retention_days if retention_days is not None else current_app.config["POSITION_RETENTION_DAYS"]
    if days < 0:
        raise click.BadParameter("doit être positif", param_hint="--retention-days")
    n = maintenance.purge_positions(_db(), int(time.time()), days)
    click.echo("%d position(s) supprimée(s) (conservation %d jours)." % (n, days))


@click.command("maintenance")
@with_appcontext
def maintenance_command():
    """Libère les réservations non honorées, prévient des retours en retard, purge si dû (pour un cron)."""
    done = maintenance.run_due(_db(), int(time.time()), Rules.from_config(current_app.config),
                               current_app.config["POSITION_RETENTION_DAYS"])
    click.echo(" ".join("%s=%s" % kv for kv in sorted(done.items())) or "rien à faire")


@click.command("box-register")
@with_appcontext
@click.argument("box_id", type=int)
@click.argument("plate")
@click.option("--key-file", type=click.File("r", encoding="utf-8"), default="-", show_default=True,
              help="Fichier dont la première ligne est la clé (32 caractères hexadécimaux), « - » pour l'entrée "
                   "standard. La clé ne se donne jamais sur la ligne de commande.")
def box_register_command(box_id, plate, key_file):
    """Enregistre un boîtier (outil de provisionnement) dans le véhicule PLATE avec sa clé, lue sur l'entrée
    standard ou dans --key-file."""
    init_db()
    key_hex = key_file.readline().strip()
    db = _db()
    vehicle = org.vehicle_by_plate(db, plate)
    if vehicle is None:
        raise click.ClickException("véhicule %s inconnu : importez d'abord la flotte" % plate)
    try:
        with write(db):
            previous = boxes.get(db, box_id)
            boxes.register(db, box_id, vehicle["id"], key_hex)
            audit.record(db, "box.key" if previous else "box.register", target="box:%d" % box_id,
                         before={"vehicle": previous["vehicle_id"]} if previous else None,
                         after={"vehicle": vehicle["id"], "via": "box-register"})
    except ValueError as exc:
        raise click.ClickException("boîtier refusé (%s) : identifiant 1..2^32-1 et clé de 32 caractères hex"
                                   % exc) from None
    click.echo("Boîtier %d enregistré dans %s." % (box_id, vehicle["plate"]))


@click.command("box-counters-restored")
@with_appcontext
@click.option("--days", type=click.IntRange(0, 3650), required=True,
              help="Âge de la sauvegarde restaurée, en jours (arrondi au jour supérieur).")
def box_counters_restored_command(days):
    """Après la restauration d'une sauvegarde : avance le compteur anti-rejeu de chaque boîtier au-delà de
    tout compteur utilisé depuis la sauvegarde (voir docs/security.md)."""
    init_db()
    db = _db()
    with write(db):
        n = boxes.advance_counters(db, days)
    click.echo("Compteurs de %d boîtier(s) avancés de %d." % (n, (days + 1) * boxes.COUNTERS_PER_DAY))


@click.command("box-command")
@with_appcontext
@click.argument("box_id", type=int)
@click.argument("action", type=click.Choice(sorted(boxes.ACTIONS)))
@click.option("--reservation", type=int, default=None, help="release : n° de la réservation liée (facultatif).")
@click.option("--version", "version", default=None, help="update : version du firmware, X.Y.Z.")
def box_command_command(box_id, action, reservation, version):
    """Met en file une commande pour la prochaine synchronisation du boîtier BOX_ID.

    resync : synchronisation forcée ; release : libération pour un trajet ; block : blocage au prochain
    moment sûr (jamais moteur tournant) ; update : mise à jour disponible (--version)."""
    init_db()
    db = _db()
    try:
        with write(db):
            command_id, note = boxes.queue_command(db, box_id, action, int(time.time()), reservation_id=reservation,
                                                   version=version)
            audit.record(db, "box.command", target="box:%d" % box_id, after={"action": action, "command": command_id,
                                                                              "note": note, "via": "box-command"})
    except boxes.CommandError as exc:
        raise click.ClickException(exc.message) from None
    click.echo("Commande %d (%s%s) en attente de la prochaine synchronisation du boîtier %d."
               % (command_id, boxes.ACTION_LABELS[action], ", " + note if note else "", box_id))


def _set_disabled(box_id, disabled):
    init_db()
    db = _db()
    with write(db):
        found = boxes.set_disabled(db, box_id, disabled, int(time.time()))
        if found:
            audit.record(db, "box.disable" if disabled else "box.enable", target="box:%d" % box_id,
                         after={"disabled": disabled, "via": "ligne de commande"})
    if not found:
        raise click.ClickException("aucun boîtier n° %d" % box_id)
    click.echo("Boîtier %d %s." % (box_id, "désactivé : ses synchronisations sont refusées" if disabled
                                   else "réactivé"))


@click.command("box-disable")
@with_appcontext
@click.argument("box_id", type=int)
def box_disable_command(box_id):
    """Désactive le boîtier BOX_ID (volé, retiré du service) : ses synchronisations sont refusées."""
    _set_disabled(box_id, True)


@click.command("box-enable")
@with_appcontext
@click.argument("box_id", type=int)
def box_enable_command(box_id):
    """Réactive le boîtier BOX_ID."""
    _set_disabled(box_id, False)


@click.command("demo-data")
@with_appcontext
@click.option("--password-file", type=click.File("r", encoding="utf-8"), default=None,
              help="Lire le mot de passe des comptes de démonstration dans ce fichier (« - » : entrée standard) ; "
                   "par défaut demo-autopartage.")
@click.option("--seed", type=int, default=2016)
def demo_data_command(password_file, seed):
    """Remplit la base avec la flotte du pilote (44 véhicules, 4 directions, ~200 agents) et affiche les comptes."""
    from server.queries import demo

    password = _secret(password_file, "") if password_file is not None else "demo-autopartage"
    init_db()
    for line in demo.populate(_db(), password=password, seed=seed):
        click.echo(line)


def init_app(app):
    for cmd in (import_fleet_command, import_agents_command, create_admin_command, purge_command,
                maintenance_command, box_register_command, demo_data_command, box_command_command, box_disable_command,
                box_enable_command, box_counters_restored_command):
        app.cli.add_command(cmd)
