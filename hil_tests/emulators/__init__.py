"""Peripheral emulators for the bench (CPython, pyserial URLs, threads, `start()`/`stop()`).

- `hil_tests.emulators.modems.make(family, url)`: the modem emulator of a family, on the shared SIMCom base
  (`simcom.SimcomEmulator`: AT line discipline, common commands, faults, power, real loopback TCP):
  `sim800.Sim800Emulator` (SIM800/SIM7000), `a7670.A7670Emulator`, `sim7080.Sim7080Emulator`.
- `hil_tests.emulators.reader.PN532Emulator`, `Rdm6300Emulator`: badge readers with `tap(uid)`/`remove()`.
- `hil_tests.emulators.gps.GpsEmulator`: NMEA receiver replaying a route from tools/tracks.py.
- `hil_tests.emulators.serial_line.SerialEmulator`: the port, thread and start/stop they all share.

The conversations they implement and their fault modes are in docs/modem.md.
"""
