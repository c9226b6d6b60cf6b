"""Where one `logloop analyze` run spends its time: every Elasticsearch request timed, by action.

Runs `analyzers.analyze.run` in process against the node `bench/bench_groups.py --keep` left
running (its seeded 2M events in 20,000 groups), and prints the run's wall time, this process's CPU,
the node's CPU (`_nodes/stats`, before and after) and, per action, the number of requests and their
seconds. `--serial` turns the read-ahead off, so each action's seconds are its own and not shared
with the page aggregated meanwhile. To compare two trees, run it alternately with each tree first on
PYTHONPATH (the load drifts):

    PYTHONPATH=/path/to/tree python bench/profile_analyze.py [--port 9320] [--empty] [--serial]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)  # bench_groups.UNTIL


def node_cpu_seconds(client: Any) -> float:
    nodes = client.nodes.stats(metric="process")["nodes"]
    return sum(node["process"]["cpu"]["total_in_millis"] for node in nodes.values()) / 1000


Spent = dict[str, list[float]]  # action -> [requests, seconds]


def timed_store(client: Any, prefix: str) -> tuple[Any, Spent]:
    """A store on `client` whose searches and bulk requests add their count and seconds to the
    returned table, by action (the table fills as the store is used)."""
    from analyzers.store import Store

    spent: Spent = defaultdict(lambda: [0, 0.0])

    @contextlib.contextmanager
    def counted(action: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent[action][0] += 1
            spent[action][1] += time.perf_counter() - started

    class TimedStore(Store):
        def search(self, *, index: str, body: Any, action: str = "search") -> dict[str, Any]:
            with counted(action):
                return super().search(index=index, body=body, action=action)

        def bulk(self, *, operations: Any, action: str, refresh: bool = False) -> int:
            with counted(action):
                return super().bulk(operations=operations, action=action, refresh=refresh)

    return TimedStore(client, prefix), spent


def print_requests(spent: Spent) -> None:
    """Each action's requests and seconds, the slowest first."""
    for action, (count, seconds) in sorted(spent.items(), key=lambda item: -item[1][1]):
        print(f"  {action:<44} {int(count):5d} requests {seconds:7.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9320)
    parser.add_argument("--prefix", default="benchgroups")
    parser.add_argument("--empty", action="store_true", help="delete the registry first")
    parser.add_argument("--serial", action="store_true", help="no read-ahead: each action timed alone")
    args = parser.parse_args()
    from elasticsearch import Elasticsearch

    from analyzers import analyze, group_pages
    from analyzers.config import AnalyzeConfig

    client = Elasticsearch(f"http://127.0.0.1:{args.port}", request_timeout=600)
    store, spent = timed_store(client, args.prefix)

    def in_order(items: Iterator[Any]) -> Iterator[Any]:
        return items

    if args.serial:
        group_pages.read_ahead = in_order  # type: ignore[assignment]
    if args.empty:
        client.options(ignore_status=404).indices.delete(index=f"{args.prefix}-groups")
    client.indices.clear_cache(index=f"{args.prefix}-20*", request=True)
    node, wall, own = node_cpu_seconds(client), time.perf_counter(), time.process_time()
    result = analyze.run(store, config=AnalyzeConfig(), until=UNTIL)
    wall, own = time.perf_counter() - wall, time.process_time() - own
    time.sleep(1.5)  # the node's CPU counter is refreshed about once a second
    node = node_cpu_seconds(client) - node
    print(
        f"wall {wall:.2f} s, own CPU {own:.2f} s, node CPU {node:.2f} s, {len(result.groups):,} groups, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print_requests(spent)
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
