"""Elasticsearch nodes a test starts for itself (a cluster, a node with a cluster limit), from the
same distribution as the shared test node, in a throwaway data directory removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from logloop import embedded


@contextmanager
def _data_root(name: str) -> Iterator[Path]:
    # Under /tmp and world-readable: as root, the node runs as another user that must reach it.
    root = Path(tempfile.mkdtemp(prefix=f"logloop-test-{name}-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def private_node(ports: tuple[int, int], name: str, settings: Mapping[str, object]) -> Iterator[str]:
    """One node on (http, transport) `ports` with extra elasticsearch.yml `settings`; yields its URL."""
    http, transport = ports
    with _data_root(name) as root:
        try:
            node = embedded.start(http, root, heap="256m", transport_port=transport, extra=settings)
            yield node.url
        finally:
            embedded.stop(http, root)


@contextmanager
def private_cluster(cluster: embedded.Cluster) -> Iterator[Path]:
    """Every node of `cluster` started; yields the data root (node data under <root>/<http port>)."""
    with _data_root(cluster.name) as root:
        try:
            embedded.start_cluster(cluster, root)
            yield root
        finally:
            for port in cluster.http_ports:
                embedded.stop(port, root / str(port))
