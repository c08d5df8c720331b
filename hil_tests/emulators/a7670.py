"""SIMCom A7670E emulator (LTE Cat-1, LilyGO T-A7670E) for the bench, on the shared SIMCom base.

The A76XX TCP/IP commands as the A76XX Series AT Command Manual and its TCPIP Application Note give them:
AT+NETOPEN / AT+NETCLOSE (answer OK, then the result line +NETOPEN: <err>), AT+CIPOPEN=<link>,"TCP",host,port
(OK then +CIPOPEN: <link>,<err>), AT+CIPSEND=<link>,<len> (`>` prompt, OK, then +CIPSEND: <link>,<req>,<cnf>),
received data announced by +CIPRXGET: 1,<link> and pulled with AT+CIPRXGET=2,<link>,<len> (manual mode,
AT+CIPRXGET=1 before AT+NETOPEN) or pushed as +RECEIVE,<link>,<len> (automatic mode), the peer's close as
+IPCLOSE: <link>,1, the network dropping the context as +CIPEVENT: NETWORK CLOSED UNEXPECTEDLY.
Asynchronous results come `result_delay_s` after the OK (a real module takes from milliseconds to seconds).
"""

import time

from hil_tests.emulators.simcom import SimcomEmulator, set_args, split_args

# <err> of the asynchronous results (A76XX manual, TCP/IP "Description of <err>")
ERR_OK = 0
ERR_NETWORK = 1
ERR_NOT_OPENED = 2
ERR_PARAMETER = 3
ERR_NOT_SUPPORTED = 4


