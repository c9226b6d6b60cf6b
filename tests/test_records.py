"""The captured-record codec and the segment format, without a node: traces frozen and thawed to the
same text, the plain fast path equal to the formatter's, frames torn or sealed, records logged from
a signal handler inside emit(), and close() bounded with a server that never answers."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
from helpers.spooled import messages_in

from shipper import reentry
from shipper.delivery.documents import Documents, apply_program
from shipper.formatter import EcsFormatter, capture_trace, render_trace
from shipper.handler import ShipperHandler
from shipper.spool import layout, records, segment

FORMATTER = EcsFormatter(service_name="codec")
REPO = Path(__file__).resolve().parents[1]


def _chained() -> BaseException:
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("could not look up") from exc
    except ValueError as exc:
        exc.add_note("note added before logging")
        return exc


def _context() -> BaseException:
    try:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            raise RuntimeError("while handling") from None
    except RuntimeError as exc:
        return exc


def _group() -> BaseException:
    try:
        raise ExceptionGroup("several", [ValueError("one"), TypeError("two")])
    except ExceptionGroup as exc:
        return exc


def _syntax() -> BaseException:
    try:
        compile("a b", "broken.py", "exec")
    except SyntaxError as exc:
        return exc
    raise AssertionError("compiled")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_chained, id="cause-and-note"),
        pytest.param(_context, id="suppressed-context"),
        pytest.param(_group, id="exception-group"),
        pytest.param(_syntax, id="syntax-error"),
    ],
)
def test_a_frozen_trace_thaws_to_the_same_text(make: object) -> None:
    """A trace frozen to builtins (what sits on disk) and thawed in the agent renders the text
    traceback.format_exception gives for the live exception."""
    exc = make()  # type: ignore[operator]
    captured = capture_trace(type(exc), exc, exc.__traceback__)
    frozen = records.freeze_trace(captured)
    import marshal

    thawed = records.thaw_trace(marshal.loads(marshal.dumps(frozen)))
    assert render_trace(thawed) == "".join(traceback.format_exception(exc))


def _record(level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("records.test", level, __file__, 7, msg, args, None, func="fn")


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(_record(logging.INFO, "plain %d of %s", 3, "x"), id="info"),
        pytest.param(_record(logging.WARNING, "surrogate \ud800 and \n newline"), id="odd-text"),
        pytest.param(_record(logging.DEBUG, "no args"), id="no-args"),
    ],
)
def test_the_plain_path_writes_the_formatters_document(record: logging.LogRecord) -> None:
    """A plain record encoded straight from the LogRecord gives the agent the same document as the
    formatter's capture does."""
    plain = records.encode_plain(record)
    assert plain is not None
    documents = Documents("codec")
    program = {"service": "codec", "pid": 1, "host": {"name": "h"}, "process_name": "p", "args": []}
    kind, fields = records.decode(plain)
    assert kind == records.PLAIN
    fast = documents.plain(fields, program, "0" * 32)
    careful = documents.record(
        records.decode(records.encode_record(FORMATTER.capture(record)))[1], program, "0" * 32
    )
    assert fast == careful
    assert documents.record(records.captured_of_plain(fields), program, "0" * 32) == careful
    redacting = {**program, "redact_patterns": ["plain"]}  # the formatter's way, with the user's rules
    assert documents.plain(fields, redacting, "0" * 32) == documents.record(
        records.captured_of_plain(fields), redacting, "0" * 32
    )


def test_records_with_extras_or_errors_take_the_formatters_way() -> None:
    """encode_plain declines what is not plain: extras, errors, stack info."""
    extra = _record(logging.INFO, "with extra")
    extra.user = {"id": 1}
    assert records.encode_plain(extra) is None
    assert records.encode_plain(_record(logging.ERROR, "an error")) is None


def _frames(*payloads: bytes) -> bytearray:
    data = bytearray(segment.encode_header(1, 2, 3))
    for payload in payloads:
        frame = segment.frame_header(payload) + payload
        data += frame + bytes(-len(frame) % segment.ALIGN)
    return data + bytes(64)


