"""logloop's shipper: Python logging records to Elasticsearch as ECS documents, durably.

Public API:

    install(service=..., **kwargs)   attach a ShipperHandler to the root logger (idempotent)
    ShipperHandler(service, ...)     the logging handler (dictConfig-friendly keyword arguments)
    KeepTemplate()                   a filter for a QueueHandler in front of it: keeps the template
    stats()                          a ShipperStats snapshot of every handler's delivery counters
    feedback(text, kind=...)         ship a user feedback event through the same durable path
    timing.timed(operation)          log an operation's duration (event.action, event.duration)
    feedback_event(text, kind=..., service=...)  the feedback document itself (no event.id yet)

The names are imported on first use (see `_Package`): a tool that needs one module of the package (the
`logloop cluster` command needs the grouping alone) does not pay for the handler and the formatter.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from shipper import timing
    from shipper.feedback import feedback, feedback_event
    from shipper.handler import ShipperHandler
    from shipper.install import install
    from shipper.queueing import KeepTemplate
    from shipper.stats import ShipperStats, stats

__all__ = [
    "KeepTemplate",
    "ShipperHandler",
    "ShipperStats",
    "feedback",
    "feedback_event",
    "install",
    "stats",
    "timing",
]

# Where each public name is defined.
_HOMES: Final = {
    "ShipperHandler": "shipper.handler",
    "ShipperStats": "shipper.stats",
    "feedback": "shipper.feedback",
    "feedback_event": "shipper.feedback",
    "install": "shipper.install",
    "KeepTemplate": "shipper.queueing",
    "stats": "shipper.stats",
    "timing": "shipper.timing",
}


class _Package(types.ModuleType):
    """The package's module type. Importing a submodule sets it as an attribute of the package
    (`shipper.feedback` the module), which would hide the public function of the same name (and
    `__getattr__` is only asked for names that are missing): so the public names are looked up
    here, on every access, and a submodule never shadows them."""

    def __getattribute__(self, name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            return super().__getattribute__(name)
        module = importlib.import_module(home)
        return module if name == "timing" else getattr(module, name)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
