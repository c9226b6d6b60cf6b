"""What `logloop check` reports beside the error rate: the cluster's room and the shippers' troubles.

- **Shard limit.** A cluster refuses to create an index once its open shards would exceed
  `cluster.max_shards_per_node` x data nodes; with daily indices that day's events then wait (the
  shipper retries them, counting `shard_limit_retries`). WARNING from `[check] shards_warning`
  (default 80 %) of the limit, CRITICAL from `shards_critical` (95 %) or as soon as the next daily
  index (its shards and replicas as the cluster simulates it: the winning index template's) would not
  fit. Closed indices do not count (the limit counts open ones). Another template winning the next
  daily index over logloop's is CRITICAL too: its mapping is not the one the analyzers need.
- **Shards a day** (the growth of a fleet): the latest whole day's index (yesterday's, UTC) is measured
  by `_cat/indices`; past `[check] shard_size_warning_gb` (50) or 200M documents a primary shard,
  WARNING, and from half of the 2,147,483,519 documents one shard can hold at all, CRITICAL (a day
  twice as busy would have documents refused). The text names the `[indices] shards` a day needs.
- **Disk watermarks** (only where the cluster enforces them, `threshold_enabled`): past the low
  watermark a node takes no new shards (tomorrow's index may have nowhere to go): WARNING; past the
  high one shards move away, and at the flood stage indices turn read-only: CRITICAL. Watermarks
  are percentages or ratios of used space (capped by their `max_headroom`) or absolute free space.
- **Shippers** (from their `logloop.shipper` health documents in the window): documents dropped or
  dead-lettered, and documents retried because the cluster refused to create an index (a shard
  limit). Counters are cumulative per process (`process.entity_id`: a reused pid is another
  process), so what a process counted within the window is its last report's value minus its first
  report's: WARNING for any of them.

Pure functions turn the API responses into findings; `assess` is the one function that asks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from analyzers import queries
from analyzers.check import CRITICAL, OK, STATE_NAMES, WARNING
from analyzers.config import CheckConfig
from analyzers.exceptions import AnalyzerError
from analyzers.store import Store
from analyzers.wording import counted
from shipper import schema
from shipper.schema import DATASET_SHIPPER

SHIPPER_TROUBLES: Final = ("dropped", "dead_lettered", "shard_limit_retries")
GB: Final = 1 << 30
LUCENE_MAX_DOCS: Final = 2_147_483_519  # documents one shard can hold; past it a write is refused
DOCS_WARNING: Final = 200_000_000  # documents a shard holds well (Elasticsearch's sizing advice)
_SHARD_FILL: Final = 0.8  # shards suggested for a day are sized to 80 % of the advice: room to grow
_DISK: Final = "cluster.routing.allocation.disk."
_BYTES: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)\s*$", re.IGNORECASE)
_UNITS: Final = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One thing worth saying in the check line, with its Nagios state and perfdata (or "")."""

    state: int
    text: str
    perfdata: str = ""


@dataclass(frozen=True, kw_only=True)
class ShardUse:
    shards: int
    per_node_limit: int
    data_nodes: int
    next_index: int = 2  # shards the next daily index asks for (see `next_index_shards`)

    @property
    def limit(self) -> int:
        return self.per_node_limit * max(self.data_nodes, 1)


@dataclass(frozen=True, kw_only=True)
class NodeDisk:
    node: str
    total: int
    available: int


def flat_settings(response: Mapping[str, Any]) -> dict[str, Any]:
    """`GET _cluster/settings` (defaults, flat) as one dict: transient > persistent > defaults."""
    merged: dict[str, Any] = {}
    for level in ("defaults", "persistent", "transient"):
        merged.update(response.get(level) or {})
    return merged


# Node roles that hold the shards `cluster.max_shards_per_node` limits. A `data_frozen` node holds only
# partially mounted searchable snapshots, limited apart (`cluster.max_shards_per_node.frozen`): cluster
# health counts it among its data nodes, the limit of a new daily index does not.
LIMITED_DATA_ROLES: Final = frozenset({"data", "data_content", "data_hot", "data_warm", "data_cold"})