class A7670Emulator(SimcomEmulator):
    thread_name = "a7670-emu"
    family = "a7670"
    model = "A7670E-LASE"
    ati = ("Manufacturer: SIMCOM INCORPORATED", "Model: A7670E-LASE", "Revision: A011B07A7670M7")
    boot_banner = (b"*ATREADY: 1", b"+CPIN: READY", b"SMS DONE", b"PB DONE")
    under_voltage_urc = None  # not in the A76XX URC list: the fault does nothing on this family
    max_send = 1500
    tcp_commands = ("AT+CIPOPEN", "AT+CIPSEND")  # open, send: a TCP exchange in flight
    links = 10

    def __init__(self, url, server=None, time_fn=time.time, tz_quarters=4, baudrate=115200, powered=True,
                 result_delay_s=0.02):
        self.result_delay_s = result_delay_s
        super().__init__(url, server=server, time_fn=time_fn, tz_quarters=tz_quarters, baudrate=baudrate,
                         powered=powered)

    def _reset_family(self):
        self.apn = None
        self.netopen = False
        self.rxget = 0
        self.link = None  # the open link number
        self._rx_announced = False

    def _drop_bearer(self):
        had = self.netopen
        self.netopen = False
        self.link = None
        return [b"+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"] if had else []

    def _later(self, line):
        """An asynchronous result line, after the OK (its own write, as the module sends it)."""
        if self.result_delay_s:
            time.sleep(self.result_delay_s)
        self._urc(line.encode())

    def _family_handlers(self):
        return {
            "+CTZU": lambda a, r: self._reply("OK"),
            "+CGDCONT": self._cgdcont,
            "+NETOPEN": self._netopen,
            "+NETCLOSE": self._netclose,
            "+CIPRXGET": self._ciprxget,
            "+CIPOPEN": self._cipopen,
            "+CIPSEND": self._cipsend,
            "+CIPCLOSE": self._cipclose,
            "+CPOF": self._cpof,
        }

    # ------------------------------------------------------------------ commands
    def _cgdcont(self, arg, rest):
        if arg and arg[0] == "=":
            args = split_args(arg[1])
            if len(args) < 3 or args[0] != "1":
                self._reply("ERROR")
                return
            self.apn = args[2]
            self._reply("OK")
        elif arg and arg[0] == "?":
            self._reply('+CGDCONT: 1,"IP","%s","0.0.0.0",0,0' % (self.apn or ""), "OK")
        else:
            self._reply("ERROR")

    def _netopen(self, arg, rest):
        if arg and arg[0] == "?":
            self._reply("+NETOPEN: %d" % self.netopen, "OK")
            return
        if arg is not None:
            self._reply("ERROR")
            return
        if self.netopen:
            self._reply("+IP ERROR: Network is already opened", "ERROR")
            return
        self._reply("OK")
        if not self.registered or not self.attached:
            self._later("+NETOPEN: %d" % ERR_NETWORK)
            return
        self.netopen = True
        self._later("+NETOPEN: %d" % ERR_OK)

    def _netclose(self, arg, rest):
        if not self.netopen:
            self._reply("+NETCLOSE: %d" % ERR_NOT_OPENED, "ERROR")
            return
        with self._state_lock:
            self._close_socket()
            self.link = None
            self.netopen = False
        self._reply("OK")
        self._later("+NETCLOSE: %d" % ERR_OK)

    def _ciprxget(self, arg, rest):
        if not arg or arg[0] != "=":
            self._reply("+CIPRXGET: %d" % self.rxget, "OK") if arg and arg[0] == "?" else self._reply("ERROR")
            return
        args = split_args(arg[1])
        mode = int(args[0] or 0)
        if mode in (0, 1):
            if self.netopen:
                self._reply("ERROR")  # the receive mode is set before AT+NETOPEN
                return
            self.rxget = mode
            self._reply("OK")
            return
        if mode == 2 and self.rxget and len(args) >= 2:
            want = int(args[2]) if len(args) > 2 else 1500
            with self._state_lock:
                if not self._rxbuf and self.link is None:
                    self._reply("+IP ERROR: No data", "ERROR")
                    return
                data, self._rxbuf = self._rxbuf[:want], self._rxbuf[want:]
                if not self._rxbuf:
                    self._rx_announced = False
                remaining = len(self._rxbuf)
                self._write(b"\r\n+CIPRXGET: 2,%s,%d,%d\r\n" % (args[1].encode(), len(data), remaining) + data
                            + b"\r\nOK\r\n")
            return
        if mode == 4 and self.rxget and len(args) >= 2:
            self._reply("+CIPRXGET: 4,%s,%d" % (args[1], len(self._rxbuf)), "OK")
            return
        self._reply("ERROR")

    def _cipopen(self, arg, rest):
        args = set_args(arg)
        if len(args) < 4 or args[1].upper() != "TCP" or not args[0].isdigit() or int(args[0]) >= self.links:
            self._reply("ERROR")
            return
        link = int(args[0])
        self._reply("OK")
        if not self.netopen:
            self._later("+CIPOPEN: %d,%d" % (link, ERR_NOT_OPENED))
            return
        if self.link is not None:
            self._later("+CIPOPEN: %d,%d" % (link, ERR_NOT_SUPPORTED))
            return
        if not self._connect(args[2], int(args[3])):
            self._later("+CIPOPEN: %d,%d" % (link, ERR_NETWORK))
            return
        with self._state_lock:
            self.link = link
            self._rx_announced = False
        self._later("+CIPOPEN: %d,%d" % (link, ERR_OK))

    def _on_data(self, data):
        link = self.link if self.link is not None else 0
        if not self.rxget:
            self._write(b"\r\n+RECEIVE,%d,%d\r\n" % (link, len(data)) + data)
            return
        self._rxbuf += data
        if not self._rx_announced:
            self._rx_announced = True
            self._urc(b"+CIPRXGET: 1,%d" % link)

    def _on_peer_closed(self):
        link = self.link
        self.link = None
        if link is not None:
            self._urc(b"+IPCLOSE: %d,1" % link)

    def _cipsend(self, arg, rest):
        args = set_args(arg)
        if len(args) < 2 or self.link is None or str(self.link) != args[0]:
            self._reply("ERROR")
            return
        sent, rest = self._take_payload(args[1], rest, prompt=b"\r\n>")
        if sent is None:
            return rest
        n = int(args[1])
        self._reply("OK")  # how it went follows in +CIPSEND
        self._later("+CIPSEND: %s,%d,%d" % (args[0], n, n if sent else -1))
        if sent:
            self._after_send()
        return rest

    def _cipclose(self, arg, rest):
        link = arg[1].strip() if arg and arg[0] == "=" else ""
        with self._state_lock:
            if self.link is None or str(self.link) != link:
                self._reply("+CIPCLOSE: %s,%d" % (link, ERR_NOT_SUPPORTED), "ERROR")
                return
            self._close_socket()
            self.link = None
        self._reply("OK")
        self._later("+CIPCLOSE: %s,%d" % (link, ERR_OK))

    def _cpof(self, arg, rest):
        self._reply("OK")
        self._power_down()
