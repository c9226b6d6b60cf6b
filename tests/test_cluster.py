"""A real 3-node cluster on loopback (started here from the same distribution): delivery with several
URLs while the node the handler talks to is SIGKILLed and restarted, and the analyzers with the
first URL dead."""

from __future__ import annotations

import collections
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.delivered import log_messages
from helpers.nodes import private_cluster
from helpers.ports import CLUSTER_HTTP_PORTS, CLUSTER_TRANSPORT_PORTS, free_port
from helpers.shipping import logger_only_to

from analyzers import capacity
from analyzers.config import CheckConfig
from analyzers.store import Store
from kibana.setup import install_template
from logloop import embedded
from shipper import schema
from shipper.connection import ElasticsearchSettings, make_client
from shipper.handler import ShipperHandler

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.es, pytest.mark.slow]
CLUSTER = embedded.Cluster(
    name="logloop-test-cluster", http_ports=CLUSTER_HTTP_PORTS, transport_ports=CLUSTER_TRANSPORT_PORTS
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    """Three nodes forming one cluster; yields the data root (node data under <root>/<port>)."""
    with private_cluster(CLUSTER) as root:
        yield root


@pytest.fixture
def client(cluster: Path) -> Iterator[Any]:
    es = make_client(ElasticsearchSettings(url=CLUSTER.urls, request_timeout=30))
    yield es
    es.close()


def test_delivery_survives_the_first_node_killed_and_restarted(
    client: Any, cluster: Path, tmp_path: Path
) -> None:
    """Events logged while the handler's first node is SIGKILLed are delivered by the other nodes before
    it comes back, and all 20,000 arrive exactly once (0 lost, 0 duplicated) after its restart."""
    prefix = "cluster-delivery"
    install_template(client, prefix)
    first = CLUSTER.http_ports[0]
    handler = ShipperHandler(
        "cluster-test",
        es_url=list(CLUSTER.urls),
        index_prefix=prefix,
        spool_path=tmp_path / "spool.sqlite",
        retry_max_delay=0.5,
        request_timeout=5.0,
    )
    logger = logger_only_to("cluster.delivery", handler)
    try:
        for i in range(5_000):
            logger.info("cluster %d", i)
        assert embedded.kill(first, cluster / str(first))
        for i in range(5_000, 15_000):
            logger.info("cluster %d", i)
        assert handler.wait_delivered(120)  # by the two surviving nodes: the first is still dead
        assert log_messages(client, prefix) == collections.Counter(f"cluster {i}" for i in range(15_000))
        embedded.start(
            first,
            cluster / str(first),
            heap="256m",
            extra=CLUSTER.settings(),
            transport_port=CLUSTER.transport_ports[0],
        )
        for i in range(15_000, 20_000):
            logger.info("cluster %d", i)
        assert handler.wait_delivered(240)
        stats = handler.stats()
    finally:
        handler.close()
    assert stats.dropped == 0
    assert log_messages(client, prefix) == collections.Counter(f"cluster {i}" for i in range(20_000))
    client.indices.delete(index=",".join(client.indices.get(index=f"{prefix}-*")))


def test_analyze_and_digest_work_with_the_first_url_dead(client: Any, cluster: Path, tmp_path: Path) -> None:
    """`logloop analyze` and `logloop digest` succeed when the first configured node cannot be reached."""
    prefix = "cluster-analyze"
    install_template(client, prefix)
    handler = ShipperHandler(
        "cluster-test", es_url=list(CLUSTER.urls), index_prefix=prefix, spool_path=tmp_path / "s.sqlite"
    )
    logger = logger_only_to("cluster.analyze", handler)
    for i in range(30):
        try:
            raise ValueError(f"broken item {i % 3}")
        except ValueError:
            logger.exception("item failed")
    assert handler.wait_delivered(60)
    handler.close()
    client.indices.refresh(index=f"{prefix}-*")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOGLOOP_CONFIG": str(tmp_path / "none.toml"),
        "LOGLOOP_ES_URL": ",".join([f"http://127.0.0.1:{free_port()}", *CLUSTER.urls]),
        "LOGLOOP_INDEX_PREFIX": prefix,
    }
    (tmp_path / "none.toml").write_text("")
    for command in (["analyze"], ["digest", "--window", "1d", "--format", "json"]):
        result = subprocess.run(
            [sys.executable, "-m", "logloop.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        if command[0] == "analyze":
            assert "analyzed 1 group up" in result.stdout
        else:
            assert json.loads(result.stdout)["measures"]
    client.indices.delete(index=",".join(client.indices.get(index=f"{prefix}-*")))


def _open_shard_copies(client: Any) -> int:
    """Copies of every open index (hidden ones too) as the shard limit counts them: primaries x (1 +
    replicas), assigned or not."""
    rows = client.cat.indices(h="status,pri,rep", format="json", expand_wildcards="open,hidden")
    return sum(int(row["pri"]) * (1 + int(row["rep"])) for row in rows if row["status"] == "open")


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(schema.IndexLayout(shards=1, replicas=1), id="1-shard-1-replica"),
        pytest.param(schema.IndexLayout(shards=2, replicas=0), id="2-shards-no-replica"),
        pytest.param(schema.IndexLayout(shards=1, replicas="auto"), id="auto-replicas"),
        pytest.param(schema.IndexLayout(shards=3, replicas=2), id="3-shards-2-replicas"),
    ],
)
def test_closed_indices_do_not_count_against_the_shard_limit(
    client: Any, cluster: Path, layout: schema.IndexLayout
) -> None:
    """Closed daily indices stay allocated (cluster health counts their copies) but the shard limit counts
    open indices only: with a limit the next daily index just fits, check neither counts the closed
    copies nor says the index will be refused, and the cluster really creates it."""
    prefix = f"cluster-closed-{layout.shards}-{layout.replicas}"
    install_template(client, prefix, layout)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    names = [schema.index_for(day + timedelta(days=offset), prefix) for offset in range(6)]
    try:
        for name in names:
            client.indices.create(index=name)
        client.cluster.health(index=",".join(names), wait_for_status="yellow", timeout="60s")
        client.indices.close(index=",".join(names[:4]))  # a retention that closes before it deletes
        store = Store(client, prefix)
        index_settings = schema.index_template(prefix, layout)["template"]["settings"]
        flat = {name.removeprefix("index."): value for name, value in index_settings.items()}
        next_index = capacity.next_index_shards(flat)
        opened = _open_shard_copies(client)
        per_node = math.ceil((opened + next_index) / len(CLUSTER.http_ports))  # the next index just fits
        client.cluster.put_settings(persistent={"cluster.max_shards_per_node": per_node})
        try:
            findings = capacity.assess(store, config=CheckConfig(), until=datetime.now(UTC))
            created = client.options(ignore_status=400).indices.create(
                index=schema.index_for(day + timedelta(days=6), prefix)
            )
        finally:
            client.cluster.put_settings(persistent={"cluster.max_shards_per_node": None})
        shards = next(finding for finding in findings if finding.perfdata.startswith("shards="))
        assert shards.perfdata.startswith(f"shards={opened};"), (shards, opened)
        assert "will be refused" not in shards.text, shards.text
        assert created.body.get("acknowledged") is True, created.body  # the cluster agrees: it fits
    finally:
        made = client.indices.get(index=f"{prefix}-*", expand_wildcards="all")
        if made:
            client.indices.delete(index=",".join(made))


