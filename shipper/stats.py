"""Delivery counters: one thread-safe `Counters` per handler, frozen `ShipperStats` snapshots out.

    queued         records accepted by emit()
    spooled        records written to this process's spool segments (durable from then on)
    sent           of those, documents the server acknowledged (a 409 "already there" counts as sent)
    retried        documents sent again after a retryable failure (counted per attempt)
    dropped        records lost, for any reason; `lost` says how many for which reason
    dead_lettered  documents the server rejected for good, written to the dead-letter file
    truncated      records whose texts were cut before they were spooled (a 50 MB message: the
                   spool keeps, and the document holds, what the node would keep of it)
    spool_backlog  of this process's records, those not yet acknowledged (a gauge)
    recovered      records the delivery agent delivered from segments whose writer died without
                   closing them (SIGKILL, os._exit): the events that explain a death
    torn_skipped   damaged records the agent skipped (a write cut by a kill, a damaged file)
    shard_limit_retries  documents retried because the cluster refused to create an index (max
                   shards per node); they are kept and sent once the limit allows
    unconfirmed    records a drop deleted while a killed agent's request for them had no answer yet:
                   delivered or lost, nobody can tell; never in `dropped` (which is then a floor, and
                   `dropped + unconfirmed` a ceiling; `sent` likewise a floor)

`sent`, `retried`, `dead_lettered` and `spool_backlog` come from the agent's acknowledgement files of
this process's segments; `recovered`, `torn_skipped` and `shard_limit_retries` are the agent's own
counters for the whole spool directory (two handlers of one process on the same directory both
report them). `shipper.stats()` sums every live handler in this process.
The optional Prometheus endpoint serves the same numbers from its own registry, bound to loopback.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from shipper import reentry
from shipper.exceptions import ConfigurationError

COUNTER_NAMES = (
    "queued",
    "spooled",
    "sent",
    "retried",
    "dropped",
    "dead_lettered",
    "truncated",
    "unconfirmed",
)
AGENT_COUNTERS = ("recovered", "torn_skipped", "shard_limit_retries")


@dataclass(frozen=True, kw_only=True)
class ShipperStats:
    """A point-in-time copy of the delivery counters."""

    queued: int = 0
    spooled: int = 0
    sent: int = 0
    retried: int = 0
    dropped: int = 0
    dead_lettered: int = 0
    truncated: int = 0
    spool_backlog: int = 0
    recovered: int = 0
    torn_skipped: int = 0
    shard_limit_retries: int = 0
    unconfirmed: int = 0
    lost: tuple[tuple[str, int], ...] = ()  # (reason, records) for every reason `dropped` counts

    def as_fields(self) -> dict[str, int]:
        """The counters keyed by their schema field names (`logloop.shipper.<name>`)."""
        return {f"logloop.shipper.{f.name}": getattr(self, f.name) for f in fields(self) if f.name != "lost"}

    def lost_by_reason(self) -> dict[str, int]:
        return dict(self.lost)

    def __add__(self, other: ShipperStats) -> ShipperStats:
        summed: dict[str, Any] = {
            f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "lost"
        }
        reasons = self.lost_by_reason()
        for reason, count in other.lost:
            reasons[reason] = reasons.get(reason, 0) + count
        return ShipperStats(**summed, lost=tuple(sorted(reasons.items())))


class Counters:
    """Mutable, lock-protected counters owned by one handler (and its worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTER_NAMES, 0)
        self._lost: dict[str, int] = {}
        # Read from the agent when asked: (sent, retried, dead_lettered, backlog) of this process's
        # segments and the agent's own counters.
        self.delivery: Callable[[], dict[str, int]] = dict

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._values[name] += amount

    def lose(self, reason: str, amount: int = 1) -> None:
        """Count records lost, by reason (`dropped` is their sum)."""
        if amount:
            with reentry.suppress(reentry.Frozen), reentry.held(self._lock):  # (Frozen: the process is
                self._values["dropped"] += amount  # ending, and its counters with it)
                self._lost[reason] = self._lost.get(reason, 0) + amount

    def own(self) -> dict[str, int]:
        """What the handler counts here, without asking the agent's files: records dropped, cut and
        deleted unconfirmed (the others of `COUNTER_NAMES` come from `delivery`). Read without the
        lock: two reads of a dict are each whole, and a thread frozen holding it at shutdown would
        hang a close() that waited."""
        values = self._values
        return {
            "dropped": values["dropped"],
            "truncated": values["truncated"],
            "unconfirmed": values["unconfirmed"],
        }

    def snapshot(self) -> ShipperStats:
        with reentry.inside():  # a signal handler that logs meanwhile must not wait on these locks
            try:
                delivered = self.delivery()
            except Exception:  # unreadable acknowledgement files: report what this process knows
                reentry.reraise_program_exception()
                delivered = {}
            with self._lock:
                values: dict[str, Any] = dict(self._values)
                lost = dict(self._lost)
        for name in (*COUNTER_NAMES, "spool_backlog", *AGENT_COUNTERS):
            if name == "dropped":
                continue  # summed from the reasons below
            values[name] = values.get(name, 0) + int(delivered.get(name, 0))
        for reason, count in delivered.items():
            if reason.startswith("lost:") and count:
                lost[reason[5:]] = lost.get(reason[5:], 0) + count
                values["dropped"] += count
        return ShipperStats(**values, lost=tuple(sorted(lost.items())))

    def reinit_after_fork(self) -> None:
        """A fresh lock and zeroed counters: a forked child counts its own events only."""
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTER_NAMES, 0)
        self._lost = {}


_live: weakref.WeakSet[Any] = weakref.WeakSet()  # objects with a `counters` attribute


def register(owner: Any) -> None:
    """Make `owner.counters` part of `stats()` for as long as `owner` lives."""
    _live.add(owner)


def stats() -> ShipperStats:
    """The summed counters of every live shipper handler in this process (a frozen snapshot).

    queued: records accepted by `emit()`; spooled: written to the spool; sent: acknowledged by the
    server; retried: sends to try again; dropped: lost to an overflow policy (counted, never silent);
    dead_lettered: refused by the server for good (in the dead-letter file); spool_backlog: waiting.
    """
    total = ShipperStats()
    for owner in list(_live):
        total = total + owner.counters.snapshot()
    return total


class _Collector:
    """A prometheus_client custom collector reading one handler's counters."""

    def __init__(self, counters: Counters) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self._counters.snapshot()
        for name in COUNTER_NAMES:
            yield CounterMetricFamily(
                f"logloop_shipper_{name}", f"Documents {name}", value=getattr(snap, name)
            )
        yield GaugeMetricFamily(
            "logloop_shipper_spool_backlog", "Documents waiting in the spool", snap.spool_backlog
        )

    def describe(self) -> Iterable[Any]:
        return []


class PrometheusEndpoint:
    """An HTTP /metrics endpoint on 127.0.0.1 with its own CollectorRegistry."""

    def __init__(self, counters: Counters, port: int) -> None:
        try:
            from prometheus_client import CollectorRegistry, start_http_server
        except ImportError as exc:  # the lean install: say which extra, at setup
            raise ConfigurationError(
                "prometheus_port needs prometheus-client: pip install 'logloop[metrics]'"
            ) from exc

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(counters))
        self._server, self._thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        self.port: int = self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
