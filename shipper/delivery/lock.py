"""`agent.lock`: one delivery agent per spool directory.

The running agent holds an exclusive `flock` on the file (the kernel drops it when the agent exits or
is killed) and writes in it its pid, its settings key, how it runs ("process" or "thread"), when
the program it was started for began ("since") and that program's pid ("program").
Light on purpose: the program imports this to find out whether an agent runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Final

from shipper import descriptors
from shipper.spool import layout

STARTING_NAME = "agent.starting"  # a program is starting an agent (see shipper.delivery.launcher)
# How an agent process is stopped. SIGTERM, what a service manager sends every process a unit left
# behind once its main process exits (systemd's default for services and timer jobs), `docker stop`'s
# and Kubernetes': the agent sends what it can of what waits, for `TERM_GRACE` seconds at most, then
# exits (stopped at once, a script's records waited for a later program). `REPLACE`: the newest
# program's agent takes the spool over, at once (it must not send, to the old destination, what is
# spooled for the new one); its default action ends the process, as an older agent's too.
REPLACE: Final = signal.SIGUSR1
TERM_GRACE: Final = 5.0
# Descriptors of the lock files this process has open (a delivery thread's), with what they refer to:
# a program that closes every descriptor takes them (and the flock) from us, and its own files reuse
# their numbers; those are never closed here.
_held: dict[int, descriptors.Identity] = {}
_opening = threading.Lock()  # held while one is opened and recorded: a fork waits for both


def acquire(
    spool_dir: Path,
    key: str,
    mode: str,
    *,
    wait: float = 0.0,
    since: float | None = None,
    program: int | None = None,
) -> int | None:
    """Take the lock for an agent with settings `key`; its descriptor, or None if another agent
    holds it (after waiting up to `wait` seconds for one with other settings to go). `since`, when
    the program it was started for began, and `program`, its pid, are written with the agent's pid
    (see `launcher.ensure_agent`)."""
    path = spool_dir / layout.LOCK_NAME
    with _opening:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _held[fd] = descriptors.identity(fd)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if holder(spool_dir).get("key") == key or time.monotonic() >= deadline:
                release(fd)
                if holder(spool_dir).get("key") == key:
                    with contextlib.suppress(OSError):
                        (spool_dir / STARTING_NAME).unlink()  # one runs: no start is under way
                return None
            time.sleep(0.05)
    facts: dict[str, Any] = {"pid": os.getpid(), "key": key, "mode": mode}
    if since is not None:
        facts["since"] = since
    if program is not None:
        facts["program"] = program
    who = json.dumps(facts).encode()
    try:
        if os.pwrite(fd, who, 0) != len(who):
            raise OSError(errno.ENOSPC, "short write")
        os.ftruncate(fd, len(who))
    except OSError:  # a full disk: hold the lock all the same (delivering is what frees the disk),
        with contextlib.suppress(OSError):  # saying nothing rather than a former holder's pid
            os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):
        (spool_dir / STARTING_NAME).unlink()  # the start is done
    return fd


def release(fd: int) -> None:
    """Let go of the lock: its descriptor is closed (the flock goes with it) if it is still ours."""
    with _opening:  # forgotten and closed at once: a fork between would keep the lock for the child
        known = _held.pop(fd, descriptors.NONE)
        if descriptors.ours(fd, known):
            with contextlib.suppress(OSError):
                os.close(fd)


def held(fd: int) -> bool:
    """Whether `fd` is still the lock this process took (a program that closes every descriptor
    took it, and the flock with it, from a delivery thread)."""
    return descriptors.ours(fd, _held.get(fd, descriptors.NONE))


def _forget_after_fork() -> None:
    """In a forked child: close the copies of the parent's lock descriptors. The flock belongs to the
    open file, which the copy shares: kept, it would hold the directory for as long as the child
    lives, the parent gone, and keep every agent (the child's own delivery thread too) out."""
    global _opening
    _opening = threading.Lock()
    for fd, known in _held.items():
        if descriptors.ours(fd, known):
            with contextlib.suppress(OSError):
                os.close(fd)
    _held.clear()


def _before_fork() -> None:
    _opening.acquire()


def _after_fork_in_parent() -> None:
    _opening.release()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_forget_after_fork
)


def running(spool_dir: Path) -> bool:
    """Whether an agent holds the lock right now (its exclusive lock refuses a shared probe)."""
    return layout.held(spool_dir / layout.LOCK_NAME, exclusive=False)


def holder(spool_dir: Path) -> dict[str, Any]:
    """What the running agent wrote in the lock file (pid, key, mode); {} if nothing readable."""
    return layout.read_json(spool_dir / layout.LOCK_NAME)
