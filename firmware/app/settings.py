# Behaviour settings: defaults here, overridable by the server's `config` map (name -> int) and kept on
# the box's filesystem so a reboot keeps the last values the server sent. Unknown names are ignored and
# values outside their range are refused (a bad server push must never make the box unsafe).

# name: (default, minimum, maximum)
SPEC = {
    # Immobilizer
    "grace_s": (300, 30, 3600),  # ignition off this long in a trip -> trip closes, box re-arms
    "start_window_s": (180, 15, 900),  # granted but ignition never on within this -> re-arm
    "moving_mms": (1500, 500, 3000),  # above this GPS speed the relay never goes to blocked (~5 km/h)
    # Access
    "early_s": (900, 0, 7200),  # a reservation may start this much before its start time
    "late_s": (1800, 0, 14400),  # ... and still be taken this long after its end time
    "spot_gap_s": (3600, 0, 86400),  # on-the-spot only if no reservation starts within this time
    "offline_days": (7, 1, 60),  # role and on-the-spot entries lapse after this long without a server answer
    # Trips and positions
    "pos_period_s": (30, 5, 600),  # position sample period while a trip is open
    # Sync
    "sync_period_s": (21600, 300, 172800),  # periodic sync while parked (6 h)
    "sync_before_s": (900, 0, 7200),  # sync this long before a reservation starts
    "sync_after_start_s": (60, 0, 900),  # sync this long after a trip opens: the server learns the car is out
    "backoff_min_s": (60, 10, 3600),
    "backoff_max_s": (3600, 60, 86400),
    "sync_timeout_s": (60, 10, 300),
    "max_records": (200, 10, 2000),  # records per sync frame
    # Journal
    "journal_kb": (512, 32, 4096),  # space budget for the journal on flash
}


class Settings:
    def __init__(self, values=None):
        self.values = {}
        for name in SPEC:
            self.values[name] = SPEC[name][0]
        if values:
            self.apply(values)

    def get(self, name):
        return self.values[name]

    def __getattr__(self, name):
        if name in self.values:
            return self.values[name]
        raise AttributeError(name)

    def apply(self, mapping):
        """Take the valid (known name, int in range) entries; return how many were refused."""
        refused = 0
        for name in mapping:
            value = mapping[name]
            spec = SPEC.get(name)
            if spec is None or not isinstance(value, int) or isinstance(value, bool):
                refused += 1
                continue
            if value < spec[1] or value > spec[2]:
                refused += 1
                continue
            self.values[name] = value
        return refused

    def overrides(self):
        """The values that differ from the defaults (what gets persisted)."""
        out = {}
        for name in SPEC:
            if self.values[name] != SPEC[name][0]:
                out[name] = self.values[name]
        return out
