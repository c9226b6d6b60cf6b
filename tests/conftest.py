"""Shared fixtures: one real Elasticsearch node per test session, isolated index prefixes per test,
a root logger restored after every test, and the `es` marker on every test that needs the node."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import certificates
from helpers.fake_kibana import FakeKibana, serve_fake_kibana
from helpers.prefixes import delete_prefix

from logloop import embedded
from shipper.connection import ElasticsearchSettings, make_client
from shipper.delivery import lock
from shipper.spool import layout

TEST_PORT = 9250
# Tests that ask for one of these fixtures need the real node: they are marked `es` at collection,
# so `pytest -m "not es"` runs the fast tier (no node) and the full run still runs everything.
NODE_FIXTURES = frozenset({"es", "es_url", "es_settings", "index_prefix"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NODE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.es)


@pytest.fixture(scope="session", autouse=True)
def no_agent_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Stop, at the end, every delivery agent still running on a spool under the session's temporary
    directory: an agent whose records cannot be delivered retries while a program writes there and for
    `unreachable_exit` seconds (5 minutes) after, so a test of an unreachable destination would leave
    it behind."""
    yield
    for lock_file in tmp_path_factory.getbasetemp().rglob(layout.LOCK_NAME):
        if not lock.running(lock_file.parent):
            continue
        pid = lock.holder(lock_file.parent).get("pid")
        if isinstance(pid, int) and pid != os.getpid():  # (a thread-mode agent is this process)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """URL of a real node: $LOGLOOP_TEST_ES_URL if set, else an embedded node started for the session."""
    external = os.environ.get("LOGLOOP_TEST_ES_URL")
    if external:
        yield external.rstrip("/")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="logloop-test-es-", dir="/tmp"))
    data_dir.chmod(0o755)
    node = embedded.start(TEST_PORT, data_dir)
    try:
        yield node.url
    finally:
        embedded.stop(TEST_PORT, data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def es_settings(es_url: str) -> ElasticsearchSettings:
    return ElasticsearchSettings(url=es_url)


@pytest.fixture(scope="session")
def es(es_settings: ElasticsearchSettings) -> Any:
    """An elasticsearch-py client connected to the real node."""
    client = make_client(es_settings)
    yield client
    client.close()


@pytest.fixture
def index_prefix(es: Any) -> Iterator[str]:
    """A prefix no other test uses; its indices and templates are deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    delete_prefix(es, prefix)


@pytest.fixture
def prefix(es: Any, index_prefix: str) -> str:
    """`index_prefix` with the events' index template installed, as `logloop setup` leaves a cluster."""
    from kibana.setup import install_template  # (only for the tests that ask for it)

    install_template(es, index_prefix)
    return index_prefix


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            with contextlib.suppress(Exception):  # a test's broken handler must not fail the next
                handler.close()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _stop_started_agents() -> Iterator[None]:
    """Delivery agents this test process started stop with the test (they would idle on otherwise)."""
    from shipper.delivery import launcher

    yield
    launcher.stop_started()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, made once per run."""
    return certificates.self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[FakeKibana]:
    """A loopback HTTPS server answering queued JSON (helpers.fake_kibana) with that certificate."""
    yield from serve_fake_kibana(certificates.server_context(*certificate))