def test_scan_reads_whole_frames_and_stops_at_a_seal() -> None:
    """Whole frames are read in order; a seal ends the segment."""
    data = _frames(b"one", b"two")
    end = segment.scan(data, segment.HEADER.size).end
    data[end : end + 8] = segment.seal_frame()
    found = segment.scan(data, segment.HEADER.size)
    assert [f.payload for f in found.frames] == [b"one", b"two"] and found.sealed and not found.torn


def _flip_a_byte(data: bytearray, at: int) -> None:
    data[at + 9] ^= 0xFF


def _overlong(data: bytearray, at: int) -> None:
    data[at : at + 4] = (10**6).to_bytes(4, "little")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        pytest.param(_flip_a_byte, "checksum", id="flipped-byte"),
        pytest.param(_overlong, "past the end", id="length-past-end"),
    ],
)
def test_scan_stops_at_a_torn_frame(damage: object, reason: str) -> None:
    """A frame whose checksum fails or whose length runs past the file stops the scan, marked torn,
    and the frames before it are kept."""
    data = _frames(b"kept", b"damaged frame")
    second = segment.scan(data, segment.HEADER.size, limit=1).end
    damage(data, second)  # type: ignore[operator]
    found = segment.scan(data, segment.HEADER.size)
    assert [f.payload for f in found.frames] == [b"kept"] and found.torn and reason in found.reason


def test_event_ids_are_fixed_by_position_and_unique() -> None:
    """The id of a frame depends on its segment and offset only; no two frames share one."""
    header = segment.Header(token=0x1234_5678_9ABC_DEF0, pid=1, created_ms=0)
    ids = {segment.event_id(header, offset, 1_700_000_000.0) for offset in range(32, 80_000, 8)}
    assert len(ids) == len(range(32, 80_000, 8))
    assert segment.event_id(header, 40, 1.0) == segment.event_id(header, 40, 1.0)


def test_records_logged_from_a_signal_handler_inside_emit_are_kept(tmp_path: Path) -> None:
    """A signal handler that logs while the interrupted thread is inside emit() loses nothing: every
    such record is written (after the one being written), none is dropped."""
    handler = ShipperHandler("reentrant", spool_path=tmp_path / "s", delivery="thread")
    handler._stop.set()  # no delivery: the records stay in the segment, where they are counted
    logger = logging.getLogger("records.reentrant")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    from_signal: list[int] = []

    def on_alarm(signum: int, frame: object) -> None:
        from_signal.append(len(from_signal))
        logger.info("from the signal handler %d", from_signal[-1])

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        for i in range(20_000):
            logger.info("main %d", i)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
    handler.close()
    messages = messages_in(tmp_path / "s")
    assert from_signal
    assert len(messages) == 20_000 + len(from_signal) == handler.stats().spooled
    assert handler.stats().dropped == 0


_SIGNAL_WHILE_INSIDE_CHILD = """
import logging, signal, sys, time
from pathlib import Path
import shipper
import shipper.handler
from shipper.handler import ShipperHandler
base = Path(sys.argv[1])
(base / "a-file").write_text("")
kept = ShipperHandler("inside", spool_path=base / "kept", delivery="thread")
shipper.handler._SPOOL_ROOTS = ()  # no fallback directory: the uncreatable spool's records are lost
lost = ShipperHandler("inside", spool_path=base / "a-file" / "spool", delivery="thread")  # uncreatable
for handler in (kept, lost):
    handler._stop.set()  # no delivery: what was written stays counted as spooled
kept.writer.segment_bytes = 64 * 1024  # a segment per record from the signal handler: keep them small
logger = logging.getLogger("inside")
logger.handlers, logger.propagate = [kept, lost], False
logger.setLevel(logging.INFO)
from_signal = [0]
def on_alarm(signum, frame):
    from_signal[0] += 1
    logger.info("from the signal handler %d", from_signal[0])
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
started = time.monotonic()
while time.monotonic() - started < 1.5:  # inside the shipper, outside emit(), nearly all the time
    kept.writer.seal()
    kept.stats()
    shipper.stats()
signal.setitimer(signal.ITIMER_REAL, 0, 0)
kept.close()
lost.close()
print(from_signal[0], kept.stats().spooled, lost.stats().dropped, kept.stats().dropped,
      *(reason for reason, _ in kept.stats().lost))
"""


