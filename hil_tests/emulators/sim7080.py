"""SIMCom SIM7080G emulator (LTE-M / NB-IoT, LilyGO T-SIM7080G) for the bench, on the shared SIMCom base.

The commands as the SIM7070/SIM7080/SIM7090 Series AT Command Manual gives them: the bearer is PDP index 0,
configured with AT+CNCFG=0,1,"apn" and activated with AT+CNACT=0,1 (OK, then +APP PDP: 0,ACTIVE; the network
dropping it: +APP PDP: 0,DEACTIVE); the socket is connection 0 of the "CA" application: AT+CAOPEN=0,0,"TCP",
host,port answers +CAOPEN: 0,<result> then OK, AT+CASEND=0,<len> prompts `>`, data is announced by
+CADATAIND: 0 and read with AT+CARECV=0,<len> (+CARECV: <len>,<data> on one line), the peer's close is
+CASTATE: 0,0. No 2G: +CREG reports nothing registered, LTE registration is +CEREG.
"""

import time

from hil_tests.emulators.simcom import SimcomEmulator, set_args

# <result> of +CAOPEN (SIM7080 manual, AT+CAOPEN)
RESULT_OK = 0
RESULT_SOCKET = 1
RESULT_PARAMETER = 4
RESULT_NOT_ACTIVE = 21
RESULT_REFUSED = 23


class Sim7080Emulator(SimcomEmulator):
    thread_name = "sim7080-emu"
    family = "sim7080"
    model = "SIMCOM_SIM7080G"
    ati = ("SIM7080 R1951.03",)
    boot_banner = (b"RDY", b"+CFUN: 1", b"+CPIN: READY", b"SMS Ready")
    tcp_commands = ("AT+CAOPEN", "AT+CASEND")  # open, send: a TCP exchange in flight
    reg_commands = ("+CEREG", "+CGREG")
    max_send = 1460

    def __init__(self, url, server=None, time_fn=time.time, tz_quarters=4, baudrate=115200, powered=True):
        super().__init__(url, server=server, time_fn=time_fn, tz_quarters=tz_quarters, baudrate=baudrate,
                         powered=powered)

    def _reset_family(self):
        self.apn = None
        self.active = False
        self.open_cid = None
        self._rx_announced = False

    def _drop_bearer(self):
        had = self.active
        self.active = False
        self.open_cid = None
        return [b"+APP PDP: 0,DEACTIVE"] if had else []

    def _family_handlers(self):
        return {
            "+CLTS": lambda a, r: self._reply("OK"),
            "+CNMP": lambda a, r: self._reply("OK"),
            "+CMNB": lambda a, r: self._reply("OK"),
            "+CREG": lambda a, r: self._reply("+CREG: 0,0", "OK"),  # no GSM in this module
            "+CNCFG": self._cncfg,
            "+CNACT": self._cnact,
            "+CAOPEN": self._caopen,
            "+CASEND": self._casend,
            "+CARECV": self._carecv,
            "+CACLOSE": self._caclose,
            "+CPOWD": self._cpowd,
        }

    # ------------------------------------------------------------------ commands
    def _cncfg(self, arg, rest):
        args = set_args(arg)
        if len(args) < 3 or args[0] != "0":
            self._reply("ERROR")
            return
        self.apn = args[2]
        self._reply("OK")

    def _cnact(self, arg, rest):
        if arg and arg[0] == "?":
            address = "10.94.12.7" if self.active else "0.0.0.0"
            self._reply('+CNACT: 0,%d,"%s"' % (self.active, address), '+CNACT: 1,0,"0.0.0.0"',
                        '+CNACT: 2,0,"0.0.0.0"', '+CNACT: 3,0,"0.0.0.0"', "OK")
            return
        args = set_args(arg)
        if len(args) < 2 or args[0] != "0" or args[1] not in ("0", "1"):
            self._reply("ERROR")
            return
        if args[1] == "1":
            if self.active or not self.registered or not self.attached or self.apn is None:
                self._reply("ERROR")
                return
            self.active = True
            self._reply("OK")
            self._urc(b"+APP PDP: 0,ACTIVE")
            return
        with self._state_lock:
            was = self.active
            self._close_socket()
            self.open_cid = None
            self.active = False
        self._reply("OK")
        if was:
            self._urc(b"+APP PDP: 0,DEACTIVE")

    def _caopen(self, arg, rest):
        args = set_args(arg)
        if len(args) < 5 or args[2].upper() != "TCP":
            self._reply("ERROR")
            return
        cid = args[0]
        if self.open_cid is not None:
            self._reply("ERROR")
            return
        if not self.active:
            self._reply("+CAOPEN: %s,%d" % (cid, RESULT_NOT_ACTIVE), "OK")
            return
        if not self._connect(args[3], int(args[4])):
            self._reply("+CAOPEN: %s,%d" % (cid, RESULT_REFUSED), "OK")
            return
        with self._state_lock:
            self.open_cid = cid
            self._rx_announced = False
        self._reply("+CAOPEN: %s,%d" % (cid, RESULT_OK), "OK")

    def _on_data(self, data):
        self._rxbuf += data
        if not self._rx_announced:
            self._rx_announced = True
            self._urc(b"+CADATAIND: %s" % (self.open_cid or "0").encode())

    def _on_peer_closed(self):
        cid = self.open_cid
        self.open_cid = None
        if cid is not None:
            self._urc(b"+CASTATE: %s,0" % cid.encode())

    def _casend(self, arg, rest):
        args = set_args(arg)
        if len(args) < 2 or self.open_cid is None or args[0] != self.open_cid:
            self._reply("ERROR")
            return
        sent, rest = self._take_payload(args[1], rest, prompt=b"\r\n>")
        self._answer_send(sent, "OK", "ERROR")
        return rest

    def _carecv(self, arg, rest):
        args = set_args(arg)
        if len(args) < 2:
            self._reply("ERROR")
            return
        want = int(args[1])
        with self._state_lock:
            if not self._rxbuf and self.open_cid is None:
                self._reply("ERROR")  # never opened or closed with nothing left
                return
            data, self._rxbuf = self._rxbuf[:want], self._rxbuf[want:]
            if not self._rxbuf:
                self._rx_announced = False
            if data:
                self._write(b"\r\n+CARECV: %d," % len(data) + data + b"\r\n\r\nOK\r\n")
            else:
                self._reply("+CARECV: 0", "OK")

    def _caclose(self, arg, rest):
        cid = arg[1].strip() if arg and arg[0] == "=" else ""
        with self._state_lock:
            if self.open_cid is None or cid != self.open_cid:
                self._reply("ERROR")
                return
            self._close_socket()
            self.open_cid = None
        self._reply("OK")

    def _cpowd(self, arg, rest):
        self._reply("NORMAL POWER DOWN")
        self._power_down()
