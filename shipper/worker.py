"""The delivery worker: a drainer thread (queue -> spool) and a sender (spool -> server).

The drainer takes what is queued (lingering `flush_interval` so a burst becomes one transaction),
stamps the events' ids (one reservation per batch) and writes them to the spool in one transaction:
plain messages packed as captured (`shipper.packing`), other events built into their documents
(the formatter's costly half: redaction, JSON-safe extras, traceback text), fingerprinted and
serialized. It does no more, because the program's threads wait for the GIL while it works.

The sender sends the oldest spooled batch (written out as a `_bulk` body), deletes acknowledged and
dead-lettered documents, and leaves those that need a retry for a capped exponential backoff with
jitter. With `delivery="process"` it runs in a child process (`shipper.relay`) and the worker's
sender thread only minds it, taking over the sending if it cannot start or dies; with "thread" it
runs in that thread. Because the drainer never waits for the network, the memory queue keeps
emptying while a request is in flight or the server is down. Each opens its own spool connection;
the transport lives with the sender only.

Stopping: `stop(deadline)` makes the drainer spool everything still queued (local, fast) and the
sender send what it can before the deadline (every request's timeout is cut to the time left);
whatever was not acknowledged stays in the spool for the next start.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

from shipper import deadletter, packing, schema
from shipper.formatter import LeanFields, dumps_with
from shipper.relay import REPORTED_COUNTERS, RelayProcess
from shipper.spool import (
    SEGMENT_BYTES,
    SEGMENT_EVENTS,
    NewEvent,
    OverflowPolicy,
    PutResult,
    Spool,
    SpooledEvent,
    bulk_lines,
)
from shipper.stats import Counters, ShipperStats
from shipper.transports import DELIVERED, Outcome, Transport, retry_all

INTERNAL_LOGGER: Final = "logloop.shipper.internal"
Delivery = Literal["process", "thread"]
# A finished row, or a plain event's fields and its place in the batch (its id is made from that, see
# `shipper.packing`).
PackedEvent = NewEvent | tuple[int, LeanFields]
DELIVERIES: Final = ("process", "thread")
_DRAIN_LIMIT: Final = 1000  # documents moved from the queue to the spool per transaction at most
_RELAY_EXIT_GRACE: Final = 0.2  # seconds the delivery process may take to exit after its deadline
_ADOPT_EVERY: Final = 30.0  # seconds between looks for rows left by dead processes (forked children)
_BACKLOG_EVERY: Final = 1.0  # seconds between refreshes of the spool_backlog gauge

# Thread idents of every live worker: records they emit (through client libraries) are never shipped.
WORKER_THREADS: set[int] = set()


@dataclass(frozen=True, kw_only=True)
class DeliveryConfig:
    """How the worker batches, spools, retries and reports."""

    spool_path: Path
    spool_max_bytes: int = 256 * 1024 * 1024
    spool_overflow: OverflowPolicy = "drop_oldest"
    index_prefix: str = schema.DEFAULT_INDEX_PREFIX
    batch_size: int = 5000
    batch_max_bytes: int = 8 * 1024 * 1024
    max_event_bytes: int = 4 * 1024 * 1024
    flush_interval: float = 0.1  # how long the worker lingers after the first event to fill a batch
    send_timeout: float = 10.0  # one request's bound while running (the stop deadline cuts it)
    backoff_initial: float = 0.25
    backoff_max: float = 30.0
    stats_interval: float = 60.0
    delivery: Delivery = "process"  # where documents are written out and sent (see shipper.relay)
    owner: int | None = None  # whose spooled rows to send: this process unless said otherwise


def open_spool(config: DeliveryConfig, *, busy_timeout: float = 1.0, shared: bool = False) -> Spool:
    """A new connection to the configured spool file, with its size bound and overflow policy."""
    return Spool(
        config.spool_path,
        max_bytes=config.spool_max_bytes,
        overflow=config.spool_overflow,
        owner=config.owner,
        busy_timeout=busy_timeout,
        shared=shared,
    )


class RateLimitedLog:
    """The shipper's own diagnostics: a non-propagating logger, one message per key per interval."""

    def __init__(self, interval: float = 60.0) -> None:
        self._logger = logging.getLogger(INTERNAL_LOGGER)
        self._logger.propagate = False
        self._interval = interval
        self._last: dict[str, float] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -self._interval) >= self._interval:
            self._last[key] = now
            self._logger.warning(message, *args)


