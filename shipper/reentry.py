"""Re-entrance on a program's thread: records logged while that thread is already inside the shipper.

A signal handler runs on the main thread between two steps of whatever that thread was doing; if it
logs while the thread holds one of the shipper's locks (inside emit(), sealing a segment, reading the
counters), taking that lock again would hang the program for good. The one rule: shipper code that
takes a lock on a program's thread runs `inside()`, and `emit()` defers a record while `busy()`;
deferred records are written as soon as the thread leaves the shipper. And the other way round: an
exception a program's signal handler raises there (a `signal.alarm` timeout) is the program's, and
every `except` the program's thread can reach in the shipper lets it through
(`reraise_program_exception`, `suppress`).

Standard library only: the handler, the segment writer and the counters all import it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any, Final

local = threading.local()  # this thread's "busy" flag and "pending" records (emit() reads __dict__)


def busy() -> bool:
    return bool(local.__dict__.get("busy"))


@contextlib.contextmanager
def inside() -> Iterator[None]:
    """Mark this thread as inside the shipper; on leaving, write what was logged meanwhile."""
    state = local.__dict__
    if state.get("busy"):
        yield
        return
    state["busy"] = True
    try:
        yield
    finally:
        state["busy"] = False
        run_pending(state)  # even as a signal handler's exit unwinds through this


class Frozen(Exception):
    """A lock held where it will never be released (see `without_waiting`)."""


class without_waiting(contextlib.AbstractContextManager[None]):
    """`with lock` while the interpreter shuts down (a `__del__` or finalizer of the program logging as
    its modules are freed): takes `lock` without waiting, or raises `Frozen`. By then no other thread
    runs again, and one that holds the lock, or was about to (its wait over, the lock its own, but not
    the interpreter's lock it needs to go on), was frozen there for good: waiting hung the program. The
    caller keeps what it takes (releasing it to take it again lets such a thread have it)."""

    def __init__(self, lock: threading.Lock | threading.RLock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        if not self._lock.acquire(False):
            raise Frozen

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def held(lock: threading.Lock | threading.RLock) -> contextlib.AbstractContextManager[object]:
    """`lock`, or at the interpreter's shutdown `without_waiting(lock)`: for a `with` on a program's
    thread where `Frozen` is caught."""
    return lock if not sys.is_finalizing() else without_waiting(lock)


def put_aside(state: dict[str, Any], call: Callable[[], object]) -> None:
    """Defer `call` until this thread leaves the shipper, marked with this process (a forked child
    keeps only its own: `_forget_after_fork`)."""
    state.setdefault("pending", []).append((os.getpid(), call))


# Bounds on records put aside. A signal handler logging faster than the thread can write them, or a
# `__str__` that logs a record whose `__str__` logs another, would otherwise grow memory, or keep the
# thread writing for good: past either bound a record is counted lost (`reentrant`) instead.
PENDING_LIMIT: Final = 100  # records waiting at once
STRETCH_LIMIT: Final = 1000  # records written from one stretch of writing put-aside records


def has_room(state: dict[str, Any]) -> bool:
    """Whether one more record may be put aside (see `PENDING_LIMIT`, `STRETCH_LIMIT`)."""
    return len(state.get("pending", ())) < PENDING_LIMIT and state.get("written", 0) < STRETCH_LIMIT


def run_pending(state: dict[str, Any]) -> None:
    """Run the deferred writes, in order (each marks the thread busy again while it writes).

    One loop writes them all: a write that ends with more records put aside leaves them to it rather
    than starting a loop of its own, so a stream of them (a signal handler logging all the time) takes
    no deeper stack than one."""
    if state.get("writing"):
        return
    pending = state.get("pending")
    if not pending:
        return
    state["writing"] = True
    try:
        while pending:
            state["written"] = state.get("written", 0) + 1
            pending.pop(0)[1]()
    finally:
        state["writing"] = False
        state["written"] = 0


def program_exception(caught: BaseException | None = None) -> BaseException | None:
    """The exception one of the program's signal handlers raised while this thread was inside the
    shipper (a SIGALRM timeout's `TimeoutError`, a SIGTERM handler's own exception), when the exception
    being handled is it or was raised from it (a `SpoolError` saying a directory could not be made
    "because" of it); else None. Such an exception is the program's, not a failure of the shipper's:
    every `except` the program's thread can reach in the shipper raises it again, so it reaches the
    program as it would have without logging (KeyboardInterrupt and SystemExit, no `Exception`s,
    always did). Told by its traceback: caught in a shipper frame, and passing through the handler's
    frame on the way down to the raise (an exception the program caught from its handler earlier,
    the context of a `log.exception` call, was caught in the program's frame: never raised again).
    Asked only when an exception is caught; the handlers are looked up each time (they change)."""
    if threading.current_thread() is not threading.main_thread():  # (handlers run only there)
        return None
    caught = sys.exception() if caught is None else caught
    try:
        return _raised_by_a_handler(caught)
    except RecursionError:  # the program logged with its stack nearly full: no room left to look, and
        return None  # a handler's exception is never a RecursionError; the record is counted lost


def _raised_by_a_handler(caught: BaseException | None) -> BaseException | None:
    handlers: set[CodeType] | None = None
    for _ in range(8):  # (a chain of links, bounded: a cycle of contexts must not hold the thread)
        if caught is None:
            return None
        trace = caught.__traceback__
        if trace is not None and str(trace.tb_frame.f_globals.get("__name__", "")).startswith("shipper."):
            handlers = _python_signal_handlers() if handlers is None else handlers
            while trace is not None:
                if trace.tb_frame.f_code in handlers:
                    return caught
                trace = trace.tb_next
        caught = caught.__cause__ or caught.__context__
    return None


def reraise_program_exception() -> None:
    """Raise `program_exception()` again, if there is one: the first line of every `except` on the
    program's thread that would otherwise take the program's exception for the shipper's failure."""
    found = program_exception()
    if found is not None:
        raise found


class suppress(contextlib.AbstractContextManager[None]):
    """`contextlib.suppress(*kinds)` on the program's thread: the program's exception (see
    `program_exception`) is never suppressed, even when of one of those kinds (`TimeoutError` is an
    OSError)."""

    def __init__(self, *kinds: type[BaseException]) -> None:
        self._kinds = kinds

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: object) -> bool:
        return kind is not None and issubclass(kind, self._kinds) and program_exception(value) is None


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold back the program's asynchronous signals on the main thread for a moment: around standard
    library code that absorbs every exception (`traceback`'s `_safe_string` has a bare `except`), where
    a handler's exception would be lost however the shipper's own `except`s behave. A signal that
    arrives meanwhile is delivered as soon as it ends (its handler then runs in the shipper's frame,
    where `reraise_program_exception` lets its exception through). Three system calls: not for
    every record, only for the rare ones that need it (a traceback's capture). The mask is this
    thread's: a signal sent to the process that the kernel hands to another of the program's threads
    (one that does not block it) has its handler run here all the same; the shipper's own threads
    block them (`start_thread`)."""
    if _HOLDABLE is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    # Each call runs the handlers of signals already arrived when it returns, and raises what they
    # raise: the mask is read first (a raise there changes nothing), so that it is restored even when
    # the call that holds them raises after holding them.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _HOLDABLE)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_thread(thread: threading.Thread) -> None:
    """Start one of the shipper's threads with the program's asynchronous signals blocked in it for
    its whole life (a thread is born with its creator's mask, so none arrives before it could block
    them). The kernel hands a signal to a thread that does not block it: while the main thread holds
    signals back (`signals_held`), one handed to a shipper thread had its handler run on the main
    thread all the same, inside the standard library code the holding was for, which absorbed the
    handler's exception (a program's `signal.alarm` timeout lost)."""
    _threads.add(thread)
    if _HOLDABLE is None:
        thread.start()
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HOLDABLE)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()  # every thread `start_thread` started


def _free_imports_of_lost_threads() -> None:
    """In a forked child: the imports the shipper's threads were in the middle of are undone.

    A fork copies one thread. One of the shipper's (the watchdog starting an agent, a delivery thread)
    caught by the fork inside an import held that module's import lock, and in the child no thread
    would ever release it: the child's first import of the module waited for ever (a worker forked by
    a SIGALRM handler hung on the watchdog's import of `_sha256` when it started its own agent). Each
    such lock is forgotten, so the next import makes its own, and a module whose code had not finished
    running is taken out of `sys.modules`, so it is imported whole again. Locks the program's own threads
    held are left as they are (a program that forks while it imports in a thread has that hazard with
    or without logging). Reads `importlib._bootstrap`'s table of locks (the same names from 3.8 to
    3.13); where it differs, nothing is done."""
    lost = {thread.ident for thread in list(_threads)} - {threading.get_ident(), None}
    locks = getattr(sys.modules.get("importlib._bootstrap"), "_module_locks", None)
    if not lost or not isinstance(locks, dict):
        return
    for name, reference in list(locks.items()):
        held = reference() if callable(reference) else None
        if getattr(held, "owner", None) not in lost:
            continue
        del locks[name]
        module = sys.modules.get(name)
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            del sys.modules[name]


# Every signal but those that cannot be held (SIGKILL, SIGSTOP) and those a fault raises synchronously
# (holding them back while the fault recurs would kill the process instead); None without pthreads.
_NEVER_HELD: Final = (
    "SIGKILL", "SIGSTOP", "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGABRT", "SIGSYS",
)  # fmt: skip
_HOLDABLE: Final = (
    frozenset(signal.valid_signals()) - {getattr(signal, n) for n in _NEVER_HELD if hasattr(signal, n)}
    if hasattr(signal, "pthread_sigmask")
    else None
)


def _python_signal_handlers() -> set[CodeType]:
    """The code of every signal handler written in Python (a function, a method, a partial, an object
    with `__call__`); the standard ones (SIG_DFL, SIG_IGN, `default_int_handler`) have none."""
    codes: set[CodeType] = set()
    for number in signal.valid_signals():
        try:
            handler = signal.getsignal(number)
        except (OSError, ValueError):  # (a number the platform lists but does not take)
            continue
        handler = getattr(handler, "func", handler)  # functools.partial
        function = getattr(handler, "__func__", handler)  # a bound method
        code = getattr(function, "__code__", None)
        if code is None:  # an object with a __call__ method (whose bound method reads its function's)
            code = getattr(getattr(function, "__call__", None), "__code__", None)  # noqa: B004
        if isinstance(code, CodeType):
            codes.add(code)
    return codes


# A fork is a stretch inside the shipper too: from its last step before the fork (it holds the writers'
# locks by then) to its last step after it, in the parent and in the child, the program's own at-fork
# hooks run (those registered before the shipper was imported: a library imported first), and a record
# they log is put aside and written after it. Written at once, it waited for a lock this very thread
# held for the fork: the program hung at its first fork.


_ends: list[bool] = []  # [True] once the hooks that end the stretch are registered (`register_fork_ends`)


def register_fork_ends() -> None:
    """Register the shipper's last steps after a fork; called once, by the last module of the shipper's
    to register at-fork hooks (the handler's). Until then no fork begins a stretch (a process that
    writes no records, the agent's, never has one left open)."""
    if not _ends:
        os.register_at_fork(after_in_parent=_fork_ends_in_parent, after_in_child=_fork_ends_in_child)
        _ends.append(True)


def _fork_begins() -> None:
    """The shipper's last step before a fork (this module's hook is registered first, so runs last)."""
    state = local.__dict__
    if _ends and not state.get("busy"):  # (busy: a signal handler forks inside a logging call, which
        state["busy"] = state["forking"] = True  # ends it)


def _fork_ends_in_parent() -> None:
    """The shipper's last step after a fork in the parent: write what the program's hooks logged
    meanwhile."""
    state = local.__dict__
    if state.pop("forking", False):
        state["busy"] = False
        run_pending(state)


def _forget_after_fork() -> None:
    """In a forked child: its thread is not inside the shipper, whatever the parent's thread was.

    A signal handler that forks (a SIGCHLD or SIGHUP handler starting a worker) may interrupt its
    thread inside a logging call: the child inherited that mark, and all it logged was put aside for
    a call it never returns to (a worker runs to its end inside the handler), then lost uncounted.
    The shipper's locks are the child's own again by now (each module's after-fork reset), and what
    was put aside is the parent's to write; what the child's own at-fork hooks logged (they ran first)
    stays put aside for the shipper's last step after the fork (`_fork_ends_in_child`)."""
    pid = os.getpid()
    kept = [entry for entry in local.__dict__.get("pending", ()) if entry[0] == pid]
    local.__dict__.clear()
    if kept:
        local.__dict__["pending"] = kept


def _fork_ends_in_child() -> None:
    """The shipper's last step after a fork in the child (the handler's hook): write what the child's
    at-fork hooks logged before the shipper's locks were its own."""
    if not busy():
        run_pending(local.__dict__)


def _after_fork_in_child() -> None:
    _free_imports_of_lost_threads()  # first: the other hooks may import
    _forget_after_fork()


os.register_at_fork(before=_fork_begins, after_in_child=_after_fork_in_child)
