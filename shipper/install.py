"""`install()`: the one-call set-up that attaches a ShipperHandler to the root logger.

    import shipper
    shipper.install(service="billing", es_url="https://es.internal:9200", api_key="...")

Idempotent: a second call returns the handler already installed (its arguments are ignored).
The handler is closed at interpreter exit (before logging's own shutdown): that seals this process's
spool segment, at once; the delivery agent sends what is left after the program has gone.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any, Final

from shipper.exceptions import ConfigurationError
from shipper.handler import ShipperHandler
from shipper.schema import unknown_names_message

_lock = threading.Lock()


def install(service: str, *, level: int = logging.INFO, **kwargs: Any) -> ShipperHandler:
    """Attach a ShipperHandler to the root logger and return it (idempotent).

    Args:
        service: the service name every document carries (`service.name`).
        level: the handler's level; the root logger's level is lowered to it if it is higher, so
            records of that level reach the handler.
        **kwargs: any ShipperHandler keyword argument (`es_url`, `api_key`, `spool_path`, ...: see
            its docstring). Ignored when a handler is already installed.

    Raises ConfigurationError for a bad argument, a misspelt name included (`spool_dir`: "did you
    mean spool_path?"), even when a handler is already installed. The handler is closed at
    interpreter exit.
    """
    known = _handler_keywords()
    unknown = set(kwargs) - known
    if unknown:
        raise ConfigurationError(
            unknown_names_message(
                "argument(s) to shipper.install", unknown, known, meant=OTHER_TOOLS_NAMES, cutoff=0.6
            )
        )
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


# What a name of the handlers users come from stands for here (python-logstash-async's
# AsynchronousLogstashHandler, the Elasticsearch client's, elastic-apm's `service_name`): a spelling
# match would miss them or mislead (`host` is not `ca_certs`).
OTHER_TOOLS_NAMES: Final = {
    "host": "logstash_host, or es_url for Elasticsearch",
    "hosts": "es_url",
    "port": "logstash_port",
    "database_path": "spool_path",
    "ssl_enable": "logstash_ssl",
    "ssl_verify": "verify_certs",
    "basic_auth": "username and password",
    "http_auth": "username and password",
    "service_name": "service (the first argument)",
}


def _handler_keywords() -> frozenset[str]:
    """The keyword arguments ShipperHandler takes besides `service` and `level` (read from its code:
    `inspect` would cost a short script its import)."""
    code = ShipperHandler.__init__.__code__
    names = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]  # (after `self`)
    return frozenset(names) - {"service", "level"}
