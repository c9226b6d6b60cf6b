"""Exactness benchmark: `logloop analyze`, `logloop digest` and `logloop check` at 20,000 groups.

Seeds 2M error events in 20,000 groups over 28 daily indices (one shard each) on a node of its own,
computes the truth from the seeded arrays (numpy, no Elasticsearch), runs the three commands as
subprocesses and compares every count they report with the truth, exactly. It also runs, in the same
run, the single `terms` request that `main` used (top 1,000 groups by window count) to show what
the cut-offs lost, as the alternative the paged requests replace.

Shape (seeded, reproducible): Zipf(1) counts, so a few groups have ~190k events and thousands have
under 20 (many near any cut-off); 5% of the groups are first seen inside the last 7 days ("new"),
10% stop before it (quiet: the registry must still hold them), the rest run the whole 28 days; 20
hosts, 4 services, a version per 10 days.

Loading (2 shared cores): `_bulk` requests of 20,000 documents from 2 threads, `refresh_interval: -1`
and 0 replicas while loading, documents sorted by time so a request mostly hits one daily index,
then one refresh. The node's data dir is kept (`--keep`), and a later run that finds the same seeded
data (a marker document) skips the load.

Measured: wall time and peak RSS of each command (a small launcher's RUSAGE_CHILDREN), request cache
cleared before each run; analyze runs twice (first on an empty registry, then updating one).

    python bench/bench_groups.py [--port 9320] [--data-dir /tmp/logloop-bench-groups] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logloop import embedded  # noqa: E402
from shipper.schema import index_for, index_template, template_name  # noqa: E402

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
DAY_MS = 86_400_000
WINDOW_DAYS = 7
HOSTS = 20
SERVICES = ("billing", "checkout", "search", "mailer")
CHUNK = 20_000
LOAD_TIMEOUT_S = 1800.0
OLD_TOP = 1000  # the cut-off of the single terms request `main` used for the digest


@dataclass(frozen=True, kw_only=True)
class Seeded:
    """The seeded events as arrays: group index and timestamp (epoch ms) per event, sorted by time."""

    groups: int
    group: np.ndarray
    ts: np.ndarray
    start_ms: int
    until_ms: int


def group_key(index: int) -> str:
    return f"g{index:06d}-{(index * 2654435761) % 4294967296:08x}"


def seed(*, events: int, groups: int, days: int, seed_value: int) -> Seeded:
    """Counts, lifetimes and timestamps of every event (pure numpy, deterministic for a seed)."""
    rng = np.random.default_rng(seed_value)
    until_ms = int(UNTIL.timestamp() * 1000)
    start_ms = until_ms - days * DAY_MS
    window_ms = until_ms - WINDOW_DAYS * DAY_MS
    weights = 1.0 / np.arange(1, groups + 1)
    counts = np.maximum(1, np.floor(weights / weights.sum() * events)).astype(np.int64)
    counts[0] += events - int(counts.sum())
    rank = np.arange(groups)
    new = rank % 20 == 7
    quiet = (rank % 10 == 3) & ~new
    begin = np.where(rng.random(groups) < 0.7, start_ms, start_ms + rng.random(groups) * 21 * DAY_MS)
    begin = np.where(new, window_ms + rng.random(groups) * (WINDOW_DAYS * DAY_MS - 3_600_000), begin)
    end = np.where(quiet, start_ms + (7 + rng.random(groups) * 14) * DAY_MS, until_ms)
    begin = np.minimum(begin, end - 3_600_000)
    group = np.repeat(rank, counts).astype(np.int32)
    ts = (begin[group] + rng.random(events) * (end[group] - begin[group])).astype(np.int64)
    order = np.argsort(ts, kind="stable")
    return Seeded(groups=groups, group=group[order], ts=ts[order], start_ms=start_ms, until_ms=until_ms)


def truth(data: Seeded, *, until_ms: int, window_days: int) -> dict[str, np.ndarray]:
    """Per group: events in the window, in the previous window, before `until`, first and last seen."""
    window_ms = window_days * DAY_MS
    before = data.ts < until_ms
    w0 = before & (data.ts >= until_ms - window_ms)
    w1 = (data.ts < until_ms - window_ms) & (data.ts >= until_ms - 2 * window_ms)
    first = np.full(data.groups, np.iinfo(np.int64).max)
    np.minimum.at(first, data.group[before], data.ts[before])
    last = np.full(data.groups, -1, dtype=np.int64)
    np.maximum.at(last, data.group[before], data.ts[before])
    return {
        "window": np.bincount(data.group[w0], minlength=data.groups),
        "previous": np.bincount(data.group[w1], minlength=data.groups),
        "total": np.bincount(data.group[before], minlength=data.groups),
        "first": first,
        "last": last,
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _static_parts(groups: int) -> list[str]:
    """The JSON fields of each group's events that do not change from event to event."""
    parts = []
    for g in range(groups):
        etype = ("KeyError", "ValueError", "TimeoutError", "app.errors.PaymentDeclined")[g % 4]
        message = f"failure {g} in step {g % 37}"
        error: dict[str, Any] = {
            "type": etype,
            "message": message,
            "grouping_key": group_key(g),
            "grouping_name": f"{etype}: {message}",
        }
        if g % 2 == 0:
            error["stack_trace"] = (
                f'Traceback (most recent call last):\n  File "/srv/app/m{g % 50}.py", line {g % 400}, '
                f"in run\n    step_{g % 37}()\n{etype}: {message}\n"
            )
        fields = {
            "event": {"dataset": "logloop.log"},
            "log": {"level": "error", "logger": "app"},
            "message": f"{etype}: {message}",
            "error": error,
            "logloop": {"grouping_version": 1},
        }
        parts.append(json.dumps(fields)[1:-1])
    return parts


