"""What every SIMCom modem emulator shares: the AT line discipline, the common commands, the fault modes,
power, and the real loopback TCP connection behind the family's socket commands.

A family subclass (sim800.py, a7670.py, sim7080.py) sets `model`, `ati`, `boot_banner`, its URCs and
adds its own commands in `_family_handlers()` (`set_args()` splits their arguments); its socket commands
call `_connect()`, `_take_payload()` (or `_send_payload()`), `_answer_send()` and `_close_socket()`, and
it says what arrives from the peer in `_on_data()` and `_on_peer_closed()`.
Fault attributes may be changed from any thread while it runs (docs/modem.md, "Emulators").
"""

import ipaddress
import socket
import threading
import time

from hil_tests.emulators.serial_line import SerialEmulator


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


def split_args(text):
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


def set_args(arg):
    """The arguments of an `AT+X=...` command ([] for a bare `AT+X` and its `?` and `=?` forms)."""
    return split_args(arg[1]) if arg and arg[0] == "=" else []


class SimcomEmulator(SerialEmulator):
    thread_name = "simcom-emu"
    family = None
    model = "SIMCOM"  # AT+CGMM
    ati = ("SIMCOM",)  # ATI lines before OK
    boot_banner = (b"RDY", b"+CFUN: 1", b"+CPIN: READY")
    under_voltage_urc = b"UNDER-VOLTAGE WARNNING"  # None: the family has no such URC
    reg_commands = ("+CREG", "+CGREG", "+CEREG")
    tcp_commands = ()  # the family's open and send commands (what a TCP exchange in flight is waiting on)
    max_send = 1460

    def __init__(self, url, server=None, time_fn=time.time, tz_quarters=4, baudrate=115200, powered=True):
        super().__init__(url, baudrate)
        self.server = tuple(server) if server else None
        self.time_fn = time_fn
        self.tz_quarters = tz_quarters
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
        self.connections = 0
        self.tcp_sent = b""
        self.boots = 0
        self.csq = 18
        # state
        self._wlock = threading.RLock()
        self._state_lock = threading.RLock()
        self._sock = None
        self._powered = bool(powered)  # False: off until set_power(1) (the box's modem_power pin)
        # Until the bench wires the box's power pin to set_power(), a modem the box switched off by command
        # comes back on the next byte it receives (standing in for the power-key press the box gives it):
        # otherwise an unwired bench could sync only once.
        self.wired = False
        self._wake_on_input = False
        self._reset_state()

    # ------------------------------------------------------------------ life cycle
    def _reset_state(self):
        self.echo = True
        self.cmee = 0
        self.attached = self.registered
        self._close_socket()
        self._rxbuf = b""
        self._reset_family()

    def _reset_family(self):
        """The family's own state back to power-on."""

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
        if self.under_voltage_urc:
            self._urc(self.under_voltage_urc)

    def drop_connection(self):
        """The network drops the data bearer now (the family's URC says so)."""
        with self._state_lock:
            lines = self._drop_bearer()
            self._close_socket()
            self.attached = False
        for line in lines:
            self._urc(line)

    def _drop_bearer(self):
        """Forget the bearer; return the URC lines the family sends when the network drops it."""
        raise NotImplementedError

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
        self._rebooted()
        for line in self.boot_banner:
            self._urc(line)

    def _rebooted(self):
        """Family state a restart loses beyond `_reset_state` (stored SMS...)."""

    def ring(self):
        self._urc(b"RING")

    def _power_down(self):
        """Switched off by command (AT+CPOWD=1, AT+CPOF): silent until powered again."""
        self._powered = False
        self._wake_on_input = not self.wired
        with self._state_lock:
            self._reset_state()

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

    def _error(self, code=None):
        if code is not None and self.cmee:
            self._reply("+CME ERROR: %d" % code)
        else:
            self._reply("ERROR")

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
        table = {
            "": lambda a, r: self._reply("OK"),
            "E0": lambda a, r: self._set_echo(False),
            "E1": lambda a, r: self._set_echo(True),
            "I": lambda a, r: self._reply(*(tuple(self.ati) + ("OK",))),
            "+CGMM": lambda a, r: self._reply(self.model, "OK"),
            "+CMEE": self._cmee,
            "+CPIN": lambda a, r: self._reply("+CPIN: READY", "OK"),
            "+CSQ": lambda a, r: self._reply("+CSQ: %d,0" % (self.csq if self.registered else 99), "OK"),
            "+CGATT": self._cgatt,
            "+CCLK": self._cclk,
        }
        for name in self.reg_commands:
            table[name] = lambda a, r, name=name: self._reg(name)
        table.update(self._family_handlers())
        return table

    def _family_handlers(self):
        return {}

    # ------------------------------------------------------------------ common commands
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

    def _cclk(self, arg, rest):
        local = int(self.time_fn()) + self.tz_quarters * 15 * 60
        tm = time.gmtime(local)
        sign = "+" if self.tz_quarters >= 0 else "-"
        self._reply('+CCLK: "%02d/%02d/%02d,%02d:%02d:%02d%s%02d"' % (
            tm.tm_year % 100, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
            abs(self.tz_quarters)), "OK")

    # ------------------------------------------------------------------ the TCP connection
    def _connect(self, host, port):
        """A real TCP connection to `server` (or to `host` if it is loopback); False when refused."""
        target = self.server if self.server else (host, port)
        if not self.registered or not self.attached or not _is_loopback(target[0]):
            return False
        try:
            sock = socket.create_connection(target, timeout=5)
        except OSError:
            return False
        with self._state_lock:
            self._sock = sock
            self._rxbuf = b""
            self.connections += 1
        t = threading.Thread(target=self._socket_reader, args=(sock,), name="%s-tcp" % self.thread_name,
                             daemon=True)
        t.start()
        return True

    def _socket_reader(self, sock):
        while not self._stop.is_set():
            try:
                data = sock.recv(4096)
            except OSError:
                data = None
            with self._state_lock:
                if self._sock is not sock:
                    return  # closed by us (close command, bearer down, drop, reset)
                if data:
                    self._on_data(data)
                    continue
                self._sock = None
                try:
                    sock.close()
                except OSError:
                    pass
                self._on_peer_closed()
                return

    def _on_data(self, data):
        """Bytes from the peer (state lock held): buffer and announce, or push them to the box."""
        raise NotImplementedError

    def _on_peer_closed(self):
        """The peer closed (state lock held): the family's close URC."""
        raise NotImplementedError

    def _close_socket(self):
        sock = self._sock
        self._sock = None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _send_payload(self, n, rest, prompt=b"\r\n> "):
        """Prompt, read `n` payload bytes and send them on the connection. Returns (sent, rest): sent is
        None when the modem reset during the transfer (the fault), False when the send failed."""
        self._write(prompt)
        data, rest = self._read_exact(n, rest)
        if self.echo:
            self._write(data)
        if self.reset_during_transfer:
            self.reset_during_transfer = False
            self._write(b"\x00\xff")  # the line glitch a brown-out reset leaves
            self.reboot()
            return None, rest
        with self._state_lock:
            sock = self._sock
        if sock is None or len(data) < n:
            return False, rest
        try:
            sock.sendall(data)
            self.tcp_sent += data
        except OSError:
            return False, rest
        return True, rest

    def _take_payload(self, count, rest, prompt=b"\r\n> "):
        """A send command's payload: `count` (its text) over max_send or under 1 is an ERROR, otherwise
        _send_payload. Returns (sent, rest); sent None too when the count was refused (answered already)."""
        n = int(count)
        if n <= 0 or n > self.max_send:
            self._reply("ERROR")
            return None, rest
        return self._send_payload(n, rest, prompt)

    def _answer_send(self, sent, ok, fail):
        """The answer of a send command that says at once how it went (`ok`/`fail` lines), then the
        transfer faults; nothing when `sent` is None (refused or reset: answered already)."""
        if sent is None:
            return
        if not sent:
            self._reply(fail)
            return
        self._reply(ok)
        self._after_send()

    def _after_send(self):
        """What follows a successful send's answer: the transfer faults."""
        if self.under_voltage_on_transfer:
            self.under_voltage()
        if self.drop_on_transfer:
            self.drop_on_transfer = False
            self.drop_connection()
