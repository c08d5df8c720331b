# Numeric codes carried on the wire. Values are part of protocol version 1: never renumber one, only add.
# (docs/protocol.md lists them with their meaning; protocol.errors holds the error codes.)
try:
    from micropython import const
except ImportError:
    const = lambda x: x

# Frame types (byte 3+ of every frame, after version, box id and counter).
T_SYNC = const(0x01)  # box -> server: health + journal records (encrypted)
T_RESYNC = const(0x02)  # box -> server: "what is my counter?" (plaintext nonce, authenticated)
T_SYNC_REPLY = const(0x81)  # server -> box: ack, time, allow-list, config, commands (encrypted)
T_RESYNC_REPLY = const(0x82)  # server -> box: nonce echo, last accepted counter, time (authenticated)
T_ERROR = const(0x8E)  # server -> box: error code, last counter, time (authenticated, not encrypted)
T_PLAIN_ERROR = const(0xFF)  # server -> box: error code only, NOT authenticated (garbage, unknown box, bad MAC)

# Record tags inside a sync request: declared with their fields in protocol/schema.py.

# Section tags inside a sync reply.
S_ALLOW = const(0x01)
S_CONFIG = const(0x02)
S_COMMANDS = const(0x03)

# Badge decision reasons (record "badge", field "reason"). Below 16: granted; 16 and above: denied.
REASON_RESERVATION = const(1)  # a reservation of this badge covers now (with tolerances)
REASON_ROLE = const(2)  # permanent role (fleet manager, mechanic)
REASON_SPOT = const(3)  # on-the-spot use allowed by the pool: an unplanned trip
REASON_END_TRIP = const(4)  # badge-out by the driver of the open trip
REASON_RELEASE_COMMAND = const(5)  # released by a server command (CMD_RELEASE)
REASON_UNKNOWN_BADGE = const(16)  # badge not in the allow-list
REASON_NO_RESERVATION_NOW = const(17)  # badge known but no reservation covers now, spot use not allowed
REASON_RESERVED_BY_OTHER = const(18)  # spot use refused: another agent's reservation starts soon
REASON_NOT_READY = const(19)  # box has no allow-list yet
REASON_CLOCK_UNKNOWN = const(20)  # time unknown and this badge needs a time window
REASON_IN_USE = const(21)  # another driver's trip is open
REASON_EXPIRED = const(22)  # the reservation is over (beyond its tolerance)
REASON_LIST_STALE = const(23)  # a role or on-the-spot entry, but no server answer for offline_days

# Events (record "event", field "code"); "value" meaning in brackets.
EV_IGNITION = const(1)  # [1 on, 0 off]
EV_RELAY = const(2)  # [1 blocked, 0 released]
EV_POWER_LOSS = const(3)  # [supply mV at detection]
EV_POWER_RESTORED = const(4)  # [supply mV]
EV_REBOOT = const(5)  # [reset cause, as in health "reset"]
EV_MODEM_FAULT = const(6)  # [driver-specific fault number]
EV_GPS_FAULT = const(7)  # [0 no data, 1 no fix for too long, 2 garbage]
EV_TAMPER = const(8)  # [sensor-specific]
EV_CLOCK_SET = const(9)  # [correction in seconds, signed]
EV_JOURNAL_DROP = const(10)  # [records dropped because flash ran short]
EV_COUNTER_RESYNC = const(11)  # [new frame counter]
EV_PROTOCOL_ERROR = const(12)  # [protocol.errors code]
EV_WATCHDOG = const(13)  # [task id]

# Allow-list entry kinds.
KIND_RESERVATION = const(1)
KIND_ROLE = const(2)
KIND_SPOT = const(3)

# Trip end reasons.
END_BADGE = const(1)
END_TIMEOUT = const(2)  # ignition off for the grace time
END_REBOOT = const(3)  # trip closed at boot after a power cut or reset
END_BLOCK = const(4)  # the server withdrew the release (CMD_BLOCK): closed at the first safe moment

# Server commands (reply section "commands": {"cmd": CMD_*, "arg": int}).
CMD_RESYNC = const(1)  # sync again now (more to send or receive); arg unused (0)
CMD_RELEASE = const(2)  # release the starter for one trip; arg = reservation id (0 = none)
CMD_FIRMWARE = const(3)  # firmware update available; arg = version number (major*10000+minor*100+patch)
CMD_REBOOT = const(4)  # reboot when parked (ignition off, relay already blocked); arg unused
CMD_BLOCK = const(5)  # withdraw the current release: re-arm at the next ignition off, never while the engine
#                       runs (immobilizer invariants); no restart on the grace time after it; arg unused
