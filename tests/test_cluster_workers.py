"""`shipper.cluster_workers`: byte ranges at line boundaries, each worked on in a real forked child."""

from __future__ import annotations

import marshal
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipper import cluster_workers
from shipper.cluster_workers import Failure, RangeReader, Sent, map_ranges, ranges, received

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    """A file of 40 lines of different lengths (the last without newline), opened for reading."""
    data = b"".join(b"line %d %s\n" % (number, b"x" * (number * 7 % 23)) for number in range(40)) + b"tail"
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


def read_all(reader: RangeReader) -> bytes:
    chunks = []
    while chunk := reader.read(5):
        chunks.append(chunk)
    return b"".join(chunks)


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_ranges_cut_every_file_into_whole_lines(tmp_path: Path) -> None:
    """For any layout and count, the ranges put together are the file and are cut only after a
    newline (or at either end), offsets that land on a newline or on a line's first byte included."""
    rng = random.Random(3)
    path = tmp_path / "random.txt"
    landings = {"on a newline": 0, "on a line's first byte": 0}
    for _ in range(300):
        data = bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(0, 60)))
        path.write_bytes(data)
        count = rng.randrange(1, 9)
        fd = os.open(path, os.O_RDONLY)
        try:
            parts = ranges(fd, len(data), count)
            pieces = [read_all(RangeReader(fd, part.start, part.end)) for part in parts]
        finally:
            os.close(fd)
        assert len(parts) == count and b"".join(pieces) == data
        cuts = [len(b"".join(pieces[:index])) for index in range(1, count)]
        assert all(cut in (0, len(data)) or data[cut - 1] == ord("\n") for cut in cuts)
        for index in range(1, count):
            offset = len(data) * index // count
            if offset < len(data) and data[offset] == ord("\n"):
                landings["on a newline"] += 1
            elif 0 < offset < len(data) and data[offset - 1] == ord("\n"):
                landings["on a line's first byte"] += 1
    assert all(landings.values())


def test_every_range_comes_back_in_order(opened: tuple[int, bytes]) -> None:
    """The results are each range's work in range order, whatever the number of workers, and no
    worker reports a problem."""
    fd, data = opened
    for count in (1, 2, 3, 7, 60):
        warnings: list[str] = []
        pieces = map_ranges(fd, ranges(fd, len(data), count), read_all, warnings.append)
        assert (b"".join(pieces), len(pieces), warnings) == (data, count, [])


def test_a_process_that_gets_free_takes_the_ranges_left(opened: tuple[int, bytes]) -> None:
    """With more ranges than processes, a process whose first range is quick takes the others while a
    slow one is busy, and what `work` keeps lives on from one range to the next in its process."""
    fd, data = opened
    parent = os.getpid()
    done_here: list[int] = []  # ranges worked on in the calling process, in order

    def work(reader: RangeReader) -> tuple[int, int, bytes]:
        done_here.append(len(done_here))
        if os.getpid() != parent:
            time.sleep(0.5)
        return os.getpid(), len(done_here), read_all(reader)

    warnings: list[str] = []
    pieces = map_ranges(fd, ranges(fd, len(data), 8), work, warnings.append, processes=2)
    assert b"".join(piece[2] for piece in pieces) == data and warnings == []
    by_pid = [piece[0] for piece in pieces]
    assert by_pid[1] != parent and by_pid.count(parent) == 7  # the child took only its own range
    assert [piece[1] for piece in pieces if piece[0] == parent] == [1, 2, 3, 4, 5, 6, 7]


def test_the_ranges_a_failed_worker_took_are_all_redone(opened: tuple[int, bytes]) -> None:
    """A child that fails after working on several ranges costs one warning; every range it took is
    worked on again here and the results are whole and in order."""
    fd, data = opened
    parent = os.getpid()
    taken: list[int] = []

    def work(reader: RangeReader) -> bytes:
        if os.getpid() != parent:
            taken.append(1)
            if len(taken) == 3:
                raise ValueError("third range")
        else:
            time.sleep(0.05)  # the child, quicker, takes several ranges
        return read_all(reader)

    for processes in (2, 3):
        warnings: list[str] = []
        pieces = map_ranges(fd, ranges(fd, len(data), 12), work, warnings.append, processes=processes)
        assert b"".join(pieces) == data
        assert len(warnings) == processes - 1
        assert all("failed (ValueError: third range)" in warning for warning in warnings)


def test_more_ranges_than_a_byte_can_number_are_refused(opened: tuple[int, bytes]) -> None:
    """The claims pipe numbers ranges with one byte: more than MAX_RANGES is a ValueError."""
    fd, _ = opened
    parts = [cluster_workers.Range(0, None)] * (cluster_workers.MAX_RANGES + 1)
    with pytest.raises(ValueError, match="at most 256 ranges"):
        map_ranges(fd, parts, read_all, print, processes=2)


def test_a_worker_whose_work_raises_is_redone_in_the_parent(opened: tuple[int, bytes]) -> None:
    """An exception in a child costs one warning naming it; the parent then works on that range."""
    fd, data = opened
    parent = os.getpid()

    def work(reader: RangeReader) -> bytes:
        if os.getpid() != parent:
            raise ValueError("boom")
        return read_all(reader)

    warnings: list[str] = []
    pieces = map_ranges(fd, ranges(fd, len(data), 3), work, warnings.append)
    assert b"".join(pieces) == data
    assert len(warnings) == 2 and all("failed (ValueError: boom)" in warning for warning in warnings)


