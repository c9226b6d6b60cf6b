"""Logstash transports over python-logstash-async's wire classes (its queue, cache and formatter unused).

`logstash-beats` (recommended) speaks the Beats (Lumberjack v2) protocol through
`logstash_async.transport.BeatsTransport`: Logstash acknowledges each window, so "delivered"
means Logstash has the events. `logstash-tcp` writes json_lines through `TcpTransport`; without
an acknowledgement "delivered" only means written to the socket.

The documents are the same ECS documents the Elasticsearch transport sends, `event.id` included, so
the Logstash pipeline can use it as `document_id` with `action => "create"` for duplicate-free
indexing. Every socket gets a timeout no longer than what the caller allows, and the TCP close-wait
(30 s in the library) is bounded by it too, so shutdown with Logstash down stays short.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Literal

import pylogbeat  # ships no type information
from logstash_async.constants import constants
from logstash_async.transport import BeatsTransport, TcpTransport
from logstash_async.utils import ichunked

from shipper.diagnostics import INTERNAL_LOGGER
from shipper.spool.bulk import SpooledEvent
from shipper.transports.base import DELIVERED, Outcome, TemplateCheck, retry_all


class _BoundedCloseTcpTransport(TcpTransport):  # type: ignore[misc]
    """TcpTransport whose wait for the send buffer to drain is bounded by the socket timeout."""

    def _wait_for_socket_buffer_empty(self) -> None:
        deadline = time.monotonic() + float(self._timeout or 0.0)
        while time.monotonic() < deadline and not self._is_sock_write_buff_empty():
            time.sleep(0.01)

    def _log_close_socket_error(self, message: str) -> None:
        logging.getLogger(INTERNAL_LOGGER).debug("%s", message)  # not printed: a retry follows anyway


class _ClosingBeatsTransport(BeatsTransport):  # type: ignore[misc]
    """BeatsTransport that also closes its socket when connecting fails (the library leaks it)."""

    def send(self, events: list[bytes], use_logging: bool = False) -> None:
        client = pylogbeat.PyLogBeatClient(use_logging=use_logging, **self._client_arguments)
        try:
            client.connect()
            for window in ichunked(events, constants.QUEUED_EVENTS_BEATS_BATCH_SIZE):
                client.send(window)
        finally:
            client.close()


class LogstashTransport:
    """Sends batches to Logstash with the Beats or the TCP (json_lines) protocol."""

    def __init__(
        self,
        *,
        protocol: Literal["beats", "tcp"],
        host: str,
        port: int,
        ssl_enable: bool = False,
        ssl_verify: bool | str = True,
        ca_certs: str | None = None,
        socket_timeout: float = 5.0,
    ) -> None:
        self._protocol = protocol
        self._options: dict[str, Any] = {
            "host": host,
            "port": port,
            "ssl_enable": ssl_enable,
            "ssl_verify": ssl_verify,
            "ssl_verify_flags": None,
            "keyfile": None,
            "certfile": None,
            "ca_certs": ca_certs,
        }
        self._socket_timeout = socket_timeout

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]:
        if not batch:
            return []
        bounded = max(0.05, min(self._socket_timeout, timeout))
        try:
            if self._protocol == "beats":
                _ClosingBeatsTransport(timeout=bounded, **self._options).send([e.body for e in batch])
            else:
                transport = _BoundedCloseTcpTransport(timeout=bounded, **self._options)
                try:
                    transport.send([e.body + b"\n" for e in batch])
                finally:
                    transport.close()
        except Exception as exc:  # the library raises OSError, pylogbeat errors, ssl errors...
            return retry_all(batch, f"{type(exc).__name__}: {exc}")
        return [DELIVERED] * len(batch)

    def ensure_template(self, prefix: str, timeout: float) -> TemplateCheck:
        """Nothing to install from here: Logstash's Elasticsearch output writes the indices, and the
        pipeline in logstash/ leaves the template to `logloop setup` (`manage_template => false`)."""
        return TemplateCheck("not_needed")

    def close(self) -> None:
        pass  # each send opens and closes its own connection