def _logloop(command: list[str], prefix: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "none.toml").write_text("")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOGLOOP_CONFIG": str(tmp_path / "none.toml"),
        "LOGLOOP_ES_URL": ",".join(CLUSTER.urls[:2]),  # the two nodes that stay up
        "LOGLOOP_INDEX_PREFIX": prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "logloop.cli", *command], env=env, capture_output=True, text=True, timeout=180
    )


def test_a_node_that_leaves_with_the_only_copy_of_shards_is_said_in_one_bounded_line(
    client: Any, cluster: Path, tmp_path: Path
) -> None:
    """With no replicas, a node that leaves takes one shard of every daily index with it (all red): check
    (UNKNOWN), the digest and analyze each stop with one line that counts the missing shards, names the
    first indices and says where to look, instead of Elasticsearch's list of every shard cut mid-entry."""
    prefix = "cluster-red"
    install_template(client, prefix, schema.IndexLayout(shards=3, replicas=0))
    now = datetime.now(UTC)
    operations: list[dict[str, Any]] = []
    for day in range(12):
        for n in range(9):
            moment = now - timedelta(days=day, minutes=n + 1)
            operations.append({"create": {"_index": schema.index_for(moment, prefix)}})
            operations.append(
                {
                    "@timestamp": moment.isoformat(),
                    "event": {"dataset": schema.DATASET_LOG},
                    "log": {"level": "error"},
                    "message": f"broken {n % 3}",
                    "error": {
                        "type": "ValueError",
                        "message": f"broken {n % 3}",
                        "grouping_key": f"k{n % 3}",
                    },
                }
            )
    assert not client.bulk(operations=operations, refresh=True)["errors"]
    names = sorted(client.indices.get(index=f"{prefix}-*"))
    last = CLUSTER.http_ports[-1]
    assert embedded.kill(last, cluster / str(last))
    try:
        client.options(request_timeout=90).cluster.health(
            wait_for_nodes=str(len(CLUSTER.http_ports) - 1), timeout="60s"
        )
        results = {
            "check": _logloop(["check", "--window", "30d"], prefix, tmp_path),
            "digest": _logloop(["digest", "--window", "30d", "--format", "text"], prefix, tmp_path),
            "analyze": _logloop(["analyze"], prefix, tmp_path),
        }
    finally:
        embedded.start(
            last,
            cluster / str(last),
            heap="256m",
            extra=CLUSTER.settings(),
            transport_port=CLUSTER.transport_ports[-1],
        )
        client.options(request_timeout=200).cluster.health(wait_for_status="green", timeout="180s")
        client.indices.delete(index=",".join(names))
    missing = client.options(ignore_status=404).indices.get(index=names[0])  # deleted: nothing left behind
    assert missing.meta.status == 404
    assert results["check"].returncode == 3, results["check"]
    assert results["digest"].returncode == 1 and results["analyze"].returncode == 1, results
    for name, result in results.items():
        line = (result.stdout if name == "check" else result.stderr).strip()
        assert len(line.splitlines()) == 1 and len(line) < 700, (name, line)
        assert "[[" not in line and not line.rstrip(". ").endswith("["), (name, line)
        assert re.search(r"\b\d+ shards? of \d+ index(es)? \(", line), (name, line)
        assert any(index in line for index in names) and "allocation/explain" in line, (name, line)


