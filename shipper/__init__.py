"""logloop's shipper: Python logging records to Elasticsearch as ECS documents, durably.

Public API:

    install(service=..., **kwargs)   attach a ShipperHandler to the root logger (idempotent)
    ShipperHandler(service, ...)     the logging handler (dictConfig-friendly keyword arguments)
    stats()                          a ShipperStats snapshot of every handler's delivery counters
    feedback(text, kind=...)         ship a user feedback event through the same durable path
    timing.timed(operation)          log an operation's duration (event.action, event.duration)
    feedback_event(text, kind=..., service=...)  the feedback document itself (no event.id yet)
"""

from __future__ import annotations

from shipper import timing
from shipper.feedback import feedback, feedback_event
from shipper.handler import ShipperHandler
from shipper.install import install
from shipper.stats import ShipperStats, stats

__all__ = ["ShipperHandler", "ShipperStats", "feedback", "feedback_event", "install", "stats", "timing"]
