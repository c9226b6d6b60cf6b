"""Delivery counters: one thread-safe `Counters` per handler, frozen `ShipperStats` snapshots out.

    queued         records accepted by emit() (into the memory queue or, on overflow, the spool)
    spooled        documents written to the durable spool
    sent           documents the server acknowledged (a 409 "already there" counts as sent)
    retried        documents sent again after a retryable failure (counted per attempt)
    dropped        documents lost on purpose by an overflow policy, or records emit() could not format
    dead_lettered  documents the server rejected for good, written to the dead-letter file
    spool_backlog  documents in the spool right now, waiting for an acknowledgement (a gauge)

`shipper.stats()` sums the counters of every live handler in this process. The optional Prometheus
endpoint serves the same numbers from its own registry, bound to loopback.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from shipper.exceptions import ConfigurationError

COUNTER_NAMES = ("queued", "spooled", "sent", "retried", "dropped", "dead_lettered")


@dataclass(frozen=True, kw_only=True)
class ShipperStats:
    """A point-in-time copy of the delivery counters."""

    queued: int = 0
    spooled: int = 0
    sent: int = 0
    retried: int = 0
    dropped: int = 0
    dead_lettered: int = 0
    spool_backlog: int = 0

    def as_fields(self) -> dict[str, int]:
        """The counters keyed by their schema field names (`logloop.shipper.<name>`)."""
        return {f"logloop.shipper.{f.name}": getattr(self, f.name) for f in fields(self)}

    def __add__(self, other: ShipperStats) -> ShipperStats:
        return ShipperStats(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


class Counters:
    """Mutable, lock-protected counters owned by one handler (and its worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTER_NAMES, 0)
        self._backlog = 0

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._values[name] += amount

    def set_backlog(self, value: int) -> None:
        self._backlog = value

    def snapshot(self) -> ShipperStats:
        with self._lock:
            return ShipperStats(**self._values, spool_backlog=self._backlog)

    def reinit_after_fork(self) -> None:
        """A fresh lock and zeroed counters: a forked child counts its own events only."""
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTER_NAMES, 0)
        self._backlog = 0


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
