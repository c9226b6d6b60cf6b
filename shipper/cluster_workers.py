"""Run one pure function over the byte ranges of a regular file, each range in a forked worker.

`logloop cluster` uses it to decode and key a large input on every usable core. The file is cut
into ranges at line boundaries, so every line belongs to exactly one range: a range starts after the
first newline at or after its offset (the first starts at 0) and ends after the first newline at or
after the next range's offset (the last at the end of the file). The calling process works on the
first range itself while one forked child per other range works on its own, reading only its bytes
(`os.pread` on the shared descriptor: no shared file position), and sends back what the function
returned, `marshal`-encoded (tuples, lists, str, int, None: fast C code both ways), length-prefixed
through a pipe.

The rule not to break: a child leaves only by `os._exit` (never the parent's atexit handlers or
its inherited stdio buffers) and reports only through its pipe, never on stdout/stderr. Whatever
goes wrong with a child (an exception, a signal, a non-zero exit, data cut short) costs time, not
lines: the parent says so through `warn`, in one line, and works on that range itself. Every child
is waited for, on every path out (no zombie), and killed first if the parent leaves early.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import stat
import threading
from collections.abc import Callable, Sequence
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


@dataclass(slots=True)
class _Child:
    pid: int
    pipe: int  # the read end; -1 once closed
    part: Range
    status: int | None = None  # the exit status once waited for


def map_ranges(
    fd: int,
    parts: Sequence[Range],
    work: Callable[[RangeReader], T],
    warn: Callable[[str], None],
) -> list[T]:
    """`work` of each range, in order: the first range's in this process, each other's in a forked
    child (or here, after `warn`ing, if that child fails). What `work` returns must be marshallable."""
    children: list[_Child | Failure] = []  # a Failure: that range's child could not be started
    try:
        for part in parts[1:]:
            try:
                pipes = [child.pipe for child in children if isinstance(child, _Child)]
                children.append(_start(fd, part, work, pipes))
            except OSError as exc:  # no process or no pipe left: this process does that range
                children.append(Failure(f"could not be started ({exc})"))
        results = [work(RangeReader(fd, parts[0].start, parts[0].end))]
        for part, child in zip(parts[1:], children, strict=True):
            outcome = _finish(child) if isinstance(child, _Child) else child
            if isinstance(outcome, Failure):
                warn(f"the worker for {part} {outcome.reason}; processing them in the main process")
                results.append(work(RangeReader(fd, part.start, part.end)))
            else:
                results.append(cast(T, outcome.value))
        return results
    finally:
        _stop([child for child in children if isinstance(child, _Child)])


def _start(fd: int, part: Range, work: Callable[[RangeReader], object], inherited: list[int]) -> _Child:
    """Fork a child that sends `work` of `part` through a new pipe and leaves by `os._exit`."""
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
                value: Any = work(RangeReader(fd, part.start, part.end))
                payload, worked = marshal.dumps((True, value)), True
            except Exception as exc:  # reported by the parent, which then works on the range
                payload, worked = marshal.dumps((False, f"failed ({type(exc).__name__}: {exc})")), False
            _write_all(write_end, len(payload).to_bytes(_HEADER, "little") + payload)
            code = 0 if worked else 1
        finally:
            os._exit(code)
    os.close(write_end)
    return _Child(pid, read_end, part)


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
