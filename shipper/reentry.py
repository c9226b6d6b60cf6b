"""Re-entrance on a program's thread: records logged while that thread is already inside the shipper.

A signal handler runs on the main thread between two steps of whatever that thread was doing; if it
logs while the thread holds one of the shipper's locks (inside emit(), sealing a segment, reading the
counters), taking that lock again would hang the program for good. The one rule: shipper code that
takes a lock on a program's thread runs `inside()`, and `emit()` defers a record while `busy()`;
deferred records are written as soon as the thread leaves the shipper.

Standard library only: the handler, the segment writer and the counters all import it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

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


def run_pending(state: dict[str, list[Callable[[], object]]]) -> None:
    """Run the deferred writes (each marks the thread busy again while it writes)."""
    pending = state.get("pending")
    while pending:
        pending.pop(0)()


def _forget_after_fork() -> None:
    """In a forked child: its thread is not inside the shipper, whatever the parent's thread was.

    A signal handler that forks (a SIGCHLD or SIGHUP handler starting a worker) may interrupt its
    thread inside a logging call: the child inherited that mark, and all it logged was put aside for
    a call it never returns to (a worker runs to its end inside the handler), then lost uncounted.
    The shipper's locks are the child's own again by now (each module's after-fork reset), and what
    was put aside is the parent's to write."""
    local.__dict__.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
