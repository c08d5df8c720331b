# Task supervision (app/supervisor.py): a task that raises, MemoryError included, is restarted; a report that
# itself runs out of memory does not take the supervisor down; the badge path's reserve of heap.
import asyncio

from app import supervisor


class Stop(BaseException):
    """Ends the supervisor's endless loop from the test (not an Exception: it is not caught)."""


def _run(factory, log, restarts):
    state = {"crashes": 0}
    sleeps = []

    async def sleep_ms(ms):
        sleeps.append(ms)
        if len(sleeps) >= restarts:
            raise Stop()

    async def go():
        try:
            await supervisor.supervise("t", factory, state, sleep_ms, 2000, log)
        except Stop:
            pass

    asyncio.run(go())
    return state, sleeps


def test_a_task_that_runs_out_of_memory_is_restarted():
    runs = []

    async def task():
        runs.append(1)
        if len(runs) == 1:
            raise MemoryError("memory allocation failed")

    logged = []
    state, sleeps = _run(task, lambda *parts: logged.append(parts), restarts=2)
    assert len(runs) == 2 and state["crashes"] == 1 and sleeps == [2000, 2000]
    assert logged and logged[0][:3] == ("task", "t", "crashed:") and "MemoryError" in logged[0][3]


def test_a_report_that_runs_out_of_memory_does_not_stop_the_supervisor():
    runs = []

    async def task():
        runs.append(1)
        raise MemoryError("memory allocation failed")

    def log(*parts):
        raise MemoryError("no room to log")

    state, _sleeps = _run(task, log, restarts=3)
    assert len(runs) == 3 and state["crashes"] == 3


def test_the_reserve_is_let_go_and_taken_back():
    reserve = supervisor.Reserve(2048)
    assert reserve.block is not None and len(reserve.block) == 2048
    reserve.release()
    assert reserve.block is None
    reserve.take(now=True)
    assert reserve.block is not None


def test_a_failed_take_waits_before_trying_again():
    reserve = supervisor.Reserve(2048)
    reserve.release()
    reserve.size = 1 << 62  # no heap has that: the attempt fails as a MemoryError
    try:
        reserve.take()
    except OverflowError:
        reserve._wait = supervisor.RETRY_ROUNDS  # CPython refuses the size itself; same path
    assert reserve.block is None
    reserve.size = 2048
    for _ in range(supervisor.RETRY_ROUNDS):
        reserve.take()
        assert reserve.block is None
    reserve.take()
    assert reserve.block is not None
