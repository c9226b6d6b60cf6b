"""ShipperHandler behaviour: configuration, bad input end to end into the real node, rejections and
dead letters, the recursion guard, health documents, Prometheus, bounded close, Logstash wiring."""

from __future__ import annotations

import gc
import json
import logging
import logging.config
import socket
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.logstash_servers import BeatsServer, JsonLinesServer
from helpers.shipping import logger_only_to

import shipper
from kibana.setup import install_template
from shipper import schema
from shipper.exceptions import ConfigurationError
from shipper.handler import ShipperHandler

pytestmark = pytest.mark.es


def _handler(es_url: str, prefix: str, tmp_path: Path, **kwargs: Any) -> ShipperHandler:
    options: dict[str, Any] = {"retry_max_delay": 0.5, "close_timeout": 5.0, **kwargs}
    return ShipperHandler(
        "handler-test", es_url=es_url, index_prefix=prefix, spool_path=tmp_path / "s", **options
    )


def _search(es: Any, prefix: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    es.indices.refresh(index=f"{prefix}-*", allow_no_indices=True)
    found = es.search(index=f"{prefix}-*", query=query, size=100, allow_no_indices=True)
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_dictconfig_builds_a_working_handler(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """A handler declared in logging.config.dictConfig with plain keywords ships the root logger's records."""
    install_template(es, index_prefix)
    logging.config.dictConfig(
        {
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "handlers": {
                "ship": {
                    "class": "shipper.ShipperHandler",
                    "service": "dictconfig",
                    "es_url": es_url,
                    "index_prefix": index_prefix,
                    "spool_path": str(tmp_path / "spool.sqlite"),
                    "queue_size": 500,
                    "close_timeout": 1.5,
                }
            },
            "root": {"level": "INFO", "handlers": ["ship"]},
        }
    )
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, ShipperHandler))
    logging.getLogger("configured").info("configured by dictConfig")
    assert handler.wait_delivered(60)
    docs = _search(es, index_prefix, {"match_phrase": {"message": "configured by dictConfig"}})
    assert [d["service"]["name"] for d in docs] == ["dictconfig"]


def test_install_is_idempotent(tmp_path: Path, index_prefix: str, es_url: str) -> None:
    """A second install() returns the handler already on the root logger instead of adding another."""
    first = shipper.install("twice", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    second = shipper.install("twice", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "t")
    assert first is second
    assert sum(isinstance(h, ShipperHandler) for h in logging.getLogger().handlers) == 1
    first.close()


class _StrRaises(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ of this exception raises")


def _recurse(n: int) -> int:
    return _recurse(n + 1) + 1


def _log_bad(case: str, logger: logging.Logger) -> None:
    circular: dict[str, Any] = {"name": "loop"}
    circular["self"] = circular
    if case == "unserializable-extra":
        logger.warning("with an object extra", extra={"thing": object(), "when": datetime.now(UTC)})
    elif case == "bytes-message":
        logger.warning(b"\xff\xfe raw bytes")
    elif case == "circular-extra":
        logger.warning("circular extra", extra={"loop": circular})
    elif case == "ten-megabytes":
        logger.warning("x" * 10_000_000)
    elif case == "lone-surrogate":
        logger.warning("lone \ud800 surrogate", extra={"key\udcff": "value \udfff"})
    elif case == "str-raises":
        try:
            raise _StrRaises()
        except _StrRaises:
            logger.exception("an exception whose __str__ raises")
    elif case == "recursion-error":
        try:
            _recurse(0)
        except RecursionError:
            logger.exception("deep recursion")
    elif case == "wrong-arguments":
        logger.warning("%d items of %s", "not a number")


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("unserializable-extra", id="unserializable-extra"),
        pytest.param("bytes-message", id="bytes-message"),
        pytest.param("circular-extra", id="circular-extra"),
        pytest.param("ten-megabytes", id="ten-megabytes"),
        pytest.param("lone-surrogate", id="lone-surrogate"),
        pytest.param("str-raises", id="str-raises"),
        pytest.param("recursion-error", id="recursion-error"),
        pytest.param("wrong-arguments", id="wrong-arguments"),
    ],
)
def test_bad_input_arrives_in_the_node(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, case: str
) -> None:
    """Hostile records raise nothing into the program and arrive as one document each, none dropped."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path)
    logger_name = f"bad.{case}"
    _log_bad(case, logger_only_to(logger_name, handler))
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    docs = _search(es, index_prefix, {"term": {"log.logger": logger_name}})
    assert len(docs) == 1
    assert stats.dropped == 0 and stats.dead_lettered == 0
    if case in ("str-raises", "recursion-error"):
        assert docs[0]["error"]["grouping_key"]


def test_a_rejected_document_is_dead_lettered_and_blocks_nothing(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A document the node refuses goes to the dead-letter file with the reason; its batch mates arrive."""
    today = schema.index_for(datetime.now(UTC), index_prefix)
    es.indices.create(index=today, mappings={"properties": {"message": {"type": "long"}}})
    handler = _handler(es_url, index_prefix, tmp_path)
    logger = logger_only_to("rejects", handler)
    logger.info("41")
    logger.info("not a number")
    logger.info("43")
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    letters = [json.loads(line) for line in (tmp_path / "s.deadletter.jsonl").read_text().splitlines()]
    rejected = [entry for entry in letters if '"not a number"' in entry["document"]]
    assert len(rejected) == 1 and rejected[0]["status"] == 400 and "message" in rejected[0]["reason"]
    assert stats.dead_lettered >= 1
    accepted = _search(es, index_prefix, {"terms": {"message": [41, 43]}})
    assert sorted(d["message"] for d in accepted) == ["41", "43"]  # _source keeps the sent strings