def test_a_signal_handler_that_logs_while_the_thread_is_inside_the_shipper_does_not_deadlock(
    tmp_path: Path,
) -> None:
    """A signal handler that logs while its thread holds one of the shipper's locks outside emit()
    (sealing a segment, reading the counters) neither deadlocks nor loses a record uncounted: each is
    written, or counted lost where the spool cannot be written, or (a few at most, on a loaded machine
    where the writes fall behind the signals) counted lost past the bound on records put aside."""
    script = tmp_path / "child.py"
    script.write_text(_SIGNAL_WHILE_INSIDE_CHILD)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    from_signal, spooled, lost, dropped, *reasons = done.stdout.split()
    assert int(from_signal) > 100
    assert int(lost) == int(from_signal) == int(spooled) + int(dropped)
    assert int(dropped) <= int(from_signal) // 10
    assert set(reasons) <= {"reentrant"}


class _LogsWhenPrinted:
    """An argument whose text, when the record's message is made, logs one more record like it."""

    def __init__(self, logger: logging.Logger, left: int, depths: list[int]) -> None:
        self.logger, self.left, self.depths = logger, left, depths

    def __str__(self) -> str:
        self.depths.append(len(traceback.extract_stack()))
        if self.left:
            self.logger.info("%s", _LogsWhenPrinted(self.logger, self.left - 1, self.depths))
        return f"{self.left} left"


def test_a_record_whose_text_logs_another_without_end_stops_at_a_bound(tmp_path: Path) -> None:
    """A record whose text logs a record whose text logs another, 5,000 deep: the records are written
    one after the other at the same depth of stack (no RecursionError reaches the program), and past
    the bound on one stretch of them the rest is counted lost instead of keeping the thread for good."""
    handler = ShipperHandler("chain", spool_path=tmp_path / "s", delivery="thread")
    handler._stop.set()  # no delivery: the records stay in the segment, where they are counted
    logger = logging.getLogger("records.chain")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    depths: list[int] = []
    logger.info("%s", _LogsWhenPrinted(logger, 5_000, depths))
    handler.close()
    assert handler.stats().spooled == len(messages_in(tmp_path / "s")) == 1 + reentry.STRETCH_LIMIT
    assert handler.stats().lost == (("reentrant", 1),)
    assert max(depths) - min(depths) <= 2


_DEEP_STACK_CHILD = """
import logging, sys, tempfile
from pathlib import Path
handler_name = sys.argv[1]
if handler_name == "shipper":
    from shipper.handler import ShipperHandler
    handler = ShipperHandler("deep", spool_path=Path(tempfile.mkdtemp()), delivery="thread")
    handler._stop.set()
else:
    handler = logging.NullHandler()
logger = logging.getLogger("deep")
logger.handlers, logger.propagate = [handler], False
escaped = []
def descend(levels, room):
    if levels:
        return descend(levels - 1, room)
    try:
        try:
            raise ValueError("at the bottom")
        except ValueError:
            logger.exception("logged with %d frames of room", room)
    except RecursionError:
        escaped.append(room)
here = len(__import__("traceback").extract_stack())
for room in range(5, 150):
    descend(sys.getrecursionlimit() - here - room, room)
print(*escaped)
"""


