"""`SegmentWriter`: appends framed records to this process's memory-mapped segment file.

The segment is allocated on disk ahead (`posix_fallocate`, so a full disk shows up as an error when
a segment is created, never as SIGBUS in the middle of a write) and mapped into memory; appending a
record is a copy into the mapping under a lock, with no system call. The kernel owns the mapped
pages: when the process dies, however it dies, what was copied reaches the file. That is durability
against the death of the process, not against a power cut or a kernel crash (nothing is fsynced).

Each segment holds an exclusive `flock` for as long as its writer lives, so the agent can tell a live
writer (wait for more) from a dead one (finish the segment, count a torn tail). A forked child lets go
of its parent's segment (it must not keep the parent's lock alive) and starts its own on its first
record.

When a segment is full the writer seals it and starts another (a segment is at most a quarter of the
size bound, so a small bound is kept, and used). Before that it checks the bound: with `drop_oldest`
it deletes the oldest segments no live writer holds (their unsent records are counted lost: by the
writer, or for a segment the agent is sending from at that moment by the agent, once it knows which
of them the node took), with
`drop_newest` it refuses records until the agent frees room (counted lost). On a nearly full disk
segments are made smaller, to use the room there is; a segment that cannot be created at all (disk
full, directory gone) loses the record, counted, with a warning at most once a minute; the program
never sees an error. The handler's health report that says so is never lost that way: where no
segment takes it, it goes into a small sealed report segment of its own (`park`), outside the bound.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import io
import math
import mmap
import os
import sys
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Final, Literal, NamedTuple

from shipper import descriptors, reentry
from shipper.capture import bounds
from shipper.diagnostics import RateLimitedLog
from shipper.exceptions import SpoolError
from shipper.spool import layout, records, segment

OverflowPolicy = Literal["drop_oldest", "drop_newest"]
OVERFLOW_POLICIES: Final = ("drop_oldest", "drop_newest")
SEGMENT_BYTES: Final = 4 * 1024 * 1024
FIRST_SEGMENT_BYTES: Final = 256 * 1024  # a short script allocates and maps no more than this
_FRAME_PACK: Final = segment.FRAME.pack
_crc32: Final = zlib.crc32
_finalizing: Final = sys.is_finalizing
# Seconds between attempts to create a segment after a failure: the first soon (the agent frees a full
# spool or disk within milliseconds of a send), then twice as long after each failure in a row, up to
# the last (a disk that stays full costs four attempts a second). One second from the first failure
# dropped every record of that second, counted, though room came back at once: 2,735 of 4,000 records
# of a program logging at 1,700 a second into a 256 KiB `drop_newest` spool, 770 now.
_RETRY_CREATE_FIRST: Final = 0.05
_RETRY_CREATE_LAST: Final = 0.25
_SMALLEST_SEGMENT: Final = 16 * 1024  # on a nearly full disk segments shrink down to this
_NO_ROOM: Final = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG))
# A directory that filled up, or became read-only or closed to this user, while the program ran: its
# records go on in a fallback directory (`move`). Not EFBIG: a file size limit holds in any directory.
_MOVE_ON: Final = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM))


def _moves_on(exc: OSError | SpoolError) -> bool:
    """Whether a failure to make a segment is the directory's (`_MOVE_ON`), so records go on in a
    fallback; a SpoolError always is: the directory became another user's, or this process's user
    changed under it (a daemon or a pre-fork server's worker that drops root after the handler was
    made: every record of it was lost, counted, where a directory of its own was there to take them)."""
    return isinstance(exc, SpoolError) or exc.errno in _MOVE_ON


_SEGMENTS_PER_BOUND: Final = 4  # segments the size bound holds at least (smaller ones for a small bound)
_FORK_WAIT: Final = 1.0  # seconds a fork waits at most for a writer to finish making a segment


class _TooLarge(Exception):
    """A record to cut before it is appended (`SegmentWriter._append_cut`)."""


class _SegmentFile(io.FileIO):
    """A segment's file: closed when dropped, quietly (a writer that was never closed is not a bug to
    warn about at exit; the program's death releases the segment all the same).

    Its finalizer is FileIO's own `close`, C code: a finalizer written in Python runs bytecode, where
    the program's signal handlers run too, and an exception one raises there (SIGINT's
    KeyboardInterrupt, a `sys.exit` in a worker forked by a SIGCHLD handler) is printed as "ignored"
    and lost: the program went on, a forked worker ran its parent's code for ever."""

    __del__ = io.FileIO.close


