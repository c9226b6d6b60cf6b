"""The spool directory: where segments, their acknowledgement files and the agent's lock live.

    <dir>/                      0700: a second user can neither read nor add records
      q<seq>-<pid>-<rand>.seg   one per writer and roll-over, see `shipper.spool.segment`; <seq> (12
                                digits) is one more than the largest in the directory when it is made,
                                so the names order segments as they were made whatever the wall clock
                                did (`order_key`); spools of earlier versions hold <ms>-<pid>-<rand>.seg
                                (the wall clock's ms: read first, in that order)
      q<seq>-<pid>-<rand>-report.seg  a health report that no segment could take (the spool full or
                                its writer's segment sealed): sealed at once, outside the size bound,
                                at most REPORTS_MAX of them (`is_report`)
      q<seq>-<pid>-<rand>.ack   the agent's progress through that segment (JSON, replaced atomically)
      q<seq>-<pid>-<rand>.dropped a writer's drop_oldest deleted that segment while the agent was sending
                                from it: the agent, not the writer, counts what it could not deliver
      agent.lock                flock held by the running delivery agent; holds its pid and settings key
      bound.lock                locked by a writer while it applies the size bound and makes a segment
      <name>.tmp                an acknowledgement or agent.json being written (renamed at once)
      agent.json                the agent's own counters (recovered, torn, shard-limit retries...), and
                                since when and why nothing could be delivered, while that lasts; what
                                the last agent left when it gave up, until another one runs
    <dir>.deadletter.jsonl      documents the server refused for good (`shipper.deadletter`)

The acknowledgement file is the only state the agent keeps: documents up to `offset` and those at
the offsets in `done` were acknowledged (or dead-lettered). A new agent resumes from there; what it
sends again carries the same event id and is refused by the server as a duplicate (counted as sent
once, since the file remembers what was counted).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from shipper import reentry
from shipper.exceptions import SpoolError
from shipper.spool.segment import SUFFIX

ACK_SUFFIX: Final = ".ack"
DROPPED_SUFFIX: Final = ".dropped"  # a segment drop_oldest deleted while the agent sent from it
LOCK_NAME: Final = "agent.lock"
BOUND_LOCK_NAME: Final = "bound.lock"
_BOUND_LOCK_WAIT: Final = 0.2  # seconds a writer waits for another's turn before going on without
AGENT_STATS_NAME: Final = "agent.json"
FAILING_KEY: Final = "failing"  # in agent.json while nothing can be delivered: since, last, reason
GIVEN_UP_KEY: Final = "given_up"  # in agent.json from an agent's giving up (`unreachable_exit`) to the next
DEADLETTER_SUFFIX: Final = ".deadletter.jsonl"
_BOOT_ID: Final = Path("/proc/sys/kernel/random/boot_id")  # a new one at each boot (Linux)
_SEQUENCE_MARK: Final = "q"  # starts a segment's name made by this version (after every digit)
_TEMPORARY_SUFFIX: Final = ".tmp"  # a file being written whole, then renamed over its target
# Open-file-description locks (Linux): held by an open file, not a process, so closing another
# descriptor of the same file (a liveness probe) does not release them; they do not meet `flock`s.
_OFD_SETLK: Final = getattr(fcntl, "F_OFD_SETLK", None)
_FLOCK: Final = struct.Struct("hhqqi4x")  # struct flock: type, whence, start, length, pid (0)


def ensure_private_dir(path: Path) -> None:
    """Create the spool directory (0700), or check that an existing one is private to this user.

    Raises SpoolError naming the problem: the caller decides whether that is fatal."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        reentry.reraise_program_exception()
        raise SpoolError(f"cannot create the spool directory {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise SpoolError(f"the spool path {path} exists and is not a directory")
    if info.st_uid != os.getuid():
        raise SpoolError(f"the spool directory {path} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError as exc:
            reentry.reraise_program_exception()
            raise SpoolError(f"the spool directory {path} is readable by others: {exc}") from exc


def is_gone(path: Path) -> bool:
    """Whether the spool directory `path` is no more (removed, or replaced by a file). One this user can
    no longer reach (a parent made inaccessible) is still there: its records wait for access to come
    back (`Path.is_dir()` raised PermissionError there, and the agent died with a traceback)."""
    try:
        return not stat.S_ISDIR(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False


def is_deleted(path: Path) -> bool:
    """Whether the file `path` is no more. Raises OSError where that cannot be told (its directory
    made unreadable: a permission error is no deletion, and the caller says what to do about it)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    return False


def segment_name(sequence: int, pid: int, token: int) -> str:
    """The name of a new segment, `sequence` from `next_sequence`."""
    return f"{_SEQUENCE_MARK}{sequence:012d}-{pid}-{token & 0xFFFFFFFF:08x}{SUFFIX}"


# A report segment's name ends so. Past REPORTS_KEPT waiting in a spool, a new report is merged into one
# of them; where none can be merged now (the agent is sending them, or they are no short run's), it is
# kept all the same up to REPORTS_MAX (some 1 to 4 KiB each, outside the size bound: a report must
# reach the node when the bound is what made records drop).
REPORT_MARK: Final = "-report"
REPORTS_KEPT: Final = 16
REPORTS_MAX: Final = 2 * REPORTS_KEPT


def report_name(sequence: int, pid: int, token: int) -> str:
    """The name of a report segment (`segment_name`'s, marked)."""
    return segment_name(sequence, pid, token).removesuffix(SUFFIX) + REPORT_MARK + SUFFIX


def is_report(path: Path) -> bool:
    """Whether `path` is a report segment (`report_name`)."""
    return path.name.endswith(REPORT_MARK + SUFFIX)


def next_sequence(path: Path) -> int:
    """The sequence of the next segment of the spool directory `path`: one more than the largest of its
    segments, those being made (hidden) included, and of the acknowledgements and drop marks left of
    deleted ones (a new segment never takes the name of one whose acknowledgement waits). Taken
    under `bound_lock`, it orders the segments as they were made whatever the wall clock does (set
    back by NTP, a VM restored from a snapshot, a wrong clock at boot); two writers that go on
    without the lock may take the same, and are then ordered by pid and token (they were made at the
    same moment). Restarting at 1 in an empty directory orders nothing wrong: only the segments a
    directory holds are ordered."""
    largest = 0
    with _probe(), reentry.suppress(OSError):  # (`_probing`: a descriptor, open inside `_names`)
        for name in _names(path):
            name = name.removeprefix(".")
            if name.startswith(_SEQUENCE_MARK) and name.endswith(_NUMBERED):
                largest = max(largest, _leading_number(name[1:]))
    return largest + 1


_NUMBERED: Final = (SUFFIX, SUFFIX + ".new", ACK_SUFFIX, DROPPED_SUFFIX)  # names that hold a sequence


def order_key(path: Path) -> tuple[int, int, str]:
    """Sorts segments oldest first: those named by earlier versions (by the wall clock's ms: all made
    before this version wrote to the directory) first, then by sequence; the name breaks ties."""
    name = path.name
    if name.startswith(_SEQUENCE_MARK):
        return (1, _leading_number(name[1:]), name)
    return (0, _leading_number(name), name)


def _leading_number(text: str) -> int:
    digits = text.partition("-")[0]
    return int(digits) if digits.isdigit() and digits.isascii() else 0


def segments(path: Path) -> list[Path]:
    """The segment files of a spool directory, oldest first (`order_key`)."""
    with _probe(), reentry.suppress(OSError):
        return sorted((p for p in path.iterdir() if p.name.endswith(SUFFIX)), key=order_key)
    return []


def sweep_unfinished(path: Path, older_than: float, seen: dict[tuple[str, int], float]) -> int:
    """Delete what writes cut short left behind, older than `older_than` seconds: the hidden files of
    segments never renamed into view (`.<name>.seg.new`, they hold no record) that no writer holds
    any more, and the temporary files of acknowledgements and of agent.json (`<name>.tmp`, replaced
    at once when whole); a writer or an agent interrupted (a signal handler's exception, SIGKILL)
    leaves them, one more each time. How many are left to delete at a later look.

    A file's age is its wall-clock time's, which a clock stepped forward makes hours old at once: so a
    file is deleted only once an earlier sweep saw it too (`seen`: name and inode -> when, on the
    monotonic clock, the caller's to keep), `_SECOND_LOOK` seconds before at least. A writer's hidden
    file between its creation and its lock looked unheld and old, and was deleted under it."""
    now, waiting, found = time.monotonic(), 0, set()
    with _probe(), reentry.suppress(OSError):
        for entry in path.iterdir():
            hidden = entry.name.startswith(".") and entry.name.endswith(SUFFIX + ".new")
            if not (hidden or entry.name.endswith(_TEMPORARY_SUFFIX)):
                continue
            with reentry.suppress(OSError):
                info = entry.stat()
                if abs(time.time() - info.st_mtime) <= older_than or held(entry, exclusive=True):
                    continue
                key = (entry.name, info.st_ino)
                found.add(key)
                if now - seen.setdefault(key, now) < _SECOND_LOOK:
                    waiting += 1
                    continue
                entry.unlink()
                found.discard(key)
    for gone in set(seen) - found:
        del seen[gone]
    return waiting


_SECOND_LOOK: Final = 1.0  # seconds between two sweeps' sightings of a file before it is deleted


def unfinished_bytes(path: Path) -> int:
    """Bytes of the segments being made now (hidden `.<name>.seg.new` files): they count towards the
    size bound as soon as they are allocated."""
    total = 0
    with _probe(), reentry.suppress(OSError):
        for name in _names(path):
            if name.startswith(".") and name.endswith(SUFFIX + ".new"):
                with reentry.suppress(OSError):
                    total += os.stat(os.path.join(path, name)).st_size
    return total


@contextlib.contextmanager
def bound_lock(path: Path) -> Iterator[None]:
    """Writers' turns at the size bound: one at a time reads what the spool holds, deletes and makes
    a segment, so that two processes do not both take the same room. A POSIX record lock (`lockf`):
    unlike `flock` it is not inherited by a child forked meanwhile, which would hold it for its life.
    A writer that cannot have it within a moment (a holder stopped with SIGSTOP) goes on without it:
    the bound is then kept less exactly, but no program waits on another."""
    try:
        fd = os.open(path / BOUND_LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        reentry.reraise_program_exception()
        yield  # a read-only or missing directory: the segment cannot be made either, and says why
        return
    try:
        deadline = time.monotonic() + _BOUND_LOCK_WAIT
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                reentry.reraise_program_exception()
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.002)
        yield
    finally:
        with reentry.suppress(OSError):  # closing releases the lock
            os.close(fd)


def ack_path(segment: Path) -> Path:
    return segment.with_name(segment.name[: -len(SUFFIX)] + ACK_SUFFIX)


def deadletter_path(spool_dir: Path) -> Path:
    return spool_dir.with_name(spool_dir.name + DEADLETTER_SUFFIX)


@dataclass(kw_only=True)
class Ack:
    """The agent's progress through one segment, and what it counted there."""

    offset: int = 0  # every frame before it is finished
    done: list[int] = field(default_factory=list)  # finished frames after `offset`
    sent: int = 0
    reports: int = 0  # of `sent`, the shipper's health reports: documents, but no record of the program
    dead_lettered: int = 0
    retried: int = 0
    torn: int = 0
    sending: list[int] = field(default_factory=list)  # frames in the request now sent: written before
    # it goes, so that a writer deleting the segment after the agent's death knows which records may
    # have been delivered (`unconfirmed`), and never counts them lost
    finished: bool = False  # sealed (or its writer dead) and everything in it finished
    boot: str = ""  # the boot it was written in (`boot_clock`), and when by that boot's clock: its
    at: float = 0.0  # age, whatever the wall clock did since (`ack_age`); none in earlier versions'

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()


def read_ack(segment: Path) -> Ack:
    """The acknowledgement state of a segment; a fresh one if there is none, it is unreadable, or a
    field holds a value of another kind or a negative count (a file cut or edited by hand: then the
    segment is read again from its start, and what was sent already is refused by its document id)."""
    try:
        with _probe():  # (no fork copies the descriptor meanwhile, see `_probing`)
            text = ack_path(segment).read_bytes()
        data: Any = json.loads(text)
    except (OSError, ValueError):
        reentry.reraise_program_exception()
        return Ack()
    if not isinstance(data, dict):
        return Ack()
    fields = {name: data[name] for name in Ack.__dataclass_fields__ if name in data}
    if not all(_ACK_FIELD_CHECKS[name](value) for name, value in fields.items()):
        return Ack()
    return Ack(**fields)


def _count(value: object) -> bool:
    return type(value) is int and value >= 0  # (a JSON true is a bool, not a count)


_ACK_FIELD_CHECKS: Final[dict[str, Callable[[object], bool]]] = {
    "offset": _count,
    "done": lambda value: type(value) is list and all(map(_count, value)),
    "sent": _count,
    "reports": _count,
    "dead_lettered": _count,
    "retried": _count,
    "torn": _count,
    "sending": lambda value: type(value) is list and all(map(_count, value)),
    "finished": lambda value: type(value) is bool,
    "boot": lambda value: type(value) is str,
    "at": lambda value: _count(value) or (type(value) is float and value >= 0),
}


def write_ack(segment: Path, ack: Ack) -> None:
    """Replace the acknowledgement file atomically (a reader sees the old or the new state)."""
    ack.boot, ack.at = boot_clock()
    target = ack_path(segment)
    temporary = target.with_name(target.name + _TEMPORARY_SUFFIX)
    _write_whole(temporary, ack.to_json())
    os.replace(temporary, target)


def ack_age(segment: Path, ack: Ack) -> float:
    """Seconds since the acknowledgement `ack` of `segment` was written: by the clock of this boot if
    this boot wrote it (a wall clock set forward an hour made a file written a moment ago look an
    hour old, and swept before its live writer read it), else by the file's time and the wall clock
    (an earlier version's file, or one from before a reboot, whose writer the reboot ended).
    Raises OSError for a file gone."""
    boot, now = boot_clock()
    if boot and ack.boot == boot and ack.at <= now:
        return now - ack.at
    return time.time() - ack_path(segment).stat().st_mtime


def failing_stamp(since: dict[str, Any] | None) -> dict[str, Any]:
    """What agent.json says under FAILING_KEY when a send fails now (`since`: the stamp of the first
    failure in a row, None if this is it): when, on the wall clock (what earlier versions read) and
    on this boot's clock (`failing_ages`)."""
    boot, now = boot_clock()
    wall = time.time()
    stamp = {"since": wall, "last": wall, "boot": boot, "since_at": now, "last_at": now}
    if since is not None:
        stamp.update({name: since[name] for name in ("since", "since_at") if name in since})
    return stamp


def failing_ages(failing: dict[str, Any]) -> tuple[float, float] | None:
    """Seconds since the first and since the latest failure of a FAILING_KEY stamp: by this boot's
    clock if this boot wrote it (the wall clock set back an hour kept a program silent about a
    destination it could not reach for that hour; set forward more than two minutes, the latest
    failure looked stale and nothing was said either); None for a stamp of an earlier boot (its agent
    is gone: no news)
    or one that cannot be read; by the wall clock for an earlier version's stamp (no boot in it)."""
    try:
        boot, now = boot_clock()
        if failing.get("boot"):
            if failing["boot"] != boot:
                return None
            return now - float(failing["since_at"]), now - float(failing["last_at"])
        wall = time.time()
        return wall - float(failing["since"]), wall - float(failing["last"])
    except (KeyError, TypeError, ValueError):
        return None


def boot_clock() -> tuple[str, float]:
    """This boot's id and the seconds since it began, suspended time included: a clock no one sets
    and that never goes back, comparable between the processes of one boot (not across boots:
    hence the id). ("", 0.0) where there is no such clock (not Linux)."""
    boot = _boot_id()
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if not boot or clock is None:
        return "", 0.0
    try:
        return boot, time.clock_gettime(clock)
    except OSError:
        reentry.reraise_program_exception()
        return "", 0.0


@functools.cache
def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        reentry.reraise_program_exception()
        return ""


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + _TEMPORARY_SUFFIX)
    _write_whole(temporary, json.dumps(data).encode())
    os.replace(temporary, path)


def _write_whole(path: Path, data: bytes) -> None:
    """Write `data` as the whole of a private file; OSError unless every byte is written (a full
    disk or a file size limit can cut a write short: a cut file must not replace a whole one)."""
    with _probe():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.ENOSPC, "short write", str(path))
        except OSError:
            reentry.reraise_program_exception()
            path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)


def read_json(path: Path) -> dict[str, Any]:
    try:
        with _probe():
            text = path.read_bytes()
        data = json.loads(text)
    except (OSError, ValueError):
        reentry.reraise_program_exception()
        return {}
    return data if isinstance(data, dict) else {}


def hold_to_send(segment: Path) -> int | None:
    """For the agent, before it sends records of `segment`: a descriptor holding it against deletion
    by a writer's overflow policy (`take_to_drop`) until it is closed, once the acknowledgement of
    what was sent is written; None if the segment was deleted or a writer is deleting it now (its
    unsent records counted lost there: they must not be sent)."""
    try:
        fd = os.open(segment, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        reentry.reraise_program_exception()
        return None
    with reentry.suppress(OSError):
        if _range_lock(fd, fcntl.F_RDLCK) and os.fstat(fd).st_nlink:
            return fd  # (locked after the writer deleted it: no link left)
    os.close(fd)
    return None


def take_to_drop(segment: Path) -> int | None:
    """For a writer about to delete `segment` and count its unsent records lost: a descriptor that
    keeps the agent from sending from it until closed (after the deletion); -1 where no such lock
    can be had (the deletion goes on, as it always did); None while the agent is sending from it
    (`hold_to_send`): what it sends may be delivered yet, so the writer cannot count; it marks the
    segment (`mark_dropped`) for the agent to count once the send is settled."""
    try:
        fd = os.open(segment, os.O_RDWR | os.O_CLOEXEC)
    except OSError:  # gone already, or not ours to open: the deletion finds out
        reentry.reraise_program_exception()
        return -1
    if _range_lock(fd, fcntl.F_WRLCK):
        return fd
    os.close(fd)
    return None


def mark_dropped(segment: Path, unsent: int, unconfirmed: int = 0, finished: int = -1) -> None:
    """Say that `segment`, deleted now by a writer's overflow policy, is the agent's to count, with
    the writer's count of its `unsent` records and of those `unconfirmed` (the agent may send them
    yet), and how many its acknowledgement said `finished` then (sent or dead-lettered; -1: unknown):
    what the agent counts if it dies before it knows (`read_dropped_mark`)."""
    with reentry.suppress(OSError):
        _write_whole(_dropped_path(segment), f"{unsent} {unconfirmed} {finished}".encode())


def take_dropped_mark(segment: Path) -> int | None:
    """The writer's count in the mark of the deleted `segment` (0 if unreadable), the mark removed;
    None if there is no mark."""
    counts = read_dropped_mark(segment)
    remove_dropped_mark(segment)
    return None if counts is None else counts[0]


def read_dropped_mark(segment: Path) -> tuple[int, int, int] | None:
    """The writer's counts in the mark of the deleted `segment`: lost, unconfirmed (0 for what cannot
    be read) and finished then (-1 if unknown); an earlier version's mark holds the first alone. None
    if there is no mark."""
    try:
        text = _dropped_path(segment).read_bytes()
    except OSError:
        reentry.reraise_program_exception()
        return None
    words = text.split()
    counts = [int(word) if word.isdigit() else 0 for word in words[:2]] if len(words) <= 3 else [0]
    finished = int(words[2]) if len(words) == 3 and words[2].isdigit() else -1
    lost, unconfirmed, *_ = [*counts, 0, 0]
    return lost, unconfirmed, finished


def remove_dropped_mark(segment: Path) -> None:
    """Remove the mark of `segment`, once what it says is counted."""
    with reentry.suppress(OSError):
        _dropped_path(segment).unlink(missing_ok=True)


def any_trace(segment: Path) -> bool:
    """Whether `segment`, its acknowledgement or its drop mark is still in the directory (one that
    cannot be looked at counts as there)."""
    for path in (segment, ack_path(segment), _dropped_path(segment)):
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            reentry.reraise_program_exception()
        return True
    return False


def acks(spool_dir: Path) -> dict[str, Ack]:
    """Every acknowledgement file of `spool_dir`, by its segment's name."""
    found: dict[str, Ack] = {}
    names: list[str] = []
    with _probe(), reentry.suppress(OSError):
        names = _names(spool_dir)
    for name in names:
        if name.endswith(ACK_SUFFIX) and not name.startswith("."):
            segment = spool_dir / (name[: -len(ACK_SUFFIX)] + SUFFIX)
            found[segment.name] = read_ack(segment)
    return found


def dropped_marks(spool_dir: Path) -> list[Path]:
    """The segments (deleted) whose drop marks wait in `spool_dir`."""
    with _probe(), reentry.suppress(OSError):
        return [
            mark.with_name(mark.name[: -len(DROPPED_SUFFIX)] + SUFFIX)
            for mark in spool_dir.iterdir()
            if mark.name.endswith(DROPPED_SUFFIX)
        ]
    return []


def _dropped_path(segment: Path) -> Path:
    return segment.with_name(segment.name[: -len(SUFFIX)] + DROPPED_SUFFIX)


def _range_lock(fd: int, kind: int) -> bool:
    """Take an open-file-description lock of `kind` on the file's first byte, without waiting; False
    if another open file holds a conflicting one. Where there are no such locks (not Linux, or a
    file system without them) True: nothing is held, and nothing is kept from anyone."""
    if _OFD_SETLK is None:
        return True
    try:
        fcntl.fcntl(fd, _OFD_SETLK, _FLOCK.pack(kind, os.SEEK_SET, 0, 1, 0))
    except OSError as exc:  # held by another; anything else (EINVAL: unsupported here): unlocked
        reentry.reraise_program_exception()
        return exc.errno not in (errno.EAGAIN, errno.EACCES)
    return True


def writer_alive(segment: Path) -> bool:
    """Whether a live writer still holds the segment (its `flock`, released when the writer closes
    it or dies, however it dies)."""
    return held(segment, exclusive=True)


def writer_attached(path: Path) -> bool:
    """Whether a live program writes to the spool directory `path`: it holds a segment open (or is
    making one), the `flock` every writer keeps until it seals its segment or dies."""
    with _probe(), reentry.suppress(OSError):
        for name in _names(path):
            if name.endswith((SUFFIX, SUFFIX + ".new")) and held(path / name, exclusive=True):
                return True
    return False


def held(path: Path, *, exclusive: bool) -> bool:
    """Whether another open file holds a `flock` on `path` that a lock of this kind (shared or
    exclusive) would conflict with; a missing or unreadable file holds nothing. The probe lock is
    released at once (and never copied into a child forked meanwhile: see `_probing`)."""
    with _probe():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            reentry.reraise_program_exception()
            return False
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            reentry.reraise_program_exception()
            return True
        finally:
            with reentry.suppress(OSError):  # closed under a delivery thread by the program
                os.close(fd)
    return False


# Held while a descriptor of the spool's files is open for a moment (a lock probe, a read or write of
# an acknowledgement, a listing of the directory, a delivery thread's segment until it is recorded or
# after it is closed), and by a fork: the child,
# whose copy no code of it knows of, kept it for its whole life. A probe's shared lock on agent.lock
# kept every agent out; a deleted segment's disk space stayed taken, outside the bound. Reentrant: a
# signal handler that forks in the middle of its own thread's probe goes on (the child then closes the
# probe itself). A fork waits at most `_FORK_WAIT` (a read hung on a dead network file system), then
# goes on as it did.
_probing = threading.RLock()


def _names(path: Path) -> list[str]:
    """The names in the directory `path`, read in one call: a `scandir` iterator stays open from its
    call to its `with`, and a program's signal handler raising in between (an alarm) left it unclosed
    (a ResourceWarning, its descriptor open until the collector came by)."""
    return os.listdir(path)


def _probe() -> contextlib.AbstractContextManager[object]:
    """`_probing`, on a program's thread at the interpreter's shutdown too, where a delivery thread
    frozen in the middle of a probe holds it for good (see `reentry.held`: `Frozen` instead of a hang)."""
    return reentry.held(_probing)  # (an RLock: its holder takes it again)


def fork_gate() -> threading.RLock:
    """Hold while opening a descriptor and recording it where `forget_after_fork` finds it."""
    return _probing


_FORK_WAIT: Final = 1.0
_fork_took: dict[int, bool] = {}  # per forking thread: whether its fork holds `_probing`


def _before_fork() -> None:
    _fork_took[threading.get_ident()] = _probing.acquire(timeout=_FORK_WAIT)


def _after_fork_in_parent() -> None:
    if _fork_took.pop(threading.get_ident(), False):
        _probing.release()


def _after_fork_in_child() -> None:
    global _probing
    _probing = threading.RLock()
    _fork_took.clear()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)
