"""Run one pure function over the byte ranges of a regular file, in this process and forked workers.

`logloop cluster` uses it to decode and key a large input on every usable core. The file is cut
into ranges at line boundaries, so every line belongs to exactly one range: a range starts after the
first newline at or after its offset (the first starts at 0) and ends after the first newline at or
after the next range's offset (the last at the end of the file).

There are usually several ranges per process, because the work of a byte is far from even (a deep
recursion's traceback is long and cheap to key, a message-only line short and dear), so equal
halves of a file are unequal halves of its work. Process number k (the calling process is number 0,
each other one a forked child) first works on range k; then each takes the next range nobody has
taken, claiming it by reading its index (one byte) from a pipe filled before the fork: a read from a
pipe hands each byte to one reader only, so no lock is needed and a process that finishes early just
takes more. Each child reads only its own ranges' bytes (`os.pread` on the shared descriptor: no
shared file position), and sends back, once its claims run out, what the function returned for each
range it took, `marshal`-encoded (tuples, lists, str, int, None: fast C code both ways),
length-prefixed through a pipe of its own.

The rule not to break: a child leaves only by `os._exit` (never the parent's atexit handlers or
its inherited stdio buffers) and reports only through its pipe, never on stdout/stderr. Whatever
goes wrong with a child (an exception, a signal, a non-zero exit, data cut short) costs time, not
lines: the parent says so through `warn`, in one line, and works itself on every range no result
came back for. Every child is waited for, on every path out (no zombie), and killed first if the
parent leaves early.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

T = TypeVar("T")

_SEARCH: Final = 1 << 16  # bytes read at a time while looking for a range's line boundary
_HEADER: Final = 8  # a payload's length, little-endian, before it


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether forking is safe here: the platform has `os.fork` and this process runs one thread (a
    child of a threaded process inherits locks held by threads it does not have)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def is_regular(fd: int) -> bool:
    """Whether `fd` is a regular file (a pipe or a terminal cannot be read at an offset)."""
    return stat.S_ISREG(os.fstat(fd).st_mode)


class RangeReader:
    """A readable view of bytes `start` to `end` (None: the end of the file) of `fd`, read with
    `os.pread`, so several processes can read one descriptor at once."""

    def __init__(self, fd: int, start: int, end: int | None) -> None:
        self._fd = fd
        self._position = start
        self._end = end

    def read(self, size: int) -> bytes:
        if self._end is not None:
            size = min(size, self._end - self._position)
            if size <= 0:
                return b""
        data = os.pread(self._fd, size, self._position)
        self._position += len(data)
        return data


def line_end(fd: int, offset: int) -> int:
    """The position after the first newline at or after `offset` of `fd`, or the end of the file."""
    position = offset
    while block := os.pread(fd, _SEARCH, position):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return position


@dataclass(frozen=True, slots=True)
class Range:
    """Bytes `start` to `end` of the file (None: to its end), at line boundaries."""

    start: int
    end: int | None

    def __str__(self) -> str:
        return f"bytes {self.start}-{'end' if self.end is None else self.end}"


def ranges(fd: int, size: int, count: int) -> list[Range]:
    """`count` ranges of about `size / count` bytes each, cut after a newline; some are empty when
    a line is longer than a range (or there are fewer lines than ranges)."""
    cuts = [0, *(line_end(fd, size * index // count) for index in range(1, count))]
    return [Range(cuts[index], cuts[index + 1] if index + 1 < count else None) for index in range(count)]


# At most this many ranges, so that a range's index is one byte of the claims pipe.
MAX_RANGES: Final = 256


@dataclass(slots=True)
class _Child:
    pid: int
    pipe: int  # the read end; -1 once closed
    part: Range  # its first range
    status: int | None = None  # the exit status once waited for


def map_ranges(
    fd: int,
    parts: Sequence[Range],
    work: Callable[[RangeReader], T],
    warn: Callable[[str], None],
    processes: int | None = None,
) -> list[T]:
    """`work` of each range, in order, done by `processes` processes (default: one a range, at most
    MAX_RANGES ranges): this one and forked children, each taking ranges as it gets free (or here,
    after `warn`ing, for the ranges of a child that fails). What `work` returns must be marshallable.
    `work` is called in each process on several ranges one after the other: state it keeps (a memo)
    lives on from one of its ranges to the next in that process."""
    if len(parts) > MAX_RANGES:
        raise ValueError(f"at most {MAX_RANGES} ranges, got {len(parts)}")
    count = len(parts) if processes is None else max(1, min(processes, len(parts)))
    done: dict[int, T] = {}
    children: list[_Child | Failure] = []  # a Failure: that child could not be started
    claims = _claims(range(count, len(parts)))
    try:
        for index in range(1, count):
            try:
                pipes = [child.pipe for child in children if isinstance(child, _Child)]
                children.append(_start(fd, parts, index, claims, work, pipes))
            except OSError as exc:  # no process or no pipe left: this process does that range
                children.append(Failure(f"could not be started ({exc})"))
        for index in _taken(0, claims):
            done[index] = work(RangeReader(fd, parts[index].start, parts[index].end))
        for index, child in enumerate(children, start=1):
            outcome = _finish(child) if isinstance(child, _Child) else child
            if isinstance(outcome, Failure):
                warn(f"the worker for {parts[index]} {outcome.reason}; processing them in the main process")
            else:
                done.update(cast(list[tuple[int, T]], outcome.value))
        for index, part in enumerate(parts):  # those of a child that failed
            if index not in done:
                done[index] = work(RangeReader(fd, part.start, part.end))
        return [done[index] for index in range(len(parts))]
    finally:
        if claims >= 0:
            os.close(claims)
        _stop([child for child in children if isinstance(child, _Child)])


def _claims(indices: range) -> int:
    """The read end of a pipe holding `indices`, a byte each, its write end closed (a read past the last
    is the end of file); -1 when there is none to hold."""
    if not indices:
        return -1
    read_end, write_end = os.pipe()
    try:
        _write_all(write_end, bytes(indices))  # at most MAX_RANGES bytes: within any pipe's buffer
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return read_end


def _taken(first: int, claims: int) -> Iterator[int]:
    """The indices of the ranges one process works on: its own `first`, then each it claims."""
    yield first
    if claims < 0:
        return
    while claimed := os.read(claims, 1):
        yield claimed[0]


def _start(
    fd: int,
    parts: Sequence[Range],
    first: int,
    claims: int,
    work: Callable[[RangeReader], object],
    inherited: list[int],
) -> _Child:
    """Fork a child that works on range `first` then on each it claims, sends the results through a
    new pipe, and leaves by `os._exit`."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: nothing below returns
        code = 1
        try:
            for other in (read_end, *inherited):
                os.close(other)
            try:
                value: Any = [
                    (index, work(RangeReader(fd, parts[index].start, parts[index].end)))
                    for index in _taken(first, claims)
                ]
                payload, worked = marshal.dumps((True, value)), True
            except Exception as exc:  # reported by the parent, which then works on the ranges
                payload, worked = marshal.dumps((False, f"failed ({type(exc).__name__}: {exc})")), False
            _write_all(write_end, len(payload).to_bytes(_HEADER, "little") + payload)
            code = 0 if worked else 1
        finally:
            os._exit(code)
    os.close(write_end)
    return _Child(pid, read_end, parts[first])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@dataclass(frozen=True, slots=True)