@dataclass(slots=True)
class _Open:
    path: Path
    file: _SegmentFile  # dropped however (a signal handler's exception), it closes: lock released
    map: mmap.mmap
    size: int
    position: int
    inode: descriptors.Identity = descriptors.NONE  # is `file`'s descriptor still ours?

    def ours(self) -> bool:
        """Whether the descriptor still refers to the segment's file. A daemon that closes every
        descriptor (`os.closerange`) takes it, and the mapping's own copy, from us; the program's next
        files reuse their numbers, and closing "ours" would close the program's."""
        try:
            fd = self.file.fileno()
        except ValueError:
            return False
        return descriptors.ours(fd, self.inode)


class SegmentWriter:
    """Appends payloads to the current segment of `spool_dir`; thread-safe; never raises from append."""

    def __init__(
        self,
        spool_dir: Path,
        *,
        program: Callable[[], bytes],
        max_bytes: int,
        overflow: OverflowPolicy,
        lose: Callable[[str, int], None],
        cut: Callable[[], None] = lambda: None,
        segment_bytes: int = SEGMENT_BYTES,
        move: Callable[[OSError | SpoolError], Path | None] = lambda exc: None,
        unconfirmed: Callable[[int], None] = lambda records: None,
    ) -> None:
        self.spool_dir = spool_dir
        self._program = program  # the payload of each segment's first frame
        self.max_bytes = max_bytes
        self.overflow = overflow
        self._lose = lose
        self._unconfirmed = unconfirmed  # counts records deleted whose delivery nobody can tell
        self._cut = cut  # counts a record spooled with its long texts cut (`shipper.capture.bounds`)
        self.segment_bytes = segment_bytes
        self._move = move  # another directory when this one can take no segment (full, read-only)
        self._lock = threading.Lock()
        self._open: _Open | None = None
        self._failed_at = -_RETRY_CREATE_LAST
        self._retry_after = 0.0  # seconds from `_failed_at` to the next attempt (0: none failed)
        self._failed_reason = "spool_unavailable"
        self._diag = RateLimitedLog()
        self.written: dict[Path, int] = {}  # this process's segments and where its last record ends
        self.appended = 0  # records written by this process
        # Records of this process's segments deleted before the agent finished them (`drop_oldest`, a
        # deleted spool): lost (counted) or delivered uncounted, never waiting (see `spool_backlog`).
        self.gone = 0
        self.gone_reports = 0  # of `gone`, the handler's health reports (no record of the program)
        self.acked = {"sent": 0, "reports": 0, "retried": 0, "dead_lettered": 0}  # of its deleted segments
        self._parked: Path | None = None  # this process's latest report segment (`park`)
        _writers.add(self)

    def append(self, payload: bytes, *, cut: bool = False, counted: bool = True) -> bool:
        """Copy one record into the segment; False (and the loss counted, unless not `counted`: a health
        report, which has another way to go, `park`) if it cannot be kept."""
        # One copy of header and payload: a reader that sees the header before the payload is complete
        # finds the checksum wrong and, the writer being alive, waits (see shipper.spool.segment).
        frame = _FRAME_PACK(len(payload), _crc32(payload)) + payload  # segment.frame_header, inlined
        try:  # (free unless raised: the common path is as it was)
            # (`reentry.held`, inlined: a shutdown's frozen thread may hold the lock, see `_finalizing`)
            with self._lock if not _finalizing() else reentry.without_waiting(self._lock):
                current = self._open
                position = current.position if current is not None else 0
                end = position + len(frame) + (-len(frame) % segment.ALIGN)
                if current is None or end + segment.FRAME.size > current.size:
                    if len(payload) > bounds.PAYLOAD_LIMIT and not cut:
                        raise _TooLarge  # a 50 MB message: cut first, without the lock
                    # Held: the standard library code a segment's making runs (`Path.mkdir(exist_ok=True)`,
                    # the import system) absorbs an OSError, and a program's `signal.alarm` handler raises
                    # TimeoutError, one. Rare (once a segment), so its three system calls cost nothing.
                    with reentry.signals_held():
                        current = self._next_segment(len(payload), self._lose if counted else _uncounted)
                    if current is None:
                        return False
                    position = current.position
                    end = position + len(frame) + (-len(frame) % segment.ALIGN)
                current.map[position : position + len(frame)] = frame
                current.position = end
                self.written[current.path] = end
                self.appended += 1
                return True
        except _TooLarge:
            return self._append_cut(payload)
        except reentry.Frozen:
            self._lose("interpreter_shutdown", 1)
            return False

    def _append_cut(self, payload: bytes) -> bool:
        """A record too large for the open segment and past `bounds.PAYLOAD_LIMIT`: appended with its
        long texts cut (counted), so the spool never holds more of it than a document keeps; if even
        cut it is too large, counted lost."""
        shorter = bounds.bounded(payload)
        if shorter is None:
            self._lose("record_too_large", 1)
            return False
        kept = self.append(shorter, cut=True)
        if kept and shorter is not payload:
            self._cut()
        return kept

    def fits(self, payload: bytes) -> bool:
        """Whether `payload` would go into the open segment as it is: no new segment made for it, so
        no older segment deleted to make room (`drop_oldest`) and no loss counted if it cannot be kept."""
        with self._lock:
            current = self._open
            if current is None:
                return False
            return current.position + segment.frame_size(len(payload)) + segment.FRAME.size <= current.size

    def park(self, payload: bytes, merge: Callable[[bytes, bytes], bytes | None]) -> bool:
        """Write the health report `payload` that no segment can take (the spool full, the process's
        segment sealed) as a report segment of its own: sealed at once, delivered as any segment,
        outside the size bound (what made records drop must not keep their report from the node).

        Bounded: this process's previous report segment, if the agent has not sent it yet, is replaced
        (a report's counters hold the earlier one's); a spool that holds `layout.REPORTS_KEPT` already
        has one of them, unsent, replaced by `merge(its payload, payload)` (one report for both, or None
        if they cannot be one), or where none can be, up to `layout.REPORTS_MAX`. False if the report
        could not be written (a full disk, a directory gone, no report to merge with past
        `REPORTS_MAX`): its counters stay in `stats()`."""
        with reentry.inside(), self._lock:
            try:
                layout.ensure_private_dir(self.spool_dir)
                with layout.bound_lock(self.spool_dir):  # (the count of report segments, with the others')
                    return self._park(payload, merge)
            except (OSError, SpoolError) as exc:
                reentry.reraise_program_exception()
                self._diag.warning(
                    "report", "logloop shipper: cannot write its counters to %s: %s", self.spool_dir, exc
                )
                return False

    def _park(self, payload: bytes, merge: Callable[[bytes, bytes], bytes | None]) -> bool:
        # This process's previous report is taken only once the new one is in view: a process killed
        # between the two then leaves both, whose counters are cumulative (`logloop check` reads a
        # process once however many of its reports come), where taking it first left neither for that
        # moment (SIGKILL there lost every drop the process had counted).
        previous = self._parked
        reports = [
            path for path in layout.segments(self.spool_dir) if layout.is_report(path) and path != previous
        ]
        if len(reports) >= layout.REPORTS_KEPT:
            for path in reversed(reports):  # (the newest first: the oldest may be on its way)
                older = _take_unsent_report(path, merge_with=payload, merge=merge)
                if older is not None:
                    payload = older
                    break
            else:
                if len(reports) >= layout.REPORTS_MAX:  # none to merge with, and the last bound reached
                    self._diag.warning(
                        "report",
                        "logloop shipper: %s holds %d reports waiting already: this process's counters stay"
                        " in stats()",
                        self.spool_dir,
                        len(reports),
                    )
                    return False
        self._parked = self._write_report(payload)
        if previous is not None:
            _take_unsent_report(previous)
        return True

    def _write_report(self, payload: bytes) -> Path:
        """A sealed segment of the program's facts and `payload`, renamed into view when whole."""
        token, pid = int.from_bytes(os.urandom(8), "little"), os.getpid()
        path = self.spool_dir / layout.report_name(layout.next_sequence(self.spool_dir), pid, token)
        data = b"".join(
            (
                segment.encode_header(token, pid, time.time_ns() // 1_000_000),
                segment.frame(self._program()),
                segment.frame(payload),
                segment.seal_frame(),
            )
        )
        if len(data) > file_size_limit():  # (never written past it: see `_allocate`)
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
        hidden = path.with_name(f".{path.name}.new")  # (left by a crash: swept as any unfinished one)
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                written = os.write(fd, data)  # (written, not mapped: a full disk fails here, not as SIGBUS)
            finally:
                os.close(fd)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.rename(hidden, path)
        except BaseException:  # KeyboardInterrupt included: no half-made file left behind
            with reentry.suppress(OSError):
                hidden.unlink(missing_ok=True)
            raise
        return path

    def current_path(self) -> Path | None:
        current = self._open
        return current.path if current is not None else None

    def seal(self) -> None:
        """Mark the current segment finished (the agent may delete it once sent) and let it go."""
        with reentry.inside(), self._lock:
            self._close_current(seal=True)

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's segment without touching it (the parent still writes
        there) and release the inherited descriptors, so the parent's death frees its lock."""
        current, self._open = self._open, None
        self._lock = threading.Lock()
        self.written = {}
        self.appended = self.gone = self.gone_reports = 0
        self.acked = dict.fromkeys(self.acked, 0)
        self._parked = None
        if current is not None and not current.ours():  # a parent that closed them: not ours to close
            descriptors.keep_forever(current.file, current.map)
        elif current is not None:
            with reentry.suppress(OSError, ValueError, BufferError):
                current.map.close()
            with reentry.suppress(OSError):
                current.file.close()

    # -- segments ---------------------------------------------------------------------------------

    def _next_segment(self, needed: int, lose: Callable[[str, int], None]) -> _Open | None:
        now = time.monotonic()
        if self._open is None and now - self._failed_at < self._retry_after:
            lose(self._failed_reason, 1)  # the last attempt's reason: full, or unavailable
            return None
        record = needed
        # The segment holds the program's facts too: room for them past the 4096 bytes always kept
        # (a program run with a long argv, or a large `grouping` table, lost every record).
        needed += max(0, segment.frame_size(len(self._program())) + segment.FRAME.size + segment.ALIGN - 4096)
        if segment.HEADER.size + needed + 4096 + segment.FRAME.size > self.max_bytes:
            # Larger than the whole bound: kept, it would take the disk past it (drop_oldest deleting
            # every other segment first). Refused alone; the next records go on in the open segment.
            lose("record_too_large", 1)
            self._diag.warning(
                "too-large",
                "logloop shipper: a record of %d bytes is larger than spool_max_bytes (%d): dropped",
                record,
                self.max_bytes,
            )
            return None
        self._close_current(seal=True)
        first = not self.written  # this process's first segment: small, as most scripts log little
        wanted = min(self.segment_bytes, FIRST_SEGMENT_BYTES) if first else self.segment_bytes
        # At least _SEGMENTS_PER_BOUND segments fit in the bound: a segment larger than it would take
        # the disk past the bound (drop_oldest) or be refused however empty the spool (drop_newest).
        wanted = min(wanted, self.max_bytes // _SEGMENTS_PER_BOUND)
        size = max(wanted, segment.HEADER.size + needed + 4096 + segment.FRAME.size)
        try:
            with layout.bound_lock(self.spool_dir):  # writers of other processes size theirs in turn
                size = self._make_room(size, needed)
                if size:
                    self._open = self._create_fitting(size, needed)
            if not size:
                self._failed(now, "spool_full")
                lose("spool_full", 1)
                self._diag.warning(
                    "spool-full",
                    "logloop shipper: spool %s is full (%d bytes, %s): records dropped",
                    self.spool_dir,
                    self.max_bytes,
                    self.overflow if self.overflow == "drop_newest" else "the open segments of live writers",
                )
                return None
        except (OSError, SpoolError) as exc:
            reentry.reraise_program_exception()
            moved = self._move(exc) if _moves_on(exc) else None
            if moved is not None and moved != self.spool_dir:  # (once: the next refuses to move)
                self.spool_dir = moved
                return self._next_segment(record, lose)
            self._failed(now, "spool_unavailable")
            lose("spool_unavailable", 1)
            self._diag.warning(
                "segment",
                "logloop shipper: cannot write the spool %s (%s): records are being dropped and counted",
                self.spool_dir,
                getattr(exc, "strerror", None) or exc,
            )
            return None
        self._retry_after = 0.0
        return self._open

    def _failed(self, now: float, reason: str) -> None:
        """A segment could not be made (`reason`): the next attempt waits, longer after each failure."""
        self._failed_at, self._failed_reason = now, reason
        self._retry_after = min(max(self._retry_after * 2, _RETRY_CREATE_FIRST), _RETRY_CREATE_LAST)

    def _create_fitting(self, size: int, needed: int) -> _Open:
        """A new segment of `size` bytes or, where the disk (or a quota, or a file size limit) has
        less room than that, the largest smaller one it takes, down to what the record needs."""
        smallest = max(_SMALLEST_SEGMENT, segment.HEADER.size + needed + 4096 + segment.FRAME.size)
        while True:
            try:
                return self._create(size)
            except OSError as exc:
                reentry.reraise_program_exception()
                if exc.errno not in _NO_ROOM or size <= smallest:
                    raise
                size = max(size // 2, smallest)

    def _create(self, size: int) -> _Open:
        """A new segment: allocated, headed, locked and mapped, then renamed into view."""
        token = int.from_bytes(os.urandom(8), "little")
        pid, created = os.getpid(), time.time_ns() // 1_000_000
        # Named by the directory's next sequence, not the clock: a clock set back must not make this
        # segment sort as the oldest (drop_oldest would delete the newest records first).
        path = self.spool_dir / layout.segment_name(layout.next_sequence(self.spool_dir), pid, token)
        file, mapped = self._map_new(path, size)
        try:
            header = segment.encode_header(token, pid, created)
            mapped[: len(header)] = header
            opened = _Open(path, file, mapped, size, segment.HEADER.size, descriptors.identity(file.fileno()))
            program = self._program()
            start = opened.position + segment.FRAME.size
            mapped[start : start + len(program)] = program
            mapped[opened.position : start] = segment.frame_header(program)
            opened.position += segment.frame_size(len(program))
            os.rename(path.with_name(f".{path.name}.new"), path)
        except BaseException:  # KeyboardInterrupt included: no half-made file left behind
            _discard(path.with_name(f".{path.name}.new"), file, mapped)
            raise
        return opened

    def _map_new(self, path: Path, size: int) -> tuple[_SegmentFile, mmap.mmap]:
        """A hidden file for the segment `path`: created, locked, allocated and mapped.

        Held as file objects, not bare descriptors, so that whatever interrupts this (a signal
        handler's exception lands between any two steps) the descriptors close when dropped; a
        hidden file left so is unlocked, and swept by the agent (`layout.sweep_unfinished`)."""
        layout.ensure_private_dir(self.spool_dir)
        hidden = path.with_name(f".{path.name}.new")
        file = _SegmentFile(hidden, "x+", opener=_private)
        try:
            fd = file.fileno()
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _allocate(fd, size)
            # MAP_POPULATE: the pages are faulted in now, not one by one on the program's threads.
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            return file, mmap.mmap(fd, size, flags, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            _discard(hidden, file, None)
            raise

    def rescue(self) -> None:
        """Write the current segment again if its file was deleted (see `_rescue`)."""
        with reentry.inside(), self._lock:
            self._rescue()

    def _rescue(self) -> None:
        """The current segment's file was deleted under the writer (its directory removed by a cleaner
        or by hand) while the records appended to it live on in the mapping: write them again, same
        name, same header and offsets (so the same event ids: what the agent sent before is refused
        as a duplicate), into the directory created again. If that fails, they are counted lost."""
        current = self._open
        if current is None:
            return
        if not current.ours():  # the program closed our descriptors: keep the next records apart
            self._open = None
            self._let_go(current)
            return
        try:
            if os.fstat(current.file.fileno()).st_nlink:
                return
        except OSError:
            reentry.reraise_program_exception()
            return
        try:
            restored = self._restored(current)
        except (OSError, SpoolError) as exc:
            reentry.reraise_program_exception()
            self._open = None
            self._drop(current, exc)
            return
        current.map.close()
        current.file.close()
        self._open = restored

    def _restored(self, current: _Open) -> _Open:
        file, mapped = self._map_new(current.path, current.size)
        try:
            mapped[: current.position] = current.map[: current.position]
            os.rename(current.path.with_name(f".{current.path.name}.new"), current.path)
        except BaseException:
            _discard(current.path.with_name(f".{current.path.name}.new"), file, mapped)
            raise
        return _Open(
            current.path, file, mapped, current.size, current.position, descriptors.identity(file.fileno())
        )

    def _drop(self, lost: _Open, exc: Exception) -> None:
        """A deleted segment that cannot be written again: its records are counted lost (its health
        reports are no record of the program's: counted as gone reports, as `drop_oldest` counts them)."""
        frames = segment.scan(lost.map, segment.HEADER.size).frames[1:]  # (the first: the program's facts)
        reports = sum(1 for frame in frames if records.is_health_report(frame.payload))
        self._lose("spool_deleted", len(frames) - reports)
        self._forget(lost.path, len(frames), reports)
        lost.map.close()
        lost.file.close()
        self._diag.warning(
            "deleted",
            "logloop shipper: the spool %s was deleted and cannot be written again (%s): records lost",
            self.spool_dir,
            getattr(exc, "strerror", None) or exc,
        )

    def _close_current(self, *, seal: bool) -> None:
        self._rescue()
        current, self._open = self._open, None
        if current is None:
            return
        if seal:
            current.map[current.position : current.position + segment.FRAME.size] = segment.seal_frame()
        current.map.close()
        current.file.close()  # releases the lock: the agent may now finish the segment

    def _let_go(self, taken: _Open) -> None:
        """Let go of a segment whose descriptors the program closed, without closing them again: its
        records are in the file (the agent, finding no lock, finishes it); the next go to a new one."""
        with contextlib.suppress(IndexError, ValueError):  # sealed where the mapping still holds
            taken.map[taken.position : taken.position + segment.FRAME.size] = segment.seal_frame()
        descriptors.keep_forever(taken.file, taken.map)

    def _forget(self, path: Path, unfinished: int, reports: int = 0) -> None:
        """This process's segment `path` is deleted with `unfinished` records: none of them waits any
        more, and what the agent counted there is kept (`acked`: its acknowledgement goes too)."""
        if self.written.pop(path, None) is not None:
            self.gone += unfinished
            self.gone_reports += reports
            ack = layout.read_ack(path)
            for name in self.acked:
                self.acked[name] += getattr(ack, name)

    def _make_room(self, size: int, needed: int) -> int:
        """Apply the size bound before creating a segment of `size` bytes: the size to create (smaller
        where only that much room is left), or 0 to refuse the record.

        Segments that live writers hold cannot give way (their records would be lost uncounted, and
        their writers go on writing): with many writers at once their segments alone may fill the
        bound, and each new one is made only as large as the room left, down to what the record needs."""
        files = layout.segments(self.spool_dir)
        used = sum(_size(path) for path in files) + layout.unfinished_bytes(self.spool_dir)
        if used + size <= self.max_bytes:
            return size
        if self.overflow == "drop_oldest":
            for path in files:
                if used + size <= self.max_bytes:
                    break
                if layout.writer_alive(path) or layout.is_report(path):
                    continue  # a live writer's segment: deleting it would lose records uncounted; a
                    # report's (bounded in number): the only word of what its process lost
                held = layout.take_to_drop(path)
                if held is None:  # the agent sends from it: what it sends may be delivered yet, so
                    # it counts, once settled, what it left (its acknowledgement, written on meanwhile,
                    # is still read for `sent`). Killed before it counts, none of those records is known
                    # lost: a pass that held the segment before it was deleted may send any of them yet
                    # (a whole segment sent so was counted lost by the next agent)
                    unsent = _unsent(path)
                    layout.mark_dropped(path, 0, unsent.lost + unsent.unconfirmed, unsent.finished)
                    freed = _size(path)
                    path.unlink(missing_ok=True)
                    used -= freed
                    continue
                try:
                    unsent = _unsent(path)  # (the agent's acknowledgement is whole while held)
                    lost = unsent.lost
                    self._forget(path, lost + unsent.reports + unsent.unconfirmed, unsent.reports)
                    freed = _size(path)
                    path.unlink(missing_ok=True)  # (its acknowledgement stays for the agent's ledger: what
                    # it sent there may not be in agent.json yet; the agent's sweep deletes it)
                finally:
                    if held >= 0:
                        os.close(held)
                used -= freed
                self._lose("spool_overflow", lost)
                self._unconfirmed(unsent.unconfirmed)
        room = (self.max_bytes - used) // 4096 * 4096
        smallest = max(_SMALLEST_SEGMENT, segment.HEADER.size + needed + 4096 + segment.FRAME.size)
        return min(size, room) if room >= smallest else 0


# -- fork ------------------------------------------------------------------------------------------
# A fork while another thread makes, seals or writes again a segment would copy that segment's
# descriptor into the child, held by the other thread's local variables (out of reach of
# `forget_after_fork`) and so never closed: the child, a worker that may live for days, would hold the
# segment's lock, and the segment would look written to by a live program (never deleted by
# `drop_oldest`, never finished unsealed). A fork waits for each writer's lock, as `logging` waits for
# its own; not if this thread may hold one (a signal handler that forks while its thread writes).
_writers: weakref.WeakSet[SegmentWriter] = weakref.WeakSet()
_held_for_fork: dict[int, list[threading.Lock]] = {}  # per forking thread: the locks its fork holds


def _before_fork() -> None:
    if reentry.busy():
        return
    taken = _held_for_fork.setdefault(threading.get_ident(), [])
    for writer in list(_writers):
        if writer._lock.acquire(timeout=_FORK_WAIT):
            taken.append(writer._lock)


def _after_fork_in_parent() -> None:
    for taken in _held_for_fork.pop(threading.get_ident(), []):
        taken.release()


def _after_fork_in_child() -> None:
    _held_for_fork.clear()  # each writer's lock is replaced (`forget_after_fork`)


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)


def _discard(hidden: Path, file: _SegmentFile, mapped: mmap.mmap | None) -> None:
    """Let go of a segment file that was never renamed into view, and delete it (it holds no record)."""
    with reentry.suppress(OSError, ValueError, BufferError):
        if mapped is not None:
            mapped.close()
    with reentry.suppress(OSError):
        file.close()
    with reentry.suppress(OSError):
        hidden.unlink(missing_ok=True)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_CLOEXEC, 0o600)


def _allocate(fd: int, size: int) -> None:
    """Reserve the segment's blocks on disk now, so a full disk fails here and not as SIGBUS when a
    record is copied into the mapping. Where the file system or the platform has no fallocate (macOS,
    some network file systems), zeros are written instead.

    A size past the process's file size limit (RLIMIT_FSIZE) fails as EFBIG without being tried: the
    kernel answers such a write with SIGXFSZ, which Python ignores but an interpreter embedded without
    its signal handlers (or a program that set it back to SIG_DFL) does not, and the program died
    (status 153) on its first logging call."""
    if size > file_size_limit():
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is not None:
        try:
            allocate(fd, 0, size)
            return
        except OSError as exc:
            reentry.reraise_program_exception()
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
    block = bytes(64 * 1024)
    for offset in range(0, size, len(block)):
        os.pwrite(fd, block[: size - offset], offset)


def file_size_limit() -> float:
    """The soft RLIMIT_FSIZE of this process in bytes (infinite where there is none, or where it
    cannot be known: a record logged while the interpreter shuts down, which imports nothing). An
    agent started from here inherits it (see `shipper.delivery.launcher`)."""
    try:
        resource = _resource()
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        reentry.reraise_program_exception()
        return math.inf
    return math.inf if soft == resource.RLIM_INFINITY or soft < 0 else soft


@functools.cache  # held once imported: a record logged at the interpreter's shutdown imports nothing
def _resource() -> ModuleType:
    import resource  # (a C module, imported when a segment is made: not on every program's start)

    return resource


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        reentry.reraise_program_exception()
        return 0


def _uncounted(reason: str, records: int) -> None:
    """A health report that no segment took is not a record lost (`SegmentWriter.park`)."""


def _take_unsent_report(
    path: Path,
    *,
    merge_with: bytes | None = None,
    merge: Callable[[bytes, bytes], bytes | None] | None = None,
) -> bytes | None:
    """Delete the report segment `path` if the agent has neither sent it nor is sending it now (then
    nothing of it reaches the node): its report's payload, or with `merge_with`, `merge(it, merge_with)`
    (kept if that is None). None where it stays."""
    held = layout.take_to_drop(path)  # (as `drop_oldest` takes a segment the agent may send from)
    if held is None:
        return None
    try:
        ack = layout.read_ack(path)  # whole while it is held: the agent writes it before it lets go
        if ack.sent or ack.dead_lettered or ack.finished:
            return None
        frames = segment.scan(segment.read_segment(path), segment.HEADER.size, limit=2).frames
        if len(frames) < 2:
            return None
        found = frames[1].payload
        if merge is not None and merge_with is not None:
            merged = merge(found, merge_with)
            if merged is None:
                return None
            found = merged
        path.unlink(missing_ok=True)
        layout.ack_path(path).unlink(missing_ok=True)
        return found
    except OSError:
        reentry.reraise_program_exception()
        return None
    finally:
        if held >= 0:
            os.close(held)


class _Unsent(NamedTuple):
    """What deleting a segment the agent has not finished takes: records never sent (`lost`), health
    reports (no record of the program: counted lost, the watchdog's reports, one a second while
    records are lost, in segments `drop_oldest` deleted made losses of their own), and records of the
    request the agent was sending when it died (`unconfirmed`: delivered or not, unknown; counted
    lost, those the node had taken made the counters say more was lost than was missing)."""

    lost: int
    reports: int
    unconfirmed: int
    finished: int = 0  # what the acknowledgement said was sent or dead-lettered


def _unsent(path: Path) -> _Unsent:
    try:
        data = segment.read_segment(path)
    except OSError:
        reentry.reraise_program_exception()
        return _Unsent(0, 0, 0)
    ack = layout.read_ack(path)
    start = max(ack.offset, segment.HEADER.size)
    frames = segment.scan(data, start).frames
    done, sending = set(ack.done), set(ack.sending)
    unsent = [frame for frame in frames if frame.offset not in done and frame.offset > segment.HEADER.size]
    reports = [frame for frame in unsent if records.is_health_report(frame.payload)]
    unconfirmed = sum(1 for frame in unsent if frame.offset in sending) - sum(
        1 for frame in reports if frame.offset in sending
    )
    return _Unsent(
        len(unsent) - len(reports) - unconfirmed, len(reports), unconfirmed, ack.sent + ack.dead_lettered
    )