def bulk_bodies(data: Seeded, prefix: str) -> Iterator[bytes]:
    """NDJSON `_bulk` bodies of CHUNK create actions each, in time order."""
    static = _static_parts(data.groups)
    hosts = np.random.default_rng(1).integers(0, HOSTS, size=len(data.ts))
    for begin in range(0, len(data.ts), CHUNK):
        lines: list[str] = []
        for i in range(begin, min(begin + CHUNK, len(data.ts))):
            ms, g = int(data.ts[i]), int(data.group[i])
            moment = datetime.fromtimestamp(ms / 1000, UTC)
            version = f"1.{(ms - data.start_ms) // (10 * DAY_MS)}"
            lines.append(f'{{"create":{{"_index":"{index_for(moment, prefix)}"}}}}')
            lines.append(
                f'{{"@timestamp":"{_iso(ms)}","host":{{"name":"web-{hosts[i]:02d}"}},'
                f'"service":{{"name":"{SERVICES[g % 4]}","version":"{version}"}},{static[g]}}}'
            )
        yield ("\n".join(lines) + "\n").encode()


def _post(port: int, path: str, body: bytes, content_type: str = "application/x-ndjson") -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
    finally:
        connection.close()
    if response.status >= 300:
        raise SystemExit(f"POST {path} failed: HTTP {response.status} {str(answer)[:300]}")
    return dict(answer)


def load(es: Any, port: int, data: Seeded, prefix: str, days: int) -> float:
    """Bulk-load every event; returns the seconds it took (bounded by LOAD_TIMEOUT_S)."""
    es.indices.put_index_template(name=template_name(prefix), **index_template(prefix))
    names = sorted({index_for(UNTIL - timedelta(days=d + 1), prefix) for d in range(days)})
    fast = {
        "index.refresh_interval": "-1",
        "index.auto_expand_replicas": "false",
        "index.number_of_replicas": 0,
        "index.translog.durability": "async",
    }
    for name in names:
        if not es.indices.exists(index=name):
            es.indices.create(index=name, settings=fast)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Any] = []
        for body in bulk_bodies(data, prefix):
            if time.monotonic() - started > LOAD_TIMEOUT_S:
                raise SystemExit(f"loading took more than {LOAD_TIMEOUT_S:.0f} s; stopped")
            pending.append(pool.submit(_post, port, "/_bulk?filter_path=errors,items.*.error", body))
            while len(pending) >= 3:
                answer = pending.pop(0).result()
                if answer.get("errors"):
                    raise SystemExit(f"bulk item failed: {str(answer)[:300]}")
        for future in pending:
            if future.result().get("errors"):
                raise SystemExit("bulk item failed")
    es.indices.put_settings(
        index=",".join(names),
        settings={"index.refresh_interval": "5s", "index.translog.durability": "request"},
    )
    es.indices.refresh(index=",".join(names))
    return time.monotonic() - started


