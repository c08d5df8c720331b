# Helpers shared by the unit tests that run under both CPython (pytest) and MicroPython (tools/mptest.py).
# pytest fixtures do not exist under MicroPython, so tests call these plain functions instead.
import os

_counter = [0]


def raises(exc_type, func, *args, **kwargs):
    """Call func and return the exception it raised; fail if it raised nothing or another type."""
    try:
        func(*args, **kwargs)
    except exc_type as exc:
        return exc
    raise AssertionError("expected %s" % exc_type.__name__)


def temp_dir(prefix="t"):
    """A fresh empty directory under /tmp (removed contents first if it already existed)."""
    _counter[0] += 1
    tag = "".join("%02x" % b for b in os.urandom(4))
    path = "/tmp/autopartage-test-%s-%s-%d" % (tag, prefix, _counter[0])
    remove_tree(path)
    os.mkdir(path)
    return path


def remove_tree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        child = path + "/" + name
        try:
            os.remove(child)
        except OSError:
            remove_tree(child)
    os.rmdir(path)
