# The hardware layer: hal.board() returns the platform's board (ESP32 or the Unix port bench).
# Contract: docs/architecture.md ("hal/"); the Unix control channel: docs/bench.md.
import json
import sys

_board = []  # type: list


def load_config(path):
    """The box's config.json as a dict ({} when missing or unreadable: the box still boots, not ready)."""
    try:
        with open(path) as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def urandom(n):
    """n random bytes from the platform's generator (ESP32: hardware RNG; Unix: the kernel's): the RESYNC
    nonce must not repeat across boots, which a freshly seeded PRNG could do."""
    import os

    return os.urandom(n)


def board(config=None, port=None):
    """The board singleton. On the Unix port the config path comes from `--config PATH`. `port` is the HAL
    module to build it with, the platform's by default (the bench's ESP32 stand-in passes hal.esp32)."""
    if not _board:
        if port is None and sys.platform == "esp32":
            from hal import esp32 as port
        elif port is None:
            from hal import unix as port  # type: ignore[no-redef]
        if config is None:
            config = load_config(port.config_path())
        _board.append(port.Board(config))
    return _board[0]