@pytest.mark.parametrize(
    ("shards", "days"),
    [pytest.param(3, 10, id="3-shards-x-10-days"), pytest.param(1, 30, id="1-shard-x-30-days")],
)
def test_a_groups_versions_and_hosts_are_counted_exactly_across_many_shards(
    client: Any, cluster: Path, tmp_path: Path, shards: int, days: int
) -> None:
    """One group over 120 versions and 150 hosts spread across 30 shards: `group show` counts every
    version and host it lists exactly and lists the true top five of each (a shard's values past its
    top 85 were cut, so counts read low and the top five were other versions)."""
    import random

    prefix = f"cluster-facets-{shards}"
    install_template(client, prefix, schema.IndexLayout(shards=shards, replicas=0))
    rng = random.Random(11)
    now = datetime.now(UTC).replace(microsecond=0)
    operations: list[dict[str, Any]] = []
    for _ in range(15_000):
        moment = now - timedelta(seconds=rng.randrange(60, days * 86_400 - 3_600))
        operations.append({"create": {"_index": schema.index_for(moment, prefix)}})
        operations.append(
            {
                "@timestamp": moment.isoformat(),
                "event": {"dataset": schema.DATASET_LOG},
                "log": {"level": "error"},
                "host": {"name": f"web-{rng.randrange(150):03d}"},
                "service": {"name": "api", "version": f"1.{rng.randrange(120)}"},
                "message": "boom",
                "error": {"type": "ValueError", "message": "boom", "grouping_key": "facets"},
            }
        )
    assert not client.bulk(operations=operations, refresh=True)["errors"]
    names = sorted(client.indices.get(index=f"{prefix}-*"))
    try:
        result = _logloop(
            ["group", "show", "facets", "--window", f"{days}d", "--format", "json"], prefix, tmp_path
        )
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout)
        window = {"gte": shown["window"]["start"], "lt": shown["window"]["end"]}
        truth = client.search(
            index=f"{prefix}-*",
            size=0,
            query={"range": {"@timestamp": window}},
            aggs={
                "version": {"terms": {"field": "service.version", "size": 1000}},
                "host": {"terms": {"field": "host.name", "size": 1000}},
            },
        )["aggregations"]
    finally:
        client.indices.delete(index=",".join(names))
    exact = {name: {b["key"]: b["doc_count"] for b in truth[name]["buckets"]} for name in ("version", "host")}
    assert len(exact["version"]) == 120 and len(exact["host"]) == 150
    listed = [value for value in shown["cause"]["values"] if value["dimension"] in exact]
    assert len(listed) == 100  # 50 of each
    wrong = [
        (v["value"], v["count"], exact[v["dimension"]][v["value"]])
        for v in listed
        if v["count"] != exact[v["dimension"]][v["value"]]
    ]
    assert not wrong, wrong
    for name, field in (("version", "versions"), ("host", "hosts")):
        top = sorted(exact[name].items(), key=lambda item: (-item[1], item[0]))[:5]
        assert shown["group"][field] == [value for value, _ in top], (name, shown["group"][field], top)