def test_logging_with_the_stack_nearly_full_raises_nothing_logging_itself_would_not(
    tmp_path: Path,
) -> None:
    """A program that logs an exception with its stack nearly full gets a RecursionError from the
    shipper at no depth where logging's own frames, with a handler that does nothing, leave it room."""
    script = tmp_path / "deep.py"
    script.write_text(_DEEP_STACK_CHILD)
    escaped = {}
    for handler_name in ("shipper", "null"):
        done = subprocess.run(
            [sys.executable, str(script), handler_name],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert done.returncode == 0, done.stderr[-2000:]
        escaped[handler_name] = {int(room) for room in done.stdout.split()}
    assert escaped["null"]  # the range reaches depths where even logging itself runs out of stack
    assert escaped["shipper"] <= escaped["null"]


_INTERRUPTED_CHILD = """
import logging, signal, sys, time
from pathlib import Path
from shipper.handler import ShipperHandler
handler = ShipperHandler("interrupted", spool_path=Path(sys.argv[1]), delivery="thread")
handler._stop.set()  # no delivery: every record stays in the spool, where the test reads it
handler.writer.segment_bytes = 64 * 1024  # many segments made, so many interrupted while made
logger = logging.getLogger("interrupted")
logger.handlers, logger.propagate = [handler], False
armed = False
def interrupt(signum, frame):
    if armed:
        raise KeyboardInterrupt
signal.signal(signal.SIGALRM, interrupt)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
returned, started, i = [], time.monotonic(), 0
while time.monotonic() - started < 2:
    i += 1
    try:
        armed = True
        logger.warning("call %d %s", i, "k" * 200)
        armed = False
        returned.append(i)
    except KeyboardInterrupt:
        armed = False
signal.setitimer(signal.ITIMER_REAL, 0, 0)
handler.close()
from shipper.spool import layout
held = [p.name for p in Path(sys.argv[1]).iterdir() if layout.held(p, exclusive=True)]
print(len(held), " ".join(map(str, returned)))  # files this process still holds, though closed
"""


def test_keyboard_interrupts_during_logging_leave_nothing_behind(tmp_path: Path) -> None:
    """Ctrl-C (KeyboardInterrupt) landing anywhere inside logging calls, thousands of times: every
    call that returned is in the spool, the program holds no file it dropped, and the segment files
    left half-made are deleted by the agent's sweep."""
    script = tmp_path / "child.py"
    script.write_text(_INTERRUPTED_CHILD)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    held, *calls = done.stdout.split()
    assert held == "0"
    returned = {f"call {i} {'k' * 200}" for i in map(int, calls)}
    assert len(returned) > 100
    assert returned <= set(messages_in(tmp_path / "s"))
    seen: dict[tuple[str, int], float] = {}  # as the agent does, after a minute, at two looks
    layout.sweep_unfinished(tmp_path / "s", older_than=0, seen=seen)
    time.sleep(1.1)
    layout.sweep_unfinished(tmp_path / "s", older_than=0, seen=seen)
    assert [p.name for p in (tmp_path / "s").iterdir() if p.name.endswith(".new")] == []


def test_close_is_bounded_with_a_server_that_never_answers(tmp_path: Path) -> None:
    """With delivery in a thread and a server that accepts connections but never answers, close()
    returns within its one deadline (not a sum of per-step timeouts) and the records stay spooled."""
    silent = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    handler = ShipperHandler(
        "silent",
        es_url=url,
        spool_path=tmp_path / "s",
        delivery="thread",
        close_timeout=0.5,
        request_timeout=30,
    )
    logger = logging.getLogger("records.silent")
    logger.handlers, logger.propagate = [handler], False
    for i in range(100):
        logger.warning("kept %d", i)
    time.sleep(0.3)  # the agent thread is now waiting for the answer
    started = time.monotonic()
    handler.close()
    elapsed = time.monotonic() - started
    silent.close()
    assert elapsed < 0.5 + 0.3
    assert len(messages_in(tmp_path / "s")) == 100


@pytest.mark.parametrize("message", ["plain %d of %s", "secret token=abc123 in a plain line"])
def test_the_lean_way_writes_the_same_document_as_the_formatter(message: str) -> None:
    """The agent's lean JSON of a plain record is the formatter's full document for it, redaction
    included, with the program's facts applied: the document layout is not defined twice."""
    record = _record(logging.INFO, message, 3, "x") if "%" in message else _record(logging.INFO, message)
    program = {
        "service": "codec", "service_version": "1.2", "environment": "prod", "pid": 1,
        "host": {"name": "h"}, "process_name": "p", "executable": "/usr/bin/p", "args": ["p", "-v"],
    }  # fmt: skip
    documents = Documents("codec")
    _, lean = documents.plain(records.decode(records.encode_plain(record) or b"")[1], program, "0" * 32)
    formatter = EcsFormatter(service_name="codec", service_version="1.2", environment="prod")
    full = formatter.document(formatter.capture(record))
    apply_program(full, program, record.process)
    _, careful = documents.finish(full, "0" * 32)
    assert json.loads(lean) == json.loads(careful)