def limited_data_nodes(nodes_stats: Mapping[str, Any]) -> int | None:
    """Nodes of `GET _nodes/stats` with a role of LIMITED_DATA_ROLES; None when no node says its roles
    (an older node, or a filtered answer), and health's count stands (pure)."""
    nodes = [node for node in (nodes_stats.get("nodes") or {}).values() if isinstance(node, Mapping)]
    if not nodes or any(not isinstance(node.get("roles"), list) for node in nodes):
        return None
    return sum(1 for node in nodes if LIMITED_DATA_ROLES.intersection(node["roles"]))


def shard_use(
    health: Mapping[str, Any],
    settings: Mapping[str, Any],
    next_index: int,
    closed: int = 0,
    data_nodes: int | None = None,
) -> ShardUse:
    """Shards counted against the limit: every copy of every open index, unassigned ones too. Health
    counts the copies of closed indices as well (they stay allocated), which the limit does not:
    `closed` (their copies, `Store.closed_shard_copies`) is taken off. `data_nodes`: the nodes the limit
    multiplies (`limited_data_nodes`), else health's `number_of_data_nodes` (frozen ones included)."""
    counted = ("active_shards", "initializing_shards", "unassigned_shards")
    return ShardUse(
        shards=max(sum(int(health.get(key, 0)) for key in counted) - closed, 0),
        per_node_limit=int(settings.get("cluster.max_shards_per_node", 1000)),
        data_nodes=int(health.get("number_of_data_nodes", 1)) if data_nodes is None else data_nodes,
        next_index=next_index,
    )


def next_index_shards(settings: Mapping[str, Any]) -> int:
    """Shards a new daily index is checked for: primaries x (1 + replicas). The limit is checked
    before `auto_expand_replicas` applies, so "0-1" counts one replica even on a single node (pure)."""
    flat = settings.get("index", settings)
    primaries = int(flat.get("number_of_shards", 1))
    replicas = flat.get("number_of_replicas")
    if replicas is None:
        expand = str(flat.get("auto_expand_replicas", "false"))
        replicas = 1 if expand == "false" else max(int(expand.split("-")[0]), 1)
    return primaries * (1 + int(replicas))


@dataclass(frozen=True, kw_only=True)
class DailySize:
    """One daily index as `_cat/indices` measures it: primary shards, documents, primary store bytes."""

    name: str
    primaries: int
    docs: int
    size: int


def daily_size(name: str, row: Mapping[str, Any] | None) -> DailySize | None:
    """The `_cat/indices` row of `name` (pri, docs.count, pri.store.size in bytes) read (pure)."""
    if row is None:
        return None
    try:
        primaries = int(row.get("pri") or 0)
        docs, size = int(row.get("docs.count") or 0), int(row.get("pri.store.size") or 0)
    except (TypeError, ValueError):
        return None  # a closed index reports no counts
    return DailySize(name=name, primaries=primaries, docs=docs, size=size) if primaries else None


