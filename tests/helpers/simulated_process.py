"""One simulated service process for the root-cause scenario: `python simulated_process.py PLAN.json`.

The plan names the host, the Python version, the service version and the ES target, and lists
actions at given times. Only the host name, the reported Python version and the clock are
simulated (before `shipper` is imported, so its facts are collected from them); every event goes
through the real `shipper.install` handler into the real node. Each error is raised from its own
function, so each planted bug is its own traceback group.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

PLAN: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
socket.gethostname = lambda: str(PLAN["host"])
# The kernel's node name too: the shipper reads the host name from os.uname (what gethostname reads)
_real = os.uname()
_uname = os.uname_result((_real.sysname, str(PLAN["host"]), _real.release, _real.version, _real.machine))
os.uname = lambda: _uname
# The interpreter's own version text with the planned version as its first word (platform reads it too)
sys.version = str(PLAN["python"]) + sys.version[len(sys.version.split()[0]) :]

import shipper  # noqa: E402  (after the host and the Python version are simulated)
from shipper.feedback import feedback  # noqa: E402

CLOCK = [0.0]
_previous = logging.getLogRecordFactory()


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _previous(*args, **kwargs)
    record.created = CLOCK[0]
    record.msecs = (CLOCK[0] % 1) * 1000
    return record


def noise(item: str) -> None:
    raise ValueError(f"cannot parse quantity {item!r}")


def host_bug(item: str) -> None:
    raise KeyError(f"cart-{item}")


def python_bug(item: str) -> None:
    raise TypeError(f"unsupported operand for {item}")


def release_bug(item: str) -> None:
    raise AttributeError(f"'Order' object has no attribute 'coupon_{item}'")


def db_down(item: str) -> None:
    raise ConnectionError(f"database unreachable ({item})")


def session_lost(item: str) -> None:
    raise LookupError(f"session {item} not found")


BUGS = {f.__name__: f for f in (noise, host_bug, python_bug, release_bug, db_down, session_lost)}


def main() -> None:
    logging.setLogRecordFactory(_factory)
    handler = shipper.install(
        PLAN["service"],
        es_url=PLAN["es_url"],
        index_prefix=PLAN["prefix"],
        spool_path=PLAN["spool"],
        service_version=PLAN["version"],
        environment="production",
        env_allowlist=["REGION"],
        delivery="thread",
        close_timeout=30.0,
    )
    log = logging.getLogger("shop")
    for when, kind, text in PLAN["actions"]:
        CLOCK[0] = float(when)
        if kind == "info":
            logging.getLogger("shop.cart").info(text)
        elif kind == "feedback":
            category, message = text.split(":", 1)
            feedback(message, kind=category)
        else:
            try:
                BUGS[kind](text)
            except Exception:
                log.exception("request failed")
    if not handler.wait_delivered(120):
        sys.exit("not delivered in 120 s")
    handler.close()


if __name__ == "__main__":
    main()
