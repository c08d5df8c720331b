"""The bench harness: pty links, firmware processes, the control channel, a live server, box fleets.

Tests and tools/demo.py build on these pieces; they speak to the firmware only through its serial lines
and its control channel (docs/bench.md), never through its internals.
"""