def daily_size_finding(day: DailySize | None, *, config: CheckConfig) -> Finding | None:
    """The latest whole day's index against what one shard holds well: past `shard_size_warning_gb` or
    DOCS_WARNING documents a primary shard, WARNING; past half of LUCENE_MAX_DOCS (a day twice as busy
    would have its documents refused), CRITICAL. The text says how many shards a day needs (pure)."""
    if day is None:
        return None
    size_limit = config.shard_size_warning_gb * GB
    per_size, per_docs = day.size / day.primaries, day.docs / day.primaries
    perfdata = f"daily_shard_bytes={round(per_size)}B;{round(size_limit)};;0"
    if per_docs >= LUCENE_MAX_DOCS / 2:
        state = CRITICAL
    elif per_size > size_limit or per_docs > DOCS_WARNING:
        state = WARNING
    else:
        return Finding(state=OK, text="", perfdata=perfdata)
    needed = max(
        math.ceil(day.size / (size_limit * _SHARD_FILL)),
        math.ceil(day.docs / (DOCS_WARNING * _SHARD_FILL)),
        day.primaries + 1,
    )
    text = (
        f"{day.name} holds {day.size / GB:.1f} GB and {day.docs:,} documents in {day.primaries} primary "
        f"shard{'s' if day.primaries != 1 else ''} ({per_size / GB:.1f} GB and {per_docs:,.0f} documents a "
        f"shard; past {config.shard_size_warning_gb:g} GB or {DOCS_WARNING:,} a shard searches and "
        f"recoveries slow down, and past {LUCENE_MAX_DOCS:,} documents a shard refuses them): set [indices] "
        f"shards = {needed} and run `logloop setup` (daily indices created afterwards get it)"
    )
    return Finding(state=state, text=text, perfdata=perfdata)


def shard_finding(use: ShardUse, *, config: CheckConfig) -> Finding:
    share = use.shards / use.limit if use.limit else 1.0
    refused = use.shards + use.next_index > use.limit
    if refused or share >= config.shards_critical:
        state = CRITICAL
    else:
        state = WARNING if share >= config.shards_warning else OK
    warn, crit = config.shards_warning * use.limit, config.shards_critical * use.limit
    perfdata = f"shards={use.shards};{warn:.0f};{crit:.0f};0;{use.limit}"
    text = ""
    if state != OK:
        consequence = (
            f"the next daily index ({use.next_index} shards) will be refused"
            if refused
            else "new daily indices will soon be refused"
        )
        text = (
            f"{use.shards} of {use.limit} shards used ({share:.0%}; cluster.max_shards_per_node "
            f"{use.per_node_limit} x {counted(use.data_nodes, 'data node')}): {consequence}; "
            "shorten [retention] events and run `logloop prune`, or raise the limit"
        )
    return Finding(state=state, text=text, perfdata=perfdata)


def _parse_bytes(text: str) -> int | None:
    match = _BYTES.match(text)
    return int(float(match[1]) * _UNITS[match[2].lower()]) if match else None


def required_free(total: int, settings: Mapping[str, Any], level: str, explicit: Mapping[str, Any]) -> int:
    """Bytes that must stay free on a disk of `total` bytes to stay below watermark `level` (pure)."""
    name = f"{_DISK}watermark.{level}"
    value = str(settings.get(name, {"low": "85%", "high": "90%", "flood_stage": "95%"}[level])).strip()
    absolute = _parse_bytes(value)
    if absolute is not None:
        return absolute
    used = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    free = round(total * (1 - used))
    headroom_name = f"{name}.max_headroom"
    # The default headroom only applies to a default watermark (as Elasticsearch documents it).
    if headroom_name in explicit or name not in explicit:
        headroom = _parse_bytes(str(settings.get(headroom_name, "")))
        if headroom is not None and headroom >= 0:
            free = min(free, headroom)
    return free


def nodes_disk(stats: Mapping[str, Any]) -> list[NodeDisk]:
    found = []
    for node_id, node in (stats.get("nodes") or {}).items():
        total = (node.get("fs") or {}).get("total") or {}
        if "total_in_bytes" in total:
            found.append(
                NodeDisk(
                    node=str(node.get("name") or node_id),
                    total=int(total["total_in_bytes"]),
                    available=int(total.get("available_in_bytes", total.get("free_in_bytes", 0))),
                )
            )
    return sorted(found, key=lambda disk: disk.node)


