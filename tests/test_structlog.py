"""The shipper behind structlog's documented stdlib integration (`ProcessorFormatter.wrap_for_formatter`
as the last processor: the event dict travels to the handler as the record's `msg`): each event is
shipped with structlog's event as its message and template and its key-value pairs as fields, not as
the repr of a dict."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents

from kibana.setup import install_template

pytest.importorskip("structlog")

_PROGRAM = """
import logging, sys
import structlog
import shipper
handler = shipper.ShipperHandler("structured", es_url=sys.argv[1], index_prefix=sys.argv[2],
                                 spool_path=sys.argv[3], idle_exit=3)
logging.basicConfig(handlers=[handler], level=logging.INFO)
structlog.configure(
    processors=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
)
log = structlog.get_logger("billing")
log.info("order charged", order="a1b2", amount=12.5, tags=["x"])
for order in ("a1b2", "zz-top"):
    log.error("charge refused", order=order)
try:
    {{}}["missing"]
except KeyError:
    log.exception("charge crashed", order="q")
"""


def test_structlog_events_keep_their_message_and_fields(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Message and template are the event, the pairs are fields (`extra.order`), structlog's own
    `_logger`/`_name` do not show, one statement's errors are one group, exceptions keep their error
    (they were `{'order': 'a1b2', 'event': ..., 'level': ...}` messages, without a template, keyed
    apart by their values)."""
    install_template(es, index_prefix)
    done = programs.run(
        _PROGRAM.replace("{{}}", "{}"), tmp_path, args=[es_url, index_prefix, str(tmp_path / "s")]
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    deadline = time.monotonic() + 60
    while len(documents(es, index_prefix)) < 4 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)
    found = sorted(documents(es, index_prefix), key=lambda doc: doc["@timestamp"])
    assert [doc["message"] for doc in found] == [
        "order charged", "charge refused", "charge refused", "charge crashed"
    ]  # fmt: skip
    assert all(doc["logloop"]["template"] == doc["message"] for doc in found)
    assert found[0]["extra"] == {"order": "a1b2", "amount": 12.5, "tags": ["x"]}
    assert [doc["extra"]["order"] for doc in found[1:]] == ["a1b2", "zz-top", "q"]
    assert found[1]["error"]["grouping_key"] == found[2]["error"]["grouping_key"]
    assert found[3]["error"]["type"] == "builtins.KeyError"
    assert found[0]["log"] == {**found[0]["log"], "logger": "billing", "level": "info"}
