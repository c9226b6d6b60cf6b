"""An exception a program's signal handler raises while its thread is inside a logging call (the
`signal.alarm` timeout of a script) reaches the program, as it would without the shipper, whatever
the handler's kind and the record's path; an exception of the record's own (a `__str__` that raises)
is still the shipper's to absorb. In-process, no node: the records stay in the spool."""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
from helpers.spooled import messages_in

from shipper.handler import ShipperHandler

_TRIALS = 120


class Interrupted(Exception):
    """What the program's handler raises (an Exception, not a BaseException: `except Exception` in
    the shipper would see it)."""


def _function(signum: int, frame: object) -> None:
    raise Interrupted(signum)


class _Alarms:
    def method(self, signum: int, frame: object) -> None:
        raise TimeoutError(f"alarm {signum}")

    def __call__(self, signum: int, frame: object) -> None:
        self.method(signum, frame)  # raised one call below the handler's frame


def _with_argument(kind: type[Exception], signum: int, frame: object) -> None:
    raise kind("timed out")


HANDLERS = [
    pytest.param(_function, Interrupted, id="function"),
    pytest.param(_Alarms().method, TimeoutError, id="bound-method"),
    pytest.param(_Alarms(), TimeoutError, id="callable-object-raising-below"),
    pytest.param(functools.partial(_with_argument, OSError), OSError, id="partial-raising-oserror"),
]


class _Unprintable:
    def __str__(self) -> str:
        raise ValueError("__str__ of this argument raises")


def _log(logger: logging.Logger, kind: str, step: int) -> None:
    if kind == "plain":
        logger.info("working on item %d", step)
    elif kind == "extras":
        logger.info("working on item %d", step, extra={"item": {"n": step, "tags": ["a", "b"]}})
    else:
        try:
            raise KeyError(step)
        except KeyError:
            logger.exception("item %d failed", step)


@pytest.fixture
def spooled(tmp_path: Path) -> Iterator[tuple[ShipperHandler, logging.Logger]]:
    # Earlier tests' garbage freed now, not in the middle of the alarms: an alarm landing in a weakref
    # callback then (a dead handler leaving the shipper's WeakSets) is absorbed by the interpreter.
    gc.collect()
    handler = ShipperHandler("alarms", spool_path=tmp_path / "s", delivery="thread")
    handler._stop.set()  # no delivery: the records stay in the segment
    logger = logging.getLogger("signal.raise")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    try:
        yield handler, logger
    finally:
        logger.handlers = []
        handler.close()


@pytest.mark.parametrize("record", ["plain", "extras", "traceback"])
@pytest.mark.parametrize("handler", [param.id for param in HANDLERS])
def test_a_signal_handlers_exception_inside_a_logging_call_reaches_the_program(
    handler: str, record: str, tmp_path: Path
) -> None:
    """A timer's handler raising while the program logs flat out: every one of its exceptions reaches
    the program's `except` (before, those landing inside the shipper were swallowed and counted as an
    unformattable record: 35-45% of them), and every logging call that returned is in the spool.

    Run in a process of its own: a thread another test left running in this one could take the alarm
    while the main thread holds it back, and its handler would then run where the standard library
    absorbs it (what any logging handler's traceback would do: not the shipper's to prevent)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _TRIALS_CHILD,
            str(Path(__file__).parent),
            handler,
            record,
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    caught, mask_kept, dropped, missing = done.stdout.split()
    assert int(caught) == _TRIALS
    assert mask_kept == "True"  # no signal left held back
    assert int(dropped) == 0
    assert int(missing) == 0


_TRIALS_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
import test_signal_raise
test_signal_raise.trials(*sys.argv[2:])
"""


def trials(handler_id: str, record: str, spool: str) -> None:
    """The trials of the test above, in the process it starts; prints what the test checks."""
    on_alarm, raised = next(param.values for param in HANDLERS if param.id == handler_id)
    handler = ShipperHandler("alarms", spool_path=Path(spool), delivery="thread")
    handler._stop.set()  # no delivery: the records stay in the segment
    logger = logging.getLogger("signal.raise")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    # The standard library's own LogRecord absorbs any exception while it asks multiprocessing for the
    # process's name (with multiprocessing imported): whatever the handler, an alarm landing there is
    # lost before the shipper is called. That step is not under test.
    logging.logMultiprocessing = False
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    signal.signal(signal.SIGALRM, on_alarm)
    caught = 0
    returned: list[int] = []
    step = 0
    for _ in range(_TRIALS):
        try:
            # Armed inside the `try`: on a loaded machine the alarm can go off as the arming call
            # returns, before any logging call.
            signal.setitimer(signal.ITIMER_REAL, 0.001)
            started = time.monotonic()
            while time.monotonic() - started < 5:  # (bounded: a lost alarm costs 5 s, not the run)
                _log(logger, record, step)
                returned.append(step)
                step += 1
        except raised:
            caught += 1
        signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    mask_kept = signal.pthread_sigmask(signal.SIG_BLOCK, ()) == mask
    handler.close()
    written = set(messages_in(handler.spool_dir))
    verb = "failed" if record == "traceback" else None
    expected = {f"item {i} {verb}" if verb else f"working on item {i}" for i in returned}
    print(caught, mask_kept, handler.stats().dropped, len(expected - written))