def disk_findings(
    disks: Sequence[NodeDisk], settings: Mapping[str, Any], explicit: Mapping[str, Any]
) -> list[Finding]:
    if str(settings.get(f"{_DISK}threshold_enabled", "true")).lower() != "true":
        return []  # the cluster does not enforce watermarks: nothing will be refused for disk space
    findings = []
    for disk in disks:
        passed = [
            level
            for level in ("flood_stage", "high", "low")
            if disk.available < required_free(disk.total, settings, level, explicit)
        ]
        if not passed:
            continue
        used = 1 - disk.available / disk.total if disk.total else 1.0
        consequence = {
            "flood_stage": "its indices are read-only: events wait in the shippers' spools",
            "high": "shards are moved off it",
            "low": "it takes no new shards (a new daily index may find no node)",
        }[passed[0]]
        findings.append(
            Finding(
                state=WARNING if passed[0] == "low" else CRITICAL,
                text=(
                    f"node {disk.node} disk {used:.0%} used, past the "
                    f"{passed[0].replace('_', ' ')} watermark: {consequence}; "
                    "free disk or delete old indices (`logloop prune`)"
                ),
            )
        )
    return findings


def shipper_counts(response: Mapping[str, Any]) -> dict[str, int]:
    """What the shippers counted within the window, summed over processes (last report - first)."""
    totals = dict.fromkeys(SHIPPER_TROUBLES, 0)
    aggregations = response.get("aggregations") or {}
    for host in (aggregations.get("hosts") or {}).get("buckets", []):
        for _pid, process in queries.process_buckets(host["processes"]):
            # A process whose first report falls in the window began in it (or just before): all it
            # counted is news, a short script's one report at its exit included.
            began = (process.get("reports_min") or {}).get("value") == 1
            for name in SHIPPER_TROUBLES:
                high, low = process[f"{name}_max"]["value"], process[f"{name}_min"]["value"]
                totals[name] += int((high or 0) - (0 if began else low or 0))
    return totals


def shipper_query(start: datetime, until: datetime) -> dict[str, Any]:
    counters = {
        f"{name}_{op}": {op: {"field": f"logloop.shipper.{name}"}}
        for name in SHIPPER_TROUBLES
        for op in ("max", "min")
    }
    began = {"reports_min": {"min": {"field": "logloop.shipper.reports"}}}
    processes = queries.per_process(1000, [f"{name}_max" for name in SHIPPER_TROUBLES], **counters, **began)
    return {
        "size": 0,
        "query": queries.all_of(
            {"term": {"event.dataset": DATASET_SHIPPER}}, queries.time_range(start, until)
        ),
        "aggs": {
            "hosts": {
                "terms": {"field": "host.name", "size": 1000, "missing": "(unknown host)"},
                "aggs": {"processes": processes},
            }
        },
    }


def shipper_findings(counts: Mapping[str, int], window: timedelta) -> list[Finding]:
    minutes = f"{window.total_seconds() / 60:g}m"
    findings = []
    lost = counts.get("dropped", 0) + counts.get("dead_lettered", 0)
    if lost:
        findings.append(
            Finding(
                state=WARNING,
                text=(
                    f"shippers lost {lost} events in {minutes} ({counts.get('dropped', 0)} dropped, "
                    f"{counts.get('dead_lettered', 0)} dead-lettered): "
                    "see `shipper.stats()` and the dead-letter files"
                ),
            )
        )
    if counts.get("shard_limit_retries", 0):
        findings.append(
            Finding(
                state=WARNING,
                text=(
                    f"the cluster refused to create an index for {counts['shard_limit_retries']} "
                    f"documents in {minutes} (shard limit): they wait in the spools; "
                    "run `logloop prune` or raise the limit"
                ),
            )
        )
    perfdata = " ".join(f"shipper_{name}={counts.get(name, 0)};;;0" for name in SHIPPER_TROUBLES)
    return [*findings, Finding(state=OK, text="", perfdata=perfdata)]


