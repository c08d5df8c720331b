"""Form parsing shared by the pages: every field is checked and every problem gets a French message."""

import datetime

from flask import abort

from server import timeutil


def text(form, name, errors, label, required=False, max_len=200):
    value = (form.get(name) or "").strip()
    if required and not value:
        errors[name] = "%s : champ obligatoire." % label
    elif len(value) > max_len:
        errors[name] = "%s : %d caractères au plus." % (label, max_len)
    return value


def integer(form, name, errors, label, minimum=None, maximum=None, required=True):
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            errors[name] = "%s : champ obligatoire." % label
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "%s : nombre entier attendu." % label
        return None
    if maximum is None:
        maximum = 1 << 53  # anything larger cannot be a row id and would overflow SQLite's INTEGER
    if (minimum is not None and value < minimum) or value > maximum:
        errors[name] = "%s : valeur hors limites." % label
        return None
    return value


def record_id(form, name):
    """The id a page's button posts in a hidden field: anything but a positive integer is a 404, as an
    unknown id is (no page shows a message for a field the agent never typed)."""
    value = integer(form, name, {}, name, minimum=1)
    if value is None:
        abort(404)
    return value


def choice(form, name, errors, label, allowed):
    value = (form.get(name) or "").strip()
    if value not in allowed:
        errors[name] = "%s : choisissez une valeur de la liste." % label
        return None
    return value


def date(form, name, errors, label, required=True):
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            errors[name] = "%s : champ obligatoire." % label
        return None
    try:
        d = datetime.date.fromisoformat(raw)
    except ValueError:
        errors[name] = "%s : date invalide (format AAAA-MM-JJ)." % label
        return None
    if not 2000 <= d.year <= 2100:
        errors[name] = "%s : année hors limites." % label
        return None
    return raw


def time_of_day(form, name, errors, label):
    raw = (form.get(name) or "").strip()
    parts = raw.split(":")
    if not raw:
        errors[name] = "%s : champ obligatoire." % label
        return None
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts) or not (
            0 <= int(parts[0]) <= 23 and 0 <= int(parts[1]) <= 59):
        errors[name] = "%s : heure invalide (format HH:MM)." % label
        return None
    return "%02d:%02d" % (int(parts[0]), int(parts[1]))


def slot(form, errors, prefix=""):
    """(start, end) epochs from fields date, start, end_date (optional, same day by default), end."""
    d = date(form, prefix + "date", errors, "Date de début")
    t1 = time_of_day(form, prefix + "start", errors, "Heure de début")
    d2 = date(form, prefix + "end_date", errors, "Date de fin", required=False) or d
    t2 = time_of_day(form, prefix + "end", errors, "Heure de fin")
    if errors or not (d and t1 and d2 and t2):
        return None, None
    try:
        start, end = timeutil.parse_local(d, t1), timeutil.parse_local(d2, t2)
    except (ValueError, OverflowError):
        errors[prefix + "date"] = "Date ou heure invalide."
        return None, None
    if end <= start:
        errors[prefix + "end"] = "L'heure de fin doit être après l'heure de début."
        return None, None
    return start, end