class Sent:
    """What a child returned."""

    value: object


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a child's result cannot be used, worded to follow "the worker for bytes A-B"."""

    reason: str


def _finish(child: _Child) -> Sent | Failure:
    """Read everything `child` sent until it closed its pipe, then wait for it."""
    chunks = []
    while chunk := os.read(child.pipe, 1 << 20):
        chunks.append(chunk)
    os.close(child.pipe)
    child.pipe = -1
    _, status = os.waitpid(child.pid, 0)
    child.status = status
    return received(b"".join(chunks), status)


def received(data: bytes, status: int) -> Sent | Failure:
    """What a child that sent `data` and left with wait status `status` returned, or why it cannot
    be used (marshal data from anyone but our own child is not to be trusted: it is ours here)."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return Failure(f"was killed by {name}")
    length = int.from_bytes(data[:_HEADER], "little")
    if len(data) < _HEADER or len(data) != _HEADER + length:
        return Failure(f"exited with status {code} after sending {len(data)} bytes")
    try:
        success, value = marshal.loads(data[_HEADER:])
    except (EOFError, ValueError, TypeError):
        return Failure(f"exited with status {code} after sending data that cannot be read")
    if not success:
        return Failure(str(value))
    if code != 0:
        return Failure(f"exited with status {code}")
    return Sent(value)


def _stop(children: list[_Child]) -> None:
    """Close what is still open and wait for every child not yet waited for, killing it first."""
    for child in children:
        if child.pipe >= 0:
            os.close(child.pipe)
            child.pipe = -1
        if child.status is None:
            with contextlib.suppress(ProcessLookupError):  # it left already
                os.kill(child.pid, signal.SIGKILL)
            _, child.status = os.waitpid(child.pid, 0)
