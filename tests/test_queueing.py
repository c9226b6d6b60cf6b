"""A QueueHandler in front of the shipper: with `KeepTemplate` on it, an error event without traceback
keeps its logging template through the QueueHandler's `prepare()`, and is grouped by it."""

from __future__ import annotations

import logging
import logging.config
import logging.handlers
import queue
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents

from kibana.setup import install_template
from shipper.formatter import EcsFormatter
from shipper.grouping.fingerprint import fingerprint_event
from shipper.queueing import KeepTemplate


def _through_queue(*, keep: bool, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The documents of `log.error("user %s not found", name)` for each name, logged through a
    QueueHandler (configured by dictConfig, with `KeepTemplate` on it when `keep`) and a QueueListener."""
    records: list[logging.LogRecord] = []
    collect = logging.Handler()
    collect.emit = records.append  # type: ignore[method-assign]
    q: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(q, collect)
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"template": {"()": "shipper.KeepTemplate"}},
            "handlers": {
                "queue": {
                    "class": "logging.handlers.QueueHandler",
                    "queue": q,
                    "filters": ["template"] if keep else [],
                }
            },
            "loggers": {"shop.accounts": {"handlers": ["queue"], "propagate": False, "level": "INFO"}},
        }
    )
    listener.start()
    try:
        for name in names:
            logging.getLogger("shop.accounts").error("user %s not found", name)
    finally:
        listener.stop()
        logging.getLogger("shop.accounts").handlers.clear()
    formatter = EcsFormatter(service_name="shop")
    return [formatter.to_document(record) for record in records]


def test_a_queued_error_keeps_its_template_and_is_grouped_by_it() -> None:
    """An error logged through a QueueHandler with `KeepTemplate` carries its template (`user %s not
    found`) and the key of the same call logged directly, one group for every name; without the filter
    (the known limit), each name whose value the masking does not take is its own group."""
    names = ("alice", "bob", "carol-ann")
    kept = _through_queue(keep=True, names=names)
    assert [doc["message"] for doc in kept] == [f"user {name} not found" for name in names]
    assert {doc["logloop"]["template"] for doc in kept} == {"user %s not found"}
    assert "extra" not in kept[0]  # the kept template is not shipped as an extra field
    keys = {fingerprint_event(doc) for doc in kept}
    assert len(keys) == 1 and next(iter(keys)).name.startswith("user <VAR> not found")  # type: ignore[union-attr]
    direct = logging.LogRecord(
        "shop.accounts", logging.ERROR, "a.py", 3, "user %s not found", ("dave",), None
    )
    found = fingerprint_event(EcsFormatter(service_name="shop").to_document(direct))
    assert found is not None and found.key in {key.key for key in keys if key is not None}
    lost = _through_queue(keep=False, names=names)
    assert len({fingerprint_event(doc) for doc in lost}) == len(names)


def test_the_filter_passes_every_record_and_only_adds_the_template() -> None:
    """`KeepTemplate` passes every record, keeps a string template once (a second filter does not
    overwrite it with a prepared message), and leaves a record whose `msg` is not a string alone."""
    keep = KeepTemplate()
    record = logging.LogRecord("a", logging.ERROR, "a.py", 1, "n=%d", (3,), None)
    assert keep.filter(record) and record.__dict__["_logloop_template"] == "n=%d"
    record.msg, record.args = "n=3", None  # as prepare() leaves it
    assert keep.filter(record) and record.__dict__["_logloop_template"] == "n=%d"
    other = logging.LogRecord("a", logging.ERROR, "a.py", 1, {"event": "x"}, None, None)
    assert keep.filter(other) and "_logloop_template" not in other.__dict__


_PROGRAM = """
import logging, logging.handlers, queue, sys
import shipper
handler = shipper.ShipperHandler("queued", es_url=sys.argv[1], index_prefix=sys.argv[2],
                                 spool_path=sys.argv[3], idle_exit=3)
q = queue.Queue()
listener = logging.handlers.QueueListener(q, handler)
listener.start()
queued = logging.getLogger("shop.queued")
queued.propagate = False
through = logging.handlers.QueueHandler(q)
through.addFilter(shipper.KeepTemplate())
queued.addHandler(through)
for name in ("alice", "bob", "carol-ann"):
    queued.error("user %s not found", name)
listener.stop()
"""


def test_a_queued_error_reaches_the_node_with_its_template(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Through a real QueueHandler/QueueListener and the shipper's handler, errors logged with one
    template and other names arrive with that template and one grouping key (when the program puts
    `KeepTemplate` on its QueueHandler)."""
    install_template(es, index_prefix)
    done = programs.run(_PROGRAM, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")])
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 60
    while len(found := documents(es, index_prefix)) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(found) == 3, found
    assert {doc["logloop"]["template"] for doc in found} == {"user %s not found"}
    assert len({doc["error"]["grouping_key"] for doc in found}) == 1


@pytest.fixture(autouse=True)
def _no_handlers_left() -> Any:
    """The dictConfig calls leave the root logger and the test's loggers as they found them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
