"""Loopback ports for tests that start their own servers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Nodes the cluster tests start themselves (a range no other test or engineer's node uses):
# HTTP on CLUSTER_HTTP_PORTS, node-to-node transport on CLUSTER_TRANSPORT_PORTS, and one single
# node with a tiny shard limit on LIMITED_NODE_PORTS (http, transport) for `check`, another on
# SHARD_LIMIT_DELIVERY_PORTS for delivery.
CLUSTER_HTTP_PORTS = (9340, 9341, 9342)
CLUSTER_TRANSPORT_PORTS = (9360, 9361, 9362)  # not port + 100: 9350 is the shared node's transport
LIMITED_NODE_PORTS = (9343, 9363)
SHARD_LIMIT_DELIVERY_PORTS = (9344, 9364)  # the agent's shard-limit retry test, a node of its own
