"""Digest benchmark: how `logloop digest` grows from 100k to 1M events in the window, against a naive
baseline that pulls every event into pandas, in one run.

Synthetic but shaped like a real service (seeded, reproducible): ~200 error groups with Zipf
frequencies (a few loud, a long tail; some first seen in this window), real-looking tracebacks,
error lines without traceback, timed operations with log-normal durations, user feedback, warnings,
info lines, and periodic shipper health documents; 20 hosts, 4 services, 3 versions. N events go
into the 7-day window, plus N/10 into the previous window (for the comparisons); `--history-weeks`
and `--previous-ratio` add more history (the screenshot uses 4 weeks at 0.9 so statuses look real: a
few groups escalate 4x in the last week, about one in nine is first seen in it).

Loading: daily indices from the real template, `refresh_interval: -1` while loading, parallel_bulk
(2 threads, 5,000-doc chunks) with auto ids (the shipper uses `_id = event.id`; the digest does not
care how documents were loaded), then one refresh.

Measured: `logloop digest --window 7d --until T --format html -o FILE` as a subprocess, wall time and
peak RSS (`getrusage(RUSAGE_CHILDREN).ru_maxrss` in a small launcher process, so the figure is the
digest's, not this script's), 3 runs per size (median wall, max RSS). Baseline (100k only,
`--naive-max` to change): a child that reads every event of both windows with search_after into a
pandas DataFrame and computes the same totals and per-group counts.

    python bench/bench_digest.py [--es-url http://127.0.0.1:9200] [--sizes 100000,1000000] [--keep]
    python bench/bench_digest.py --seed-only --sizes 3000 --prefix logloop-demo --keep   # small demo data

Root-cause material (`--root-cause-ratio`): every size is measured twice, the digest as shipped (with
root-cause material for the top 20 groups) and with `[rootcause] enabled = false`, and the table gives
their ratio. `--groups` sets the number of error groups (5,000 for the issue's budget):

    python bench/bench_digest.py --es-url http://127.0.0.1:9370 --sizes 2000000 --groups 5000 \
        --runs 3 --root-cause-ratio [--keep]
    python bench/bench_digest.py --es-url ... --prefix bench-... --reuse --sizes 2000000 \
        --runs 5 --root-cause-ratio --keep   # measure again on kept indices, without loading
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipper.schema import index_for, index_template, template_name  # noqa: E402

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = timedelta(days=7)
GROUPS = 200
HOSTS = [f"web-{i:02d}" for i in range(1, 21)]
SERVICES = ["billing", "checkout", "search", "mailer"]
VERSIONS = ["2.3.0", "2.3.1", "2.4.0"]
OPERATIONS = ["db.query", "http.get", "cache.fill", "report.render", "export.csv", "auth.check"]
EXCEPTIONS = [
    ("builtins.KeyError", "'{w}'"),
    ("builtins.ValueError", "invalid literal for int() with base 10: '{w}'"),
    ("builtins.TimeoutError", "timed out after {n} s talking to {w}"),
    ("builtins.ZeroDivisionError", "division by zero"),
    (
        "requests.exceptions.ConnectionError",
        "HTTPSConnectionPool(host='{w}.internal', port=443): Max retries",
    ),
    ("app.errors.PaymentDeclined", "card declined for order {n}"),
    ("sqlalchemy.exc.OperationalError", "(psycopg2.OperationalError) could not connect to server {w}"),
    ("builtins.AttributeError", "'NoneType' object has no attribute '{w}'"),
]
WORDS = ["user", "invoice", "cart", "token", "sku", "tenant", "payload", "session", "region", "quota"]
FEEDBACK = [
    ("bug", "Export button does nothing on {w} page"),
    ("feature", "Please add a CSV export for {w}"),
    ("usability", "Hard to find the {w} settings"),
]


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    etype: str
    message: str
    trace: str
    service: str
    new: bool


def make_groups(rng: np.random.Generator, count: int = GROUPS) -> list[Group]:
    groups = []
    for rank in range(count):
        etype, template = EXCEPTIONS[rank % len(EXCEPTIONS)]
        word = WORDS[rank % len(WORDS)]
        message = template.format(w=f"{word}_{rank}", n=rank)
        frames = "".join(
            f'  File "/srv/app/{WORDS[(rank + f) % 10]}/module_{f}.py", '
            f"line {10 + (rank * 7 + f * 13) % 400}, in handler_{f}\n    result = step_{f}(payload, ctx)\n"
            for f in range(3 + rank % 6)
        )
        trace = f"Traceback (most recent call last):\n{frames}{etype}: {message}\n"
        groups.append(
            Group(
                key=hashlib.sha1(f"group-{rank}".encode()).hexdigest(),
                title=f"{etype.rsplit('.', 1)[-1]}: {message}",
                etype=etype,
                message=message,
                trace=trace,
                service=SERVICES[rank % len(SERVICES)],
                new=rank % 9 == 4,  # about 22 groups first seen in this window
            )
        )
    return groups


def zipf_weights(count: int, exponent: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    return weights / weights.sum()


PYTHONS = ["3.12.1 (CPython)"] * 15 + ["3.10.4 (CPython)"] * 5  # per host (HOSTS order)


def generate(
    n: int, start: datetime, span: timedelta, seed: int, previous: bool, groups_count: int = GROUPS
) -> Iterator[dict[str, Any]]:
    """`n` documents with timestamps uniform in [start, start + span)."""
    rng = np.random.default_rng(seed)
    groups = make_groups(np.random.default_rng(0), groups_count)
    escalating = np.array([1.0 if previous or g % 13 != 6 else 4.0 for g in range(len(groups))])
    if previous:
        groups = [g for g in groups if not g.new] or groups
    weights = zipf_weights(len(groups)) * escalating[: len(groups)]
    weights /= weights.sum()
    kinds = rng.choice(6, size=n, p=[0.58, 0.15, 0.05, 0.15, 0.01, 0.06])
    offsets = rng.random(n) * span.total_seconds()
    group_ix = rng.choice(len(groups), size=n, p=weights)
    hosts = rng.integers(0, len(HOSTS), size=n)
    versions = rng.choice(len(VERSIONS), size=n, p=[0.2, 0.3, 0.5])
    # Planted causes for the root-cause material: every 7th group only on the Python 3.10 hosts
    # (the last five), every 11th only on the newest version.
    tracebacks = kinds == 1
    on_old_python = tracebacks & (group_ix % 7 == 3)
    hosts[on_old_python] = len(HOSTS) - 5 + hosts[on_old_python] % 5
    versions[tracebacks & (group_ix % 11 == 5)] = len(VERSIONS) - 1
    durations = rng.lognormal(mean=3.5, sigma=1.0, size=n)  # ms
    start_s = start.timestamp()
    for i in range(n):
        at = datetime.fromtimestamp(start_s + offsets[i], tz=UTC)
        doc: dict[str, Any] = {
            "@timestamp": at.isoformat(timespec="milliseconds"),
            "event": {"dataset": "logloop.log"},
            "log": {"level": "info", "logger": "app"},
            "message": "request handled",
            "service": {"name": SERVICES[i % 4], "version": VERSIONS[versions[i]]},
            "host": {"name": HOSTS[hosts[i]]},
            "process": {"pid": 1000 + hosts[i]},
        }
        kind = kinds[i]
        if kind == 1:  # traceback
            group = groups[group_ix[i]]
            doc["log"]["level"] = "error"
            doc["message"] = group.title
            doc["service"]["name"] = group.service
            doc["error"] = {
                "type": group.etype,
                "message": group.message,
                "stack_trace": group.trace,
                "grouping_key": group.key,
                "grouping_name": group.title,
            }
            doc["logloop"] = {"grouping_version": 1, "env": {"python": PYTHONS[hosts[i]]}}
        elif kind == 2:  # error line without traceback
            word = WORDS[group_ix[i] % 10]
            doc["log"]["level"] = "error"
            doc["message"] = f"could not refresh {word} {i % 97}"
            doc["logloop"] = {
                "template": f"could not refresh {word} %s",
                "env": {"python": PYTHONS[hosts[i]]},
            }
        elif kind == 3:  # timed operation
            op = OPERATIONS[group_ix[i] % len(OPERATIONS)]
            factor = 1.0 + (0.6 if previous is False and op == "report.render" else 0.0)
            doc["event"].update(
                action=op, duration=int(durations[i] * factor * (1 + OPERATIONS.index(op)) * 1e6)
            )
            doc["message"] = f"{op} done"
        elif kind == 4:  # feedback
            fb_kind, text = FEEDBACK[group_ix[i] % 3]
            doc["event"]["dataset"] = "logloop.feedback"
            doc["logloop"] = {"feedback": {"kind": fb_kind}}
            doc["message"] = text.format(w=WORDS[i % 10])
        elif kind == 5:
            doc["log"]["level"] = "warning"
            doc["message"] = "slow response"
        yield doc
    # shipper health: one report per host and hour, cumulative counters
    hours = int(span.total_seconds() // 3600)
    for h_ix, host in enumerate(HOSTS):
        for hour in range(hours):
            at = start + timedelta(hours=hour, minutes=h_ix)
            yield {
                "@timestamp": at.isoformat(timespec="milliseconds"),
                "event": {"dataset": "logloop.shipper"},
                "host": {"name": host},
                "process": {"pid": 1000 + h_ix},
                "logloop": {
                    "shipper": {
                        "sent": hour * 500,
                        "queued": 3,
                        "retried": hour // 10,
                        "dropped": hour // 50 if h_ix == 3 else 0,
                        "dead_lettered": 1 if h_ix == 5 and hour > 100 else 0,
                        "spooled": 0,
                        "spool_backlog": (hour * 7) % 40 if h_ix == 3 else 0,
                    }
                },
            }


def prepare(es: Any, prefix: str, weeks: int) -> list[str]:
    """Install the template and create the daily indices with refresh disabled."""
    es.indices.put_index_template(name=template_name(prefix), **index_template(prefix))
    names = [index_for(UNTIL - timedelta(days=d + 1), prefix) for d in range(7 * weeks)]
    for name in names:
        if not es.indices.exists(index=name):
            es.indices.create(index=name, settings={"index.refresh_interval": "-1"})
        else:
            es.indices.put_settings(index=name, settings={"index.refresh_interval": "-1"})
    return names


def load(es: Any, prefix: str, docs: Iterator[dict[str, Any]]) -> int:
    from elasticsearch import helpers

    def actions() -> Iterator[dict[str, Any]]:
        for doc in docs:
            moment = datetime.fromisoformat(doc["@timestamp"])
            yield {"_index": index_for(moment, prefix), "_source": doc}

    count = 0
    for ok, _item in helpers.parallel_bulk(
        es,
        actions(),
        thread_count=2,
        chunk_size=5000,
        max_chunk_bytes=50 << 20,
        queue_size=4,
        raise_on_error=True,
    ):
        count += ok
    return count


def finish_load(es: Any, names: list[str]) -> None:
    es.indices.put_settings(index=",".join(names), settings={"index.refresh_interval": "5s"})
    es.indices.refresh(index=",".join(names))


# A small launcher measures the command: ru_maxrss counts a forked child's memory from before exec()
# too, so forking straight from this (large, data-generating) process would report our own size.
_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "maxrss_kb": usage.ru_maxrss, "status": status}))
"""


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds and peak RSS (MB, RUSAGE_CHILDREN of a small launcher) of the command, exit status."""
    launcher = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv], env=env, capture_output=True, text=True, check=False
    )
    if launcher.returncode != 0 or not launcher.stdout.strip():
        sys.stderr.write(launcher.stderr)
        return 0.0, 0.0, launcher.returncode or 1
    result = json.loads(launcher.stdout.strip().splitlines()[-1])
    if result["status"] != 0:
        sys.stderr.write(launcher.stderr)
    return float(result["wall"]), result["maxrss_kb"] / 1024, int(result["status"])


def _digest_command(es_url: str, prefix: str, *, root_causes: bool) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "LOGLOOP_ES_URL": es_url, "LOGLOOP_INDEX_PREFIX": prefix}
    env.pop("LOGLOOP_CONFIG", None)
    out = Path(tempfile.mkdtemp(prefix="bench-digest-")) / "digest.html"
    if not root_causes:
        config = out.with_name("logloop.toml")
        config.write_text("[rootcause]\nenabled = false\n", encoding="utf-8")
        env["LOGLOOP_CONFIG"] = str(config)
    argv = [sys.executable, "-m", "logloop.cli", "digest", "--window", "7d", "--until", UNTIL.isoformat()]
    return [*argv, "--format", "html", "-o", str(out)], env


def measure_digest(
    es: Any, es_url: str, prefix: str, runs: int, *, variants: tuple[bool, ...] = (True,)
) -> list[tuple[float, float]]:
    """Median wall and max peak RSS of `runs` digests per variant (with / without root-cause
    material), the variants interleaved run by run so that load on a shared machine hits both alike.
    Each run clears Elasticsearch's request cache first (so every run really aggregates; the OS page
    cache stays warm, as on a live node)."""
    commands = [_digest_command(es_url, prefix, root_causes=variant) for variant in variants]
    walls: list[list[float]] = [[] for _ in variants]
    rss: list[list[float]] = [[] for _ in variants]
    for _ in range(runs):
        for index, (argv, env) in enumerate(commands):
            es.indices.clear_cache(index=f"{prefix}-20*", request=True)
            wall, peak, status = run_child(argv, env)
            if status != 0:
                raise SystemExit(f"logloop digest failed with status {status}")
            walls[index].append(wall)
            rss[index].append(peak)
    return [(statistics.median(w), max(r)) for w, r in zip(walls, rss, strict=True)]


def measure_imports() -> tuple[float, float]:
    """What the digest costs before any query: interpreter start and importing the digest modules."""
    wall, peak, _ = run_child(
        [sys.executable, "-c", "import analyzers.digest, analyzers.digest_cli"], dict(os.environ)
    )
    return wall, peak


def naive(es_url: str, prefix: str) -> None:
    """Baseline: every event of both windows through search_after into pandas, then the same counts."""
    import pandas as pd
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url, request_timeout=120)
    start = (UNTIL - 2 * WINDOW).isoformat()
    query = {"range": {"@timestamp": {"gte": start, "lt": UNTIL.isoformat()}}}
    fields = [
        "@timestamp",
        "log.level",
        "error.grouping_key",
        "error.stack_trace",
        "event.dataset",
        "event.action",
        "event.duration",
        "host.name",
        "logloop.template",
        "logloop.feedback.kind",
    ]
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        body: dict[str, Any] = {
            "size": 10_000,
            "query": query,
            "sort": [{"@timestamp": "asc"}, {"_doc": "asc"}],
            "_source": fields,
        }
        if after:
            body["search_after"] = after
        hits = es.search(index=f"{prefix}-20*", **body)["hits"]["hits"]
        if not hits:
            break
        rows.extend(pd.json_normalize([h["_source"] for h in hits]).to_dict("records"))
        after = hits[-1]["sort"]
    frame = pd.DataFrame(rows)
    frame["@timestamp"] = pd.to_datetime(frame["@timestamp"])
    current = frame[frame["@timestamp"] >= pd.Timestamp(UNTIL - WINDOW)]
    summary = {
        "events": len(current),
        "errors": int((current["log.level"] == "error").sum()),
        "groups": current["error.grouping_key"].value_counts().head(10).to_dict(),
        "daily": {str(k): v for k, v in current.groupby(current["@timestamp"].dt.date).size().items()},
        "p95": current.groupby("event.action")["event.duration"].quantile(0.95).to_dict(),
    }
    print(json.dumps(summary, default=str)[:200])


def measure_naive(es_url: str, prefix: str) -> tuple[float, float]:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--naive-run",
        "--es-url",
        es_url,
        "--prefix",
        prefix,
    ]
    wall, peak, status = run_child(argv, dict(os.environ))
    if status != 0:
        raise SystemExit(f"naive baseline failed with status {status}")
    return wall, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--sizes", default="100000,1000000", help="events in the window, ascending")
    parser.add_argument("--prefix", default=None, help="index prefix (default: a fresh bench-... prefix)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-max", type=int, default=100_000, help="run the baseline up to this size")
    parser.add_argument("--keep", action="store_true", help="keep the indices (default: delete them)")
    parser.add_argument("--history-weeks", type=int, default=1, help="weeks of history before the window")
    parser.add_argument("--previous-ratio", type=float, default=0.1, help="events per history week / N")
    parser.add_argument("--seed-only", action="store_true", help="load the data and stop (for screenshots)")
    parser.add_argument("--groups", type=int, default=GROUPS, help="error groups (default 200)")
    parser.add_argument(
        "--root-cause-ratio", action="store_true", help="also time the digest without root-cause material"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the --prefix indices as loaded (no loading)"
    )
    parser.add_argument("--naive-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_run:
        naive(args.es_url, args.prefix)
        return 0

    from elasticsearch import Elasticsearch

    es = Elasticsearch(args.es_url, request_timeout=300)
    prefix = args.prefix or f"bench-{uuid.uuid4().hex[:8]}"
    sizes = [int(s) for s in args.sizes.split(",")]
    names = prepare(es, prefix, weeks=args.history_weeks + 1)
    rows = []
    loaded = 0
    try:
        for step, size in enumerate(sizes):
            started = time.perf_counter()
            more = 0 if args.reuse else size - loaded
            window_docs = generate(
                more, UNTIL - WINDOW, WINDOW, seed=1 + step, previous=False, groups_count=args.groups
            )
            count = load(es, prefix, window_docs) if more else 0
            for week in range(2, args.history_weeks + 2) if more else ():
                older = generate(
                    int(more * args.previous_ratio),
                    UNTIL - week * WINDOW,
                    WINDOW,
                    seed=100 * week + step,
                    previous=True,
                    groups_count=args.groups,
                )
                count += load(es, prefix, older)
            finish_load(es, names)
            load_s = time.perf_counter() - started
            loaded = size
            if more:
                print(
                    f"loaded {count:,} documents ({size:,} in the window) in {load_s:.0f} s "
                    f"({count / load_s:,.0f} docs/s)",
                    flush=True,
                )
            if args.seed_only:
                continue
            es.indices.put_settings(index=",".join(names), settings={"index.refresh_interval": "-1"})
            variants = (True, False) if args.root_cause_ratio else (True,)
            measured = measure_digest(es, args.es_url, prefix, args.runs, variants=variants)
            wall, rss = measured[0]
            if args.root_cause_ratio:
                bare_wall, bare_rss = measured[1]
                print(
                    f"  without root-cause material: {bare_wall:.2f} s wall, {bare_rss:.0f} MB; with it: "
                    f"{wall / bare_wall:.2f}x the wall time, {rss / bare_rss:.2f}x the peak RSS",
                    flush=True,
                )
            naive_wall, naive_rss = (
                measure_naive(args.es_url, prefix) if size <= args.naive_max else (None, None)
            )
            rows.append((size, wall, rss, naive_wall, naive_rss))
            print(f"  digest: {wall:.2f} s wall (median of {args.runs}), {rss:.0f} MB peak RSS", flush=True)
            if naive_wall is not None:
                print(f"  naive pandas baseline: {naive_wall:.2f} s, {naive_rss:.0f} MB", flush=True)
    finally:
        if not args.keep:
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
            es.indices.delete_index_template(name=template_name(prefix))
        else:
            print(f"kept indices {prefix}-* (delete them by name when done)")
    if rows:
        print_table(rows)
        imports_wall, imports_rss = measure_imports()
        print(f"(of which interpreter start + imports, no query: {imports_wall:.2f} s, {imports_rss:.0f} MB)")
    return 0


def print_table(rows: list[tuple[int, float, float, float | None, float | None]]) -> None:
    print("\nevents in window | digest wall | digest peak RSS | naive wall | naive RSS | naive/digest wall")
    print("---:|---:|---:|---:|---:|---:")
    for size, wall, rss, naive_wall, naive_rss in rows:
        ratio = f"{naive_wall / wall:.1f}x" if naive_wall else "–"
        naive_cells = f"{naive_wall:.2f} s | {naive_rss:.0f} MB" if naive_wall else "– | –"
        print(f"{size:,} | {wall:.2f} s | {rss:.0f} MB | {naive_cells} | {ratio}")
    first, last = rows[0], rows[-1]
    if len(rows) > 1:
        print(
            f"\ngrowth {first[0]:,} -> {last[0]:,} events ({last[0] / first[0]:.0f}x): "
            f"wall {last[1] / first[1]:.2f}x, peak RSS {last[2] / first[2]:.2f}x"
        )
    print(
        f"target at the largest size: <= 10 s and <= 500 MB -> "
        f"{'met' if last[1] <= 10 and last[2] <= 500 else 'NOT met'}"
    )


if __name__ == "__main__":
    sys.exit(main())