def marker_index(prefix: str) -> str:
    return f"{prefix}-bench-seed"  # outside the `<prefix>-20*` event pattern


def seeded_already(es: Any, prefix: str, fingerprint: str) -> bool:
    found = es.options(ignore_status=404).get(index=marker_index(prefix), id="seed")
    return bool(found.get("found")) and found["_source"].get("fingerprint") == fingerprint


def ensure_loaded(es: Any, port: int, data: Seeded, prefix: str, days: int, fingerprint: str) -> float | None:
    """Load unless this seed is already there; the load time in seconds, None when skipped."""
    if seeded_already(es, prefix, fingerprint):
        return None
    stale = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if stale:
        es.indices.delete(index=",".join(stale))
    seconds = load(es, port, data, prefix, days)
    es.index(index=marker_index(prefix), id="seed", document={"fingerprint": fingerprint}, refresh=True)
    return seconds


# A small launcher measures the command: ru_maxrss of a forked child counts its memory from before
# exec() too, so forking straight from this (large) process would report our own size.
_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"wall": wall, "cpu": cpu, "maxrss_kb": usage.ru_maxrss, "status": status}))
"""


def node_cpu_seconds(pid: int | None) -> float:
    """CPU time the node's process has used (user + system), from /proc: the node's share of a command."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, kw_only=True)
class Run:
    name: str
    wall: float
    cpu: float  # the command's own CPU seconds
    node_cpu: float  # the node's CPU seconds while it ran
    peak_mb: float


def run_command(name: str, node_pid: int | None, command: str, es_url: str, prefix: str, *extra: str) -> Run:
    """Wall, CPU (the command's and the node's) and peak RSS of one `logloop` command; exits if it fails."""
    env = {**os.environ, "LOGLOOP_ES_URL": es_url, "LOGLOOP_INDEX_PREFIX": prefix, "PYTHONPATH": str(ROOT)}
    env.pop("LOGLOOP_CONFIG", None)
    argv = [sys.executable, "-m", "logloop.cli", command, "--until", UNTIL.isoformat(), *extra]
    before = node_cpu_seconds(node_pid)
    launcher = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv], env=env, capture_output=True, text=True, check=False
    )
    node = node_cpu_seconds(node_pid) - before
    if launcher.returncode != 0 or not launcher.stdout.strip():
        raise SystemExit(f"logloop {command}: launcher failed: {launcher.stderr[-500:]}")
    result = json.loads(launcher.stdout.strip().splitlines()[-1])
    if result["status"] != 0:
        raise SystemExit(f"logloop {command} failed with status {result['status']}: {launcher.stderr[-500:]}")
    return Run(
        name=name, wall=result["wall"], cpu=result["cpu"], node_cpu=node, peak_mb=result["maxrss_kb"] / 1024
    )


def _ms(moment: datetime | None) -> int:
    return -1 if moment is None else round(moment.timestamp() * 1000)


