"""SIM800 / SIM7000 emulator for the bench: the SIMCom "CIP" TCP/IP command set on the shared base.

It implements the commands `docs/modem.md` lists for this family (the conversation `firmware/drivers/sim800.py`
uses), on top of `hil_tests/emulators/simcom.py` (line discipline, common commands, faults, real loopback TCP).
"""

import time

from hil_tests.emulators.simcom import SimcomEmulator, set_args, split_args

BOOT_BANNER = (b"RDY", b"+CFUN: 1", b"+CPIN: READY", b"Call Ready", b"SMS Ready")


class Sim800Emulator(SimcomEmulator):
    thread_name = "sim800-emu"
    family = "sim800"
    boot_banner = BOOT_BANNER
    tcp_commands = ("AT+CIPSTART", "AT+CIPSEND")  # open, send: a TCP exchange in flight
    reg_commands = ("+CREG", "+CGREG", "+CEREG")

    def __init__(self, url, server=None, profile="sim800", time_fn=time.time, tz_quarters=4, baudrate=115200,
                 chunk=1000, powered=True):
        self.profile = profile
        self.chunk = chunk  # bytes per +IPD frame
        if profile == "sim7000":
            self.model, self.ati = "SIMCOM_SIM7000E", ("SIM7000E R1351",)
        else:
            self.model, self.ati = "SIMCOM_SIM800L", ("SIM800 R14.18",)
        super().__init__(url, server=server, time_fn=time_fn, tz_quarters=tz_quarters, baudrate=baudrate,
                         powered=powered)

    def _reset_family(self):
        self.muxed = 0
        self.head = 0
        self.rxget = 0
        self.apn = None
        self.ip_state = "IP INITIAL"
        self._rx_announced = False

    def _drop_bearer(self):
        had = self._sock is not None or self.ip_state != "IP INITIAL"
        self.ip_state = "PDP DEACT"
        return [b"+PDP: DEACT"] if had else []

    def _family_handlers(self):
        return {
            "+CLTS": lambda a, r: self._reply("OK"),
            "+CNMP": lambda a, r: self._reply("OK"),
            "+CMNB": lambda a, r: self._reply("OK"),
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
            "+CPOWD": self._cpowd,
        }

    # ------------------------------------------------------------------ commands
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
        args = split_args(arg[1])
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
        self.apn = split_args(arg[1])[0]
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
        args = set_args(arg)
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
        if not self._connect(args[1], int(args[2])):
            self.ip_state = "TCP CLOSED"
            self._reply("STATE: TCP CLOSED", "CONNECT FAIL")
            return
        with self._state_lock:
            self._rx_announced = False
            self.ip_state = "CONNECT OK"
        self._reply("CONNECT OK")

    def _on_data(self, data):
        if self.rxget:
            self._rxbuf += data
            if not self._rx_announced:
                self._rx_announced = True
                self._urc(b"+CIPRXGET: 1")
            return
        for i in range(0, len(data), self.chunk):
            part = data[i:i + self.chunk]
            self._write(b"\r\n+IPD,%d:" % len(part) + part if self.head else part)

    def _on_peer_closed(self):
        self.ip_state = "TCP CLOSED"
        self._urc(b"CLOSED")

    def _cipsend(self, arg, rest):
        if self.ip_state != "CONNECT OK" or not arg or arg[0] != "=":
            self._reply("ERROR")
            return
        sent, rest = self._take_payload(arg[1], rest)
        self._answer_send(sent, "SEND OK", "SEND FAIL")
        return rest

    def _cipclose(self, arg, rest):
        with self._state_lock:
            if self._sock is None:
                self._reply("ERROR")
                return
            self._close_socket()
            self.ip_state = "TCP CLOSED"
        self._reply("CLOSE OK")

    def _cpowd(self, arg, rest):
        self._reply("NORMAL POWER DOWN")
        self._power_down()
