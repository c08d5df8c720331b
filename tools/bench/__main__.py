"""Benchmarks that print `name: value` lines; they measure, they never assert.

Usage: python -m tools.bench NAME [args...]   (NAME is a module of tools/bench, e.g. protocol, nmea)
       python -m tools.bench all              (every benchmark in turn)
"""

import importlib
import os
import pkgutil
import sys


def available():
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(m.name for m in pkgutil.iter_modules([here]) if not m.name.startswith("_"))


def run(name, argv):
    module = importlib.import_module("tools.bench." + name)
    return module.main(argv) or 0


def main(argv):
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("available: " + ", ".join(names))
        return 0 if argv else 2
    if argv[0] == "all":
        status = 0
        for name in names:
            print("# bench " + name, flush=True)
            status |= run(name, [])
        return status
    if argv[0] not in names:
        print("unknown benchmark %r; available: %s" % (argv[0], ", ".join(names)), file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
