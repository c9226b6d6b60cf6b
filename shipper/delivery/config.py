"""Delivery defaults, defined once: the handler's keyword defaults and the agent read them here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shipper import schema


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    """How the agent batches, retries and idles."""

    index_prefix: str = schema.DEFAULT_INDEX_PREFIX
    batch_size: int = 5000  # documents per request at most
    batch_max_bytes: int = 8 * 1024 * 1024
    max_event_bytes: int = 4 * 1024 * 1024  # a larger document is dead-lettered, never sent
    dead_letter_max_bytes: int = 64 * 1024 * 1024  # the dead-letter file's bound (twice, rotated)
    send_timeout: float = 10.0
    backoff_initial: float = 0.25
    backoff_max: float = 30.0
    retry_limit: int = 50_000  # documents waiting for a retry in memory before reading stops
    retry_max_bytes: int = 16 * 1024 * 1024  # and their bytes: the rest waits in the spool, not in memory
    poll_interval: float = 0.05  # seconds between looks at the spool while nothing is new
    idle_exit: float = 30.0  # seconds with nothing to send before the agent exits
    # Seconds of failed delivery after which an agent process that no program writes to any more exits,
    # its records left in the spool for the next program's agent (a script's agent must not linger).
    unreachable_exit: float = 300.0


DEFAULTS: Final = AgentConfig()