@pytest.mark.parametrize(
    ("override", "next_index"),
    [
        pytest.param({"index.number_of_shards": 3}, 6, id="more-shards"),
        pytest.param({"index.number_of_replicas": 2}, 3, id="more-replicas"),
        pytest.param(None, 2, id="no-other-template"),
    ],
)
def test_check_counts_the_next_index_as_the_winning_template_makes_it(
    client: Any, cluster: Path, override: dict[str, Any] | None, next_index: int
) -> None:
    """A template of a higher priority than logloop's that matches the daily indices makes them whole
    (its shards, replicas, mapping): check counts the next index's shards as the cluster will, so its
    "will be refused" matches the cluster's refusal, and says the day's mapping will not be logloop's."""
    prefix = f"cluster-over-{next_index}"
    install_template(client, prefix)  # 1 shard, auto-expanded replica: 2 shards at creation
    other = f"{prefix}-catch-all"
    if override is not None:
        client.indices.put_index_template(
            name=other, index_patterns=[f"{prefix}-2*"], priority=300, template={"settings": override}
        )
    now = datetime.now(UTC)
    tomorrow = schema.index_for(now + timedelta(days=1), prefix)
    try:
        opened = _open_shard_copies(client)
        per_node = math.ceil((opened + 2) / len(CLUSTER.http_ports))  # 2 shards fit, more do not
        fits = opened + next_index <= per_node * len(CLUSTER.http_ports)
        client.cluster.put_settings(persistent={"cluster.max_shards_per_node": per_node})
        try:
            findings = capacity.assess(Store(client, prefix), config=CheckConfig(), until=now)
            created = client.options(ignore_status=400).indices.create(index=tomorrow)
        finally:
            client.cluster.put_settings(persistent={"cluster.max_shards_per_node": None})
    finally:
        client.options(ignore_status=404).indices.delete_index_template(name=other)
        client.options(ignore_status=404).indices.delete(index=tomorrow)
    texts = " / ".join(finding.text for finding in findings)
    assert (created.body.get("acknowledged") is True) == fits, created.body
    assert (f"the next daily index ({next_index} shards) will be refused" in texts) == (not fits), texts
    assert (f"{tomorrow} will be made from another index template" in texts) == (override is not None), texts
