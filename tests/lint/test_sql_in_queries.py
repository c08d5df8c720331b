"""All SQL of the server lives in server/queries (and the schema in server/migrations.py): a view, a mail or a
policy module asks a query function, it never writes a statement of its own."""

import ast
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


# -- layout: one clause per line (flaskr) -------------------------------------------------------------------

QUERIES = os.path.join(SERVER, "queries")
# A string literal is SQL when it starts (after whitespace) with a statement or a clause keyword, EXISTS or a
# parenthesis: whole statements and the fragments a function appends to one (" WHERE ...", "EXISTS (...").
SQL_START = re.compile(r"\s*([()]|(EXISTS|SELECT|INSERT|UPDATE|DELETE|WITH|FROM|WHERE|(LEFT |CROSS )?JOIN|AND|OR"
                       r"|GROUP BY|ORDER BY|LIMIT|SET|VALUES|ON CONFLICT)\b)")
# Keywords are upper case in this code base. Multi-word forms come first so that "DELETE FROM", "INSERT OR
# IGNORE INTO" and "DO UPDATE" (of ON CONFLICT) count once; BETWEEN and CASE/END only qualify AND/OR.
TOKEN = re.compile(r"'[^']*'|[()]|\b(INSERT(?: OR \w+)? INTO|DELETE FROM|DO UPDATE|UPDATE|SELECT|FROM|WHERE"
                   r"|(?:LEFT |CROSS |INNER )?JOIN|GROUP BY|HAVING|ORDER BY|LIMIT|SET|VALUES|ON CONFLICT"
                   r"|UNION(?: ALL)?|RETURNING|AND|OR|BETWEEN|CASE|END)\b")


def crowded_lines(sql):
    """The lines of `sql` that hold two clauses at the same parenthesis depth (a subquery opened on a line
    is its own level: `AND NOT EXISTS (SELECT 1` is fine, `x IN (SELECT a FROM b)` is not). AND/OR count
    as clauses at the line's own level only (inside parentheses they make an expression), and not in
    BETWEEN's AND nor in the conditions of a CASE."""
    crowded, cases = [], 0
    for line in sql.split("\n"):
        depth, seen, between = 0, {}, set()
        for m in TOKEN.finditer(line):
            word = m.group(1)
            if m.group(0) == "(":
                depth += 1
            elif m.group(0) == ")":
                depth -= 1
            elif word == "CASE":
                cases += 1
            elif word == "END":
                cases -= 1
            elif word == "DO UPDATE":
                pass
            elif word == "BETWEEN":
                between.add(depth)
            elif word in ("AND", "OR") and (cases or depth != 0 or depth in between):
                between.discard(depth)
            elif word:
                seen[depth] = seen.get(depth, 0) + 1
        if any(n > 1 for n in seen.values()):
            crowded.append(line.strip())
    return crowded


def sql_literals(path):
    """(line number, text) of every SQL string literal of a module (docstrings left out)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    docstrings = {id(scope.body[0].value) for scope in ast.walk(tree)
                  if isinstance(scope, (ast.Module, ast.FunctionDef, ast.ClassDef)) and scope.body
                  and isinstance(scope.body[0], ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and SQL_START.match(node.value)]


def test_crowded_lines_spots_two_clauses_on_a_line():
    assert crowded_lines("SELECT id FROM boxes") == ["SELECT id FROM boxes"]
    assert crowded_lines("\nDELETE FROM x WHERE id = ?") == ["DELETE FROM x WHERE id = ?"]
    assert crowded_lines("SELECT 1\nFROM t\nWHERE a = 1 ORDER BY b") == ["WHERE a = 1 ORDER BY b"]
    assert crowded_lines("SELECT 1\nFROM t\nWHERE a = 1 AND b = 2") == ["WHERE a = 1 AND b = 2"]
    assert crowded_lines("SELECT 1\nFROM t\nWHERE a IN (SELECT x FROM y)") == ["WHERE a IN (SELECT x FROM y)"]
    assert crowded_lines("""
INSERT OR IGNORE INTO t (a, b)
VALUES (?, ?)
ON CONFLICT (a) DO UPDATE
SET b = excluded.b
WHERE t.a = 'x FROM y'
  AND t.b BETWEEN ? AND ?
  AND (t.c = 1 OR t.d = 2 AND t.e = 3)
  AND NOT EXISTS (SELECT 1
                  FROM u
                  WHERE u.id = t.a)
  AND CASE WHEN a AND b THEN 1 END""") == []


def test_sql_is_laid_out_one_clause_per_line():
    found, checked = [], 0
    for name in sorted(os.listdir(QUERIES)):
        if name.endswith(".py"):
            for lineno, text in sql_literals(os.path.join(QUERIES, name)):
                checked += 1
                found += ["server/queries/%s:%d: %s" % (name, lineno, line) for line in crowded_lines(text)]
    assert checked > 100  # the scan does find the statements
    assert found == []