def test_a_records_own_exception_is_absorbed_while_a_signal_handler_is_installed(
    spooled: tuple[ShipperHandler, logging.Logger],
) -> None:
    """With a Python signal handler installed (not running), a record whose argument's `__str__`
    raises is still written with a safe representation: only a handler's own exception passes."""
    handler, logger = spooled
    logger.handlers = [handler]  # (pytest's capture handlers join a non-propagating logger for the call)
    previous = signal.signal(signal.SIGALRM, _function)
    try:
        logger.warning("value %s", _Unprintable())
        logger.warning("after it")
    finally:
        signal.signal(signal.SIGALRM, previous)
    messages = messages_in(handler.spool_dir)
    assert messages[-1] == "after it"
    assert len(messages) == 2
    assert handler.stats().dropped == 0


@pytest.mark.parametrize("where", ["inside", "at-its-end"])
def test_signals_held_restores_the_mask_whatever_the_handler_raises(where: str) -> None:
    """`reentry.signals_held` holds a signal sent inside it until its end, where the handler's exception
    comes out, and the thread's mask is as before whether the handler raised inside or at the end."""
    from shipper import reentry

    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    previous = signal.signal(signal.SIGUSR1, _function)
    ran_inside = False
    try:
        with pytest.raises(Interrupted), reentry.signals_held():
            # Sent to this thread: one sent to the process may be handed to another thread of the test
            # run that does not block it (a server a test left running), and no mask of this one holds it.
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # held: its handler does not run here
            ran_inside = True
            if where == "inside":
                raise Interrupted("raised inside")
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert ran_inside
    assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == mask
    assert signal.SIGUSR1 not in signal.sigpending()


def _blocked_in(thread: threading.Thread) -> set[int]:
    """The signals `thread` blocks, read from the kernel (Linux's /proc)."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    mask = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread masks from Linux's /proc")
def test_the_shippers_threads_never_take_the_programs_signals(tmp_path: Path) -> None:
    """The shipper's own threads (delivery, watchdog) block the program's asynchronous signals, so the
    kernel never hands one to them: handed to them while the main thread held it back, its handler
    ran in the standard library code the holding was for, which absorbed the handler's exception."""
    handler = ShipperHandler("threads", spool_path=tmp_path / "s", delivery="thread")
    try:
        shippers = [thread for thread in threading.enumerate() if thread.name.startswith("logloop-shipper")]
        assert {thread.name for thread in shippers} == {"logloop-shipper-agent", "logloop-shipper-watchdog"}
        wanted = {
            signal.SIGALRM,
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGHUP,
            signal.SIGUSR1,
            signal.SIGCHLD,
        }
        for thread in shippers:
            assert wanted <= _blocked_in(thread), thread.name
        assert signal.SIGALRM not in _blocked_in(threading.main_thread())  # the program's own: as it was
    finally:
        handler.close()


def _raise_timeout(signum: int, frame: object) -> None:
    raise TimeoutError(f"alarm {signum}")  # an OSError: what the standard library's `except OSError` takes


