"""A real 3-node cluster on loopback (started here from the same distribution): delivery with several
URLs while the node the handler talks to is SIGKILLed and restarted, and the analyzers with the
first URL dead."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.delivered import log_messages
from helpers.nodes import private_cluster
from helpers.ports import CLUSTER_HTTP_PORTS, CLUSTER_TRANSPORT_PORTS, free_port
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from logloop import embedded
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
            assert "analyzed 1 groups" in result.stdout
        else:
            assert json.loads(result.stdout)["measures"]
    client.indices.delete(index=",".join(client.indices.get(index=f"{prefix}-*")))
