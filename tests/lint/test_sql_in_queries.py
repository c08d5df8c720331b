"""All SQL of the server lives in server/queries (and the schema in server/migrations.py): a view, a mail or a
policy module asks a query function, it never writes a statement of its own."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "server")
ALLOWED = (os.path.join(SERVER, "queries") + os.sep, os.path.join(SERVER, "migrations.py"),
           os.path.join(SERVER, "db.py"))
STATEMENT = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)


def test_no_sql_outside_the_queries_layer():
    found = []
    for folder, _dirs, files in os.walk(SERVER):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and not path.startswith(ALLOWED):
                with open(path, encoding="utf-8") as f:
                    found += ["%s: %s" % (os.path.relpath(path, ROOT), m.group(0)[:60])
                              for m in STATEMENT.finditer(f.read())]
    assert found == []
