"""`ShipperHandler`: the stdlib logging handler that ships ECS documents durably.

On the caller's thread `emit()` only captures what may change once the logging call returns (the
formatter's `capture()`: the formatted message, the exception's frames, for error events the context)
and appends that to a bounded in-memory queue; it never blocks on the network and never raises. The
worker (`shipper.worker`) does the rest: its drainer thread stamps a time-ordered `event.id` and
spools each batch to SQLite (plain messages packed as captured, other events built into their ECS
document, fingerprinted and serialized first); the delivery process (`shipper.relay`, or with
`delivery="thread"` a second thread) writes the documents out, sends, retries and dead-letters.
A formatter without that split (only `to_document()`) builds the whole document on the caller.

    handler = ShipperHandler(service="billing", es_url="https://es.internal:9200", api_key="...")
    logging.getLogger().addHandler(handler)

`es_url` may name several nodes of a cluster (a list, or URLs separated by commas), or `cloud_id`
an Elastic Cloud deployment; see `shipper.connection` for rotation, failover and `sniff`.

Every argument is a plain keyword, so `logging.config.dictConfig` can build it (`"()":
"shipper.ShipperHandler"` or `"class": "shipper.ShipperHandler"`).

When the queue is full, `queue_overflow="spool"` (the default) writes the event synchronously to
the spool on the caller's thread (slower, nothing lost); `"drop"` drops and counts it. After
`close()` events are spooled synchronously too, and sent by the next start.

Recursion guard: records emitted by a worker thread (the Elasticsearch client's own logging, say)
and records of `logloop.shipper*` loggers are never shipped; the shipper's diagnostics go to the
non-propagating `logloop.shipper.internal` logger, rate-limited.

Fork safety: in a forked child every handler gets a fresh queue, counters and worker; the child
writes spool rows under its own pid and sends only those, so the parent's events are not sent
twice. Rows a child leaves behind are adopted by a later process once the child has exited. A child
that leaves with `os._exit()` (multiprocessing workers do) should call `close()` first, or what is
still in its memory queue is lost.

Loss window: only a hard kill (SIGKILL, power cut) loses events, namely those still in the memory
queue, at most `queue_size` plus one batch being written (measured by tests/test_delivery.py). What
is spooled is sent by the delivery process even after the program was killed (for `close_timeout`),
and by the next start otherwise.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast

from shipper import schema
from shipper.connection import ElasticsearchSettings, validate
from shipper.exceptions import ConfigurationError
from shipper.spool import OVERFLOW_POLICIES, NewEvent, OverflowPolicy, Spool
from shipper.stats import Counters, PrometheusEndpoint, ShipperStats
from shipper.stats import register as register_stats
from shipper.transports import TRANSPORT_KINDS, Transport, TransportSpec
from shipper.worker import (
    DELIVERIES,
    INTERNAL_LOGGER,
    WORKER_THREADS,
    Delivery,
    DeliveryConfig,
    Inbox,
    RateLimitedLog,
    Worker,
    encode,
    event_ids,
    format_event_id,
    open_spool,
    set_path,
    store_packed,
)

if TYPE_CHECKING:
    from shipper.formatter import LeanFields
    from shipper.worker import PackedEvent

QueueOverflow = Literal["spool", "drop"]
_QUEUE_OVERFLOWS: Final = ("spool", "drop")
_INTERNAL_PREFIX: Final = "logloop.shipper"
_PACKED_MESSAGE_LIMIT: Final = 8192  # characters of message and template a packed event may carry


class DocumentFormatter(Protocol):
    def to_document(self, record: logging.LogRecord) -> dict[str, Any]: ...


class SplitFormatter(DocumentFormatter, Protocol):
    """A formatter whose work splits into a cheap `capture()` (caller) and `document()` (worker)."""

    def capture(self, record: logging.LogRecord) -> Any: ...

    def document(self, captured: Any) -> dict[str, Any]: ...


_handlers: weakref.WeakSet[ShipperHandler] = weakref.WeakSet()
_fork_orphans: list[object] = []  # the parent's worker and spool objects: never used nor closed in a child
_local = threading.local()


def default_spool_path(service: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in service) or "logloop"
    return Path.home() / ".cache" / "logloop" / "spool" / f"{safe}.sqlite"


class ShipperHandler(logging.Handler):
    """Ships every record it handles to Elasticsearch (or Logstash), durably and without blocking.

    Every argument is keyword-only except `service` (dictConfig builds it from plain values); a bad
    value raises ConfigurationError here, at setup, never later from `emit()`.

    What the documents say:
        service: `service.name` of every document, and the default spool file's name.
        service_version: `service.version` (what "resolved in version X" is decided from).
        environment: `service.environment` (e.g. "production").
        env_allowlist: environment variable names copied into error events (`logloop.env.vars`),
            redacted when they look like secrets; nothing else of the environment is sent.
        context_provider: called when an error is captured; its mapping (redacted) becomes
            `logloop.context`. It must be fast and must not log; its failures are counted, not raised.
        level: the handler's logging level (records below it are ignored).
        formatter: a document formatter replacing the ECS one (its `to_document(record)` is used).

    Where they go:
        transport: "elasticsearch" (`_bulk`, the default), "logstash-beats" or "logstash-tcp".
        es_url, api_key | username + password, ca_certs, verify_certs: the Elasticsearch connection
            (`shipper.connection.ElasticsearchSettings`; secrets never appear in a repr or a log).
        allow_plain_http: allow http:// to a non-loopback host (credentials and logs in clear text).
        request_timeout: seconds one request may take; also bounds each send of a batch.
        index_prefix: documents go to the daily index `<prefix>-YYYY.MM.DD`.
        logstash_host, logstash_port, logstash_ssl: the Logstash input for the Logstash transports.

    How they get there:
        spool_path: the SQLite spool (default: per service under ~/.cache/logloop/spool/).
        spool_max_bytes: the spool's size bound; spool_overflow says what gives way when it is
            full ("drop_oldest", the default, or another policy of OVERFLOW_POLICIES), and is counted.
        queue_size: the in-memory queue between `emit()` and the spool, in records.
        queue_overflow: when that queue is full, "spool" writes on the caller's thread (nothing
            lost, slower) or "drop" drops and counts the record.
        close_timeout: seconds `close()` (and delivery after the program ended) may take at most.
        batch_size: documents per `_bulk` request at most (requests also stay under 8 MB).
        max_event_bytes: a larger document is dead-lettered instead of sent.
        flush_interval: seconds the spool writer waits to gather a batch.
        retry_max_delay: the longest back-off between retries, in seconds.
        delivery: "process" (a separate delivery process, the default) or "thread" (in this process).

    What it reports:
        stats_interval: seconds between the shipper's own health documents (`logloop.shipper.*`).
        prometheus_port: serve the counters on 127.0.0.1:<port>/metrics (needs `logloop[metrics]`).
    """

    def __init__(
        self,
        service: str,
        *,
        service_version: str | None = None,
        environment: str | None = None,
        env_allowlist: Sequence[str] = (),
        context_provider: Callable[[], Mapping[str, Any]] | None = None,
        level: int | str = logging.NOTSET,
        transport: str = "elasticsearch",
        es_url: str | Sequence[str] = "http://127.0.0.1:9200",
        cloud_id: str | None = None,
        sniff: bool = False,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_certs: str | None = None,
        verify_certs: bool = True,
        allow_plain_http: bool = False,
        request_timeout: float = 10.0,
        index_prefix: str = schema.DEFAULT_INDEX_PREFIX,
        logstash_host: str = "127.0.0.1",
        logstash_port: int = 5044,
        logstash_ssl: bool = False,
        spool_path: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 256 * 1024 * 1024,
        spool_overflow: OverflowPolicy = "drop_oldest",
        queue_size: int = 10_000,
        queue_overflow: QueueOverflow = "spool",
        close_timeout: float = 2.0,
        batch_size: int = 5000,
        max_event_bytes: int = 4 * 1024 * 1024,
        flush_interval: float = 0.1,
        retry_max_delay: float = 30.0,
        stats_interval: float = 60.0,
        prometheus_port: int | None = None,
        formatter: DocumentFormatter | None = None,
        delivery: Delivery = "process",
        grouping: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(level)
        # The `[grouping]` table of the TOML (in_app packages, rules), checked now: a typo fails here.
        self.grouping = _grouping_options(grouping)
        _check_choice("transport", transport, TRANSPORT_KINDS)
        _check_choice("queue_overflow", queue_overflow, _QUEUE_OVERFLOWS)
        _check_choice("spool_overflow", spool_overflow, OVERFLOW_POLICIES)
        _check_choice("delivery", delivery, DELIVERIES)
        _check_positive(queue_size=queue_size, batch_size=batch_size, close_timeout=close_timeout)
        _check_positive(flush_interval=flush_interval, stats_interval=stats_interval)
        _check_positive(max_event_bytes=max_event_bytes, retry_max_delay=retry_max_delay)
        self.service = service
        self.es_settings = ElasticsearchSettings(
            url=es_url if isinstance(es_url, str) else tuple(es_url),
            cloud_id=cloud_id,
            sniff=sniff,
            api_key=api_key,
            username=username,
            password=password,
            ca_certs=ca_certs,
            verify_certs=verify_certs,
            allow_plain_http=allow_plain_http,
            request_timeout=request_timeout,
        )
        if transport == "elasticsearch":
            validate(self.es_settings)
        self.transport_kind = transport
        self.transport_spec = TransportSpec(
            transport, self.es_settings, logstash_host, int(logstash_port), bool(logstash_ssl)
        )
        self.config = DeliveryConfig(
            spool_path=Path(spool_path) if spool_path is not None else default_spool_path(service),
            spool_max_bytes=spool_max_bytes,
            spool_overflow=spool_overflow,
            index_prefix=index_prefix,
            batch_size=batch_size,
            max_event_bytes=max_event_bytes,
            flush_interval=flush_interval,
            backoff_max=retry_max_delay,
            send_timeout=request_timeout,
            stats_interval=stats_interval,
            delivery=delivery,
        )
        # Fail now if the spool cannot be opened, and take over what earlier (dead) processes left.
        probe = open_spool(self.config)
        try:
            probe.adopt_orphans()
        finally:
            probe.close()
        self.close_timeout = close_timeout
        self.queue_size = queue_size
        self.queue_overflow = queue_overflow
        self._ecs: DocumentFormatter
        self._capture: Callable[[logging.LogRecord], Any]
        self._document: Callable[[Any], dict[str, Any]] | None = None
        self._lean: Callable[[Any], tuple[dict[str, Any], bytes]] | None = None
        self._lean_fields_many: Callable[..., list[LeanFields | None]] | None = None
        self._use_formatter(
            formatter
            or _ecs_formatter(service, service_version, environment, env_allowlist, context_provider)
        )
        self.counters = Counters()
        self._diag = RateLimitedLog()
        self._inbox = Inbox(queue_size)
        self._start_lock = threading.Lock()
        self._side_lock = threading.Lock()
        self._side_spool: Spool | None = None
        self._worker: Worker | None = None
        self.closed = False
        self.prometheus = (
            PrometheusEndpoint(self.counters, prometheus_port) if prometheus_port is not None else None
        )
        register_stats(self)
        _handlers.add(self)
        self._ensure_worker()

    # -- logging.Handler ----------------------------------------------------------------------------

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """dictConfig's `formatter` key: an ECS formatter replaces the document formatter."""
        super().setFormatter(fmt)
        if fmt is not None and callable(getattr(fmt, "to_document", None)):
            self._use_formatter(fmt)  # type: ignore[arg-type]

    def handle(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """Filter then emit, without the handler lock: emit() is thread-safe on its own."""
        if not self.filters:
            self.emit(record)
            return record
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):
            record = result
        if result:
            self.emit(record)
        return result

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread in WORKER_THREADS or record.name.startswith(_INTERNAL_PREFIX):
            return
        local = _local
        if getattr(local, "busy", False):  # capture() (say, a __str__ or the context provider) logged
            return
        local.busy = True
        try:
            item = self._capture(record)
            if self.closed or self._worker is None or not self._inbox.put(item):
                self._enqueue_slowly(item)
        except Exception:
            self.handleError(record)
        finally:
            local.busy = False

    def handleError(self, record: logging.LogRecord) -> None:
        """Count the lost record and say so at most once a minute; never print per record."""
        self.counters.add("dropped")
        self._diag.warning("emit", "logloop shipper could not handle a record from %s", record.name)

    def flush(self) -> None:
        """Wait until everything queued so far is in the spool, at most a quarter of close_timeout.

        logging.shutdown() calls flush() then close(): together they stay within 1.25 x close_timeout.
        """
        if self.closed or self._worker is None or not self._worker.thread.is_alive():
            return
        marker = threading.Event()
        self._inbox.put_control(marker)
        marker.wait(self.close_timeout / 4)

    def close(self) -> None:
        """Flush what can be sent within close_timeout; everything else stays in the spool."""
        with self._start_lock:
            already, self.closed = self.closed, True
        if not already:
            # The worker sends until 85% of the budget, the join ends at 95%; the rest is for spooling
            # what is still queued and for the interpreter's own exit.
            start = time.monotonic()
            worker = self._worker
            if worker is not None:
                worker.stop(start + 0.85 * self.close_timeout)
                worker.thread.join(max(0.0, start + 0.95 * self.close_timeout - time.monotonic()))
            left = self._take_queued()
            self.counters.add("queued", len(left))  # never reached the drainer, which counts the rest
            self._spool_now(left)
            if self.prometheus is not None:
                self.prometheus.close()
        with self._side_lock:
            if self._side_spool is not None:
                self._side_spool.close()
                self._side_spool = None
        super().close()

    # -- for programs and tests ---------------------------------------------------------------------

    def stats(self) -> ShipperStats:
        return self.counters.snapshot()

    def ready(self, timeout: float) -> bool:
        """Wait until delivery runs: the worker's threads and, with delivery="process", the delivery
        process (or the thread that took its place); False if not within `timeout` seconds."""
        if self._worker is None:
            self._ensure_worker()
        worker = self._worker
        return worker is not None and worker.sending.wait(timeout)

    def wait_delivered(self, timeout: float) -> bool:
        """Block until everything this process queued or spooled has been sent; False on timeout."""
        deadline = time.monotonic() + timeout
        if self._worker is None:
            self._ensure_worker()  # a forked child that has not logged yet
        while time.monotonic() < deadline:
            worker = self._worker
            if worker is None or not worker.thread.is_alive():
                return False
            self.flush()
            worker.idle.clear()
            self._wake_worker()
            worker.idle.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            if not self._inbox and self._own_backlog() == 0:
                return worker.counters_caught_up(deadline)
        return False

    # -- internals ----------------------------------------------------------------------------------

    def _use_formatter(self, formatter: DocumentFormatter) -> None:
        self._ecs = formatter
        capture, document = getattr(formatter, "capture", None), getattr(formatter, "document", None)
        lean = getattr(formatter, "lean_document", None)
        if callable(capture) and callable(document):
            self._capture, self._document = capture, document
            self._lean = lean if callable(lean) else None
            many = getattr(formatter, "lean_fields_many", None)
            self._lean_fields_many = many if callable(many) else None
        else:  # only to_document(): the whole document is built on the caller's thread
            self._capture, self._lean = formatter.to_document, None
            self._lean_fields_many = None

    def _pack_items(self, items: Sequence[Any], first: int, bits: int) -> list[PackedEvent]:
        """What the drainer spools for queued items: a plain event's place in the batch and its
        captured fields (written out when sent, see `shipper.packing`), else its finished row
        (`_encode_row`). The item at place i gets the id `format_event_id(first + i, bits ^ i)` (a
        document that has one keeps it). Never raises: an item that fails is left out, counted."""
        many = self._lean_fields_many
        captured = [item for item in items if type(item) is not dict]
        # A long message is written out now, where its size is checked (max_event_bytes).
        found = many(captured, max_chars=_PACKED_MESSAGE_LIMIT) if many is not None else []
        if len(captured) == len(items) and None not in found:
            return list(enumerate(cast("list[LeanFields]", found)))  # the usual batch: plain events only
        fields = iter(found or [None] * len(captured))
        packed: list[PackedEvent] = []
        for place, item in enumerate(items):
            lean = None if type(item) is dict else next(fields)
            if lean is not None:
                packed.append((place, lean))
                continue
            try:
                packed.append(self._encode_row(item, format_event_id(first + place, bits ^ place)))
            except Exception as exc:
                self.counters.add("dropped")
                self._diag.warning("encode", "logloop shipper could not serialize an event: %r", exc)
        return packed

    def _encode_row(self, item: Any, event_id: str) -> NewEvent:
        """The spool row of a queued item that is not packed: its document built, given `event_id`
        (unless it has an id), fingerprinted and serialized."""
        doc, rest = self._build(item)
        event = doc.get("event")
        if not (isinstance(event, dict) and "id" in event):
            set_path(doc, "event.id", event_id)
        return encode(doc, self.config.index_prefix, rest, self.grouping)

    def _build(self, item: Any) -> tuple[dict[str, Any], bytes]:
        """The document of a queued item, finished by the formatter unless it already is one, and the
        JSON of its constant part if the formatter keeps that apart (see `EcsFormatter.lean_document`)."""
        if isinstance(item, dict):
            return item, b""
        if self._lean is not None:
            return self._lean(item)
        if self._document is None:
            raise TypeError(f"no formatter can build a document from {type(item).__name__}")
        return self._document(item), b""

    def _enqueue_slowly(self, item: Any) -> None:
        """What emit() does when the fast path is closed: after close(), in a forked child's first
        call (no worker yet) or with the queue full. Events that take the fast path are counted as
        queued by the drainer when it takes them; these are counted here."""
        if self.closed:
            self.counters.add("queued")
            self._spool_now([item])
            return
        if self._worker is None:
            self._ensure_worker()
            if self._inbox.put(item):
                return
        self.counters.add("queued")
        if self.queue_overflow == "spool":
            self._spool_now([item])
        else:
            self.counters.add("dropped")
            self._diag.warning(
                "queue-full", "logloop shipper queue full (%d): events dropped", self.queue_size
            )

    def _spool_now(self, items: list[Any]) -> None:
        """Build and write events to the spool on this thread (queue full, after close, at shutdown)."""
        if not items:
            return
        busy = getattr(_local, "busy", False)
        _local.busy = True  # whatever building logs (a __repr__ of an extra, say) is not shipped
        try:
            first, bits = event_ids.reserve(len(items)), random.getrandbits(62)
            packed = self._pack_items(items, first, bits)  # as the drainer does
            with self._side_lock:
                result = store_packed(self._side(), packed, self.config.index_prefix, first, bits)
            self.counters.add("spooled", result.stored)
            self.counters.add("dropped", result.dropped)
            self._wake_worker()
        except Exception as exc:
            self.counters.add("dropped", len(items))
            self._diag.warning("spool-now", "logloop shipper could not spool events: %r", exc)
        finally:
            _local.busy = busy

    def _side(self) -> Spool:
        """The caller-side spool connection (guarded by _side_lock), opened on first use."""
        if self._side_spool is None:
            self._side_spool = open_spool(self.config, shared=True)
        return self._side_spool

    def _own_backlog(self) -> int:
        with self._side_lock:
            return self._side().owned()

    def _wake_worker(self) -> None:
        self._inbox.put_control(None)

    def _take_queued(self) -> list[Any]:
        """Every queued event; flush markers are released, wake-ups dropped."""
        events: list[Any] = []
        for item in self._inbox.take(len(self._inbox) + 1):
            if isinstance(item, threading.Event):
                item.set()
            elif item is not None:
                events.append(item)
        return events

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is not None or self.closed:
                return
            self._worker = Worker(
                config=self.config,
                inbox=self._inbox,
                pack_items=self._pack_items,
                counters=self.counters,
                make_transport=self._make_transport,
                make_health_doc=self._health_doc,
                relay_settings=self._relay_settings,
            )
            self._worker.start()

    def _relay_settings(self) -> dict[str, Any]:
        from shipper.relay import settings_for

        return settings_for(self.config, self.transport_spec, self.close_timeout, os.getpid())

    def _make_transport(self) -> Transport:
        return self.transport_spec.make()

    def _health_doc(self, snapshot: ShipperStats) -> dict[str, Any]:
        record = logging.LogRecord(
            _INTERNAL_PREFIX, logging.INFO, __file__, 0, "logloop shipper counters", None, None
        )
        doc = self._ecs.to_document(record)
        set_path(doc, "event.dataset", schema.DATASET_SHIPPER)
        set_path(doc, "event.id", event_ids.next())
        for name, value in snapshot.as_fields().items():
            set_path(doc, name, value)
        return doc

    def _after_fork_in_child(self) -> None:
        parents = self._worker
        _fork_orphans.extend((self._worker, self._side_spool))
        self._worker = None
        self._side_spool = None
        self._inbox = Inbox(self.queue_size)
        self._start_lock = threading.Lock()
        self._side_lock = threading.Lock()
        self.counters.reinit_after_fork()
        self.prometheus = None  # the port belongs to the parent
        if parents is not None and parents.relay is not None:
            parents.relay.forget_in_child()  # the parent's delivery process must see its input end