class Inbox:
    """The bounded memory queue between `emit()` and the drainer.

    A deque (append and popleft are atomic in CPython, no lock) with a length check, and an Event that
    a caller sets only when the drainer is asleep: while the drainer works or lingers to fill a batch,
    putting an event costs an append and two attribute reads. The bound is checked without a lock, so
    threads racing at the limit may go past it by one event each.

    Control items (flush markers, wake-ups) are never refused: they are few and must not be lost.
    Someone waits for them, so they also cut the drainer's lingering short (see `linger`).
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Any] = deque()
        self._sleeping = False
        self._wake = threading.Event()
        self._control = threading.Event()  # a control item was queued since the last take()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any) -> bool:
        """Queue an event; False (and nothing queued) when the queue is full."""
        items = self._items
        if len(items) >= self.maxsize:
            return False
        items.append(item)
        if self._sleeping:
            self._wake.set()
        return True

    def put_control(self, item: threading.Event | None) -> None:
        """Queue a flush marker (an Event the drainer sets) or a wake-up (None), and wake the drainer."""
        self._items.append(item)
        self._control.set()
        self._wake.set()

    def take(self, limit: int) -> list[Any]:
        """Up to `limit` items, oldest first, without waiting."""
        items = self._items
        taken: list[Any] = []
        self._control.clear()  # before taking: a control item queued from now on sets it again
        with contextlib.suppress(IndexError):
            while len(taken) < limit:
                taken.append(items.popleft())
        return taken

    def linger(self, timeout: float) -> None:
        """Let a batch fill for `timeout`, or less if a control item (a flush, a stop) is queued."""
        self._control.wait(timeout)

    def wait(self, timeout: float) -> bool:
        """Sleep until something is queued or `timeout` passes; True if something is queued."""
        self._sleeping = True  # set before looking, so a put() after the look wakes us
        try:
            if not self._items:
                self._wake.wait(timeout)
        finally:
            self._sleeping = False
            self._wake.clear()
        return bool(self._items)


class EventIds:
    """uuid7-style ids as 32 hex digits: 48-bit milliseconds, a 12-bit sequence, 62 random bits.

    Ids are strictly increasing within a process. The drainer stamps events in queue order, just
    before they are spooled (nothing is sent before that, so every retry carries the same id), so
    events of the same millisecond keep their order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._seq = 0

    def next(self) -> str:
        return format_event_id(self.reserve(1), random.getrandbits(62))

    def reserve(self, count: int) -> int:
        """Reserve `count` consecutive time stamps (milliseconds << 12 | sequence) and return the
        first: one lock and one clock reading for a drained batch. Past 4096 ids in one millisecond
        the next millisecond is borrowed."""
        now_ms = time.time_ns() // 1_000_000
        with self._lock:
            if now_ms > self._last_ms:
                self._last_ms, self._seq = now_ms, -1
            first = (self._last_ms << 12) + self._seq + 1
            last = first + count - 1
            self._last_ms, self._seq = last >> 12, last & 0xFFF
        return first

    def reinit_after_fork(self) -> None:
        self._lock = threading.Lock()


event_ids = EventIds()


def format_event_id(stamp: int, random_bits: int) -> str:
    """The id of a reserved time stamp (see `EventIds.reserve`), with 62 random bits."""
    return f"{stamp >> 12:012x}7{stamp & 0xFFF:03x}{0x8000000000000000 | (random_bits & _RANDOM_MASK):016x}"


