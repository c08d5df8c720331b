"""The serial plumbing the bench emulators share: a port, one thread, tolerant reads and writes.

    class Echo(SerialEmulator):
        thread_name = "echo"
        def _received(self, data):        # called by the default thread body with what arrived
            self._write(data)

    with Echo("loop://", baudrate=9600) as emu:   # any pyserial URL, or an already open serial object
        ...

`start()` opens the port (only a URL string is opened here, and only a port opened here is closed by
`stop()`: an open serial object handed in stays open), then runs `_run` in a daemon thread until
`stop()`. The default `_run` reads what arrives (`_read_available`) and hands it to `_received`; a device
that only talks (the GPS receiver, the RDM6300) overrides `_run` and waits on `self._stop`. `_write`
never raises: a write that fails (port closed while stopping, a reader unplugged) is dropped and
reported by its return value.
"""

import threading
import time

import serial


class SerialEmulator:
    thread_name = None  # default: the class name
    read_timeout = 0.05  # seconds a read waits for its first byte: how fast the thread notices stop()
    write_timeout = None  # pyserial's default (block until written)
    join_timeout = 2.0  # seconds stop() waits for the thread

    def __init__(self, url_or_serial, baudrate):
        self.url = url_or_serial
        self.baudrate = baudrate
        self._serial = None
        self._own_serial = False
        self._stop = threading.Event()
        self._thread = None
        self._rx = b""  # bytes received and not yet consumed (for `_received` implementations)

    # -- life cycle -------------------------------------------------------------------------------------

    def open(self):
        """Open the port (a URL string) or take the serial object given; returns it."""
        if isinstance(self.url, str):
            kwargs = {"timeout": self.read_timeout}
            if self.write_timeout is not None:
                kwargs["write_timeout"] = self.write_timeout
            self._serial = serial.serial_for_url(self.url, baudrate=self.baudrate, **kwargs)
            self._own_serial = True
        else:
            self._serial = self.url
            self._own_serial = False
        return self._serial

    def start(self):
        self.open()
        self._rx = b""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name or type(self).__name__,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)
            self._thread = None
        self._release()

    def _release(self):
        """After the thread has stopped: close the port if `open()` opened it (subclasses add their own)."""
        if self._own_serial and self._serial is not None:
            try:
                self._serial.close()
            except Exception:
                pass
        self._serial = None
        self._own_serial = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- thread -----------------------------------------------------------------------------------------

    def _run(self):
        """The thread body: read what arrives and hand it to `_received`, until stop()."""
        while not self._stop.is_set():
            try:
                data = self._read_available()
            except Exception:
                if self._stop.is_set():
                    return
                time.sleep(0.05)  # the port went away for a moment: do not spin
                continue
            if data:
                self._received(data)

    def _received(self, data):
        raise NotImplementedError

    # -- I/O --------------------------------------------------------------------------------------------

    def _read_available(self):
        # One byte with the port timeout, then whatever else is already there: no 50 ms wait per command.
        data = self._serial.read(1)
        if data:
            waiting = self._serial.in_waiting
            if waiting:
                data += self._serial.read(waiting)
        return data

    def _write(self, data):
        """Write `data`; True if written. Errors (a port closed while stopping) are swallowed."""
        port = self._serial
        if port is None:
            return False
        try:
            port.write(data)
        except Exception:
            return False
        return True