def _log_with_signal_at(log: Callable[[], None], landing: int, landed: list[str]) -> int:
    """Call `log` (one logging call), with SIGUSR1 sent to this thread at the `landing`-th point inside
    it where a signal's handler can run (its name put in `landed`); the number of such points. Those
    points are where the interpreter runs handlers: as a Python function begins, and as a C function
    has returned (a profile hook that raises there, as the handler does, is where a real one would)."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_return"):
            calls += 1
            if calls == landing:
                name = getattr(arg, "__qualname__", "?") if event == "c_return" else frame.f_code.co_qualname
                landed.append(f"{event} {name} in {Path(frame.f_code.co_filename).name}:{frame.f_lineno}")
                signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    # The cyclic collector is held off during the call: where an allocation happens to start it, it frees
    # whatever cyclic garbage there is and runs its weakref callbacks (a WeakSet's `_remove`), and a
    # signal's handler raising inside a callback is ignored by the interpreter, in any program and any code
    # alike. What is swept is the logging call's own points (an object whose last reference it drops still
    # runs its callbacks in it).
    collecting = gc.isenabled()
    gc.disable()
    sys.setprofile(count)
    try:
        log()
    finally:
        sys.setprofile(None)
        if collecting:
            gc.enable()
    return calls


def _a_traceback(logger: logging.Logger) -> None:
    try:
        {}["missing"]
    except KeyError:
        logger.exception("lookup failed for %s", "item")


@pytest.mark.parametrize(
    "new_segment, log",
    [
        pytest.param(True, lambda logger: logger.info("segment %s", "x" * 64), id="making-a-segment"),
        pytest.param(False, lambda logger: logger.info("n=%d", 3, extra={"tags": ["a"]}), id="extras"),
        pytest.param(False, _a_traceback, id="traceback"),
    ],
)
def test_a_signal_landing_anywhere_in_a_logging_call_reaches_the_program(
    new_segment: bool, log: Callable[[logging.Logger], None], tmp_path: Path
) -> None:
    """Whichever call inside a logging call the program's signal lands in (the standard library's
    included: `Path.mkdir(exist_ok=True)` and the import system, run when a segment is made, absorb an
    OSError, and a `signal.alarm` handler's TimeoutError is one), its handler's exception reaches the
    program, and the thread's signal mask is as before. Swept call by call with a profile hook."""
    # A small bound: each new segment deletes the oldest (that path swept too), and the directory stays
    # small, so every trial finds the same spool.
    handler = ShipperHandler(
        "landing", spool_path=tmp_path / "s", delivery="thread", spool_max_bytes=1024 * 1024
    )
    handler._stop.set()  # no delivery: the segments stay
    logger = logging.getLogger("signal.landing")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    previous = signal.signal(signal.SIGUSR1, _raise_timeout)
    # (The standard library's LogRecord absorbs any exception while it asks multiprocessing, once
    # imported, for the process's name: before the shipper is called, and not under test.)
    multiprocessing_names = logging.logMultiprocessing
    logging.logMultiprocessing = False
    lost: list[str] = []
    try:
        logger.info("first")  # (the first segment made)
        if new_segment:
            handler.writer.seal()
        log(logger)  # (a first one of its kind warms what later ones find made)
        swept = 0
        while swept < 5000:  # (bounded: a logging call has a few hundred points)
            if new_segment:
                handler.writer.seal()  # the next record makes a new segment
            landed: list[str] = []
            try:
                _log_with_signal_at(lambda: log(logger), swept + 1, landed)
            except TimeoutError:
                swept += 1
                continue
            if not landed:  # past the logging call's last point
                break
            swept += 1
            lost.append(f"{swept}: {landed}")
        assert signal.SIGUSR1 not in signal.sigpending()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        logging.logMultiprocessing = multiprocessing_names
        logger.handlers = []
        handler.close()
    assert swept > 50  # (the sweep went through the shipper, not only the logging module)
    assert lost == [], lost
    assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == mask


def _exit_handler(signum: int, frame: object) -> None:
    sys.exit(0)


def test_a_shutdown_interrupted_taking_the_handler_lock_ends_with_the_handlers_exit(tmp_path: Path) -> None:
    """A signal handler's `sys.exit` raised as `logging.shutdown()` begins taking the shipper's handler
    lock comes out of the shutdown as raised: the release in its `finally`, of a lock never taken, does
    not replace the program's exit with a RuntimeError (the program ended with status 1, not 0)."""
    handler = ShipperHandler("release", spool_path=tmp_path / "s", delivery="thread")
    acquire = logging.Handler.acquire.__code__

    def land(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is acquire:
            sys.setprofile(None)
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # runs as acquire() begins

    previous = signal.signal(signal.SIGUSR1, _exit_handler)
    try:
        sys.setprofile(land)
        try:
            with pytest.raises(SystemExit):
                logging.shutdown([weakref.ref(handler)])
        finally:
            sys.setprofile(None)
    finally:
        signal.signal(signal.SIGUSR1, previous)
        handler.close()
    assert handler.lock is not None and handler.lock.acquire(blocking=False)  # and it was never left held
    handler.lock.release()