_RANDOM_MASK: Final = (1 << 62) - 1


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted field in a nested document, creating (or replacing non-dict) parents."""
    *parents, leaf = dotted.split(".")
    node = doc
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


_grouping: Callable[..., Any] | None = None  # imported on first use


def _fingerprint(doc: dict[str, Any], grouping: Any = None) -> None:
    global _grouping
    if _grouping is None:
        try:
            from shipper.grouping.fingerprint import fingerprint_event
        except ImportError:
            return  # grouping not installed: ship ungrouped
        _grouping = fingerprint_event
    fingerprint = _grouping
    log = doc.get("log")
    level = log.get("level") if isinstance(log, dict) else None
    if "error" not in doc and not schema.is_error_level(level):
        return  # the nested-document shortcut of schema.is_error_document: not an error event
    found = fingerprint(doc) if grouping is None else fingerprint(doc, grouping)
    if found is not None:
        set_path(doc, "error.grouping_key", found.key)
        set_path(doc, "error.grouping_name", found.name)
        set_path(doc, "logloop.grouping_version", found.version)


def index_of_timestamp(stamp: Any, prefix: str) -> str:
    """The daily index of a document whose `@timestamp` is `stamp` (now, if it is not a date)."""
    if isinstance(stamp, str) and len(stamp) >= 20 and stamp.endswith("Z") and stamp[4] == stamp[7] == "-":
        return f"{prefix}-{stamp[0:4]}.{stamp[5:7]}.{stamp[8:10]}"  # UTC already: skip parsing
    try:
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else datetime.now(UTC)
    except ValueError:
        when = datetime.now(UTC)
    return schema.index_for(when if when.tzinfo else when.replace(tzinfo=UTC), prefix)


def stamp(doc: dict[str, Any]) -> None:
    """Give the document its `event.id` unless it has one."""
    event = doc.get("event")
    if not isinstance(event, dict):
        set_path(doc, "event.id", event_ids.next())
    elif "id" not in event:
        event["id"] = event_ids.next()


def encode(doc: dict[str, Any], prefix: str, rest: bytes = b"", grouping: Any = None) -> NewEvent:
    """Stamp, fingerprint and serialize one document into a spool row; `rest` is JSON to append to
    the document's (its constant fields, see `EcsFormatter.lean_document`)."""
    stamp(doc)
    try:
        _fingerprint(doc, grouping)
    except Exception:  # a grouping bug must not lose the event; it ships ungrouped
        logging.getLogger(INTERNAL_LOGGER).debug("fingerprint failed", exc_info=True)
    event = doc.get("event")
    event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
    return NewEvent(event_id, index_of_timestamp(doc.get("@timestamp"), prefix), dumps_with(doc, rest))


