"""`ShipperHandler`: the stdlib logging handler that makes every record durable before emit() returns.

On the caller's thread `emit()` captures what may change once the call returns (the formatter's
`capture()`: the formatted message, the exception's frames, for error events the context), encodes it
(`shipper.spool.records`) and appends it to this process's memory-mapped spool segment
(`shipper.capture.writer`). When the logging call returns, the record survives the death of the
program, SIGKILL and `os._exit()` included (not a power cut: the file is not fsynced). Nothing else
happens on the program's threads: no queue, no network, no client library imported.

One delivery agent per spool directory (`shipper.delivery.agent`) turns the records into documents,
sends, retries and dead-letters; the handler starts one if none runs (without waiting for it), and a
watchdog thread starts another if it dies while this process has records waiting. With
`delivery="thread"` the agent runs as a thread of this program instead (for programs that cannot
start a process).

    handler = ShipperHandler(service="billing", es_url="https://es.internal:9200", api_key="...")
    logging.getLogger().addHandler(handler)

`es_url` may name several nodes of a cluster (a list, or URLs separated by commas), or `cloud_id`
an Elastic Cloud deployment; see `shipper.connection` for rotation, failover and `sniff`.

Every argument is a plain keyword, so `logging.config.dictConfig` can build it (`"()":
"shipper.ShipperHandler"` or `"class": "shipper.ShipperHandler"`). `queue_size` and
`queue_overflow` are still accepted (and checked) so existing configurations keep working, but there is
no memory queue any more; `flush_interval` is how often the agent looks for new records.

Recursion and re-entrancy: records of `logloop.shipper*` loggers and of the agent's thread are never
shipped. A record logged while the same thread is inside emit() (a signal handler, or a `__str__`
that logs) is kept and written right after the outer record; past the bounds of `reentry.has_room` it
is counted lost (`reentrant`), never silently dropped.

Fork safety: a forked child lets go of its parent's segment and writes its own; every process and
child on the host logging into the same spool directory shares one agent. What the program's own
at-fork hooks log while the shipper holds its locks for a fork is written after it (`reentry`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, Literal

from shipper import arguments, environment, redaction, reentry, schema
from shipper.capture import program
from shipper.capture.writer import FIRST_SEGMENT_BYTES, OVERFLOW_POLICIES, OverflowPolicy, SegmentWriter
from shipper.connection import ElasticsearchSettings, validate
from shipper.delivery import launcher, lock
from shipper.delivery.config import DEFAULTS, AgentConfig
from shipper.diagnostics import INTERNAL_LOGGER, RateLimitedLog, unreachable
from shipper.environment import argv as redacted_argv
from shipper.exceptions import ConfigurationError, SpoolError, UnreadablePayload
from shipper.formatter import EcsFormatter, dumps, format_timestamp
from shipper.spool import layout, records, segment
from shipper.stats import Counters, PrometheusEndpoint, ShipperStats
from shipper.stats import register as register_stats
from shipper.transports import TRANSPORT_KINDS, TransportSpec, sha256_hex

Delivery = Literal["process", "thread"]
DELIVERIES: Final = ("process", "thread")
QueueOverflow = Literal["spool", "drop"]
_QUEUE_OVERFLOWS: Final = ("spool", "drop")
_INTERNAL_PREFIX: Final = "logloop.shipper"
# Seconds between the watchdog's looks at the agent, and at the loss counters: losses since the last
# health report are reported at its next look (so at most one report a second, only while records are
# being lost), not only every `stats_interval`. A process killed with SIGKILL (the OOM killer, `kill -9`,
# a container stop's timeout) writes no exit report: its drops went unreported for up to a minute (all
# 3,412 records of a process killed 1.5 s after it dropped them, `tests/test_loss_reports.py`); now
# only those of its last second are. Chosen over counters in a memory-mapped page the agent would read
# once the writer died (exact, but a file per process, a format, and an agent that must speak for the
# dead): this reuses the report path as it is (`park` where the spool is full, its bounds, cumulative
# counters that check reads once per process however many reports come).
_WATCH_EVERY: Final = 1.0
_SPOOL_NAME_MAX: Final = 200  # bytes: a file name holds 255, and the dead-letter file adds 17
_UNDELIVERED_AFTER: Final = 10.0  # seconds without any delivery before a program says so
_UNDELIVERED_FRESH: Final = 120.0  # an agent failure older than this is no news (that agent is gone)

AGENT_THREADS: set[int] = set()  # idents of in-process agent threads: what they log is never shipped
_handlers: weakref.WeakSet[ShipperHandler] = weakref.WeakSet()
_local: Final = reentry.local
_fork_generation = 0


def default_spool_path(spec: TransportSpec, index_prefix: str) -> Path:
    """One spool directory per user, host and destination (so one agent per destination).

    Under `~/.cache/logloop/spool/`; where the home directory cannot hold it (a service account's
    `/nonexistent` or read-only home, a container user with no home at all), under
    `$XDG_RUNTIME_DIR/logloop/`, else `<temporary directory>/logloop-<uid>/`: the first that can be
    made private to this user. Each program of the user finds the same one, so they share the agent.
    Where none can be made, the first: the writer counts every record lost there and says why."""
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in environment.host_name()) or "host"
    name = f"{host}-{index_prefix}-{spec.key()}"
    if len(name.encode("utf-8", "surrogatepass")) > _SPOOL_NAME_MAX:  # a long host name and prefix
        digest = sha256_hex(name.encode("utf-8", "surrogatepass"))[:16]
        name = f"{host[:40]}-{index_prefix[:80]}-{digest}"
    first: Path | None = None
    for root, shared in _SPOOL_ROOTS:
        try:
            base = root()
            if not base.is_absolute():  # HOME="." would give each working directory its own spool
                continue
            first = first or base / name
            if shared:  # in a directory every user writes to: this user's own, private, first
                layout.ensure_private_dir(base)
            layout.ensure_private_dir(base / name)
            return base / name
        except (SpoolError, RuntimeError, OSError):  # RuntimeError: Path.home() found no home
            continue
    return first if first is not None else _temporary_root() / name


def fallback_spool(wanted: Path) -> tuple[Path, str | None]:
    """`wanted` and None if records can be written there now; else this user's fallback directory
    for it and why `wanted` cannot serve: under the same roots as a default spool (the user's cache,
    runtime or temporary directory), named for `wanted` (every program given it finds the same
    fallback, and shares its agent). Where no fallback can serve either, `wanted` (the writer counts
    every record lost there and says why)."""
    problem = spool_problem(wanted)
    if problem is None:
        return wanted, None
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in wanted.name)[:80].lstrip(".")
    name = f"fallback-{name}-{sha256_hex(os.fsencode(wanted))[:16]}"
    for root, shared in _SPOOL_ROOTS:
        try:
            base = root()
            if not base.is_absolute() or base / name == wanted:
                continue
            if shared:
                layout.ensure_private_dir(base)
            if spool_problem(base / name) is None:
                return base / name, problem
        except (SpoolError, RuntimeError, OSError):  # RuntimeError: Path.home() found no home
            continue
    return wanted, None


def spool_problem(path: Path) -> str | None:
    """Why no segment can be written in the spool directory `path` now (made if missing), or None:
    it cannot be made or is not this user's, it is not writable (a read-only file system or mode), or
    its file system has no room for a first segment."""
    try:
        layout.ensure_private_dir(path)
    except SpoolError as exc:
        return str(exc)
    if not os.access(path, os.W_OK | os.X_OK):
        return "not writable"
    try:
        room = os.statvfs(path)
    except OSError as exc:
        return exc.strerror or str(exc)
    if room.f_bavail * room.f_frsize < FIRST_SEGMENT_BYTES and room.f_blocks:
        return "no room left on its file system"
    return None


def _absolute(path: Path) -> Path:
    """`path` made absolute against the working directory; as it is where that was deleted (nothing
    can be made under it: the writer counts every record lost there and says why)."""
    try:
        return Path(os.path.abspath(path))
    except OSError:
        return path


def _home_root() -> Path:
    return Path.home() / ".cache" / "logloop" / "spool"


def _runtime_root() -> Path:
    return Path(os.environ.get("XDG_RUNTIME_DIR") or "unset") / "logloop"


def _temporary_root() -> Path:
    import tempfile  # only where neither the home nor the runtime directory would do

    return Path(tempfile.gettempdir()) / f"logloop-{os.getuid()}"


# Where default spool directories may go, best first, and whether other users write there too.
_SPOOL_ROOTS: Final = ((_home_root, False), (_runtime_root, False), (_temporary_root, True))


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
        spool_path: the spool directory (default: per destination under ~/.cache/logloop/spool/); one
            that cannot take records is replaced by a fallback of this user's (`spool_fallback`).
        spool_max_bytes: the spool's size bound, 64 KiB to 1 TiB; spool_overflow says what gives way
            when it is full ("drop_oldest", the default, or another policy of OVERFLOW_POLICIES), and is
            counted.
        queue_size: the in-memory queue between `emit()` and the spool, in records.
        queue_overflow: when that queue is full, "spool" writes on the caller's thread (nothing
            lost, slower) or "drop" drops and counts the record.
        close_timeout: seconds `close()` (and delivery after the program ended) may take at most.
        batch_size: documents per `_bulk` request at most, 1 to 100,000 (requests also stay under 8 MB).
        max_event_bytes: a larger document is dead-lettered instead of sent.
        flush_interval: seconds the spool writer waits to gather a batch.
        retry_max_delay: the longest back-off between retries, in seconds.
        delivery: "process" (a separate delivery process, the default) or "thread" (in this process).
        idle_exit: seconds the agent process waits with nothing to send before it exits.
        unreachable_exit: seconds of failed delivery after which the agent process exits once no
            program writes to the spool; the records wait there for the next program's agent.

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
        request_timeout: float = DEFAULTS.send_timeout,
        index_prefix: str = DEFAULTS.index_prefix,
        logstash_host: str = "127.0.0.1",
        logstash_port: int = 5044,
        logstash_ssl: bool = False,
        spool_path: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 256 * 1024 * 1024,
        spool_overflow: OverflowPolicy = "drop_oldest",
        queue_size: int = 10_000,
        queue_overflow: QueueOverflow = "spool",
        close_timeout: float = 2.0,
        batch_size: int = DEFAULTS.batch_size,
        max_event_bytes: int = DEFAULTS.max_event_bytes,
        flush_interval: float = DEFAULTS.poll_interval,
        retry_max_delay: float = DEFAULTS.backoff_max,
        stats_interval: float = 60.0,
        idle_exit: float = DEFAULTS.idle_exit,
        unreachable_exit: float = DEFAULTS.unreachable_exit,
        prometheus_port: int | None = None,
        formatter: Any = None,
        delivery: Delivery = "process",
        redact_keys: Sequence[str] = (),
        redact_patterns: Sequence[str] = (),
        redact_before_spool: bool = False,
        grouping: Mapping[str, Any] | None = None,
    ) -> None:
        arguments.check(locals())  # before the handler exists: a bad value leaves nothing to close
        super().__init__(level)
        # The `[grouping]` table of the TOML (in_app packages, rules), checked now: a typo fails here.
        # The agent fingerprints, so the table travels with the program's facts (`_program_payload`).
        self.grouping = _grouping_options(grouping)
        self._grouping_table = dict(grouping) if grouping else None
        _check_choice("transport", transport, TRANSPORT_KINDS)
        _check_choice("queue_overflow", queue_overflow, _QUEUE_OVERFLOWS)
        _check_choice("spool_overflow", spool_overflow, OVERFLOW_POLICIES)
        _check_choice("delivery", delivery, DELIVERIES)
        if spool_max_bytes < 64 * 1024:
            raise ConfigurationError(f"spool_max_bytes={spool_max_bytes} is too small: use at least 65536")
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
        self._destination = (  # the options to check when nothing can be delivered
            ("cloud_id" if cloud_id else "es_url")
            if transport == "elasticsearch"
            else "logstash_host and logstash_port"
        )
        self.transport_spec = TransportSpec(
            transport, self.es_settings, logstash_host, logstash_port, logstash_ssl
        )
        self.agent_config = AgentConfig(
            index_prefix=index_prefix,
            batch_size=batch_size,
            max_event_bytes=max_event_bytes,
            dead_letter_max_bytes=spool_max_bytes // 4,
            send_timeout=request_timeout,
            backoff_max=retry_max_delay,
            poll_interval=flush_interval,
            idle_exit=idle_exit,
            unreachable_exit=unreachable_exit,
        )
        # Absolute from the start: a relative spool_path names the directory where the program started,
        # also once it changes its working directory (a daemon's chdir("/")), and for its agent.
        wanted_dir = (
            _absolute(Path(spool_path))
            if spool_path is not None
            else default_spool_path(self.transport_spec, index_prefix)
        )
        # A spool directory that cannot be used now (read-only, another user's, a file, a full disk):
        # a private one of this user's instead, said once (`spool_fallback` keeps where and why).
        self.spool_dir, self.spool_fallback = fallback_spool(wanted_dir)
        self.close_timeout = close_timeout
        self.stats_interval = stats_interval
        self.delivery = delivery
        self.counters = Counters()
        self.counters.delivery = self._delivery_counters
        self._refused = 0  # records emit() took but could not write (counted lost by reason too)
        self._reports = 0  # health documents made by this process
        self._reports_kept = 0  # of those, written to the spool
        self._reported = 0  # `_losses()` when the last of them was made
        self._parked_number: int | None = None  # the number of its report segment (`_report`)
        self._report_lock = threading.Lock()  # one report at a time: the watchdog's and close()'s
        self._folded = {"sent": 0, "reports": 0, "retried": 0, "dead_lettered": 0}  # of finished segments
        self._diag = RateLimitedLog()
        self._ecs = EcsFormatter(
            service_name=service,
            service_version=service_version,
            environment=environment,
            env_allowlist=env_allowlist,
            context_provider=context_provider,
            redactor=_user_redactor(redact_keys, redact_patterns),  # checked before any event
        )
        # Records wait in the spool as captured and the agent redacts them; with this the caller
        # builds each redacted document itself (costlier), so no secret is ever written to disk.
        self.redact_before_spool = redact_before_spool
        self._custom: Any = None  # a formatter that is not EcsFormatter: documents built on the caller
        if formatter is not None:
            self._use_formatter(formatter)
        self._program: tuple[int, bytes] | None = None
        # The program's facts (`_program_payload`) are made with its first record; with
        # `redact_before_spool` its argv is redacted then, and the redaction rules compile when first
        # used (`shipper.lazy_regex`), so they are used once here: that compiling is done before any
        # logging call (where a few ms, or a Ctrl-C landing in them, would fall on the program's call).
        # Otherwise the agent redacts argv (`shipper.capture.program`), and nothing compiles here.
        if redact_before_spool:
            redacted_argv()
        self.writer = SegmentWriter(
            self.spool_dir,
            program=self._program_payload,
            max_bytes=spool_max_bytes,
            overflow=spool_overflow,
            lose=self._lose,
            cut=functools.partial(self.counters.add, "truncated"),
            move=self._move_spool,
            unconfirmed=functools.partial(self.counters.add, "unconfirmed"),
        )
        self.closed = False
        self._moved = False
        self._began = time.monotonic()  # the newest program's agent keeps a shared spool directory
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._winding_down = threading.Event()  # close(): a delivery thread sends what it can, then ends
        self._watchdog: threading.Thread | None = None
        self._generation = -1
        self._agent_thread: threading.Thread | None = None
        self._agent: Any = None
        self.prometheus = _endpoint(self.counters, prometheus_port)
        register_stats(self)
        _handlers.add(self)
        if self.spool_fallback is not None:
            self._diag.warning(
                "fallback",
                "logloop shipper: cannot use the spool %s (%s): records wait in %s instead",
                wanted_dir,
                self.spool_fallback,
                self.spool_dir,
            )
        self._start_delivery()
        self._built = True  # until here a raise leaves a handler that logging.shutdown() will close

    # -- logging.Handler ----------------------------------------------------------------------------

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """dictConfig's `formatter` key: an ECS formatter replaces the document formatter."""
        super().setFormatter(fmt)
        if fmt is not None and callable(getattr(fmt, "to_document", None)):
            self._use_formatter(fmt)

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
        try:
            if record.name.startswith(_INTERNAL_PREFIX) or record.thread in AGENT_THREADS:
                return
        except Exception:  # a record built or changed by hand (no name, an unhashable thread): not ours
            reentry.reraise_program_exception()
        state = _local.__dict__  # this thread's: "busy" inside the shipper, "pending" records
        if state.get("busy"):  # a signal handler, or capture() itself, logged
            if reentry.has_room(state):
                reentry.put_aside(state, functools.partial(self.emit, record))
            else:
                self._lose("reentrant")
            return
        state["busy"] = True
        try:
            self._write(record)
        finally:
            state["busy"] = False
            if state.get("pending"):  # logged while this record was written: now, in order, even
                reentry.run_pending(state)  # as a signal handler's exit unwinds through this call

    def _write(self, record: logging.LogRecord) -> None:
        generation = _fork_generation
        try:
            if self._generation != generation:
                self._start_delivery()  # first record of a forked child: its own watchdog
            custom = self._custom
            if custom is not None:
                payload = records.encode_document(dumps(custom.to_document(record)))
            elif self.redact_before_spool:
                payload = records.encode_document(dumps(self._ecs.to_document(record)))
            else:
                payload = records.encode_plain(record) or records.encode_record(self._ecs.capture(record))
            self.writer.append(payload)
            if self._moved:  # the spool moved to its fallback directory (`_move_spool`): its agent now
                self._moved = False
                self._ensure_agent()
        except Exception:
            reentry.reraise_program_exception()
            if generation != _fork_generation:  # forked (by a signal handler) in the middle of the
                return  # write, which failed in the child: the parent writes and keeps the record
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Count the lost record and say so at most once a minute; never print per record."""
        self._lose("unformattable")
        self._diag.warning("emit", "logloop shipper could not handle a record from %s", record.name)

    def flush(self) -> None:
        """Nothing to do: a record is durable when emit() returns."""

    def release(self) -> None:
        """Release the handler lock; quietly when this thread does not hold it. `logging.shutdown()`
        releases in a `finally` what its `acquire()` took: a signal handler's exception raised as that
        call began (a SIGTERM handler's `sys.exit`, while another such handler was shutting logging
        down) took nothing, and the RuntimeError of the release replaced the program's exit."""
        with contextlib.suppress(RuntimeError):  # "cannot release un-acquired lock": nothing to release
            super().release()

    def close(self) -> None:
        """Seal this process's segment and stop the watchdog, within one deadline (`close_timeout`)
        shared by every step. The agent delivers afterwards; the program does not wait for it."""
        # (`closed` is false too for one whose __init__ raised: it has nothing to seal or stop)
        if self.__dict__.get("_built") and not self.closed:
            if reentry.busy():  # a signal handler closing while its thread is inside the shipper
                # (holding the writer's lock, say): closed as soon as the thread leaves it; if it never
                # does (the handler exits the program), logging's exit hook closes it again.
                if all(call != self.close for _, call in _local.__dict__.get("pending", ())):
                    reentry.put_aside(_local.__dict__, self.close)
                return
            with reentry.inside():  # a signal handler logging meanwhile must not wait on our locks
                self._close()
        super().close()

    def _close(self) -> None:
        deadline = time.monotonic() + self.close_timeout
        with self._lock:
            already, self.closed = self.closed, True
        if not already:
            self._report_at_close()
            self.writer.seal()
            if self.delivery != "thread" and self._waiting_or_unknown():
                # An agent exits once idle (`idle_exit`): the records of a program that logs only after a
                # long quiet spell, then exits (a nightly job that logs only its failure), came after it
                # had gone, and the watchdog, which looks once a second, had not seen them yet: they
                # waited for the next program on the spool, maybe for good. (A process only where none runs.)
                self._launch_agent()
            agent, thread = self._agent, self._agent_thread
            if agent is not None and thread is not None:
                agent.deadline = deadline  # a thread agent sends what it can until then
                agent.config = _closing(agent.config)
                self._winding_down.set()
                thread.join(max(0.0, deadline - time.monotonic()))
            self._stop.set()
            watchdog = self._watchdog
            if watchdog is not None and watchdog is not threading.current_thread():
                watchdog.join(max(0.0, deadline - time.monotonic()))
            if self.prometheus is not None:
                self.prometheus.close()

    # -- for programs and tests ---------------------------------------------------------------------

    def stats(self) -> ShipperStats:
        return self.counters.snapshot()

    def ready(self, timeout: float) -> bool:
        """Wait until a delivery agent runs for this spool; False if none within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        # An agent writes who it is just after it takes the lock: wait for both, so that a caller
        # that asks lock.holder() next finds its pid and mode.
        while not (lock.running(self.spool_dir) and lock.holder(self.spool_dir).get("pid")):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_delivered(self, timeout: float) -> bool:
        """Block until every record this process wrote, and whatever already waited in its spool
        directory, is acknowledged or dead-lettered; False on timeout."""
        deadline = time.monotonic() + timeout
        targets = self._targets()
        while True:
            # A spool directory deleted under the program (a cleaner): its open segment written again
            # now, not at the watchdog's next look, else the segment read as finished (deleted: what an
            # overflow policy does, counted there) and the wait was over at once, nothing sent.
            self.writer.rescue()
            self._ensure_agent()
            targets = {path: end for path, end in targets.items() if not _finished(path, end)}
            if not targets:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    # -- internals ----------------------------------------------------------------------------------

    def _lose(self, reason: str, records: int = 1) -> None:
        """Count records lost; those emit() took and could not keep count as queued too."""
        self.counters.lose(reason, records)
        if reason not in ("spool_overflow", "spool_deleted"):  # records already counted as spooled
            self._refused += records

    def _move_spool(self, exc: OSError | SpoolError) -> Path | None:
        """The fallback directory to go on in once the spool directory can take no segment while the
        program runs (its disk full, remounted read-only); None if there is none or this process has
        moved once already. The fallback's agent is started as soon as the record is written; the
        first directory's agent sends what waits there."""
        if self.spool_fallback is not None or self.delivery == "thread":  # (its agent reads one directory)
            return None
        moved, why = fallback_spool(self.spool_dir)
        if why is None:
            return None
        self._diag.warning(
            "fallback",
            "logloop shipper: cannot write the spool %s any more (%s): records wait in %s instead",
            self.spool_dir,
            getattr(exc, "strerror", None) or exc,
            moved,
        )
        self.spool_dir, self.spool_fallback = moved, why
        self._moved = True  # its agent is started once the record is written (`_write`)
        return moved

    def _use_formatter(self, formatter: Any) -> None:
        if type(formatter) is EcsFormatter:
            self._ecs, self._custom = formatter, None
        else:  # its documents are its own: built on the caller's thread, sent as they are
            self._custom = formatter
        if self._custom is not None or self.redact_before_spool:
            redaction.load()  # documents built on the caller's thread: the rules now, not in a logging call

    def _program_payload(self) -> bytes:
        """The facts of this process for the first frame of each segment (cached per pid)."""
        pid = os.getpid()
        if self._program is None or self._program[0] != pid:
            ecs = self._ecs
            found = program.facts(
                service=ecs.service_name,
                version=ecs.service_version,
                env=ecs.environment,
                allowlist=ecs.env_allowlist,
                redactor=ecs.custom_redactor,
                grouping=self._grouping_table,
                index_prefix=self.agent_config.index_prefix,
                redact_args=self.redact_before_spool,
            )
            self._program = (pid, records.encode_program(found))
        return self._program[1]

    def _start_delivery(self) -> None:
        """Start the agent (process, or thread) and this process's watchdog."""
        with self._lock:
            if self._generation == _fork_generation or self.closed:
                return
            self._generation = _fork_generation
            try:
                layout.ensure_private_dir(self.spool_dir)
            except SpoolError:  # the writer says so on the first record, and counts every one lost
                return
            self._stop = threading.Event()
            self._winding_down = threading.Event()
            self._agent_thread = None
            self._say_if_undelivered()  # a script run again and again hears it at its start
            if self.delivery == "thread":
                self._start_agent_thread()
            else:
                self._ensure_agent()
            self._watchdog = threading.Thread(
                target=self._watch, name="logloop-shipper-watchdog", daemon=True
            )
            reentry.start_thread(self._watchdog)

    def _ensure_agent(self) -> None:
        """Start an agent process unless one runs; where none can start, deliver from a thread."""
        if self.delivery == "thread" or self.closed:
            return
        if not self._launch_agent() and self._agent_thread is None:
            self._start_agent_thread()

    def _launch_agent(self) -> bool:
        """Start an agent process unless one runs; False where none runs and none can start."""
        try:
            return launcher.ensure_agent(
                self.spool_dir, self.transport_spec, self.agent_config, self._warn_agent, since=self._began
            )
        except Exception as exc:  # (not only OSError: whatever fails here must not reach the program)
            reentry.reraise_program_exception()
            self._diag.warning("agent", "logloop shipper: cannot start the delivery agent: %s", exc)
            return False

    def _warn_agent(self, message: str) -> None:
        self._diag.warning("agent", "logloop shipper: %s", message)

    def _start_agent_thread(self) -> None:
        from shipper.delivery.agent import Agent, preload  # the client library: only in thread mode

        preload(self.transport_spec)  # here, not on the thread: a fork must not catch it importing
        agent = Agent(self.spool_dir, self.transport_spec.make, self.agent_config)
        agent.guard_descriptors = True  # the program may close them under it
        self._agent = agent

        def run() -> None:
            AGENT_THREADS.add(threading.get_ident())
            try:
                while time.monotonic() < agent.deadline and not self._stop.is_set():
                    try:
                        if self._deliver_once(agent):
                            return
                    except Exception as exc:  # one failed pass must not end delivery for good
                        self._diag.warning("agent-thread", "logloop shipper: delivery thread failed: %r", exc)
                        agent.reset()  # its state is not to be trusted: everything is read again
                        if self._winding_down.wait(_WATCH_EVERY):
                            return
            finally:
                AGENT_THREADS.discard(threading.get_ident())

        self._agent_thread = threading.Thread(target=run, name="logloop-shipper-agent", daemon=True)
        reentry.start_thread(self._agent_thread)

    def _deliver_once(self, agent: Any) -> bool:
        """Take the directory's lock and deliver until the agent stops; True when the thread is done."""
        try:
            fd = lock.acquire(self.spool_dir, self.transport_spec.key(), "thread")
        except OSError:  # the directory was deleted: the watchdog writes it again
            fd = None
        if fd is None:  # or another agent serves it; stand by (until closed)
            return self._winding_down.wait(_WATCH_EVERY)
        try:
            # close() sets the stop only once this thread has sent what it could before the deadline.
            agent.stop, agent.lock_fd, agent.taken = self._stop, fd, False
            agent.run()
        finally:
            lock.release(fd)  # closed only if still ours (a daemon may have closed it)
        return self.closed and not agent.taken  # (taken: its files opened again, it goes on)

    def _watch(self) -> None:
        """Restart a dead agent while this process has records waiting; ship health counters."""
        stop = self._stop
        next_health = time.monotonic() + self.stats_interval
        every = min(_WATCH_EVERY, self.stats_interval)
        while not stop.wait(every):
            try:
                self.writer.rescue()  # the spool directory was deleted: write the segment again
                self._fold_finished()
                if self._agent_thread is None and (self._waiting() or self._given_up()):
                    self._ensure_agent()
                self._say_if_undelivered()
                if time.monotonic() >= next_health:
                    next_health = time.monotonic() + self.stats_interval
                    self._report_while_open()
                elif self._losses() != self._reported:  # (see _WATCH_EVERY)
                    self._report_while_open()
            except OSError as exc:  # a spool file made unreadable, another user's: said, never raised
                self._diag.warning("watchdog", "%s", unreachable(exc, self.spool_dir))
            except Exception as exc:  # the watchdog must outlive any one failure
                self._diag.warning("watchdog", "logloop shipper watchdog: %r", exc)

    def _say_if_undelivered(self) -> None:
        """One warning line (at most once a minute) while the agent of this spool directory has
        delivered nothing for a while: for how long, why, and which option to check."""
        failing = layout.read_json(self.spool_dir / layout.AGENT_STATS_NAME).get(layout.FAILING_KEY)
        if not isinstance(failing, dict):
            return
        ages = layout.failing_ages(failing)  # (not by the wall clock: it may have jumped since)
        if ages is None:
            return
        failing_for, last = ages
        if last > _UNDELIVERED_FRESH or failing_for < _UNDELIVERED_AFTER:
            return
        self._diag.warning(
            "undelivered",
            "logloop shipper: nothing delivered for %d s (%s): check %s; the records wait in %s",
            failing_for,
            self._ecs.redactor.redact_text(str(failing.get("reason", ""))),
            self._destination,
            self.spool_dir,
        )

    def _given_up(self) -> bool:
        """Whether the last agent of the directory gave up on records it left there (no program wrote
        there then: this one may have started just before), and none runs since."""
        return layout.GIVEN_UP_KEY in layout.read_json(self.spool_dir / layout.AGENT_STATS_NAME)

    def _waiting_or_unknown(self) -> bool:
        """`_waiting`, where a spool file out of reach (permissions changed) is said, and waits."""
        try:
            return self._waiting()
        except OSError as exc:
            self._diag.warning("watchdog", "%s", unreachable(exc, self.spool_dir))
            return True

    def _waiting(self) -> bool:
        """Whether records of this process wait; OSError where a segment cannot be looked at."""
        return any(not _finished(path, end) for path, end in list(self.writer.written.items())[-2:])

    def _targets(self) -> dict[Path, int]:
        """Every segment of the directory and where its records end now (this process's from the
        writer, the others' read from the file)."""
        targets = dict(self.writer.written)
        for path in layout.segments(self.spool_dir):
            if path not in targets:
                try:
                    targets[path] = segment.scan(segment.read_segment(path), segment.HEADER.size).end
                except OSError:
                    continue
        return targets

    def _delivery_counters(self) -> dict[str, int]:
        """What the agent recorded for this process's segments, and its own counters."""
        self._fold_finished()
        found = dict(self._folded)
        for name, value in self.writer.acked.items():  # (segments deleted before they were finished)
            found[name] += value
        for path in list(self.writer.written):
            ack = layout.read_ack(path)
            found["sent"] += ack.sent
            found["reports"] += ack.reports
            found["retried"] += ack.retried
            found["dead_lettered"] += ack.dead_lettered
        agent = layout.read_json(self.spool_dir / layout.AGENT_STATS_NAME)
        for name in ("recovered", "torn_skipped", "shard_limit_retries", "unconfirmed"):
            found[name] = int(agent.get(name, 0))
        for name, value in agent.items():
            if name.startswith("lost:") and type(value) is int:
                found[name] = value
        # `sent` and the backlog are of the program's records: a health report delivered or waiting is
        # none (nor is it queued), and made `sent + dropped + backlog` one more than was logged.
        found["sent"] -= found.pop("reports")
        writer = self.writer
        records_gone = writer.gone - writer.gone_reports
        finished = found["sent"] + found["dead_lettered"]
        found["spool_backlog"] = max(0, writer.appended - self._reports_kept - finished - records_gone)
        return {**found, **self._written_counts()}

    def _written_counts(self) -> dict[str, int]:
        """The program's records the writer of this process counted (its health documents are not the
        program's: `stats()` counts what it logged)."""
        spooled = self.writer.appended - self._reports_kept
        return {"spooled": spooled, "queued": spooled + self._refused}

    def _fold_finished(self) -> None:
        """Take the counts of this process's finished segments into `_folded` and delete their
        acknowledgement files (the agent keeps them only for this; a dead writer's go after an hour)."""
        with self._lock:
            for path in [p for p in list(self.writer.written) if p != self.writer.current_path()]:
                ack = layout.read_ack(path)
                if not ack.finished:
                    continue
                self._folded["sent"] += ack.sent
                self._folded["reports"] += ack.reports
                self._folded["retried"] += ack.retried
                self._folded["dead_lettered"] += ack.dead_lettered
                self.writer.written.pop(path, None)
                layout.ack_path(path).unlink(missing_ok=True)

    def _report(self, *, closing: bool = False) -> None:
        """Write a health document (`logloop.shipper.*`) to the spool, numbered from 1 in this process.

        Into the open segment if it fits; else, but for the last one (`closing`: it must not make a
        256 KiB segment, nor have an older one deleted), into a new one as a record would go; where no
        segment takes it (the spool full: what made records drop), as a report segment of its own
        (`SegmentWriter.park`), which replaces this process's previous one while that waits unsent
        (and takes its number: the first report the node gets of a process must say it is the first)."""
        losses = self._losses()  # (before the document reads them: a loss meanwhile is reported next)
        self._reports += 1
        payload = records.encode_document(dumps(self._health_doc(self._reports, closing=closing)))
        if (self.writer.fits(payload) and self.writer.append(payload)) or (
            not closing and self.writer.append(payload, counted=False)
        ):
            self._reports_kept += 1
        else:
            number = self._parked_number or self._reports
            if number != self._reports:
                payload = records.encode_document(dumps(self._health_doc(number, closing=closing)))
            if not self.writer.park(payload, merged_reports):  # the next look, or the exit, tries again
                if number == self._reports:  # with this number: the node's first report must say 1
                    self._reports -= 1
                return
            self._parked_number = number
        self._reported = losses

    def _report_while_open(self) -> None:
        """The watchdog's report, unless close() made (or makes) the last one: one written after it,
        with older counts, could replace it (`park`)."""
        with self._report_lock:
            if not self.closed:
                self._report()

    def _report_at_close(self) -> None:
        """A last health document when this process dropped or cut records since its last one, so a
        run shorter than `stats_interval` (the short script) reports its losses too: `logloop check`
        and the digest otherwise never hear of them (as Sentry's SDKs send a client report only when
        they discarded events). Where no segment is open (a full spool), a report segment of its own."""
        try:
            with self._report_lock:  # (after the watchdog's report, if it is making one)
                if self._losses() != self._reported:
                    self._report(closing=True)
        except Exception as exc:  # close() never raises for it: the counts stay in stats()
            reentry.reraise_program_exception()
            self._diag.warning("report", "logloop shipper could not write its last counters: %r", exc)

    def _losses(self) -> int:
        """What this process counted dropped or cut so far (it only grows)."""
        return sum(self.counters.own().values())

    def _health_doc(self, number: int, *, closing: bool = False) -> dict[str, Any]:
        """This process's counters as a `logloop.shipper` document. Written here, not by the formatter:
        a document of a record lays out the program's facts and compiles redaction rules (some 35 ms
        the first time), which a short script's exit must not pay; the agent redacts it as any other."""
        if closing:  # only what this process counted itself, without reading the agent's files: what
            # the agent counts (sent, dead-lettered, the backlog) comes after the exit, and the last
            # periodic report's figures stand for it
            counted = {**self.counters.own(), **self._written_counts()}
        else:
            counted = {name.rsplit(".", 1)[-1]: value for name, value in self.stats().as_fields().items()}
        return {
            "@timestamp": format_timestamp(time.time()),
            "message": "logloop shipper counters",
            "log": {"level": "info", "logger": _INTERNAL_PREFIX},
            "ecs": {"version": schema.ECS_VERSION},
            # (`end`: the last report of its process, `merged_reports` may sum it with another's)
            "event": {
                "dataset": schema.DATASET_SHIPPER,
                "kind": "metric",
                **({"type": ["end"]} if closing else {}),
            },
            "service": self._ecs.service_fields(),
            "host": {"name": environment.host_name()},
            "process": {"pid": os.getpid(), "entity_id": environment.entity_id()},
            "logloop": {"shipper": {**counted, "reports": number}},
        }

    def _after_fork_in_child(self) -> None:
        self.writer.forget_after_fork()
        if self._agent is not None:  # delivering from a thread: its files are not the child's
            self._agent.forget_after_fork()
        self.counters.reinit_after_fork()
        self._refused = 0
        self._reports = self._reports_kept = self._reported = 0
        self._parked_number = None
        self._folded = {"sent": 0, "reports": 0, "retried": 0, "dead_lettered": 0}
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()
        self._watchdog = None
        self._agent = self._agent_thread = None
        self.prometheus = None  # the port belongs to the parent


