"""iCalendar (RFC 5545) pieces shared by the agents' feed (booking.ical) and the booking mails' attachment."""

import datetime


def escape(value):
    return (value or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def reservation_event(r, host, now, cancelled=False, sequence=None):
    """VEVENT lines of a booking (`r` with id, start, end, plate, model, purpose, destination); the UID is the
    same in the feed and in every mail about the booking, so calendars update one event."""
    lines = ["BEGIN:VEVENT", "UID:reservation-%d@%s" % (r["id"], host), "DTSTAMP:" + utc(now),
             "DTSTART:" + utc(r["start"]), "DTEND:" + utc(r["end"]),
             "SUMMARY:" + escape("Véhicule %s (%s)" % (r["plate"], r["model"])),
             "DESCRIPTION:" + escape(r["purpose"] or "Réservation de véhicule de service"),
             "LOCATION:" + escape(r["destination"])]
    if sequence is not None:
        lines.append("SEQUENCE:%d" % sequence)
    if cancelled:
        lines.append("STATUS:CANCELLED")
    return lines + ["END:VEVENT"]


def calendar(events_lines, name=None, method=None):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Autopartage//Reservations//FR", "CALSCALE:GREGORIAN"]
    if method:
        lines.append("METHOD:" + method)
    if name:
        lines.append("X-WR-CALNAME:" + name)
    return "\r\n".join(lines + list(events_lines) + ["END:VCALENDAR"]) + "\r\n"
