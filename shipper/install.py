"""`install()`: the one-call set-up that attaches a ShipperHandler to the root logger.

    import shipper
    shipper.install(service="billing", es_url="https://es.internal:9200", api_key="...")

Idempotent: a second call returns the handler already installed (its arguments are ignored).
The handler is closed at interpreter exit (before logging's own shutdown), which bounds the exit
by `close_timeout` even with the server down; unsent events stay in the spool for the next start.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from shipper.handler import ShipperHandler

_lock = threading.Lock()


def install(service: str, *, level: int = logging.INFO, **kwargs: Any) -> ShipperHandler:
    """Attach a ShipperHandler to the root logger and return it (idempotent).

    Args:
        service: the service name every document carries (`service.name`).
        level: the handler's level; the root logger's level is lowered to it if it is higher, so
            records of that level reach the handler.
        **kwargs: any ShipperHandler keyword argument (`es_url`, `api_key`, `spool_path`, ...: see
            its docstring). Ignored when a handler is already installed.

    Raises ConfigurationError for a bad argument. The handler is closed at interpreter exit.
    """
    root = logging.getLogger()
    with _lock:
        for existing in root.handlers:
            if isinstance(existing, ShipperHandler) and not existing.closed:
                return existing
        handler = ShipperHandler(service, level=level, **kwargs)
        root.addHandler(handler)
        if root.level > level or root.level == logging.NOTSET:
            root.setLevel(level)
        atexit.register(handler.close)
        return handler