def assess(store: Store, *, config: CheckConfig, until: datetime) -> list[Finding]:
    """Ask the cluster and the shippers' health documents; every finding, worst first."""
    response = store.search(
        index=store.events,
        body=shipper_query(until - config.window, until),
        action="read the shippers' health reports",
    )
    findings = shipper_findings(shipper_counts(response), config.window)
    try:
        action = "read the cluster's shard limit and disk use"
        health = store.cluster_health(action=action)
        settings_response = store.cluster_settings(action=action)
        nodes_stats = store.nodes_fs_stats(action=action)
        disks = nodes_disk(nodes_stats)
        closed = store.closed_shard_copies(action=action)
    except AnalyzerError as exc:
        # A monitoring user without the `monitor` privilege still gets the error-rate check.
        return [*findings, Finding(state=OK, text=f"cluster capacity not checked: {exc}")]
    tomorrow = schema.index_for(until + timedelta(days=1), store.prefix)
    index_settings, finding = _next_index(store, tomorrow)
    if finding is not None:
        findings.append(finding)
    settings = flat_settings(settings_response)
    explicit = {**(settings_response.get("persistent") or {}), **(settings_response.get("transient") or {})}
    use = shard_use(
        health, settings, next_index_shards(index_settings), closed, limited_data_nodes(nodes_stats)
    )
    findings.append(shard_finding(use, config=config))
    latest = schema.index_for(until - timedelta(days=1), store.prefix)  # the latest whole day
    try:
        sized = daily_size(latest, store.primary_sizes(index=latest, action="measure the latest daily index"))
    except AnalyzerError:
        sized = None
    size_finding = daily_size_finding(sized, config=config)
    if size_finding is not None:
        findings.append(size_finding)
    findings.extend(disk_findings(disks, settings, explicit))
    return sorted(findings, key=lambda finding: -finding.state)


def _next_index(store: Store, name: str) -> tuple[Mapping[str, Any], Finding | None]:
    """The settings the next daily index `name` will be created with, as the cluster simulates it (a
    template of a higher priority than logloop's that matches it wins whole: its shards, replicas and
    mapping); logloop's own template where the simulation is refused. A CRITICAL finding when another
    template wins: the day's events would get a mapping the analyzers refuse."""
    try:
        simulated = store.simulate_index(index=name, action="simulate the next daily index")
    except AnalyzerError:
        simulated = None
    if simulated is not None and simulated.get("template"):
        lost = {
            str(item.get("name")) for item in simulated.get("overlapping") or () if isinstance(item, Mapping)
        }
        settings = simulated["template"].get("settings") or {}
        return settings, _other_template_finding(
            name, store.event_template
        ) if store.event_template in lost else None
    try:
        template = store.index_template(name=store.event_template, action="read the index template")
    except AnalyzerError:
        template = {}  # then the next index is assumed to need 2 shards, Elasticsearch's default
    templates = template.get("index_templates") or [{}]
    return templates[0].get("index_template", {}).get("template", {}).get("settings", {}), None


def _other_template_finding(index: str, ours: str) -> Finding:
    return Finding(
        state=CRITICAL,
        text=(
            f"the next daily index {index} will be made from another index template than {ours} (one of a "
            f"higher priority matches it; POST _index_template/_simulate_index/{index} shows it): its events "
            f"get that template's mapping, shards and replicas, and the analyzers refuse the index; narrow "
            f"that template's index_patterns, or give {ours} a higher priority"
        ),
    )


def merge_line(line: str, state: int, findings: Sequence[Finding]) -> tuple[int, str]:
    """The check line and state with the findings added: texts before the `|`, perfdata after it."""
    worst = max([state, *(finding.state for finding in findings)])
    text, _, perfdata = line.partition(" | ")
    text = text.replace(f"LOGLOOP {STATE_NAMES[state]} - ", f"LOGLOOP {STATE_NAMES[worst]} - ", 1)
    notes = "; ".join(
        " ".join(finding.text.split()).replace("|", "/") for finding in findings if finding.text
    )
    extra = " ".join(finding.perfdata for finding in findings if finding.perfdata)
    return worst, f"{text}{'; ' + notes if notes else ''} | {perfdata}{' ' + extra if extra else ''}"