class Worker:
    """Two threads, each with its own spool connection: the drainer moves the queue into the spool,
    the sender (`thread`) sends from the spool. The drainer never waits for the network, so the
    queue keeps emptying while a request is in flight."""

    def __init__(
        self,
        *,
        config: DeliveryConfig,
        inbox: Inbox,
        pack_items: Callable[[Sequence[Any], int, int], list[PackedEvent]],
        counters: Counters,
        make_transport: Callable[[], Transport],
        make_health_doc: Callable[[ShipperStats], dict[str, Any]],
        relay_settings: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self._relay_settings = relay_settings
        self.inbox = inbox
        self._pack_items = pack_items
        self.counters = counters
        self._make_transport = make_transport
        self._make_health_doc = make_health_doc
        self._dead_letters = deadletter.DeadLetterFile(deadletter.path_for(config.spool_path))
        self._diag = RateLimitedLog()
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self.idle = (
            threading.Event()
        )  # a hint: nothing queued or spooled for this process (see wait_delivered)
        self._rows_ready = threading.Event()  # the drainer committed rows the sender has not seen
        self.relay: RelayProcess | None = None  # while the delivery process sends
        self.sending = threading.Event()  # set once the delivery process or the sender thread runs
        self._asked = 0
        # Held while sent documents leave the spool and are counted: a counter snapshot taken under it
        # counts every document whose deletion was seen before (see shipper.relay's reports).
        self.accounting = threading.Lock()
        self.answered = 0  # the last report request the delivery process answered
        self._drainer = threading.Thread(target=self._run_drainer, name="logloop-shipper-spool", daemon=True)
        self.thread = threading.Thread(target=self._run, name="logloop-shipper-send", daemon=True)

    def start(self) -> None:
        self._drainer.start()
        self.thread.start()

    def stop(self, deadline: float) -> None:
        """Ask the worker to finish by `deadline` (time.monotonic()); returns at once."""
        self._deadline = deadline
        self._stopping.set()
        self._rows_ready.set()
        self.inbox.put_control(None)  # wake the drainer up

    # -- the two threads ----------------------------------------------------------------------------

    def _open_spool(self) -> Spool:
        # The other thread's transactions take milliseconds; never drop for them.
        return open_spool(self.config, busy_timeout=5.0)

    def _run_drainer(self) -> None:
        """Queue -> spool, in one transaction per burst; never waits for the network."""
        WORKER_THREADS.add(threading.get_ident())
        spool: Spool | None = None
        try:
            spool = self._open_spool()
            next_health = time.monotonic() + self.config.stats_interval
            while not self._stopping.is_set():
                if self._drain(spool, self.config.flush_interval):
                    self._rows_ready.set()
                if time.monotonic() >= next_health:
                    next_health = time.monotonic() + self.config.stats_interval
                    self._spool_health(spool)
            while self._drain(spool, 0.0):
                pass
            self._spool_health(spool)
        except Exception as exc:
            self._diag.warning("drainer", "logloop shipper cannot spool events: %r", exc)
        finally:
            self._rows_ready.set()
            if spool is not None:
                spool.close()
            WORKER_THREADS.discard(threading.get_ident())

    def wake_sender(self) -> None:
        self._rows_ready.set()

    def _run(self) -> None:
        """The sender thread: hand the sending to the delivery process, or send from here if that is
        not wanted, cannot start or dies (nothing is lost: what it did not send is in the spool)."""
        WORKER_THREADS.add(threading.get_ident())
        try:
            if self.config.delivery == "process" and self._relay_until_stopped():
                return
            self.run_sender()
        finally:
            WORKER_THREADS.discard(threading.get_ident())

    def run_sender(self) -> None:
        """Spool -> server: send, retry with backoff, dead-letter; then flush until the deadline."""
        spool: Spool | None = None
        transport: Transport | None = None
        try:
            spool = self._open_spool()
            transport = self._make_transport()
            self.sending.set()
            self._send_until_stopped(spool, transport)
            if self._drainer.ident is not None:  # not started in the delivery process
                self._drainer.join(max(0.0, self._deadline - time.monotonic()))
            self._send_until_deadline(spool, transport)
            self.counters.set_backlog(spool.backlog())
        except Exception:  # a bug: say so, keep what is spooled for the next start
            logging.getLogger(INTERNAL_LOGGER).exception("logloop shipper worker failed")
        finally:
            self._close_quietly(spool, transport)

    # -- the delivery process -----------------------------------------------------------------------

    def _relay_until_stopped(self) -> bool:
        """Let the delivery process send until stopped; False if it could not start or died first."""
        relay = RelayProcess(self._on_relay_report)
        if self._relay_settings is None or not relay.start(self._relay_settings()):
            self._diag.warning(
                "relay", "logloop shipper sends from a thread: no delivery process could start"
            )
            return False
        self.relay = relay
        self.sending.set()
        while not self._stopping.is_set() and relay.alive():
            if self._rows_ready.wait(_BACKLOG_EVERY):
                self._rows_ready.clear()
                relay.wake()
        if not self._stopping.is_set():
            self._diag.warning("relay", "logloop delivery process exited; sending from a thread")
            relay.kill()
            self.relay = None
            return False
        # Stopping: the drainer spools what is left, then the child sends until the deadline.
        self._drainer.join(max(0.0, self._deadline - time.monotonic()))
        relay.stop(self._deadline - time.monotonic())
        if not relay.wait(self._deadline - time.monotonic() + _RELAY_EXIT_GRACE):
            relay.kill()  # a request still in flight: its rows stay spooled for the next start
        return True

    def _on_relay_report(self, report: dict[str, Any]) -> None:
        for name in REPORTED_COUNTERS:
            amount = report.get(name)
            if isinstance(amount, int) and amount > 0:
                self.counters.add(name, amount)
        backlog = report.get("backlog")
        if isinstance(backlog, int):
            self.counters.set_backlog(backlog)
        answer = report.get("answer")
        if isinstance(answer, int):
            self.answered = max(self.answered, answer)
        if report.get("idle") and not self.inbox:
            self.idle.set()

    def counters_caught_up(self, deadline: float) -> bool:
        """With a delivery process: ask it for a report and wait for the answer, so the counters
        include every document it sent before now; False if none came by `deadline`."""
        relay = self.relay
        if relay is None:
            return True
        self._asked += 1
        asked = self._asked
        if not relay.ask_report(asked):
            return False
        while self.answered < asked:
            if time.monotonic() >= deadline or not relay.alive():
                return self.answered >= asked
            time.sleep(0.002)
        return True

    def _send_until_stopped(self, spool: Spool, transport: Transport) -> None:
        backoff = self.config.backoff_initial
        next_adopt = next_gauge = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            try:
                if now >= next_adopt:
                    next_adopt = now + _ADOPT_EVERY
                    spool.adopt_orphans()
                sent_all, more = self._send_batch(spool, transport, timeout=self.config.send_timeout)
                if now >= next_gauge or not more:
                    next_gauge = now + _BACKLOG_EVERY
                    self.counters.set_backlog(spool.backlog())
            except Exception as exc:  # the spool failed unexpectedly: keep going after a pause
                self._diag.warning("cycle", "logloop shipper worker error, retrying: %r", exc)
                sent_all, more = False, True
            if not sent_all:
                self._stopping.wait(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self.config.backoff_max)
                continue
            backoff = self.config.backoff_initial
            if more:
                continue
            if not self.inbox:
                self.idle.set()
            # Rows written by the drainer wake us at once; the poll picks up rows spooled by callers.
            self._rows_ready.wait(_BACKLOG_EVERY)
            self._rows_ready.clear()

    def _send_until_deadline(self, spool: Spool, transport: Transport) -> None:
        while (left := self._deadline - time.monotonic()) > 0.05:
            sent_all, more = self._send_batch(spool, transport, timeout=left)
            if not sent_all or not more:
                return

    # -- steps --------------------------------------------------------------------------------------

    def _drain(self, spool: Spool, wait: float) -> bool:
        """Move queued events into the spool; True if the spool may have new rows to send."""
        inbox = self.inbox
        if wait > 0 and inbox.wait(wait) and len(inbox) < self.config.batch_size:
            # Linger so that a burst becomes one transaction and one request, not hundreds; a flush
            # marker or a stop (each queues a control item) ends it early.
            inbox.linger(self.config.flush_interval)
        events: list[Any] = []
        markers: list[threading.Event] = []
        woken = False
        for item in inbox.take(_DRAIN_LIMIT):
            if item is None:
                woken = True  # a wake-up: rows may have been spooled by another thread
            elif isinstance(item, threading.Event):
                markers.append(item)
            else:
                events.append(item)
        if events:
            self.idle.clear()
            self.counters.add("queued", len(events))  # counted here: one lock per batch, not per call
        spooled = self._spool_docs(spool, events)
        for marker in markers:
            marker.set()
        return spooled or woken or bool(markers)

    def _spool_docs(self, spool: Spool, events: list[Any]) -> bool:
        """Stamp the events' ids, pack the plain ones, build the others (the formatter's second half,
        fingerprinted and serialized) and spool them."""
        if not events:
            return False
        first, base = event_ids.reserve(len(events)), random.getrandbits(62)
        try:
            items = self._pack_items(events, first, base)
        except Exception as exc:  # a bug: the batch is lost, and says so
            self.counters.add("dropped", len(events))
            self._diag.warning("encode", "logloop shipper could not serialize events: %r", exc)
            return False
        items = self._dead_letter_oversized(items)
        try:
            result = store_packed(spool, items, self.config.index_prefix, first, base)
        except Exception as exc:
            self.counters.add("dropped", len(items))
            self._diag.warning("spool-write", "logloop shipper could not write its spool: %s", exc)
            return False
        self.counters.add("spooled", result.stored)
        self.counters.add("dropped", result.dropped)
        if result.dropped:
            self._diag.warning("overflow", "logloop spool full (%s): events dropped", spool.overflow)
        return result.stored > 0

    def _dead_letter_oversized(self, items: list[PackedEvent]) -> list[PackedEvent]:
        limit = self.config.max_event_bytes
        big = [r for r in items if isinstance(r, NewEvent) and len(r.body) > limit]
        if not big:
            return items
        reason = f"document larger than max_event_bytes={limit}"
        self._dead_letters.write(
            [
                deadletter.Rejection(
                    event_id=r.event_id, index=r.index, status=413, reason=reason, document=r.body
                )
                for r in big
            ]
        )
        self.counters.add("dead_lettered", len(big))
        return [r for r in items if not (isinstance(r, NewEvent) and len(r.body) > limit)]

    def _spool_health(self, spool: Spool) -> bool:
        try:
            doc = self._make_health_doc(self.counters.snapshot())
        except Exception as exc:
            self._diag.warning("health", "logloop shipper could not build its health document: %r", exc)
            return False
        return self._spool_docs(spool, [doc])

    def _send_batch(self, spool: Spool, transport: Transport, timeout: float) -> tuple[bool, bool]:
        """Send the oldest spooled batch. Returns (no retry needed, more rows may be waiting)."""
        batch = spool.take(self.config.batch_size, self.config.batch_max_bytes)
        if batch.lost:
            self.counters.add("dropped", batch.lost)
            self._diag.warning("unreadable", "logloop spool segment unreadable: %d events lost", batch.lost)
        if not batch:
            return True, batch.lost > 0
        try:
            outcomes = transport.send(batch, timeout)
        except Exception as exc:  # a transport bug must not stop delivery of the rest
            outcomes = retry_all(batch, f"transport failed: {exc!r}")
        if len(outcomes) == len(batch) and all(outcome is DELIVERED for outcome in outcomes):
            with self.accounting:  # the usual case: nothing to sort out, nothing parsed
                spool.delete(batch.row_ids())
                self.counters.add("sent", len(batch))
            return True, len(batch) >= self.config.batch_size
        done, rejected, retry = _sort(batch.events(), outcomes)
        if rejected:
            self._dead_letters.write(rejected)
            self.counters.add("dead_lettered", len(rejected))
        with self.accounting:
            spool.delete(done)
            self.counters.add("sent", len(done) - len(rejected))
        if retry:
            self.counters.add("retried", len(retry))
            self._diag.warning("retry", "logloop shipper will retry %d events: %s", len(retry), retry[0])
        return not retry, bool(retry) or len(batch) >= self.config.batch_size

    @staticmethod
    def _close_quietly(spool: Spool | None, transport: Transport | None) -> None:
        with contextlib.suppress(Exception):
            if transport is not None:
                transport.close()
        if spool is not None:
            spool.close()


_PACKED_SIZE: Final = 256  # bytes a packed plain event takes, roughly, for cutting segments


def store_packed(spool: Spool, items: list[PackedEvent], prefix: str, first: int, base: int) -> PutResult:
    """Spool what `pack_items` made of a batch whose ids start at `first` (with random `base`):
    finished documents as `_bulk` lines, or, when there are plain events among them, packed (see
    `shipper.packing`), in segments of at most SEGMENT_EVENTS events."""
    if all(isinstance(item, NewEvent) for item in items):
        return spool.put(items)  # type: ignore[arg-type]  # checked just above
    if len(items) <= SEGMENT_EVENTS and all(type(item) is tuple for item in items):
        plain = cast("list[packing.PackedItem]", items)  # checked just above
        return spool.put_packed([(len(items), packing.pack(prefix, first, base, plain))])
    segments: list[tuple[int, bytes]] = []
    chunk: list[packing.PackedItem] = []
    size = 0
    for item in items:
        if isinstance(item, NewEvent):
            packed: packing.PackedItem = bulk_lines(item.event_id, item.index, item.body)
            weight = len(packed)
        else:
            packed, weight = item, _PACKED_SIZE
        if chunk and (len(chunk) >= SEGMENT_EVENTS or size + weight > SEGMENT_BYTES):
            segments.append((len(chunk), packing.pack(prefix, first, base, chunk)))
            chunk, size = [], 0
        chunk.append(packed)
        size += weight
    if chunk:
        segments.append((len(chunk), packing.pack(prefix, first, base, chunk)))
    return spool.put_packed(segments)


def _sort(
    batch: list[SpooledEvent], outcomes: list[Outcome]
) -> tuple[list[int], list[deadletter.Rejection], list[str]]:
    """Split a batch by outcome: row ids to delete, rejections to dead-letter, retry reasons."""
    done: list[int] = []
    rejected: list[deadletter.Rejection] = []
    retry: list[str] = []
    for event, outcome in zip(batch, outcomes, strict=False):
        if outcome.kind == "retry":
            retry.append(outcome.reason)
            continue
        done.append(event.row_id)
        if outcome.kind == "rejected":
            rejected.append(
                deadletter.Rejection(
                    event_id=event.event_id,
                    index=event.index,
                    status=outcome.status,
                    reason=outcome.reason,
                    document=event.body,
                )
            )
    retry.extend("no outcome reported" for _ in batch[len(outcomes) :])
    return done, rejected, retry