def verify_registry(es: Any, prefix: str, data: Seeded, exact: dict[str, np.ndarray]) -> list[str]:
    """Every group in the registry, with the seeded counts and first occurrence; the differences."""
    from analyzers import registry
    from analyzers.store import Store

    window_start = data.until_ms - WINDOW_DAYS * DAY_MS
    problems: list[str] = []
    seen, new = 0, 0
    for group in registry.iter_groups(Store(es, prefix), lean=True):
        g = int(group.group_id[1:7])
        seen += 1
        new += group.status == "new"
        expected = (exact["window"][g], exact["previous"][g], exact["total"][g], exact["first"][g])
        got = (group.count_window, group.count_previous_window, group.count_total, _ms(group.first_seen))
        if tuple(int(v) for v in expected) != got:
            problems.append(f"registry {group.group_id}: {got} != {expected}")
    true_new = int((exact["first"] >= window_start).sum())
    if seen != data.groups:
        problems.append(f"registry holds {seen} groups, {data.groups} seeded")
    if new != true_new:
        problems.append(f"registry: {new} new groups, {true_new} true")
    return problems


def verify_digest(path: Path, data: Seeded, exact: dict[str, np.ndarray]) -> list[str]:
    report = json.loads(path.read_text())
    measures = {m["name"]: (m["current"], m["previous"]) for m in report["measures"]}
    window_start = data.until_ms - WINDOW_DAYS * DAY_MS
    expected = {
        "errors": (int(exact["window"].sum()), int(exact["previous"].sum())),
        "groups": (int((exact["window"] > 0).sum()), int((exact["previous"] > 0).sum())),
        "hosts": (HOSTS, HOSTS),
    }
    problems = [
        f"digest {name}: {measures[name]} != {value}"
        for name, value in expected.items()
        if measures[name] != value
    ]
    true_new = int((exact["first"] >= window_start).sum())
    if report["status_counts"]["new"] != true_new:
        problems.append(f"digest: {report['status_counts']['new']} new groups, {true_new} true")
    if report["active_groups"] != expected["groups"][0]:
        problems.append(f"digest: says {report['active_groups']} groups, {expected['groups'][0]} true")
    for row in report["top_groups"] + report["new_groups"]:
        g = int(row["key"][1:7])
        if (row["count"], row["previous_count"]) != (int(exact["window"][g]), int(exact["previous"][g])):
            problems.append(f"digest {row['key']}: {row['count']}/{row['previous_count']} events")
    return problems


def verify_check(es: Any, prefix: str, data: Seeded) -> tuple[float, list[str]]:
    """`logloop check` over the last day before UNTIL (in process: its CLI has no --until)."""
    from analyzers import check
    from analyzers.config import CheckConfig
    from analyzers.store import Store

    started = time.perf_counter()
    result = check.run_check(Store(es, prefix), config=CheckConfig(window=timedelta(days=1)), until=UNTIL)
    seconds = time.perf_counter() - started
    day = truth(data, until_ms=data.until_ms, window_days=1)
    true_new = {group_key(g) for g in np.flatnonzero(day["first"] >= data.until_ms - DAY_MS)}
    problems = []
    if result.errors != int(day["window"].sum()):
        problems.append(f"check: {result.errors} errors, {int(day['window'].sum())} true")
    if {group.group_id for group in result.new_groups} != true_new:
        problems.append(f"check: {len(result.new_groups)} new groups, {len(true_new)} true")
    return seconds, problems


