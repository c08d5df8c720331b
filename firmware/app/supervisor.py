# Task supervision for main.py: a task that raises is logged and restarted, MemoryError included, and a reserve
# of heap kept for the badge path. No I/O of its own: main.py passes the sleep and the log.
import gc
import sys


async def supervise(name, factory, state, sleep_ms, restart_ms, log=print):
    """Run `factory()` (a coroutine) forever; log and restart it `restart_ms` after it raises (a driver bug must
    not stop the box). Near the heap's limit a MemoryError restarts the task like any other error: what the
    task held is garbage once it unwound, and the report itself may not raise again (the supervisor would die
    with the task)."""
    while True:
        try:
            await factory()
        except Exception as exc:  # MemoryError included
            state["crashes"] += 1
            report_crash(name, exc, log)
        try:
            await sleep_ms(restart_ms)
        except MemoryError:
            gc.collect()


def report_crash(name, exc, log=print):
    """Log a task's crash without ever raising; after a MemoryError, collect first so the report has room."""
    if isinstance(exc, MemoryError):
        gc.collect()
    try:
        log("task", name, "crashed:", repr(exc))
        show = getattr(sys, "print_exception", None)
        if show is not None:
            show(exc)
    except MemoryError:
        gc.collect()


RETRY_ROUNDS = 50  # rounds between two attempts to take a reserve back after one failed (each may collect)


class Reserve:
    """A block of heap held back for the badge path. Near the heap's limit a sync session may run out of
    memory (its task is restarted, the sync tried again later); a tap must not: the block is let go just
    before a decision, so the collection that an allocation short of room runs finds it free, and taken
    again right after it, before any other task runs. Costs nothing while the heap has room (no collection
    is forced)."""

    def __init__(self, size):
        self.size = size
        self.block = None
        self._wait = 0
        self.take()

    def take(self, now=False):
        """Hold the block again if the heap has room; a failed attempt waits RETRY_ROUNDS calls unless `now`."""
        if self.block is not None:
            return
        if self._wait and not now:
            self._wait -= 1
            return
        try:
            self.block = bytearray(self.size)
        except MemoryError:
            self._wait = RETRY_ROUNDS

    def release(self):
        self.block = None
