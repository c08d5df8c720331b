"""Firmware and protocol code is integer-only: the ESP32 port has 32-bit floats, the Unix port 64-bit ones,
so a float in coordinates, distances or money would round differently on the box than on the bench.
This lint walks the syntax tree of every firmware and protocol module and rejects float literals,
true division `/` and float() calls. A line that truly needs a float says so with `# float-ok: why`.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKED = ("firmware", "protocol")


def _sources():
    for top in CHECKED:
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(".py") and name != "manifest.py":
                    yield os.path.join(dirpath, name)


def float_uses(source):
    """Return [(line, what)] for every float construct in source, except lines marked `# float-ok`."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            what = "float literal %r" % node.value
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.Div):
            what = "true division '/' (use '//' on integers)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            what = "float() call"
        if what and "float-ok" not in lines[node.lineno - 1]:
            found.append((node.lineno, what))
    return found


def test_lint_catches_floats():
    # The check itself must be able to fail.
    assert float_uses("x = 1.5\n")
    assert float_uses("y = a / b\n")
    assert float_uses("y = float(s)\n")
    assert float_uses("y /= 2\n")
    assert not float_uses("y = a // b  # integer\n")
    assert not float_uses("y = a / b  # float-ok: display only\n")


def test_firmware_and_protocol_use_integer_arithmetic():
    problems = []
    for path in _sources():
        with open(path) as f:
            for line, what in float_uses(f.read()):
                problems.append("%s:%d: %s" % (os.path.relpath(path, ROOT), line, what))
    assert not problems, "floats in firmware/protocol:\n" + "\n".join(problems)
