"""Benchmark of the shipper against the alternatives, in one run on one machine; prints ratios.

    python bench/bench_shipper.py --es-url http://127.0.0.1:9200 --json /tmp/bench_shipper.json

Measures
  1. caller-thread cost per `logger.info` and per `logger.error(..., exc_info=True)`: ShipperHandler
     (shipping to the node) vs stdlib FileHandler vs python-logstash-async AsynchronousLogstashHandler
     with its memory cache and with its SQLite database (both pointed at a closed port, as Logstash
     cannot run here; their emit path does not depend on the server). Wall time of the logging loop on
     the calling thread, so contention with each handler's own worker thread is included, and the
     calling thread's CPU time. ShipperHandler is also measured pointed at a closed port ("node
     unreachable"): then the node, which runs on the same two cores, indexes nothing while the loop
     runs, and the wall time is the handler's own cost. Each handler is set up before timing (one
     call; ShipperHandler waits until its delivery process runs), as FileHandler opens its file.
  2. spool throughput: documents per second written to the SQLite spool in batches, and read+deleted.
  3. end-to-end throughput into the node: ShipperHandler (log -> acknowledged) vs a raw
     `elasticsearch.helpers.bulk` of the same documents.
  4. exit time of a program with the node down: connection refused, and a server that never answers.

Targets (issue 2): caller cost <= 1.0x FileHandler and <= 0.5x logstash-async SQLite; spool >= 20,000
events/s; end-to-end >= 0.8x helpers.bulk; exit with the node down <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from elasticsearch import helpers  # noqa: E402
from logstash_async.handler import AsynchronousLogstashHandler  # noqa: E402

from shipper import schema  # noqa: E402
from shipper.connection import ElasticsearchSettings, make_client  # noqa: E402
from shipper.formatter import EcsFormatter, dumps  # noqa: E402
from shipper.handler import ShipperHandler, event_ids  # noqa: E402
from shipper.spool import NewEvent, Spool  # noqa: E402
from shipper.worker import encode  # noqa: E402

INFO_N = 20_000
ERROR_N = 3_000
SPOOL_N = 100_000
E2E_N = 50_000
REPEATS = 5  # rounds per measurement; the median is reported (the machine is shared)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"bench.{id(handler)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _fail(depth: int) -> None:
    if depth == 0:
        raise ValueError(f"order {depth} could not be processed")
    _fail(depth - 1)


def _info_calls(logger: logging.Logger, n: int) -> None:
    for i in range(n):
        logger.info("processed order %d for customer %s", i, "c-42")


def _error_calls(logger: logging.Logger, n: int) -> None:
    for i in range(n):
        try:
            _fail(5)
        except ValueError:
            logger.error("order %d failed", i, exc_info=True)


def _timed(
    calls: Callable[[logging.Logger, int], None], logger: logging.Logger, n: int
) -> tuple[float, float]:
    """(wall, caller-thread CPU) microseconds per call: the median of REPEATS back-to-back rounds."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.thread_time()
        calls(logger, n // REPEATS)
        walls.append((time.perf_counter() - wall) / (n // REPEATS) * 1e6)
        cpus.append((time.thread_time() - cpu) / (n // REPEATS) * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def _caller_cost(logger: logging.Logger) -> dict[str, float]:
    """Microseconds per call on the calling thread (wall and thread CPU), info and error-with-traceback."""
    info, info_cpu = _timed(_info_calls, logger, INFO_N)
    error, error_cpu = _timed(_error_calls, logger, ERROR_N)
    return {"info_us": info, "error_us": error, "info_cpu_us": info_cpu, "error_cpu_us": error_cpu}


def _measure_in_this_process(kind: str, es_url: str, prefix: str, work: Path) -> None:
    """Child mode: measure one handler kind, print JSON, leave without waiting for anyone's worker."""
    handler: logging.Handler
    if kind == "FileHandler":
        handler = logging.FileHandler(work / "file.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    elif kind.startswith("logstash-async"):
        database = str(work / "la.db") if kind.endswith("SQLite") else None
        handler = AsynchronousLogstashHandler("127.0.0.1", _closed_port(), database_path=database)
    else:
        # "node unreachable": the same handler pointed at a closed port. Nothing is indexed, so the
        # wall time is the handler's own cost, without the node's indexing on the same two cores.
        url = f"http://127.0.0.1:{_closed_port()}" if kind.endswith("unreachable)") else es_url
        handler = ShipperHandler("bench", es_url=url, index_prefix=prefix, spool_path=work / "caller.sqlite")
    logger = _logger(handler)
    # Set-up is not timed (FileHandler opens its file, logstash-async starts its thread): one call
    # first, and ShipperHandler waits until it is delivered, so its delivery process is running.
    logger.info("warm-up")
    if isinstance(handler, ShipperHandler):
        handler.ready(60)
        handler.wait_delivered(60 if handler.es_settings.url == es_url else 0)
    result = _caller_cost(logger)
    if isinstance(handler, ShipperHandler):
        handler.wait_delivered(120 if handler.es_settings.url == es_url else 0)
        handler.close()
    print(json.dumps(result), flush=True)
    os._exit(0)  # logstash-async's close() would wait for its (absent) server


@contextmanager
def _bench_prefix(es: Any, name: str) -> Iterator[str]:
    prefix = f"bench{name}{os.getpid()}"
    es.indices.put_index_template(name=schema.template_name(prefix), **schema.index_template(prefix))
    try:
        yield prefix
    finally:
        names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
        if names:
            es.indices.delete(index=",".join(names))
        es.indices.delete_index_template(name=schema.template_name(prefix))


CALLER_KINDS = (
    "FileHandler",
    "logstash-async memory",
    "logstash-async SQLite",
    "ShipperHandler",
    "ShipperHandler (node unreachable)",
)


def bench_caller(es_url: str, es: Any, work: Path) -> dict[str, dict[str, float]]:
    """Each handler measured in a fresh process of its own, one after the other."""
    results: dict[str, dict[str, float]] = {}
    with _bench_prefix(es, "caller") as prefix:
        for kind in CALLER_KINDS:
            folder = work / kind.replace(" ", "_")
            folder.mkdir()
            done = subprocess.run(
                [sys.executable, __file__, "--es-url", es_url, "--child", kind, prefix, str(folder)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            results[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def _sample_rows(n: int) -> list[NewEvent]:
    formatter = EcsFormatter(service_name="bench")
    record = logging.LogRecord("bench", logging.INFO, __file__, 1, "processed order %d", (1,), None)
    body = dumps(formatter.to_document(record))
    return [NewEvent(event_ids.next(), "bench-2026.01.01", body) for _ in range(n)]


def bench_spool(work: Path) -> dict[str, float]:
    rows = _sample_rows(SPOOL_N)
    spool = Spool(work / "throughput.sqlite", max_bytes=1 << 32)
    start = time.perf_counter()
    for i in range(0, SPOOL_N, 1000):
        spool.put(rows[i : i + 1000])
    write = SPOOL_N / (time.perf_counter() - start)
    start = time.perf_counter()
    while batch := spool.take(1000, 1 << 30):
        spool.delete([event.row_id for event in batch])
    drain = SPOOL_N / (time.perf_counter() - start)
    spool.close()
    return {"write_events_per_s": write, "take_delete_events_per_s": drain, "body_bytes": len(rows[0].body)}


def _records(n: int) -> list[logging.LogRecord]:
    return [
        logging.LogRecord(
            "bench.e2e", logging.INFO, __file__, 1, "processed order %d for %s", (i, "c-42"), None
        )
        for i in range(n)
    ]


def bench_e2e(es_url: str, es: Any, work: Path) -> dict[str, float]:
    formatter = EcsFormatter(service_name="bench")
    with _bench_prefix(es, "bulk") as prefix:
        docs = []
        for record in _records(E2E_N):
            doc = formatter.to_document(record)
            doc["event"]["id"] = event_ids.next()
            docs.append(doc)
        index = schema.index_for(datetime.now(UTC), prefix)
        actions = (
            {"_op_type": "create", "_index": index, "_id": d["event"]["id"], "_source": d} for d in docs
        )
        start = time.perf_counter()
        helpers.bulk(es, actions, chunk_size=1000)
        bulk_rate = E2E_N / (time.perf_counter() - start)
    with _bench_prefix(es, "ship") as prefix:
        handler = ShipperHandler("bench", es_url=es_url, index_prefix=prefix, spool_path=work / "e2e.sqlite")
        logger = _logger(handler)
        start = time.perf_counter()
        for i in range(E2E_N):
            logger.info("processed order %d for %s", i, "c-42")
        delivered = handler.wait_delivered(300)
        ship_rate = E2E_N / (time.perf_counter() - start)
        stats = handler.stats()
        handler.close()
    with _bench_prefix(es, "drain") as prefix:
        spool_path = work / "drain.sqlite"
        spool = Spool(spool_path, max_bytes=1 << 32)
        for i in range(0, E2E_N, 1000):
            spool.put([encode(dict(doc), prefix) for doc in docs[i : i + 1000]])
        spool.close()
        start = time.perf_counter()
        handler = ShipperHandler("bench", es_url=es_url, index_prefix=prefix, spool_path=spool_path)
        drained = handler.wait_delivered(300)
        drain_rate = E2E_N / (time.perf_counter() - start)
        handler.close()
    return {
        "spool_drain_events_per_s": drain_rate,
        "spool_drain_delivered_all": float(drained),
        "helpers_bulk_events_per_s": bulk_rate,
        "shipper_events_per_s": ship_rate,
        "shipper_delivered_all": float(delivered and stats.sent >= E2E_N),
    }


_EXIT_CHILD = """
import logging, sys, time
import shipper
shipper.install("exit-bench", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix="benchexit")
log = logging.getLogger("exit")
for i in range(1000):
    log.info("event %d", i)
try:
    1 / 0
except ZeroDivisionError:
    log.error("failed", exc_info=True)
print("logged", flush=True)
"""


def _exit_time(url: str, work: Path) -> float:
    script = work / "exit_child.py"
    script.write_text(_EXIT_CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), url, str(work / f"exit-{time.monotonic_ns()}.sqlite")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    child.stdout.readline()
    start = time.perf_counter()
    child.wait()
    child.stdout.close()
    return time.perf_counter() - start


def bench_exit(work: Path) -> dict[str, float]:
    refused = _exit_time(f"http://127.0.0.1:{_closed_port()}", work)
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        blackhole = _exit_time(f"http://127.0.0.1:{silent.getsockname()[1]}", work)
    finally:
        silent.close()
    return {"connection_refused_s": refused, "silent_server_s": blackhole}


def _row(name: str, value: str, ratio: str, target: str) -> str:
    return f"{name:<60} {value:>14} {ratio:>8} {target:>12}"


def _caller_rows(caller: dict[str, dict[str, float]]) -> list[str]:
    ours = caller["ShipperHandler"]
    rows = []
    for key, label in (
        ("info_us", "logger.info, wall"),
        ("info_cpu_us", "logger.info, caller-thread CPU"),
        ("error_us", "logger.error(exc_info=True), wall"),
        ("error_cpu_us", "logger.error(exc_info=True), caller-thread CPU"),
    ):
        for other, target in (
            ("FileHandler", "<= 1.0x"),
            ("logstash-async memory", ""),
            ("logstash-async SQLite", "<= 0.5x"),
        ):
            ratio = ours[key] / caller[other][key]
            rows.append(_row(f"{label}: shipper vs {other}", f"{ours[key]:.1f} us", f"{ratio:.2f}x", target))
    alone = caller.get("ShipperHandler (node unreachable)")
    walls = (("info_us", "logger.info, wall"), ("error_us", "logger.error(exc_info=True), wall"))
    if alone is not None:  # the handler's own cost: the node on the same two cores indexes nothing
        for key, label in walls:
            for other, target in (("FileHandler", "<= 1.0x"), ("logstash-async SQLite", "<= 0.5x")):
                ratio = f"{alone[key] / caller[other][key]:.2f}x"
                rows.append(
                    _row(f"{label}, node unreachable: vs {other}", f"{alone[key]:.1f} us", ratio, target)
                )
    for name, values in caller.items():
        figures = "/".join(f"{values[k]:.0f}" for k in ("info_us", "info_cpu_us", "error_us", "error_cpu_us"))
        rows.append(_row(f"  {name} (us: info wall/cpu, error wall/cpu)", figures, "", ""))
    return rows


def report(results: dict[str, Any]) -> str:
    lines = [_row("measure", "value", "ratio", "target"), "-" * 97, *_caller_rows(results["caller"])]
    spool = results["spool"]
    lines.append(
        _row("spool write (batches of 1000)", f"{spool['write_events_per_s']:,.0f}/s", "", ">= 20,000/s")
    )
    lines.append(_row("spool take + delete", f"{spool['take_delete_events_per_s']:,.0f}/s", "", ""))
    e2e = results["e2e"]
    bulk = e2e["helpers_bulk_events_per_s"]
    for key, label in (
        ("shipper_events_per_s", "end-to-end: log calls -> acknowledged, vs helpers.bulk"),
        ("spool_drain_events_per_s", "spooled documents -> acknowledged, vs helpers.bulk"),
    ):
        lines.append(_row(label, f"{e2e[key]:,.0f}/s", f"{e2e[key] / bulk:.2f}x", ">= 0.8x"))
    lines.append(_row("  helpers.bulk of the same documents", f"{bulk:,.0f}/s", "", ""))
    out = results["exit"]
    lines.append(
        _row("exit, node down: connection refused", f"{out['connection_refused_s']:.2f} s", "", "<= 2 s")
    )
    lines.append(
        _row(
            "exit, node down: server accepts, never answers", f"{out['silent_server_s']:.2f} s", "", "<= 2 s"
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PREFIX", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _measure_in_this_process(args.child[0], args.es_url, args.child[1], Path(args.child[2]))
    es = make_client(ElasticsearchSettings(url=args.es_url))
    steps: dict[str, Callable[[Path], Any]] = {
        "caller": lambda work: bench_caller(args.es_url, es, work),
        "spool": bench_spool,
        "e2e": lambda work: bench_e2e(args.es_url, es, work),
        "exit": bench_exit,
    }
    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-shipper-") as tmp:
        for name, step in steps.items():
            started = time.perf_counter()
            results[name] = step(Path(tmp))
            print(f"# {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
