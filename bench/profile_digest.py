"""Where one digest spends its time: its stages and every Elasticsearch request, timed by action.

Runs `analyzers.digest.build_digest` in process (and renders the HTML) against a node holding a
benchmark's data, `bench/bench_digest.py --keep` (a `bench-...` prefix, 2M events in 5,000 groups
for issue 13's budget) or `bench/bench_groups.py --keep` (prefix `benchgroups`, 20,000 groups), and
prints the wall time, this process's CPU, how many groups got root-cause material, the seconds of
each stage and, per action, the number of requests and their seconds. The shard request cache is
cleared first. To compare two trees, run it alternately with each first on PYTHONPATH:

    PYTHONPATH=/path/to/tree python bench/profile_digest.py --port 9330 --prefix bench-... [--bare]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from profile_analyze import UNTIL, print_requests, timed_store  # bench/ is this script's path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9320)
    parser.add_argument("--prefix", default="benchgroups")
    parser.add_argument("--bare", action="store_true", help="without root-cause material")
    args = parser.parse_args()
    from elasticsearch import Elasticsearch

    from analyzers import digest, digest_insights, rootcause_queries
    from analyzers.digest_options import DigestOptions

    client = Elasticsearch(f"http://127.0.0.1:{args.port}", request_timeout=600)
    store, spent = timed_store(client, args.prefix)
    stages: dict[str, float] = defaultdict(float)

    def staged(module: Any, name: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                stages[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] += time.perf_counter() - started

        setattr(module, name, timed)

    for module, name in (
        (digest, "fetch"),
        (digest, "group_rows"),
        (digest, "build_report"),
        (digest_insights, "gather"),
        (rootcause_queries, "fetch"),
        (digest, "draw"),
    ):
        staged(module, name)
    client.indices.clear_cache(index=f"{args.prefix}-20*", request=True)
    wall, own = time.perf_counter(), time.process_time()
    built = digest.build_digest(
        store,
        timedelta(days=7),
        UNTIL,
        UNTIL,
        options=DigestOptions(root_causes=not args.bare),
    )
    built.render("html")
    wall, own = time.perf_counter() - wall, time.process_time() - own
    report = built.report
    print(
        f"wall {wall:.2f} s, own CPU {own:.2f} s, {report.active_groups:,} active groups, "
        f"{len(report.new_groups):,} new, root-cause material for {len(report.insights.root_causes)}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    for stage, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"  stage {stage:<38} {seconds:7.2f} s")
    print_requests(spent)
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