def old_single_request(es: Any, prefix: str, data: Seeded, exact: dict[str, np.ndarray]) -> dict[str, int]:
    """What `main`'s digest request saw: the top OLD_TOP groups of one terms request, and `cardinality`."""
    window = {"gte": _iso(data.until_ms - WINDOW_DAYS * DAY_MS), "lt": _iso(data.until_ms)}
    response = es.search(
        index=f"{prefix}-20*",
        size=0,
        query={"range": {"@timestamp": window}},
        aggs={
            "groups": {"cardinality": {"field": "error.grouping_key"}},
            "keys": {
                "terms": {
                    "field": "error.grouping_key",
                    "size": OLD_TOP,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            },
        },
        request_cache=False,
    )
    buckets = response["aggregations"]["keys"]["buckets"]
    wrong = sum(b["doc_count"] != int(exact["window"][int(b["key"][1:7])]) for b in buckets)
    return {
        "groups returned": len(buckets),
        "groups true": int((exact["window"] > 0).sum()),
        "counts wrong": wrong,
        "cardinality": int(response["aggregations"]["groups"]["value"]),
    }


def measure_and_verify(es: Any, node: Any, data: Seeded, args: argparse.Namespace) -> int:
    exact = truth(data, until_ms=data.until_ms, window_days=WINDOW_DAYS)
    prefix = args.prefix
    es.options(ignore_status=404).indices.delete(index=f"{prefix}-groups")
    runs: list[Run] = []

    def measure(name: str, command: str, *extra: str) -> None:
        es.indices.clear_cache(index=f"{prefix}-20*", request=True)
        runs.append(run_command(name, node.pid, command, node.url, prefix, *extra))

    measure("analyze, empty registry", "analyze")
    problems = verify_registry(es, prefix, data, exact)
    for n in range(args.runs):
        measure(f"analyze, {data.groups:,} registered ({n + 1})", "analyze")
    problems += verify_registry(es, prefix, data, exact)
    out = Path(tempfile.mkdtemp(prefix="bench-groups-")) / "digest.json"
    for n in range(args.runs):
        measure(f"digest 7d ({n + 1})", "digest", "--format", "json", "-o", str(out))
        problems += verify_digest(out, data, exact)
    es.indices.clear_cache(index=f"{prefix}-20*", request=True)
    before = node_cpu_seconds(node.pid)
    check_seconds, check_problems = verify_check(es, prefix, data)
    runs.append(
        Run(
            name="check 1d (in process)",
            wall=check_seconds,
            cpu=float("nan"),
            node_cpu=node_cpu_seconds(node.pid) - before,
            peak_mb=float("nan"),
        )
    )
    problems += check_problems
    old = old_single_request(es, prefix, data, exact)
    print(f"\n{len(data.ts):,} events, {data.groups:,} groups, {args.days} daily indices (1 shard each)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'command':<34} {'wall s':>7} {'cpu s':>6} {'node cpu s':>10} {'peak MB':>8}")
    for run in runs:
        print(f"{run.name:<34} {run.wall:7.2f} {run.cpu:6.2f} {run.node_cpu:10.2f} {run.peak_mb:8.0f}")
    print("\nmain's single terms request (top 1,000 groups by window count) on the same data:")
    for name, value in old.items():
        print(f"  {name:<16} {value:>7,}")
    if problems:
        print(f"\n{len(problems)} count(s) differ from the seeded truth; first ones:")
        print("\n".join(f"  {p}" for p in problems[:20]))
        return 1
    print("\nevery count checked equals the seeded truth (registry: every group; digest; check)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9320, help="the benchmark's own embedded node")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/logloop-bench-groups"))
    parser.add_argument("--heap", default="1g")
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--prefix", default="benchgroups")
    parser.add_argument("--runs", type=int, default=2, help="runs of each measured command")
    parser.add_argument("--load-only", action="store_true", help="seed and load, measure nothing")
    parser.add_argument("--keep", action="store_true", help="leave the node running with its data")
    args = parser.parse_args()
    from elasticsearch import Elasticsearch

    node = embedded.start(args.port, args.data_dir, heap=args.heap)
    es = Elasticsearch(node.url, request_timeout=600)
    try:
        started = time.monotonic()
        data = seed(events=args.events, groups=args.groups, days=args.days, seed_value=args.seed)
        print(
            f"seeded {len(data.ts):,} events in {data.groups:,} groups in {time.monotonic() - started:.1f} s"
        )
        fingerprint = f"{args.events}/{args.groups}/{args.days}/{args.seed}/v1"
        seconds = ensure_loaded(es, args.port, data, args.prefix, args.days, fingerprint)
        print("data already loaded" if seconds is None else f"loaded in {seconds:.0f} s")
        if args.load_only:
            return 0
        return measure_and_verify(es, node, data, args)
    finally:
        es.close()
        if not args.keep:
            embedded.stop(args.port, args.data_dir)


if __name__ == "__main__":
    raise SystemExit(main())
