"""`logloop check` beyond the error rate: the shard limit (reached on purpose on a node of our own),
disk watermarks, and shipper losses and shard-limit retries from the health documents."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.nodes import private_node
from helpers.ports import LIMITED_NODE_PORTS

from analyzers import capacity
from analyzers.config import CheckConfig
from analyzers.store import Store
from kibana.setup import install_template
from shipper import schema
from shipper.connection import ElasticsearchSettings, make_client

REPO = Path(__file__).resolve().parents[1]
SHARD_LIMIT = 6
GB = 1 << 30


@pytest.fixture(scope="module")
def limited() -> Iterator[Any]:
    """A single node of our own whose cluster.max_shards_per_node is 6; yields a client to it."""
    with private_node(LIMITED_NODE_PORTS, "limited", {"cluster.max_shards_per_node": SHARD_LIMIT}) as url:
        client = make_client(ElasticsearchSettings(url=url, request_timeout=30))
        yield client
        client.close()


def _check(url: str, prefix: str, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "logloop.toml"
    config.write_text("")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOGLOOP_CONFIG": str(config),
        "LOGLOOP_ES_URL": url,
        "LOGLOOP_INDEX_PREFIX": prefix,
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-m", "logloop.cli", "check"], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.es
@pytest.mark.slow
def test_shard_limit_is_warned_before_and_critical_when_reached(limited: Any, tmp_path: Path) -> None:
    """With a limit of 6 shards and the template's 1 shard + auto-expanded replica (checked as 2 shards
    at creation), check is OK at 3, WARNING at 4 (shards_warning 0.6, set from the environment) and
    CRITICAL at 5, where the node really refuses the next daily index."""
    url = f"http://127.0.0.1:{LIMITED_NODE_PORTS[0]}"
    install_template(limited, "limited")  # 1 shard; no replica on one node once the index exists
    day = datetime(2026, 1, 1, tzinfo=UTC)
    for offset in range(3):
        limited.indices.create(index=schema.index_for(day + timedelta(days=offset), "limited"))
    result = _check(url, "limited", tmp_path)
    assert result.returncode == 0 and "shards=3;5;6;0;6" in result.stdout, result.stdout + result.stderr
    limited.indices.create(index=schema.index_for(day + timedelta(days=3), "limited"))
    assert _check(url, "limited", tmp_path).returncode == 0  # 67 %: under the default 80 %
    result = _check(url, "limited", tmp_path, LOGLOOP_CHECK_SHARDS_WARNING="0.6")
    assert result.returncode == 1, result.stdout
    assert result.stdout.startswith("LOGLOOP WARNING") and "4 of 6 shards used (67%" in result.stdout
    limited.indices.create(index=schema.index_for(day + timedelta(days=4), "limited"))
    result = _check(url, "limited", tmp_path)
    assert result.returncode == 2, result.stdout
    assert (
        "5 of 6 shards used" in result.stdout
        and "the next daily index (2 shards) will be refused" in result.stdout
    )
    refused = limited.options(ignore_status=400).indices.create(
        index=schema.index_for(day + timedelta(days=5), "limited")
    )
    assert "maximum normal shards open" in str(refused.body), refused.body  # the limit is real


@pytest.mark.es
@pytest.mark.slow
def test_a_node_past_the_low_watermark_is_warned(limited: Any) -> None:
    """Where the cluster enforces watermarks, a node past the low one gives a WARNING naming it."""
    settings = {
        "cluster.routing.allocation.disk.threshold_enabled": True,
        "cluster.routing.allocation.disk.watermark.low": "1%",
        "cluster.routing.allocation.disk.watermark.high": "99%",
        "cluster.routing.allocation.disk.watermark.flood_stage": "99.5%",
    }
    limited.cluster.put_settings(persistent=settings)
    try:
        findings = capacity.assess(
            Store(limited, "limited"),
            config=CheckConfig(shards_warning=1.0, shards_critical=1.0),
            until=datetime.now(UTC),
        )
    finally:
        limited.cluster.put_settings(persistent=dict.fromkeys(settings))
    disk = [finding for finding in findings if "watermark" in finding.text]
    assert len(disk) == 1 and disk[0].state == capacity.WARNING
    assert "past the low watermark" in disk[0].text and "logloop-9343" in disk[0].text


@pytest.mark.parametrize(
    ("value", "explicit", "expected"),
    [
        pytest.param("85%", False, 15 * GB, id="percent-default-headroom-not-binding"),
        pytest.param("0.9", True, 10 * GB, id="ratio"),
        pytest.param("5gb", True, 5 * GB, id="absolute-free"),
    ],
)
def test_required_free_space_follows_the_watermark_formats(value: str, explicit: bool, expected: int) -> None:
    """Percentages and ratios are shares of used space, byte sizes are free space that must remain."""
    name = "cluster.routing.allocation.disk.watermark.low"
    settings = {name: value, f"{name}.max_headroom": "200GB"}
    assert capacity.required_free(100 * GB, settings, "low", {name: value} if explicit else {}) == expected


def test_the_default_headroom_caps_a_default_watermark_on_a_big_disk() -> None:
    """On a 10 TB disk the default 85% watermark asks for 200 GB free (its max_headroom), not 1.5 TB."""
    name = "cluster.routing.allocation.disk.watermark.low"
    settings = {name: "85%", f"{name}.max_headroom": "200GB"}
    assert capacity.required_free(10_000 * GB, settings, "low", {}) == 200 * GB


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param({"index": {"number_of_shards": "1", "auto_expand_replicas": "0-1"}}, 2, id="auto-0-1"),
        pytest.param({"index": {"number_of_shards": "3", "number_of_replicas": "0"}}, 3, id="no-replicas"),
        pytest.param({}, 2, id="no-template"),
    ],
)
def test_next_index_shards_counts_what_the_limit_checks(settings: dict[str, Any], expected: int) -> None:
    """The room a new daily index needs is primaries x (1 + replicas), auto-expand counted as one."""
    assert capacity.next_index_shards(settings) == expected


def test_disk_findings_are_silent_where_watermarks_are_not_enforced() -> None:
    """A cluster that does not enforce watermarks refuses nothing for disk space: no finding."""
    full = [capacity.NodeDisk(node="n1", total=100 * GB, available=1 * GB)]
    assert (
        capacity.disk_findings(full, {"cluster.routing.allocation.disk.threshold_enabled": "false"}, {}) == []
    )
    flood = capacity.disk_findings(full, {}, {})
    assert flood[0].state == capacity.CRITICAL and "flood stage" in flood[0].text


@pytest.mark.es
def test_shipper_losses_and_shard_limit_retries_come_from_the_health_documents(
    es: Any, index_prefix: str
) -> None:
    """What two processes counted within the window (last report minus first) is reported as WARNINGs,
    and a loss counted before the window is not."""
    install_template(es, index_prefix)
    now = datetime.now(UTC)
    reports = [
        # (pid, minutes ago, dropped, dead_lettered, shard_limit_retries)
        (1, 30, 5, 0, 0),  # before the 15m window: its counters are the baseline, not news
        (1, 10, 5, 0, 0),
        (1, 1, 7, 1, 40),
        (2, 8, 0, 0, 10),
        (2, 2, 0, 0, 25),
    ]
    for pid, ago, dropped, dead, retries in reports:
        es.index(
            index=schema.index_for(now, index_prefix),
            document={
                "@timestamp": (now - timedelta(minutes=ago)).isoformat(),
                "event": {"dataset": schema.DATASET_SHIPPER},
                "host": {"name": "web-1"},
                "process": {"pid": pid},
                "logloop": {
                    "shipper": {"dropped": dropped, "dead_lettered": dead, "shard_limit_retries": retries}
                },
            },
        )
    es.indices.refresh(index=f"{index_prefix}-*")
    findings = capacity.assess(Store(es, index_prefix), config=CheckConfig(), until=now)
    texts = " / ".join(finding.text for finding in findings)
    assert "shippers lost 3 events in 15m (2 dropped, 1 dead-lettered)" in texts
    assert "refused to create an index for 55 documents in 15m" in texts
    state, line = capacity.merge_line("LOGLOOP OK - 0 errors | errors=0", 0, findings)
    assert state == capacity.WARNING and line.startswith("LOGLOOP WARNING - 0 errors; ")
    assert "shipper_shard_limit_retries=55;;;0" in line.split(" | ", 1)[1]


@pytest.mark.es
def test_a_process_whose_first_report_is_in_the_window_counts_from_zero(es: Any, index_prefix: str) -> None:
    """A short script's one report (number 1) counts all it lost, and so does a process whose first of
    several reports falls in the window; a process that reported before the window counts from its
    first report in it."""
    install_template(es, index_prefix)
    now = datetime.now(UTC)
    reports = [
        # (pid, minutes ago, the report's number, dropped)
        (7, 3, 1, 4),  # a short script: its one report, at its exit
        (8, 12, 1, 2),  # a daemon that began in the window
        (8, 2, 2, 5),
        (9, 40, 1, 10),  # a daemon that began long before: its 10 are no news
        (9, 5, 40, 11),
    ]
    for pid, ago, number, dropped in reports:
        es.index(
            index=schema.index_for(now, index_prefix),
            document={
                "@timestamp": (now - timedelta(minutes=ago)).isoformat(),
                "event": {"dataset": schema.DATASET_SHIPPER},
                "host": {"name": "cron-1"},
                "process": {"pid": pid},
                "logloop": {"shipper": {"dropped": dropped, "reports": number}},
            },
        )
    es.indices.refresh(index=f"{index_prefix}-*")
    findings = capacity.assess(Store(es, index_prefix), config=CheckConfig(), until=now)
    texts = " / ".join(finding.text for finding in findings)
    assert "shippers lost 9 events in 15m (9 dropped, 0 dead-lettered)" in texts  # 4 + (5 - 0) + (11 - 11)


@pytest.mark.es
def test_the_digest_reports_shard_limit_retries_and_what_to_do(es: Any, index_prefix: str) -> None:
    """Health documents with shard-limit retries make the digest say how many documents waited and what
    to do, in the text and in the JSON."""
    from analyzers.digest import build_digest
    from analyzers.render import render

    install_template(es, index_prefix)
    now = datetime.now(UTC)
    for ago, retries in ((50, 0), (20, 120)):
        es.index(
            index=schema.index_for(now, index_prefix),
            document={
                "@timestamp": (now - timedelta(minutes=ago)).isoformat(),
                "event": {"dataset": schema.DATASET_SHIPPER},
                "host": {"name": "web-1"},
                "process": {"pid": 7},
                "logloop": {"shipper": {"sent": 10, "shard_limit_retries": retries}},
            },
        )
    es.indices.refresh(index=f"{index_prefix}-*")
    report = build_digest(Store(es, index_prefix), timedelta(days=1), now, now).report
    assert report.shard_limit_retries == 120 and not report.is_empty
    assert "Shippers retried 120 documents because the cluster refused to create an index" in render(
        report, "text"
    )
    assert '"shard_limit_retries": 120' in render(report, "json")


@pytest.mark.parametrize(
    ("primaries", "size_gb", "docs", "limit_gb", "state", "suggested"),
    [
        pytest.param(1, 180, 300_000_000, 50, capacity.WARNING, 5, id="one-big-shard"),
        pytest.param(3, 30, 10_000_000, 50, capacity.OK, None, id="well-sized"),
        pytest.param(1, 10, 1_200_000_000, 50, capacity.CRITICAL, 8, id="half-the-lucene-limit"),
        pytest.param(2, 120, 1_000, 50, capacity.WARNING, 3, id="two-shards-by-size"),
        pytest.param(1, 2, 250_000_000, 50, capacity.WARNING, 2, id="small-documents-many"),
        pytest.param(1, 6, 1_000, 5, capacity.WARNING, 2, id="configured-limit"),
        pytest.param(4, 199, 1_000, 50, capacity.OK, None, id="just-under"),
    ],
)
def test_the_latest_day_says_when_its_shards_hold_too_much(
    primaries: int, size_gb: float, docs: int, limit_gb: float, state: int, suggested: int | None
) -> None:
    """A daily index whose primary shards pass the size or document advice is a WARNING (CRITICAL at half
    of what a shard can hold at all) that names the shards a day needs; below it only perfdata."""
    day = capacity.DailySize(name="app-2026.12.04", primaries=primaries, docs=docs, size=int(size_gb * GB))
    finding = capacity.daily_size_finding(day, config=CheckConfig(shard_size_warning_gb=limit_gb))
    assert finding is not None and finding.state == state, finding
    assert finding.perfdata.startswith(f"daily_shard_bytes={round(size_gb * GB / primaries)}B;")
    if suggested is None:
        assert finding.text == ""
    else:
        assert "app-2026.12.04" in finding.text and f"set [indices] shards = {suggested} " in finding.text


@pytest.mark.es
@pytest.mark.parametrize("primaries", [1, 3])
def test_check_measures_the_latest_whole_day_on_the_node(es: Any, index_prefix: str, primaries: int) -> None:
    """`_cat/indices` sizes of yesterday's index are read from the node: with a limit below a shard's real
    size check warns naming the index and the shards to set; today's index is not measured."""
    install_template(es, index_prefix, schema.IndexLayout(shards=primaries, replicas=0))
    now = datetime.now(UTC)
    yesterday = schema.index_for(now - timedelta(days=1), index_prefix)
    documents = [
        {"@timestamp": (now - timedelta(days=1)).isoformat(), "message": f"line {n} " + "x" * 200}
        for n in range(300)
    ]
    operations = [part for doc in documents for part in ({"create": {"_index": yesterday}}, doc)]
    assert not es.bulk(operations=operations, refresh=True)["errors"]
    es.indices.flush(index=yesterday)
    row = es.cat.indices(index=yesterday, h="pri.store.size", format="json", bytes="b")[0]
    per_shard = int(row["pri.store.size"]) / primaries
    store = Store(es, index_prefix)
    tiny = CheckConfig(shards_warning=1.0, shards_critical=1.0, shard_size_warning_gb=per_shard / 2 / GB)
    findings = capacity.assess(store, config=tiny, until=now)
    warned = [finding for finding in findings if yesterday in finding.text]
    assert len(warned) == 1 and warned[0].state == capacity.WARNING, findings
    assert "set [indices] shards = " in warned[0].text and f"in {primaries} primary shard" in warned[0].text
    roomy = CheckConfig(shards_warning=1.0, shards_critical=1.0, shard_size_warning_gb=per_shard * 2 / GB)
    quiet = capacity.assess(store, config=roomy, until=now)
    assert not [finding for finding in quiet if yesterday in finding.text]
    assert any(finding.perfdata.startswith("daily_shard_bytes=") for finding in quiet)
    later = capacity.assess(store, config=tiny, until=now + timedelta(days=3))  # no index two days before
    assert not any(finding.perfdata.startswith("daily_shard_bytes=") for finding in later)
