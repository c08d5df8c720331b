"""The CSV files managers open in a spreadsheet: `;` separated, decimal commas, UTF-8 with a BOM (Excel
reads accents right), one attachment per download. The monthly reports and the trips list share it."""

import csv
import io

from flask import Response


def decimal(value):
    """1.5 -> '1,5' (French spreadsheets)."""
    return str(value).replace(".", ",")


def eur(cents):
    return "%d,%02d" % divmod(int(cents), 100)


def response(filename, header, lines):
    out = io.StringIO()
    w = csv.writer(out, delimiter=";")
    w.writerow(header)
    w.writerows(lines)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=%s" % filename})
