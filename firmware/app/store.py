# Small persistent values (immobilizer state, sync counter, allow-list, settings): written to a
# temporary file then renamed over the old one, so a power cut leaves either the old or the new value,
# never half of one. A missing or unreadable file gives the default.
import json


def write(fs, name, value):
    tmp = name + ".tmp"
    f = fs.open(tmp, "wb")
    try:
        f.write(json.dumps(value).encode())
    finally:
        f.close()
    fs.rename(tmp, name)


def read(fs, name, default=None):
    try:
        f = fs.open(name, "rb")
    except OSError:
        return default
    try:
        data = f.read()
    finally:
        f.close()
    try:
        return json.loads(data)
    except (ValueError, TypeError):
        return default
