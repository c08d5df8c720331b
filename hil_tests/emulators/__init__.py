"""Peripheral emulators for the bench (CPython, pyserial URLs, threads, `start()`/`stop()`).

- `hil_tests.emulators.sim800.Sim800Emulator`: SIM800/SIM7000 AT state machine, real loopback TCP, faults.
- `hil_tests.emulators.reader.PN532Emulator`, `Rdm6300Emulator`: badge readers with `tap(uid)`/`remove()`.
- `hil_tests.emulators.gps.GpsEmulator`: NMEA receiver replaying a route from tools/tracks.py.
- `hil_tests.emulators.serial_line.SerialEmulator`: the port, thread and start/stop they all share.

The conversations they implement and their fault modes are in docs/modem.md.
"""
