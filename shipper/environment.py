"""Facts about the running program: host, process, Python, platform, argv, allowed variables, context.

The static parts (host, interpreter, platform, executable) are computed once per process; after
`fork()` the child keeps them and only its pid is refreshed. The dynamic parts (argv, environment
variables, the program's context provider) are read when an error event is formatted. Everything
that leaves here has gone through `shipper.redaction`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from shipper import redaction

ContextProvider = Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class StaticFacts:
    """What does not change during a process's life, already in ECS shape."""

    pid: int
    host: dict[str, Any]
    process_name: str
    executable: str
    python: str
    platform: str


_lock = threading.Lock()
_cached: StaticFacts | None = None


_entity: tuple[int, str] = (0, "")  # (pid, id) of `entity_id`


def _forget_after_fork() -> None:
    """A forked child's own lock: a signal handler that forked while its thread collected the facts
    (the first record of a process) left the child's copy held, and the child's first record waiting.
    And its own `entity_id`: it is another process."""
    global _lock, _entity
    _lock = threading.Lock()
    _entity = (0, "")


def entity_id() -> str:
    """This process's `process.entity_id` (ECS): 128 random bits, made once per process (a forked
    child makes its own). What tells two runs apart where the pid cannot: a pid reused by the next
    cron run on a busy host, or the pid 1 of every container."""
    global _entity
    pid, known = _entity
    if pid != os.getpid():  # (also a child forked by a way that ran no at-fork hook)
        _entity = pid, known = os.getpid(), os.urandom(16).hex()
    return known


def event_entity(pid: object, writer_pid: object, writer_entity: object) -> str | None:
    """The `process.entity_id` of an event whose `process.pid` is `pid`, logged in a process whose pid
    and entity id are `writer_pid` and `writer_entity`: the writer's own for its own records; None for
    a record another process made (a `QueueListener` relaying its workers' records: their ids are
    unknown here, and the writer's would join them to the wrong process) and for a writer that said
    none (a segment of an earlier version: left out, never made up)."""
    if type(pid) is not int or pid != writer_pid or not isinstance(writer_entity, str) or not writer_entity:
        return None
    return writer_entity


os.register_at_fork(after_in_child=_forget_after_fork)


def _collect() -> StaticFacts:
    import platform  # here: only a process that builds documents itself needs it (see capture.program)

    hostname = host_name()
    system = platform.system().lower()
    args = sys_argv()
    return StaticFacts(
        pid=os.getpid(),
        host={
            "name": hostname,
            "hostname": hostname,
            "architecture": platform.machine(),
            "os": {"type": system, "platform": sys.platform, "version": platform.release()},
        },
        process_name=process_name(args),
        executable=sys.executable,
        python=f"{python_version()} ({platform.python_implementation()})",
        platform=platform.platform(),
    )


def static_facts() -> StaticFacts:
    """The cached facts of this process; a forked child gets its own pid (the rest is inherited)."""
    global _cached
    facts = _cached
    pid = os.getpid()
    if facts is None or facts.pid != pid:
        with _lock:
            facts = _cached
            if facts is None:
                facts = _cached = _collect()
            elif facts.pid != pid:
                facts = _cached = replace(facts, pid=pid)
    return facts


def argv() -> list[str]:
    """sys.argv with secrets hidden."""
    return redaction.redact_argv(sys_argv())


def host_name() -> str:
    """This host's name as `socket.gethostname()` gives it: on POSIX systems that call reads the
    kernel's node name, which `os.uname` gives without importing `socket` (2 ms of every program's
    start-up, for one string)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows: no uname

    return socket.gethostname()


def python_version() -> str:
    """`platform.python_version()`'s text (sys.version's first word: X.Y.Z and any suffix) without
    importing `platform`, which compiles nine patterns at import (~1 ms of every program's start)."""
    return sys.version.split()[0]


def process_name(args: Sequence[str]) -> str:
    """The program's name: argv[0]'s file name, else the interpreter's (an embedded one, `-c`'s "")."""
    return os.path.basename(args[0]) if args and args[0] else os.path.basename(sys.executable)


def sys_argv() -> list[str]:
    """sys.argv as texts, or [] in an embedded interpreter that has none; past `ARGV_KEPT` characters
    (a tool given 20,000 file names) the remaining arguments are one text saying how many were left
    out: argv goes with every document (and into every spool segment), and a whole one of 300 KB made
    each segment too small for the program's facts (every record was lost)."""
    args = [str(arg) for arg in getattr(sys, "argv", None) or []]
    total = 0
    for index, arg in enumerate(args):
        total += len(arg)
        if index and total > ARGV_KEPT:  # whole arguments only: no secret is cut in two
            left = args[index:]
            return [
                *args[:index],
                f"[{len(left)} more arguments ({sum(map(len, left))} characters) left out]",
            ]
    return args


ARGV_KEPT: Final = 16 * 1024  # characters of argv kept whole (the first argument always is)


def read_env(allowlist: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowed environment variables that are set, as they are now (not yet redacted)."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in allowlist if name in environ}


def env_vars(allowlist: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allowed environment variables that are set, secret-looking names and values redacted."""
    present = read_env(allowlist, environ)
    return {name: str(value) for name, value in redaction.redact_mapping(present).items()}


_registered: ContextProvider | None = None


def register_context_provider(provider: ContextProvider | None) -> None:
    """Set (or clear, with None) the process-wide provider used by formatters that were given none.

    This is the one hook a program registers, e.g. a service manager reporting its services' state.
    """
    global _registered
    _registered = provider


def registered_context_provider() -> ContextProvider | None:
    return _registered