def _after_fork_in_child() -> None:
    event_ids.reinit_after_fork()
    WORKER_THREADS.clear()
    for handler in list(_handlers):
        try:
            handler._after_fork_in_child()
        except Exception:  # one handler's failure must not leave the others shared
            logging.getLogger(INTERNAL_LOGGER).debug("after-fork reset failed", exc_info=True)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _ecs_formatter(
    service: str,
    version: str | None,
    environment: str | None,
    allowlist: Sequence[str],
    provider: Callable[[], Mapping[str, Any]] | None,
) -> DocumentFormatter:
    from shipper.formatter import EcsFormatter

    return EcsFormatter(
        service_name=service,
        service_version=version,
        environment=environment,
        env_allowlist=allowlist,
        context_provider=provider,
    )


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigurationError(f"{name}={value!r} is not one of: {', '.join(allowed)}")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ConfigurationError(f"{name}={value!r} must be greater than 0")


def _grouping_options(table: Mapping[str, Any] | None) -> Any:
    """`shipper.grouping.options.GroupingOptions` from the handler's `grouping` argument (the TOML
    `[grouping]` table's shape); None without one (default keys, and grouping imported only when used)."""
    if not table:
        return None
    from shipper.grouping.options import GroupingConfigError, options_from_table

    try:
        return options_from_table(table)
    except GroupingConfigError as exc:
        raise ConfigurationError(f"grouping: {exc}") from None