def test_a_worker_killed_by_a_signal_is_redone_and_waited_for(
    opened: tuple[int, bytes], tmp_path: Path
) -> None:
    """A child SIGKILLed in the middle of its work loses no line and leaves no zombie."""
    fd, data = opened
    parent = os.getpid()
    pids = tmp_path / "pids"

    def work(reader: RangeReader) -> bytes:
        if os.getpid() != parent:
            with pids.open("a") as record:
                record.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return read_all(reader)

    warnings: list[str] = []
    pieces = map_ranges(fd, ranges(fd, len(data), 2), work, warnings.append)
    assert b"".join(pieces) == data
    assert len(warnings) == 1 and "was killed by SIGKILL" in warnings[0]
    assert reaped(int(pids.read_text()))


def test_a_worker_that_leaves_without_sending_is_redone(opened: tuple[int, bytes]) -> None:
    """A child that exits with status 0 before sending anything is not taken at its word."""
    fd, data = opened
    parent = os.getpid()

    def work(reader: RangeReader) -> bytes:
        if os.getpid() != parent:
            os._exit(0)
        return read_all(reader)

    warnings: list[str] = []
    pieces = map_ranges(fd, ranges(fd, len(data), 2), work, warnings.append)
    assert b"".join(pieces) == data
    assert warnings == [
        f"the worker for {ranges(fd, len(data), 2)[1]} exited with status 0 after sending 0 bytes;"
        " processing them in the main process"
    ]


def is_open(number: int) -> bool:
    try:
        os.fstat(number)
    except OSError:
        return False
    return True


def test_a_worker_that_cannot_be_started_is_done_by_the_parent(opened: tuple[int, bytes]) -> None:
    """With file descriptors for one pipe only, the first worker runs in a child and the second's
    range, whose pipe cannot be made, is done by the parent after one warning."""
    fd, data = opened
    top = max(number for number in range(4096) if is_open(number))
    fillers = []  # every free descriptor below `top`: the two above it are then the only free ones
    while (filler := os.dup(fd)) < top:
        fillers.append(filler)
    os.close(filler)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    warnings: list[str] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (top + 3, hard))
    try:
        pieces = map_ranges(fd, ranges(fd, len(data), 3), read_all, warnings.append)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for filler in fillers:
            os.close(filler)
    assert b"".join(pieces) == data
    assert len(warnings) == 1 and "could not be started ([Errno 24]" in warnings[0]


def framed(value: object) -> bytes:
    payload = marshal.dumps(value)
    return len(payload).to_bytes(8, "little") + payload


WHOLE = framed((True, [1, 2, 3]))


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        pytest.param(b"", 0, "exited with status 0 after sending 0 bytes", id="empty"),
        pytest.param(WHOLE[:-1], 0, f"after sending {len(WHOLE) - 1} bytes", id="truncated"),
        pytest.param(WHOLE + b"x", 0, f"after sending {len(WHOLE) + 1} bytes", id="too-long"),
        pytest.param(b"\x03" + bytes(7) + b"\xff\xff\xff", 0, "data that cannot be read", id="garbage"),
        pytest.param(framed((True, [1])), 3 << 8, "exited with status 3", id="non-zero-exit"),
        pytest.param(framed((False, "failed (OSError: x)")), 1 << 8, "failed (OSError: x)", id="reported"),
        pytest.param(framed((True, [1])), signal.SIGTERM, "was killed by SIGTERM", id="signal"),
    ],
)
def test_what_cannot_be_used_is_named(data: bytes, status: int, reason: str) -> None:
    """A payload that is empty, cut short, too long, unreadable, or from a child that failed is a
    Failure saying why, never a result."""
    outcome = received(data, status)
    assert isinstance(outcome, Failure) and reason in outcome.reason


def test_a_whole_payload_from_a_child_that_exited_0_is_its_result() -> None:
    """A complete payload from a child that exited with status 0 is what it returned."""
    assert received(framed((True, (1, "a", None))), 0) == Sent((1, "a", None))


def test_the_parent_leaving_early_kills_and_waits_for_its_workers(
    opened: tuple[int, bytes], tmp_path: Path
) -> None:
    """When the parent's own work raises, its children (still busy) are killed and waited for at
    once: no hang, no zombie."""
    fd, data = opened
    parent = os.getpid()
    pids = tmp_path / "pids"

    def work(reader: RangeReader) -> bytes:
        if os.getpid() != parent:
            with pids.open("a") as record:
                record.write(f"{os.getpid()}\n")
            time.sleep(60)
            return b""
        deadline = time.monotonic() + 20
        while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
            time.sleep(0.01)
        raise RuntimeError("the parent's own range failed")

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="own range failed"):
        map_ranges(fd, ranges(fd, len(data), 3), work, print)
    children = [int(pid) for pid in pids.read_text().split()]
    assert len(children) == 2 and all(reaped(pid) for pid in children)
    assert time.monotonic() - start < 30


SCRIPT = """
import atexit, os, sys
from shipper import cluster_workers
atexit.register(lambda: os.write(1, b"|atexit"))
sys.stdout.write("pending")  # stays in the buffer: stdout is a pipe
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
parts = cluster_workers.ranges(fd, size, 3)
warn = lambda text: print(text, file=sys.stderr)
pieces = cluster_workers.map_ranges(fd, parts, lambda reader: reader.read(size), warn)
sys.stdout.write("|%d pieces, %d bytes" % (len(pieces), sum(map(len, pieces))))
"""


def test_workers_leave_without_exit_handlers_or_flushing_stdio(tmp_path: Path) -> None:
    """Children write nothing: the parent's unflushed output and its atexit handler come out once."""
    path = tmp_path / "in.txt"
    path.write_bytes(b"a\n" * 1000)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=True,
    )
    assert (done.stdout, done.stderr) == (b"pending|3 pieces, 2000 bytes|atexit", b"")


def test_usable_cpus_counts_what_this_process_may_run_on() -> None:
    """The usable CPUs are the affinity set where the platform has one."""
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert cluster_workers.usable_cpus() == expected