def merged_reports(older: bytes, newer: bytes) -> bytes | None:
    """One health report (payload) for the last reports of two processes that made no other (short
    runs, gone: `_sole_last_report`): their counters summed, as the first report of a process id of
    its own; None for any other pair (a process that reported before is counted from its earlier
    reports on: summed under another id, those would be counted twice)."""
    docs = [_sole_last_report(older), _sole_last_report(newer)]
    if docs[0] is None or docs[1] is None:
        return None
    first, second = docs[0]["logloop"]["shipper"], docs[1]["logloop"]["shipper"]
    summed = {
        name: first.get(name, 0) + second.get(name, 0)
        for name in {**first, **second}
        if type(first.get(name, 0)) is int and type(second.get(name, 0)) is int
    }
    merged = {
        **docs[1],
        "message": "logloop shipper counters of processes whose reports were merged (too many waited)",
        "process": {"entity_id": f"merged-{os.urandom(12).hex()}"},
        "logloop": {"shipper": {**summed, "reports": 1}},
    }
    return records.encode_document(dumps(merged))


def _sole_last_report(payload: bytes) -> dict[str, Any] | None:
    """The health document of `payload` if it is its process's last report (`event.type` end) and its
    first (number 1), else None (pure)."""
    try:
        kind, body = records.decode(payload)
        doc = json.loads(body) if kind == records.DOCUMENT else None
    except (UnreadablePayload, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("event"), dict):
        return None
    counters = doc.get("logloop", {}).get("shipper") if isinstance(doc.get("logloop"), dict) else None
    if not isinstance(counters, dict) or counters.get("reports") != 1 or doc["event"].get("type") != ["end"]:
        return None
    return doc


