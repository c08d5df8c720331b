"""SIM800 / SIM7000 emulator for the bench: an AT state machine on a pyserial URL.

It implements the commands `docs/modem.md` lists (the conversation `firmware/drivers/sim800.py` uses),
opens real TCP connections on loopback for `AT+CIPSTART`, and injects the faults a real modem shows
(no network, +CME ERROR, slow answers, silence, resets, under-voltage, dropped connections).
Fault attributes may be changed from any thread while it runs.
"""

import ipaddress
import socket
import threading
import time

from hil_tests.emulators.serial_line import SerialEmulator

BOOT_BANNER = (b"RDY", b"+CFUN: 1", b"+CPIN: READY", b"Call Ready", b"SMS Ready")


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unquote(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


def _split_args(text):
    """Comma-separated AT arguments with quoted strings kept whole (quotes removed)."""
    args, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            cur += ch
        elif ch == "," and not quoted:
            args.append(_unquote(cur))
            cur = ""
        else:
            cur += ch
    args.append(_unquote(cur))
    return args


class Sim800Emulator(SerialEmulator):
    thread_name = "sim800-emu"

    def __init__(self, url, server=None, profile="sim800", time_fn=time.time, tz_quarters=4, baudrate=115200,
                 chunk=1000, powered=True):
        super().__init__(url, baudrate)
        self.server = tuple(server) if server else None
        self.profile = profile
        self.time_fn = time_fn
        self.tz_quarters = tz_quarters
        self.chunk = chunk  # bytes per +IPD frame
        # fault modes
        self.registered = True
        self.delay_s = 0.0
        self.silent = False
        self.reset_during_transfer = False
        self.drop_on_transfer = False
        self.under_voltage_on_transfer = False
        self._failures = []  # [prefix, reply, remaining count or None]
        # observations
        self.commands = []
        self.sent_sms = []
        self.connections = 0
        self.tcp_sent = b""
        self.boots = 0
        self.csq = 18
        # state
        self._wlock = threading.RLock()
        self._state_lock = threading.RLock()
        self._powered = bool(powered)  # False: off until set_power(1) (the box's modem_power pin)
        # Until the bench wires the box's power pin to set_power(), a modem the box switched off with
        # AT+CPOWD=1 comes back on the next byte it receives (standing in for the power-key pulse the
        # box gives it): otherwise an unwired bench could sync only once.
        self.wired = False
        self._wake_on_input = False
        self._sms = {}
        self._reset_state()

    # ------------------------------------------------------------------ life cycle
    def _reset_state(self):
        self.echo = True
        self.cmee = 0
        self.attached = self.registered
        self.muxed = 0
        self.head = 0
        self.rxget = 0
        self.apn = None
        self.ip_state = "IP INITIAL"
        self._close_socket()
        self._rxbuf = b""
        self._rx_announced = False

    def _release(self):
        # start/stop/context manager: SerialEmulator; the TCP connection goes before the port
        self._close_socket()
        super()._release()

    # ------------------------------------------------------------------ fault controls
    def fail(self, prefix, reply="+CME ERROR: 100", count=1):
        with self._state_lock:
            self._failures.append([prefix, reply, count])

    def clear_failures(self):
        with self._state_lock:
            self._failures = []

    def under_voltage(self):
        self._urc(b"UNDER-VOLTAGE WARNNING")

    def drop_connection(self):
        with self._state_lock:
            had = self._sock is not None or self.ip_state != "IP INITIAL"
            self._close_socket()
            self.ip_state = "PDP DEACT"
            self.attached = False
        if had:
            self._urc(b"+PDP: DEACT")

    def set_power(self, on):
        self.wired = True
        self._wake_on_input = False
        on = bool(on)
        if on and not self._powered:
            self._powered = True
            self.reboot()
        elif not on and self._powered:
            self._powered = False
            with self._state_lock:
                self._reset_state()

    def reboot(self):
        with self._state_lock:
            self._reset_state()
            self.attached = self.registered
        self.boots += 1
        self._sms = {}
        for line in BOOT_BANNER:
            self._urc(line)

    def ring(self):
        self._urc(b"RING")

    def receive_sms(self, sender, text):
        index = 1
        while index in self._sms:
            index += 1
        self._sms[index] = ("REC UNREAD", sender, text)
        self._urc(b'+CMTI: "SM",%d' % index)
        return index

    # ------------------------------------------------------------------ output
    def _write(self, data):
        if not self._powered:
            return False
        with self._wlock:
            return super()._write(data)

    def _urc(self, line):
        if self.silent:
            return
        self._write(b"\r\n" + line + b"\r\n")

    def _reply(self, *lines):
        out = b"".join(b"\r\n" + (ln.encode() if isinstance(ln, str) else ln) + b"\r\n" for ln in lines)
        self._write(out)

    # ------------------------------------------------------------------ input loop
    def _received(self, data):
        if not self._powered:
            if self._wake_on_input:
                self._wake_on_input = False
                self._powered = True
                self.reboot()
            return
        buf = self._rx + data
        while True:
            i = buf.find(b"\r")
            if i < 0:
                if len(buf) > 2048:
                    buf = b""
                break
            raw, buf = buf[:i], buf[i + 1:]
            if self.echo and not self.silent:
                self._write(raw + b"\r")
            line = raw.strip(b"\n ").decode("latin-1")
            if not line:
                continue
            buf = self._command(line, buf)
        self._rx = buf

    def _read_exact(self, n, initial, timeout=10.0):
        """Payload bytes after a `>` prompt: `initial` already buffered, the rest from the line."""
        data = initial
        deadline = time.monotonic() + timeout
        while len(data) < n and time.monotonic() < deadline and not self._stop.is_set():
            data += self._serial.read(n - len(data)) or b""
        return data[:n], data[n:]

    def _read_until_ctrlz(self, initial, timeout=60.0):
        data = initial
        deadline = time.monotonic() + timeout
        while b"\x1a" not in data and b"\x1b" not in data and time.monotonic() < deadline:
            data += self._serial.read(64) or b""
        for end in (b"\x1a", b"\x1b"):
            i = data.find(end)
            if i >= 0:
                return data[:i], end, data[i + 1:]
        return data, None, b""

    def _command(self, line, rest):
        """Handle one command line; returns the unread input (data modes consume some of it)."""
        self.commands.append(line)
        if self.silent:
            return rest
        if self.delay_s:
            time.sleep(self.delay_s)
        up = line.upper()
        with self._state_lock:
            for failure in self._failures:
                if up.startswith(failure[0].upper()):
                    if failure[2] is not None:
                        failure[2] -= 1
                        if failure[2] <= 0:
                            self._failures.remove(failure)
                    self._reply(failure[1])
                    return rest
        if not up.startswith("AT"):
            self._reply("ERROR")
            return rest
        body = line[2:]
        name, arg = body, None
        for sep in ("=?", "?", "="):
            if sep in body:
                name, arg = body.split(sep, 1)
                name = name.upper()
                arg = (sep, arg)
                break
        else:
            name = body.upper()
        handler = self._handlers().get(name.strip())
        if handler is None:
            self._reply("ERROR")
            return rest
        out = handler(arg, rest)
        return rest if out is None else out

    def _handlers(self):
        return {
            "": lambda a, r: self._reply("OK"),
            "E0": lambda a, r: self._set_echo(False),
            "E1": lambda a, r: self._set_echo(True),
            "I": lambda a, r: self._reply("SIM800 R14.18" if self.profile == "sim800" else "SIM7000E R1351", "OK"),
            "+CMEE": self._cmee,
            "+CMGF": lambda a, r: self._reply("OK"),
            "+CLTS": lambda a, r: self._reply("OK"),
            "+CNMP": lambda a, r: self._reply("OK"),
            "+CMNB": lambda a, r: self._reply("OK"),
            "+CPIN": lambda a, r: self._reply("+CPIN: READY", "OK"),
            "+CSQ": lambda a, r: self._reply("+CSQ: %d,0" % (self.csq if self.registered else 99), "OK"),
            "+CREG": lambda a, r: self._reg("+CREG"),
            "+CGREG": lambda a, r: self._reg("+CGREG"),
            "+CEREG": lambda a, r: self._reg("+CEREG"),
            "+CGATT": self._cgatt,
            "+CIPSHUT": self._cipshut,
            "+CIPMUX": self._cipmux,
            "+CIPHEAD": self._ciphead,
            "+CIPRXGET": self._ciprxget,
            "+CSTT": self._cstt,
            "+CIICR": self._ciicr,
            "+CIFSR": self._cifsr,
            "+CIPSTATUS": lambda a, r: self._reply("OK", "STATE: %s" % self.ip_state),
            "+CIPSTART": self._cipstart,
            "+CIPSEND": self._cipsend,
            "+CIPCLOSE": self._cipclose,
            "+CCLK": self._cclk,
            "+CMGS": self._cmgs,
            "+CMGR": self._cmgr,
            "+CMGD": self._cmgd,
            "+CPOWD": self._cpowd,
        }

    # ------------------------------------------------------------------ commands
    def _error(self, code=None):
        if code is not None and self.cmee:
            self._reply("+CME ERROR: %d" % code)
        else:
            self._reply("ERROR")

    def _set_echo(self, on):
        self.echo = on
        self._reply("OK")

    def _cmee(self, arg, rest):
        if arg and arg[0] == "=":
            self.cmee = int(arg[1] or 0)
        self._reply("OK")

    def _reg(self, name):
        self._reply("%s: 0,%d" % (name, 1 if self.registered else 2), "OK")

    def _cgatt(self, arg, rest):
        if arg and arg[0] == "?":
            self._reply("+CGATT: %d" % (1 if (self.attached and self.registered) else 0), "OK")
        elif arg and arg[0] == "=":
            if arg[1].strip() == "1":
                if not self.registered:
                    self._error(30)
                    return
                self.attached = True
            else:
                self.attached = False
            self._reply("OK")
        else:
            self._reply("ERROR")

    def _cipshut(self, arg, rest):
        with self._state_lock:
            self._close_socket()
            self.ip_state = "IP INITIAL"
        self._reply("SHUT OK")

    def _cipmux(self, arg, rest):
        if arg and arg[0] == "=" and self.ip_state == "IP INITIAL":
            self.muxed = int(arg[1] or 0)
            self._reply("OK")
        else:
            self._reply("ERROR")

    def _ciphead(self, arg, rest):
        if arg and arg[0] == "=":
            self.head = int(arg[1] or 0)
            self._reply("OK")
        else:
            self._reply("+CIPHEAD: %d" % self.head, "OK")

    def _ciprxget(self, arg, rest):
        if not arg or arg[0] != "=":
            self._reply("ERROR")
            return
        args = _split_args(arg[1])
        mode = int(args[0] or 0)
        if mode in (0, 1):
            if self.ip_state not in ("IP INITIAL", "IP STATUS"):
                self._reply("ERROR")
                return
            self.rxget = mode
            self._reply("OK")
            return
        if mode == 2 and self.rxget:
            want = int(args[1]) if len(args) > 1 else 1460
            with self._state_lock:
                if not self._rxbuf and self._sock is None and self.ip_state != "TCP CLOSED":
                    self._reply("ERROR")
                    return
                data, self._rxbuf = self._rxbuf[:want], self._rxbuf[want:]
                if not self._rxbuf:
                    self._rx_announced = False
                remaining = len(self._rxbuf)
            self._write(b"\r\n+CIPRXGET: 2,%d,%d\r\n" % (len(data), remaining) + data + b"\r\nOK\r\n")
            return
        if mode == 4 and self.rxget:
            self._reply("+CIPRXGET: 4,%d" % len(self._rxbuf), "OK")
            return
        self._reply("ERROR")

    def _cstt(self, arg, rest):
        if not arg or arg[0] != "=" or self.ip_state != "IP INITIAL":
            self._reply("ERROR")
            return
        self.apn = _split_args(arg[1])[0]
        self.ip_state = "IP START"
        self._reply("OK")

    def _ciicr(self, arg, rest):
        if self.ip_state != "IP START" or not self.registered or not self.attached:
            self._reply("ERROR")
            return
        self.ip_state = "IP GPRSACT"
        self._reply("OK")

    def _cifsr(self, arg, rest):
        if self.ip_state not in ("IP GPRSACT", "IP STATUS", "CONNECT OK", "TCP CLOSED"):
            self._reply("ERROR")
            return
        if self.ip_state == "IP GPRSACT":
            self.ip_state = "IP STATUS"
        self._reply("10.64.12.7")

    def _cipstart(self, arg, rest):
        if not arg or arg[0] != "=":
            self._reply("ERROR")
            return
        args = _split_args(arg[1])
        if len(args) != 3 or args[0].upper() != "TCP":
            self._reply("ERROR")
            return
        if self.ip_state == "CONNECT OK":
            self._reply("OK", "ALREADY CONNECT")
            return
        if self.ip_state not in ("IP STATUS", "TCP CLOSED", "IP INITIAL"):
            self._reply("ERROR")
            return
        self._reply("OK")
        host, port = args[1], int(args[2])
        target = self.server if self.server else (host, port)
        if not self.registered or not self.attached or not _is_loopback(target[0]):
            self.ip_state = "TCP CLOSED"
            self._reply("STATE: TCP CLOSED", "CONNECT FAIL")
            return
        try:
            sock = socket.create_connection(target, timeout=5)
        except OSError:
            self.ip_state = "TCP CLOSED"
            self._reply("STATE: TCP CLOSED", "CONNECT FAIL")
            return
        with self._state_lock:
            self._sock = sock
            self._rxbuf = b""
            self._rx_announced = False
            self.ip_state = "CONNECT OK"
            self.connections += 1
        t = threading.Thread(target=self._socket_reader, args=(sock,), name="sim800-tcp", daemon=True)
        t.start()
        self._reply("CONNECT OK")

    def _socket_reader(self, sock):
        while not self._stop.is_set():
            try:
                data = sock.recv(4096)
            except OSError:
                data = None
            with self._state_lock:
                if self._sock is not sock:
                    return  # closed by us (CIPCLOSE, CIPSHUT, drop, reset)
                if data:
                    if self.rxget:
                        self._rxbuf += data
                        if not self._rx_announced:
                            self._rx_announced = True
                            self._urc(b"+CIPRXGET: 1")
                    else:
                        for i in range(0, len(data), self.chunk):
                            part = data[i:i + self.chunk]
                            if self.head:
                                self._write(b"\r\n+IPD,%d:" % len(part) + part)
                            else:
                                self._write(part)
                    continue
                self._sock = None
                self.ip_state = "TCP CLOSED"
                try:
                    sock.close()
                except OSError:
                    pass
                self._urc(b"CLOSED")
                return

    def _cipsend(self, arg, rest):
        if self.ip_state != "CONNECT OK" or not arg or arg[0] != "=":
            self._reply("ERROR")
            return
        n = int(arg[1])
        if n <= 0 or n > 1460:
            self._reply("ERROR")
            return
        self._write(b"\r\n> ")
        data, rest = self._read_exact(n, rest)
        if self.echo:
            self._write(data)
        if self.reset_during_transfer:
            self.reset_during_transfer = False
            self._write(b"\x00\xff")  # the line glitch a brown-out reset leaves
            self.reboot()
            return rest
        with self._state_lock:
            sock = self._sock
        if sock is None or len(data) < n:
            self._reply("SEND FAIL")
            return rest
        try:
            sock.sendall(data)
            self.tcp_sent += data
        except OSError:
            self._reply("SEND FAIL")
            return rest
        self._reply("SEND OK")
        if self.under_voltage_on_transfer:
            self.under_voltage()
        if self.drop_on_transfer:
            self.drop_on_transfer = False
            self.drop_connection()
        return rest

    def _cipclose(self, arg, rest):
        with self._state_lock:
            if self._sock is None:
                self._reply("ERROR")
                return
            self._close_socket()
            self.ip_state = "TCP CLOSED"
        self._reply("CLOSE OK")

    def _close_socket(self):
        sock = getattr(self, "_sock", None)
        self._sock = None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _cclk(self, arg, rest):
        local = int(self.time_fn()) + self.tz_quarters * 15 * 60
        tm = time.gmtime(local)
        sign = "+" if self.tz_quarters >= 0 else "-"
        self._reply('+CCLK: "%02d/%02d/%02d,%02d:%02d:%02d%s%02d"' % (
            tm.tm_year % 100, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
            abs(self.tz_quarters)), "OK")

    def _cmgs(self, arg, rest):
        if not arg or arg[0] != "=" or not self.registered:
            self._error(331)
            return
        number = _split_args(arg[1])[0]
        self._write(b"\r\n> ")
        text, end, rest = self._read_until_ctrlz(rest)
        if end != b"\x1a":
            self._reply("ERROR") if end is None else self._reply("OK")
            return rest
        self.sent_sms.append((number, text.decode("latin-1")))
        self._reply("+CMGS: %d" % len(self.sent_sms), "OK")
        return rest

    def _cmgr(self, arg, rest):
        try:
            index = int(arg[1])
        except (TypeError, ValueError, IndexError):
            self._reply("ERROR")
            return
        entry = self._sms.get(index)
        if entry is None:
            self._reply("OK")
            return
        status, sender, text = entry
        self._sms[index] = ("REC READ", sender, text)
        self._reply('+CMGR: "%s","%s","","26/11/27,08:00:00+04"' % (status, sender), text, "OK")

    def _cmgd(self, arg, rest):
        try:
            self._sms.pop(int(_split_args(arg[1])[0]), None)
        except (TypeError, ValueError, IndexError):
            self._reply("ERROR")
            return
        self._reply("OK")

    def _cpowd(self, arg, rest):
        self._reply("NORMAL POWER DOWN")
        self._powered = False
        self._wake_on_input = not self.wired
        with self._state_lock:
            self._reset_state()
