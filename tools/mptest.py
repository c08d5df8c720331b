# Minimal test runner for the MicroPython Unix port (pytest does not run there).
# Usage: micropython tools/mptest.py [--build DIR] [-k SUBSTR] DIR_OR_FILE...
# Imports every test_*.py, calls every test_* function, prints "N passed, N failed" and exits 1 on any
# failure. With --build DIR the firmware and protocol come from the mpy-cross output instead of the source.
# Files that need CPython only (hypothesis, pynmea2, sqlite) live elsewhere (tests/properties, tests/server).
import gc
import os
import sys

ROOT = __file__.rsplit("/", 2)[0] if "/" in __file__ else "."
if ROOT == "tools" or ROOT == "":
    ROOT = "."


def _is_dir(path):
    try:
        return (os.stat(path)[0] & 0x4000) != 0
    except OSError:
        return False


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _collect(paths):
    files = []
    for path in paths:
        if _is_dir(path):
            for name in sorted(os.listdir(path)):
                if name.startswith("test_") and name.endswith(".py"):
                    files.append(path.rstrip("/") + "/" + name)
        elif path.endswith(".py") and _exists(path):
            files.append(path)
        else:
            raise SystemExit("no such test file or directory: " + path)
    return files


def _run_file(path, keyword, counts):
    directory, filename = path.rsplit("/", 1) if "/" in path else (".", path)
    modname = filename[:-3]
    sys.path.insert(0, directory)
    try:
        if modname in sys.modules:
            del sys.modules[modname]
        module = __import__(modname)
    except Exception as exc:
        counts[1] += 1
        print("ERROR importing %s:" % path)
        sys.print_exception(exc)
        return
    finally:
        sys.path.pop(0)
    names = sorted(n for n in dir(module) if n.startswith("test_"))
    for name in names:
        if keyword and keyword not in name:
            continue
        func = getattr(module, name)
        if not callable(func):
            continue
        try:
            func()
            counts[0] += 1
        except Exception as exc:
            counts[1] += 1
            print("FAILED %s::%s" % (path, name))
            sys.print_exception(exc)
        gc.collect()
    del sys.modules[modname]


def main(argv):
    build = None
    keyword = None
    paths = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--build":
            build = argv[i + 1]
            i += 2
            continue
        if arg == "-k":
            keyword = argv[i + 1]
            i += 2
            continue
        paths.append(arg)
        i += 1
    # Code under test: the compiled build if given (protocol is inside it), else the sources.
    if build:
        sys.path.insert(0, build)
    else:
        sys.path.insert(0, ROOT + "/firmware")
        sys.path.insert(0, ROOT)
    sys.path.append(ROOT + "/tests")
    counts = [0, 0]
    for path in _collect(paths or [ROOT + "/tests/firmware", ROOT + "/tests/protocol"]):
        _run_file(path, keyword, counts)
    print("micropython: %d passed, %d failed" % (counts[0], counts[1]))
    if counts[0] == 0 and counts[1] == 0:
        print("no test ran")
        sys.exit(1)
    sys.exit(1 if counts[1] else 0)


main(sys.argv[1:])