def test_an_oversized_event_is_dead_lettered_not_sent(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """An event above max_event_bytes is dead-lettered at once while the small one next to it arrives."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path, max_event_bytes=20_000)
    logger = logger_only_to("oversized", handler)
    logger.info("y" * 100_000)
    logger.info("small")
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    assert stats.dead_lettered == 1
    assert [d["message"] for d in _search(es, index_prefix, {"term": {"log.logger": "oversized"}})] == [
        "small"
    ]
    entry = json.loads((tmp_path / "s.deadletter.jsonl").read_text())
    assert "max_event_bytes" in entry["reason"]


def test_the_shippers_own_logging_is_never_shipped(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """With the handler on a DEBUG root, neither the client libraries' records (logged from the worker
    thread) nor logloop.shipper.* records come back as events, and the loop stays quiet."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("logloop.shipper.internal").warning("internal diagnostics")
    logging.getLogger("app").info("the only event")
    assert handler.wait_delivered(60)
    logging.getLogger("app").info("a second event")
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    loggers = sorted(
        d["log"]["logger"] for d in _search(es, index_prefix, {"term": {"event.dataset": "logloop.log"}})
    )
    assert loggers == ["app", "app"]
    assert stats.queued == 2


def test_health_documents_carry_the_counters(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """The handler ships periodic `logloop.shipper` documents with the delivery counters."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path, stats_interval=0.2)
    logger_only_to("health", handler).info("something to count")
    assert handler.wait_delivered(60)
    time.sleep(0.5)  # a health document written after the acknowledgement, then delivered in turn
    assert handler.wait_delivered(60)
    handler.close()
    docs = _search(es, index_prefix, {"term": {"event.dataset": schema.DATASET_SHIPPER}})
    assert docs
    assert max(d["logloop"]["shipper"]["sent"] for d in docs) >= 1
    assert {"queued", "spooled", "retried", "dropped", "dead_lettered", "spool_backlog"} <= set(
        docs[0]["logloop"]["shipper"]
    )


def test_prometheus_endpoint_serves_the_counters(es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """With prometheus_port set, 127.0.0.1 serves the same counters as stats()."""
    handler = _handler(es_url, index_prefix, tmp_path, prometheus_port=0)
    logger_only_to("prom", handler).info("counted")
    assert handler.wait_delivered(60)
    assert handler.prometheus is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{handler.prometheus.port}/metrics", timeout=5) as page:
        text = page.read().decode()
    handler.close()
    assert "logloop_shipper_queued_total 1.0" in text
    assert "logloop_shipper_spool_backlog" in text


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        pytest.param({"transport": "kafka"}, "transport", id="unknown-transport"),
        pytest.param({"queue_size": 0}, "queue_size", id="zero-queue"),
        pytest.param({"es_url": "http://es.example.com:9200"}, "plain http", id="plain-http-remote"),
        pytest.param({"spool_overflow": "drop_all"}, "spool_overflow", id="bad-overflow"),
    ],
)
def test_bad_settings_fail_at_setup(tmp_path: Path, kwargs: dict[str, Any], named: str) -> None:
    """Settings that cannot work raise ConfigurationError naming the problem at construction."""
    with pytest.raises(ConfigurationError, match=named):
        ShipperHandler("bad", spool_path=tmp_path / "s", **kwargs)


def test_close_with_a_silent_server_keeps_the_events(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """close() with a server that accepts but never answers returns, keeps the events spooled, and the
    next start delivers them."""
    install_template(es, index_prefix)
    silent = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    first = _handler(url, index_prefix, tmp_path, close_timeout=0.5)
    logger = logger_only_to("silent", first)
    for i in range(100):
        logger.info("kept %d", i)
    first.close()
    silent.close()
    assert first.stats().sent == 0
    second = _handler(es_url, index_prefix, tmp_path)
    assert second.wait_delivered(60)
    second.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.count(index=f"{index_prefix}-*", query={"term": {"log.logger": "silent"}})["count"]
    assert found == 100


def test_feedback_travels_the_same_path(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """shipper.feedback() through an installed handler arrives as a logloop.feedback document."""
    install_template(es, index_prefix)
    handler = shipper.install(
        "feedback-test", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s"
    )
    shipper.feedback("the restart button does nothing", kind="bug")
    assert handler.wait_delivered(60)
    handler.close()
    docs = _search(es, index_prefix, {"term": {"event.dataset": schema.DATASET_FEEDBACK}})
    assert [d["logloop"]["feedback"]["kind"] for d in docs] == ["bug"]
    assert docs[0]["event"]["id"]


def test_logstash_beats_transport_ships_the_ecs_documents(tmp_path: Path) -> None:
    """Through the Beats transport (a loopback stand-in for Logstash) the same ECS documents arrive,
    each with its event.id for Logstash's document_id."""
    server = BeatsServer()
    handler = ShipperHandler(
        "beats", transport="logstash-beats", logstash_port=server.port, spool_path=tmp_path / "s"
    )
    logger = logger_only_to("via.beats", handler)
    for i in range(30):
        logger.info("beats %d", i)
    assert handler.wait_delivered(60)
    handler.close()
    server.close()
    logged = [d for d in server.received if d["event"]["dataset"] == "logloop.log"]
    assert [d["message"] for d in logged] == [f"beats {i}" for i in range(30)]
    assert len({d["event"]["id"] for d in logged}) == 30 and logged[0]["service"]["name"] == "beats"


def test_logstash_tcp_transport_writes_json_lines(tmp_path: Path) -> None:
    """Through the TCP transport (a loopback json_lines reader standing in for Logstash) every logged
    event arrives as one JSON line."""
    server = JsonLinesServer()
    handler = ShipperHandler(
        "tcp", transport="logstash-tcp", logstash_port=server.port, spool_path=tmp_path / "s"
    )
    logger = logger_only_to("via.tcp", handler)
    for i in range(10):
        logger.info("tcp %d", i)
    assert handler.wait_delivered(60)
    handler.close()
    logged: list[str] = []
    for _ in range(50):  # the reader thread parses each connection once the shipper closed it
        logged = [d["message"] for d in server.received if d["event"]["dataset"] == "logloop.log"]
        if len(logged) >= 10:
            break
        server.served.clear()
        server.served.wait(0.1)
    server.close()
    assert logged == [f"tcp {i}" for i in range(10)]


def test_module_stats_sum_every_live_handler(es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """shipper.stats() is a frozen snapshot that includes each live handler's counters."""
    # Handlers of earlier tests that die between the two snapshots would lower the total:
    # collect them first and keep the collector off until the second snapshot.
    gc.collect()
    gc.disable()
    try:
        before = shipper.stats()
        handler = _handler(es_url, index_prefix, tmp_path)
        logger_only_to("stats", handler).info("one")
        assert handler.wait_delivered(60)
        after = shipper.stats()
    finally:
        gc.enable()
    handler.close()
    assert after.queued >= before.queued + 1 and after.sent >= before.sent + 1
    with pytest.raises(AttributeError):
        after.sent = 0  # type: ignore[misc]


def _short_script(es_url: str, prefix: str, tmp_path: Path, *, oversized: bool) -> int:
    """Run a script that logs three records (and a 2 MiB one, cut before the spool, if `oversized`)
    and exits at once; its pid."""
    done = programs.run(
        """
        import logging, os, sys
        import shipper
        shipper.install("short", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3])
        log = logging.getLogger("short")
        for n in range(3):
            log.warning("step %d", n)
        if sys.argv[4] == "oversized":
            log.warning("x" * (2 * 1024 * 1024))
        print("PID", os.getpid())
        """,
        tmp_path,
        args=[es_url, prefix, str(tmp_path / "spool"), "oversized" if oversized else "plain"],
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split("PID ", 1)[1].split()[0])


def _reports_of(es: Any, prefix: str, pid: int, logs: int) -> list[dict[str, Any]]:
    """The health documents of process `pid`, once its `logs` log documents arrived (60 s at most)."""
    health = {
        "bool": {
            "filter": [{"term": {"event.dataset": schema.DATASET_SHIPPER}}, {"term": {"process.pid": pid}}]
        }
    }
    deadline = time.monotonic() + 60
    while len(_search(es, prefix, {"term": {"process.pid": pid}})) < logs and time.monotonic() < deadline:
        time.sleep(0.5)
    return [report["logloop"]["shipper"] for report in _search(es, prefix, health)]


def test_a_short_script_reports_what_it_lost_at_exit(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A script that cut a record and exits long before `stats_interval` still ships one health
    document, numbered 1, with what it counted itself (queued, spooled, dropped, truncated,
    unconfirmed), none of the agent's figures (they come after its exit) and itself not among the
    records."""
    install_template(es, index_prefix)
    pid = _short_script(es_url, index_prefix, tmp_path, oversized=True)
    assert _reports_of(es, index_prefix, pid, logs=5) == [
        {"queued": 4, "spooled": 4, "dropped": 0, "truncated": 1, "unconfirmed": 0, "reports": 1}
    ]


def test_a_short_script_that_lost_nothing_writes_no_report(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A short run that dropped and cut nothing adds no health document to its records."""
    install_template(es, index_prefix)
    pid = _short_script(es_url, index_prefix, tmp_path, oversized=False)
    assert _reports_of(es, index_prefix, pid, logs=3) == []
