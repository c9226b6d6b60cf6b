"""Starting the delivery agent on demand, from the program, without waiting for it.

`ensure_agent` looks at the lock (a system call or two); if no agent runs it starts
`shipper.delivery.agent` in a Python of its own (`command`, `agent_environment`), in its own session,
and writes the settings, credentials included, on its standard input (never in argv or the
environment), then returns: the program never waits for the agent to start, nor for it to exit.
If the running agent has other settings (another destination written into the same directory) and
was started for a program older than this one, it is asked to stop (`lock.REPLACE`: it loses nothing,
its progress is in the acknowledgement files) and the new one takes over; an older program leaves a
newer one's agent alone (they took the directory back and forth every second, each agent killed in
the middle of its work).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from shipper.capture.writer import file_size_limit
from shipper.delivery import lock
from shipper.delivery.config import AgentConfig
from shipper.transports import TransportSpec

_CLAIM_STALE = 15.0  # seconds an agent may take to start (import, take the lock) on a loaded machine
_LOG_LIMIT = 1024 * 1024  # bytes of agent warnings kept (they are rate-limited: this is days of them)
_START_FAILURES: Final = 2  # agents in a row dead at their start before the program delivers itself


@dataclass
class _Started:
    """An agent process this one started, until reaped."""

    spool_dir: Path
    at: float  # time.monotonic() of the start
    own: bool = False  # this process's child (no helper shell): its exit status is known
    claim: tuple[int, int, int] | None = None  # the start claim it was started under (`_claim_identity`)


_children: dict[int, _Started] = {}  # pid -> the agents this process started, until seen gone
_releasing: set[int] = set()  # the write end of a helper's `_high_pipe` while it is held (see fork)
_helpers: set[int] = set()  # helper shells that had not exited when their agent's pid came
_failed: list[str] = []  # how each agent started here since the last that lived died at its start


def settings_message(
    spool_dir: Path, spec: TransportSpec, config: AgentConfig, since: float | None = None
) -> bytes:
    """What a new agent reads on its standard input (`since`: when its program began, see `ensure_agent`;
    with it, the program's pid)."""
    message: dict[str, Any] = {
        "spool_dir": os.path.abspath(spool_dir),  # the agent works from "/"
        "transport": spec.as_data(),
        "config": asdict(config),
    }
    if since is not None:
        message["since"], message["program"] = since, os.getpid()
    return json.dumps(message).encode()


def ensure_agent(
    spool_dir: Path,
    spec: TransportSpec,
    config: AgentConfig,
    warn: Callable[[str], None] | None = None,
    *,
    since: float | None = None,
) -> bool:
    """Start an agent for `spool_dir` unless one with these settings runs; False if none runs and
    none can be started here (the caller then delivers from a thread of its own). `warn` hears, in
    one sentence, that an agent with other settings was asked to stop: from then on what is spooled
    there, by any program, goes to this program's destination. `since` is when the calling program
    began (its handler was made; `time.monotonic()`, one clock for every process of the host): an
    agent with other settings started for a program that began later is left alone (the newest wins)."""
    reap()
    if lock.running(spool_dir):
        holder = lock.holder(spool_dir)
        if holder.get("key") == spec.key() or holder.get("mode") != "process":
            return True
        if _newer(holder.get("since"), since) and _program_runs(holder.get("program")):
            return True  # another program's, begun after this one: the newest wins, and keeps it
        if warn is not None:  # two programs sharing one spool_path with other destinations
            warn(
                f"the delivery agent of {spool_dir} (pid {holder.get('pid')}) had other settings (another"
                " destination or credentials) and is replaced by one with this program's: what is spooled"
                " there, by any program, now goes to this program's destination; give each destination"
                " its own spool_path (the default path does)"
            )
        with contextlib.suppress(OSError, TypeError, ValueError):
            os.kill(int(holder["pid"]), lock.REPLACE)  # other settings: the newest program wins
    if len(_failed) >= _START_FAILURES:  # this Python cannot run an agent: the caller delivers
        if warn is not None:
            warn(
                f"the delivery agent cannot start ({_failed[-1]}; see {spool_dir / 'agent.log'}): this"
                " program delivers from a thread of its own"
            )
        return False
    if not _claim(spool_dir):
        return True  # another program started one a moment ago; it takes the lock once imported
    return start(spool_dir, spec, config, since)


def _newer(theirs: object, ours: float | None) -> bool:
    """Whether the running agent's program began after ours (unknown for either: not newer)."""
    return (
        ours is not None
        and isinstance(theirs, int | float)
        and not isinstance(theirs, bool)
        and theirs > ours
    )


def _program_runs(program: object) -> bool:
    """Whether the program an agent was started for still runs (unknown: as if it did). Once it has
    ended, an older program with other settings that still writes takes the directory back: the newest
    program's agent, given a destination it could not reach, held every record of the older one for
    good (it never gives up while a program writes there)."""
    if not isinstance(program, int) or isinstance(program, bool) or program <= 0:
        return True
    return _alive(program)


def _claim(spool_dir: Path) -> bool:
    """Claim the start of an agent (`agent.starting`, removed by the agent once it holds the lock):
    sixteen forked workers that find no agent while the first one is still importing start no more.
    A claim older than `_CLAIM_STALE` seconds (or dated in the future) belongs to an agent that died
    starting."""
    marker = spool_dir / lock.STARTING_NAME
    for _ in range(2):
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
            return True
        except FileExistsError:
            try:
                age = time.time() - marker.stat().st_mtime
                if 0 <= age < _CLAIM_STALE:  # from the future: the clock jumped back since, stale
                    return False
                marker.unlink()
            except FileNotFoundError:
                continue
        except OSError:
            return True  # cannot write a marker: start anyway, the lock keeps it to one agent
    return False


def command() -> list[str] | None:
    """How to start an agent, or None where no Python can be started: a frozen program, or one whose
    `sys.executable` is not a Python (an embedding server's binary: uWSGI's, Apache's for mod_wsgi,
    started with the agent's options instead, which did anything but deliver).

    The agent's path starts with the standard library; the program's directories come after it
    (`agent_path`), and the working directory not at all (`-P`): a script's `email.py` or `ssl.py`,
    a `shipper/` in the working directory, were imported in their place, and the agent died at its
    start or at its first send (every record left in the spool, nothing said). `-S`: no `site`, so no
    `sitecustomize` or `.pth` code of the program's environment runs in the agent (the program's site
    directories are on its path all the same)."""
    if getattr(sys, "frozen", False) or not sys.executable or not os.path.exists(sys.executable):
        return None
    if not os.path.basename(sys.executable).lower().startswith(("python", "pypy")):
        return None
    utf8 = ["-X", "utf8"] if sys.flags.utf8_mode else []  # file names decoded as the program does
    return [sys.executable, "-S", "-P", *utf8, "-c", _BOOTSTRAP]


_PATH_VARIABLE: Final = "LOGLOOP_AGENT_PATH"
# Run by the agent's interpreter, whose path is then the standard library's only.
_BOOTSTRAP: Final = (
    f"import json, os, sys; sys.path += json.loads(os.environ.pop({_PATH_VARIABLE!r}, '[]')); "
    "from shipper.delivery.agent import main; sys.exit(main())"
)


def agent_path() -> list[str]:
    """Where the agent imports from, after the standard library: this package's root (the agent runs
    the program's version), then the program's path in its order (made absolute: the agent works
    from "/")."""
    package_root = str(Path(__file__).resolve().parents[2])
    entries = [p for p in sys.path if isinstance(p, str)]
    try:
        entries = [os.path.abspath(p) for p in entries]
    except OSError:  # a working directory deleted: its relative entries name nothing any more
        entries = [p for p in entries if os.path.isabs(p)]
    return list(dict.fromkeys([package_root, *entries]))


def agent_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The program's environment as the agent gets it: only what starting Python and reaching the
    network the program's way need (`_AGENT_NAMES`, `_AGENT_PREFIXES`), so none of the program's
    secrets (`DB_PASSWORD`, a `DATABASE_URL` with its password) live on in an agent that outlives it
    and serves other programs, and no `PYTHON*` setting of the program's (`PYTHONWARNINGS=error`,
    `PYTHONPATH`, `PYTHONINSPECT`...) changes how the agent runs. The agent's credentials come on its
    standard input; its path in `_PATH_VARIABLE`, removed from its environment as it starts."""
    kept = {
        name: value
        for name, value in environ.items()
        if name in _AGENT_NAMES or name.startswith(_AGENT_PREFIXES)
    }
    kept[_PATH_VARIABLE] = json.dumps(agent_path())
    return kept


_AGENT_NAMES: Final = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
        # Python's own start: where its library is, and how it decodes file names.
        "PYTHONHOME", "PYTHONPLATLIBDIR", "PYTHONUTF8", "PYTHONCOERCECLOCALE",
        # Certificates the program's TLS trusts (OpenSSL reads these).
        "SSL_CERT_FILE", "SSL_CERT_DIR", "OPENSSL_CONF", "OPENSSL_MODULES",
    }
)  # fmt: skip
# The locale; the dynamic loader (an interpreter may need LD_LIBRARY_PATH to find libpython, and an
# LD_PRELOAD such as proxychains or torsocks, configured by their own variables, routes the program's
# connections: the agent makes those connections for it).
_AGENT_PREFIXES: Final = ("LC_", "LD_", "DYLD_", "PROXYCHAINS_", "TORSOCKS_")


def start(spool_dir: Path, spec: TransportSpec, config: AgentConfig, since: float | None = None) -> bool:
    """Start an agent process (in a session of its own, every signal unblocked and at its default
    disposition); False if it cannot start.

    The agent is not this program's child: a `/bin/sh` spawned for the moment starts it in the
    background, says its pid and exits, and is reaped here at once. As a child the agent was seen by
    the program's own waits for any child: a script that waits for every child it forked (`os.wait()`
    until ChildProcessError) waited for the agent too, 30 s after its last record, for ever while the
    node was down; a prefork server got a pid it never started. The settings are written into a pipe
    before the spawn (far below a pipe's buffer); the agent's standard error goes to `agent.log` in
    the spool directory."""
    argv = command()
    if argv is None:
        return False
    env = agent_environment(os.environ)
    if file_size_limit() != math.inf:
        # The agent inherits the limit, and Python writes a module's bytecode cache cut short under it
        # without noticing (the write is not checked): every later import of that module, by any
        # program of this install, then failed ("marshal data too short").
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    log = spool_dir / "agent.log"
    claim = _claim_identity(spool_dir)
    opened: list[int] = []
    try:
        read_end, write_end = os.pipe()
        opened += [read_end, write_end]
        os.write(write_end, settings_message(spool_dir, spec, config, since))
        os.close(write_end)
        opened.remove(write_end)
        said, told = os.pipe()  # the helper writes the agent's pid here
        opened += [said, told]
        hold, release = _high_pipe()  # the helper waits for the end of this before it exits
        opened += [hold, release]
        _releasing.add(release)
        keep = os.O_APPEND if _size(log) < _LOG_LIMIT else os.O_TRUNC
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | keep
        errors = os.open(log, flags, 0o600)
        opened.append(errors)
        detached = os.path.exists(_SHELL)
        null: tuple[Any, ...] = (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)
        out = (os.POSIX_SPAWN_DUP2, told, 1) if detached else null
        pid = os.posix_spawn(
            _SHELL if detached else argv[0],
            [_SHELL, "-c", _DETACH, "sh", *argv] if detached else argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, read_end, 0),
                out,
                (os.POSIX_SPAWN_DUP2, errors, 2),
                *(((os.POSIX_SPAWN_DUP2, hold, _HOLD_FD),) if detached else ()),
                *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds()),
            ],
            setsid=True,
            # The program's signal state is not the agent's: a mask that blocks SIGTERM (a daemon that
            # waits with sigwait) or a SIGTERM set to SIG_IGN would survive the exec, and the agent
            # could not be asked to stop (a newer program's destination never took over its spool).
            setsigmask=(),
            setsigdef=_catchable_signals(),
        )
        for fd in (told, hold):
            os.close(fd)
            opened.remove(fd)
        if detached:
            opened.remove(release)  # `_agent_pid` closes it, then reaps the helper
        agent = _agent_pid(said, pid, release) if detached else pid
    except OSError:
        return False
    finally:
        for fd in opened:
            _releasing.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
    if agent:
        _children[agent] = _Started(spool_dir, time.monotonic(), own=not detached, claim=claim)
    return True


# The helper shell: the settings move to descriptor 3 (a background command's standard input is
# /dev/null), the pid reporting pipe to 4; the agent gets none of the helper's extra descriptors. Once
# it has said the pid, the helper waits for the end of the pipe on descriptor 5 (`_agent_pid`).
_SHELL: Final = "/bin/sh"
_HOLD_FD: Final = 5
_DETACH: Final = 'exec 3<&0 4>&1 1>/dev/null; "$@" 0<&3 3<&- 4>&- 5<&- & echo $! >&4; exec 4>&-; read x <&5'
_HELPER_WAIT: Final = 2.0  # seconds at most for the helper shell to say the pid


def _high_pipe() -> tuple[int, int]:
    """A pipe whose read end is above the descriptors the spawn fills (0-2 and `_HOLD_FD`), so that no
    earlier step of the spawn overwrites it (a program that closed its standard streams gets 0-2)."""
    import fcntl

    read_end, write_end = os.pipe()
    try:
        high = fcntl.fcntl(read_end, fcntl.F_DUPFD_CLOEXEC, _HOLD_FD + 1)
    finally:
        os.close(read_end)
    return high, write_end


def _agent_pid(said: int, helper: int, release: int) -> int:
    """The agent's pid as the helper shell says it (0 if it says nothing in time), the helper reaped.

    Once it has said the pid the helper waits for `release` to close, and is reaped by a blocking wait
    with SIGCHLD held back: the program's own SIGCHLD handler (Python code, run between bytecodes)
    looks only once the helper is gone. Reaped by polling after its exit, the helper's pid went to that
    handler first (a prefork server got a pid it never forked, at every agent start). A helper that
    says nothing in time is let go (`release` closed) and reaped later by `reap`."""
    try:
        text = _said(said)
    except BaseException:  # (a signal handler's exception in the poll): reaped later by `reap`
        _release(release)
        _helpers.add(helper)
        raise
    if not text.endswith(b"\n"):
        _release(release)
        _helpers.add(helper)
    else:
        # SIGCHLD held back from this thread meanwhile: the helper may exit before the wait begins (it
        # runs at once when released, on this processor too), and its signal would run the program's
        # handler right after the close. Held back, it is delivered once the helper is reaped (to a
        # program with no other thread; another thread may take it, and the handler run, earlier).
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            _release(release)
            # Blocks only for the helper's exit from `read`, its last command. (A child forked
            # meanwhile closes its copy of `release` in `forget_after_fork`: it cannot hold the wait.)
            os.waitpid(helper, 0)
        except ChildProcessError:  # reaped by the program already
            pass
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    try:
        return int(text.strip() or b"0")
    except ValueError:
        return 0


def _release(release: int) -> None:
    """Let the helper shell exit: its `read` meets the end of the pipe."""
    _releasing.discard(release)
    os.close(release)


def _said(said: int) -> bytes:
    """What the helper shell wrote on `said` (the agent's pid and a line end), within `_HELPER_WAIT`."""
    import select  # only when an agent is started (a C extension: not in every program's start)

    deadline = time.monotonic() + _HELPER_WAIT
    text = b""
    waiting = select.poll()  # (not select(): a program with a thousand files open gives high numbers)
    waiting.register(said, select.POLLIN)
    while time.monotonic() < deadline:
        if not waiting.poll(max(0.0, deadline - time.monotonic()) * 1000):
            break
        chunk = os.read(said, 64)
        text += chunk
        if not chunk or b"\n" in text:  # said whole (a child forked meanwhile may hold the pipe open)
            break
    return text


def _catchable_signals() -> set[signal.Signals]:
    """Every signal whose disposition a program can change (so an exec inherits it when ignored)."""
    return set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}


def _inheritable_fds() -> list[int]:
    """The program's descriptors above 2 that a spawned process would inherit (a listening socket
    handed down by a service manager, say): the agent must not hold them for its whole life, as
    subprocess's close_fds would ensure. Python's own descriptors are not inheritable."""
    found = []
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            fd = int(name)
            with contextlib.suppress(OSError):
                if fd > 2 and os.get_inheritable(fd):
                    found.append(fd)
        break
    return found


def reap() -> None:
    """Note agents started here that are gone, and those dead at their start (`_failed`): a Python
    that cannot run the agent (a broken interpreter, a module missing) was started again every 15
    seconds while every record waited in the spool, and nothing was said. An agent (not this
    process's child) that is gone before it took the spool's lock, the start claim it was started
    under still there, died at its start; one that found another agent running took the claim away."""
    for helper in list(_helpers):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(helper, os.WNOHANG)[0] == 0:
                continue
        _helpers.discard(helper)
    for pid, started in list(_children.items()):
        code = _exit_code(pid, started)
        if code is None or _children.pop(pid, None) is None:
            continue
        if time.monotonic() - started.at >= _CLAIM_STALE:
            _failed.clear()  # one lived: this Python can run agents
            continue
        own_claim = started.claim is not None and _claim_identity(started.spool_dir) == started.claim
        if code > 0 or (code < 0 and own_claim and not lock.running(started.spool_dir)):
            status = f" with status {code}" if code > 0 else ""
            _failed.append(f"{os.path.basename(sys.executable)} exited{status} at its start")
            if own_claim:  # left by it: the next start need not wait for it
                with contextlib.suppress(OSError):
                    (started.spool_dir / lock.STARTING_NAME).unlink()


def _claim_identity(spool_dir: Path) -> tuple[int, int, int] | None:
    """Which start claim `spool_dir` holds (device, inode, modification time), None if none. An agent
    is dead at its start only if the claim it was started under is still there: the one found may be
    a later start's (the agent took the lock, removing its own, and was then replaced: counted dead at
    its start, two such replacements made the program deliver from a thread of its own for good)."""
    try:
        status = (spool_dir / lock.STARTING_NAME).stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino, status.st_mtime_ns


def _exit_code(pid: int, started: _Started) -> int | None:
    """None while the agent `pid` lives; once gone, its exit status where it was this process's child
    (a signal: 0, stopped or replaced), else -1 (unknown)."""
    if started.own:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by the program (or by another thread here): status unknown
            return 0
        return None if done == 0 else max(0, os.waitstatus_to_exitcode(status))
    return None if _alive(pid) else -1


def _alive(pid: int) -> bool:
    """Whether the process `pid` runs (a zombie nobody reaped yet does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process now has that pid: ours is gone, but say alive (harmless)
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:
        return True  # no /proc: as far as can be told


def stop_started(timeout: float = 5.0) -> None:
    """Stop the agents this process started and wait for them (for tests and benchmarks)."""
    for pid in _children:
        with contextlib.suppress(OSError):
            os.kill(pid, lock.REPLACE)  # (at once: not the drain SIGTERM asks for)
    deadline = time.monotonic() + timeout
    while _children and time.monotonic() < deadline:
        for pid, started in list(_children.items()):
            if _exit_code(pid, started) is not None:
                _children.pop(pid, None)
        time.sleep(0.01)
    _children.clear()


def forget_after_fork() -> None:
    """In a forked child: the parent's agents are not this process's children, and a helper shell the
    parent waits for must not wait for this child too (its copy of the helper's pipe is closed)."""
    for fd in _releasing:
        with contextlib.suppress(OSError):
            os.close(fd)
    _releasing.clear()
    _children.clear()
    _helpers.clear()
    _failed.clear()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
