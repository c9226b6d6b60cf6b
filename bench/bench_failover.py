"""Benchmark of delivery when a cluster node dies: one URL vs several, in one run on one machine.

    python bench/bench_failover.py [--events 10000] [--budget 60] [--json /tmp/bench_failover.json]

Starts a 3-node cluster on loopback (127.0.0.1:9340-9342, from the embedded distribution, under
/tmp; stopped at the end), ships N events once to warm up, then:
  1. baseline: a handler given all three URLs delivers N events with every node up;
  2. failover: node 9340 is SIGKILLed; a handler given all three URLs (9340 first) delivers N events;
  3. one URL: a handler given only 9340 (dead) gets the same N events; what it delivered within the
     same time budget is counted, then 9340 is restarted and its catch-up time measured.
Prints log->acknowledged seconds for each and the ratios (failover / baseline), and checks that every
event arrived exactly once in every case.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kibana.setup import install_template  # noqa: E402
from logloop import embedded  # noqa: E402
from shipper import schema  # noqa: E402
from shipper.connection import ElasticsearchSettings, make_client  # noqa: E402
from shipper.handler import ShipperHandler  # noqa: E402

CLUSTER = embedded.Cluster(
    name="logloop-bench-failover", http_ports=(9340, 9341, 9342), transport_ports=(9360, 9361, 9362)
)


def _count(client: Any, prefix: str) -> tuple[int, int]:
    """(documents, distinct event ids) of the log events under `prefix`, counted exactly (paged)."""
    client.indices.refresh(index=f"{prefix}-*", allow_no_indices=True)
    ids: list[str] = []
    after: list[Any] | None = None
    while True:
        page = client.search(
            index=f"{prefix}-*",
            query={"term": {"event.dataset": schema.DATASET_LOG}},
            sort=[{"event.id": "asc"}],
            size=10_000,
            source=False,
            search_after=after,
            allow_no_indices=True,
        )
        hits = page["hits"]["hits"]
        ids.extend(hit["sort"][0] for hit in hits)
        if len(hits) < 10_000:
            return len(ids), len(set(ids))
        after = hits[-1]["sort"]


def _ship(
    urls: list[str], prefix: str, spool: Path, events: int, budget: float
) -> tuple[ShipperHandler, float]:
    """Log `events` records through a fresh handler; (handler, seconds until all acknowledged or -1)."""
    handler = ShipperHandler(
        "bench-failover",
        es_url=urls,
        index_prefix=prefix,
        spool_path=spool,
        retry_max_delay=1.0,
        request_timeout=5.0,
    )
    logger = logging.getLogger(f"bench.failover.{prefix}")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    start = time.perf_counter()
    for i in range(events):
        logger.info("failover %d", i)
    delivered = handler.wait_delivered(budget)
    return handler, (time.perf_counter() - start) if delivered else -1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds each case may take")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="logloop-bench-failover-", dir="/tmp"))
    root.chmod(0o755)
    work = Path(tempfile.mkdtemp(prefix="logloop-bench-failover-spool-"))
    results: dict[str, Any] = {"events": args.events}
    try:
        embedded.start_cluster(CLUSTER, root)
        client = make_client(ElasticsearchSettings(url=CLUSTER.urls[1:], request_timeout=30))
        urls = list(CLUSTER.urls)
        for prefix in ("bench-warmup", "bench-baseline", "bench-failover", "bench-one-url"):
            install_template(client, prefix)
        # Warm-up (not reported): the JVMs' first bulk requests, the first replica allocations.
        handler, _ = _ship(urls, "bench-warmup", work / "w.sqlite", args.events, args.budget)
        handler.close()

        handler, seconds = _ship(urls, "bench-baseline", work / "a.sqlite", args.events, args.budget)
        handler.close()
        results["baseline_s"] = round(seconds, 2)
        results["baseline_docs"] = _count(client, "bench-baseline")

        first = CLUSTER.http_ports[0]
        embedded.kill(first, root / str(first))
        handler, seconds = _ship(urls, "bench-failover", work / "b.sqlite", args.events, args.budget)
        handler.close()
        results["failover_s"] = round(seconds, 2)
        results["failover_docs"] = _count(client, "bench-failover")

        handler, seconds = _ship([urls[0]], "bench-one-url", work / "c.sqlite", args.events, args.budget)
        results["one_url_docs_within_budget"] = _count(client, "bench-one-url")
        restart = time.perf_counter()
        embedded.start(
            first,
            root / str(first),
            heap="256m",
            transport_port=CLUSTER.transport_ports[0],
            extra=CLUSTER.settings(),
        )
        caught_up = handler.wait_delivered(args.budget * 4)
        results["one_url_catch_up_after_restart_s"] = (
            round(time.perf_counter() - restart, 2) if caught_up else -1
        )
        handler.close()
        results["one_url_docs"] = _count(client, "bench-one-url")
        client.close()
    finally:
        for port in CLUSTER.http_ports:
            embedded.stop(port, root / str(port))
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    if results.get("baseline_s", -1) > 0 and results.get("failover_s", -1) > 0:
        results["failover_vs_baseline"] = round(results["failover_s"] / results["baseline_s"], 2)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    expected = [args.events, args.events]
    exact = all(
        list(results.get(key, ())) == expected for key in ("baseline_docs", "failover_docs", "one_url_docs")
    )
    print(
        "every event exactly once in every case"
        if exact
        else "MISMATCH: see the *_docs (documents, distinct ids)"
    )
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