def _finished(path: Path, end: int) -> bool:
    """Whether the agent finished every record of the segment before `end`."""
    ack = layout.read_ack(path)
    if ack.finished or ack.offset >= end:
        return True
    # Deleted unfinished: by a writer's overflow policy (counted lost there). An agent that still had
    # it mapped may have written its acknowledgement again since: that says nothing more to wait for.
    # (OSError for one out of reach: its directory's permissions changed; the caller says so.)
    return layout.is_deleted(path)


def _closing(config: AgentConfig) -> AgentConfig:
    return replace(config, idle_exit=0.0)


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1
    AGENT_THREADS.clear()
    launcher.forget_after_fork()
    for handler in list(_handlers):
        try:
            handler._after_fork_in_child()
        except Exception:  # one handler's failure must not leave the others shared
            logging.getLogger(INTERNAL_LOGGER).debug("after-fork reset failed", exc_info=True)


os.register_at_fork(after_in_child=_after_fork_in_child)
reentry.register_fork_ends()  # after every other module's hooks: so they run last (see `reentry`)


def _user_redactor(keys: Sequence[str] | None, patterns: Sequence[str] | None) -> redaction.Redactor | None:
    """The redactor of the user's key names and patterns, checked (a ConfigurationError names a bad
    one); None where none are given: the default rules, which the program does not load (its agent
    redacts its records; loading them cost a short script some 30 M instructions)."""
    if isinstance(keys, str) or isinstance(patterns, str) or keys or patterns:
        return redaction.Redactor.build(keys=keys or (), patterns=patterns or ())
    return None


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigurationError(f"{name}={value!r} is not one of: {', '.join(allowed)}")


def _endpoint(counters: Counters, port: int | None) -> PrometheusEndpoint | None:
    """The /metrics endpoint on `port`, if one is asked for; a port that cannot be had is a
    ConfigurationError naming it."""
    if port is None:
        return None
    try:
        return PrometheusEndpoint(counters, port)
    except OSError as exc:
        raise ConfigurationError(
            f"prometheus_port={port}: cannot listen on 127.0.0.1: {exc.strerror or exc}"
        ) from None


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
