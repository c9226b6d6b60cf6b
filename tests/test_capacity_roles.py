"""The shard limit of `logloop check` multiplies `cluster.max_shards_per_node` by the nodes it applies
to: data nodes of any tier but frozen (a `data_frozen` node's shards have a limit of their own), read
from the roles in the node's own `_nodes/stats` answer, copied to make clusters of other shapes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from analyzers.capacity import limited_data_nodes, shard_finding, shard_use
from analyzers.config import CheckConfig

pytestmark = pytest.mark.es

# Roles of each node of a cluster -> the nodes `cluster.max_shards_per_node` applies to.
SHAPES: list[Any] = [
    pytest.param([["data", "master"]], 1, id="one-node"),
    pytest.param([["data_hot", "data_content", "master"], ["data_frozen"]], 1, id="hot-and-frozen"),
    pytest.param(
        [["data_content"], ["data_hot"], ["data_warm"], ["data_cold"], ["data_frozen"]], 4, id="tiers"
    ),
    pytest.param([["master"], ["data_frozen"], ["data_frozen"], ["data"]], 1, id="dedicated-master"),
    pytest.param([["ingest"], ["data", "data_frozen"], ["ml"]], 1, id="data-and-frozen-on-one"),
    pytest.param([["data_frozen"], ["data_frozen"], ["data_hot"], ["data_hot"]], 2, id="two-of-each"),
]


def _cluster(es: Any, roles: list[list[str]]) -> dict[str, Any]:
    """The node's `_nodes/stats/fs` answer, its node entry copied once per role list."""
    real = es.nodes.stats(metric="fs").body
    node = next(iter(real["nodes"].values()))
    assert isinstance(node.get("roles"), list)  # the answer names each node's roles
    nodes = {f"node-{n}": {**copy.deepcopy(node), "name": f"n{n}", "roles": r} for n, r in enumerate(roles)}
    return {**real, "nodes": nodes}


@pytest.mark.parametrize(("roles", "expected"), SHAPES)
def test_frozen_nodes_do_not_raise_the_shard_limit(es: Any, roles: list[list[str]], expected: int) -> None:
    """Only nodes with a non-frozen data role multiply the per-node limit, whatever health counts."""
    stats = _cluster(es, roles)
    assert limited_data_nodes(stats) == expected
    with_data = sum(1 for r in roles if any("data" in x for x in r))
    health = {"active_shards": 990, "number_of_data_nodes": with_data}
    use = shard_use(health, {"cluster.max_shards_per_node": "1000"}, 2, 0, limited_data_nodes(stats))
    assert use.limit == 1000 * expected


def test_a_full_hot_node_beside_a_frozen_one_is_critical(es: Any) -> None:
    """990 of 1,000 shards on the one hot node is critical though a frozen node doubles health's count."""
    stats = _cluster(es, [["data_hot", "data_content", "master"], ["data_frozen"]])
    health = {"active_shards": 990, "number_of_data_nodes": 2}
    use = shard_use(health, {"cluster.max_shards_per_node": "1000"}, 2, 0, limited_data_nodes(stats))
    finding = shard_finding(use, config=CheckConfig())
    assert finding.state == 2 and "1 data node" in finding.text, finding.text


@pytest.mark.parametrize(
    "stats",
    [
        pytest.param({"nodes": {}}, id="no-nodes"),
        pytest.param({"nodes": {"a": {"name": "a"}}}, id="roles-not-said"),
        pytest.param({}, id="empty-answer"),
    ],
)
def test_health_counts_stand_when_roles_are_unknown(stats: dict[str, Any]) -> None:
    """An answer without roles leaves health's `number_of_data_nodes` as the multiplier."""
    assert limited_data_nodes(stats) is None
    use = shard_use({"number_of_data_nodes": 3}, {}, 2, 0, limited_data_nodes(stats))
    assert use.data_nodes == 3
