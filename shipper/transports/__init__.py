"""Transports: the protocol (`shipper.transports.base`) and the real implementations, built from plain
settings by `TransportSpec.make`.

Transports: `elasticsearch` (`_bulk` with create semantics, the default), `logstash-beats`
(acknowledged) and `logstash-tcp` (json_lines; "delivered" means written to the socket).
Implementations are imported when a transport is made: the program that only logs never imports a
client library (the delivery agent does).
"""

from __future__ import annotations

import contextlib
import importlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Final

from shipper.connection import ElasticsearchSettings
from shipper.transports.base import Transport

TRANSPORT_KINDS: Final = ("elasticsearch", "logstash-beats", "logstash-tcp")


def sha256_hex(data: bytes) -> str:
    """The SHA-256 digest of `data`, in hex, from CPython's own module where there is one: `hashlib`
    loads the OpenSSL library first, about 2 ms of every logging program's start-up for the digest
    of a few hundred bytes that names its spool directory."""
    for name in ("_sha256", "_sha2"):  # CPython 3.11; 3.12 and later
        with contextlib.suppress(ImportError):
            module: Any = importlib.import_module(name)
            return str(module.sha256(data).hexdigest())
    import hashlib  # another interpreter: the same digest through hashlib

    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class TransportSpec:
    """Everything needed to build a transport, as plain data (it is handed to the delivery process)."""

    kind: str
    elasticsearch: ElasticsearchSettings
    logstash_host: str = "127.0.0.1"
    logstash_port: int = 5044
    logstash_ssl: bool = False

    def make(self) -> Transport:
        implementation = self.implementation()
        if self.kind == "elasticsearch":
            return implementation(self.elasticsearch)  # type: ignore[no-any-return]
        settings = self.elasticsearch
        return implementation(  # type: ignore[no-any-return]
            protocol="beats" if self.kind == "logstash-beats" else "tcp",
            host=self.logstash_host,
            port=self.logstash_port,
            ssl_enable=self.logstash_ssl,
            ssl_verify=settings.ca_certs or settings.verify_certs,
            ca_certs=settings.ca_certs,
            socket_timeout=settings.request_timeout,
        )

    def implementation(self) -> Any:
        """The transport's class, imported now (by `make`, or ahead of it: see `delivery.agent.preload`)."""
        if self.kind == "elasticsearch":
            from shipper.transports.elasticsearch import ElasticsearchTransport

            return ElasticsearchTransport
        from shipper.transports.logstash import LogstashTransport

        return LogstashTransport

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    def key(self) -> str:
        """A short digest of these settings: agents with different keys send to different places."""
        return sha256_hex(json.dumps(self.as_data(), sort_keys=True).encode())[:16]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TransportSpec:
        return cls(**{**data, "elasticsearch": ElasticsearchSettings(**data["elasticsearch"])})
