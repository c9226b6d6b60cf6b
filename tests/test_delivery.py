"""End-to-end delivery through ShipperHandler into the real node: exactly once, through an outage,
from threads and forked children, during interpreter shutdown and after close."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.delivered import log_messages
from helpers.proxy import Proxy, proxy_to
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.handler import ShipperHandler

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.es


def _handler(es_url: str, prefix: str, spool: Path, **kwargs: Any) -> ShipperHandler:
    options: dict[str, Any] = {"retry_max_delay": 0.5, "close_timeout": 5.0, **kwargs}
    return ShipperHandler("delivery-test", es_url=es_url, index_prefix=prefix, spool_path=spool, **options)


@pytest.fixture
def proxy(es_url: str) -> Iterator[Proxy]:
    server = proxy_to(es_url)
    server.start()
    yield server
    server.stop()


def test_ten_thousand_events_arrive_exactly_once(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """10,000 logged events are all in the node, each exactly once, and the counters agree."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path / "spool.sqlite")
    logger = logger_only_to("delivery.ten_k", handler)
    for i in range(10_000):
        logger.info("event %d", i)
    assert handler.wait_delivered(120)
    stats = handler.stats()
    handler.close()
    messages = log_messages(es, index_prefix)
    assert messages == collections.Counter(f"event {i}" for i in range(10_000))
    assert stats.dropped == 0 and stats.sent >= 10_000


def test_an_outage_loses_nothing_and_duplicates_nothing(
    es: Any, index_prefix: str, tmp_path: Path, proxy: Proxy
) -> None:
    """With the node unreachable (proxy stopped) 50,000 events are spooled, then all arrive once."""
    install_template(es, index_prefix)
    proxy.stop()
    handler = _handler(proxy.url, index_prefix, tmp_path / "spool.sqlite", request_timeout=2.0)
    logger = logger_only_to("delivery.outage", handler)
    for i in range(50_000):
        logger.info("outage %d", i)
    handler.flush()
    deadline = time.monotonic() + 60
    while handler.stats().retried == 0 and time.monotonic() < deadline:  # the agent has tried the node
        time.sleep(0.1)
    during = handler.stats()
    proxy.start()
    assert handler.wait_delivered(240)
    after = handler.stats()
    handler.close()
    assert during.sent == 0 and during.retried > 0
    assert after.dropped == 0
    assert log_messages(es, index_prefix) == collections.Counter(f"outage {i}" for i in range(50_000))


def test_eight_threads_at_once(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """Eight threads logging at the same time lose nothing and duplicate nothing."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path / "spool.sqlite")
    logger = logger_only_to("delivery.threads", handler)
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(1000):
            logger.warning("thread %d event %d", n, i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handler.wait_delivered(120)
    handler.close()
    expected = collections.Counter(f"thread {n} event {i}" for n in range(8) for i in range(1000))
    assert log_messages(es, index_prefix) == expected


# Python 3.12+ warns about fork() in a threaded process; forking one is exactly what this test proves safe.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_children_send_their_own_events_once(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Parent and forked children each deliver their own events once; no child resends the parent's, and
    what a child could not send before it exited is adopted by the next start, still once."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path / "spool.sqlite")
    logger = logger_only_to("delivery.fork", handler)
    for i in range(300):
        logger.info("parent before %d", i)
    children = []
    for n in range(3):
        pid = os.fork()
        if pid == 0:  # the child: log, close, leave without running pytest's teardown
            code = 1
            try:
                for i in range(200):
                    logger.info("child %d event %d", n, i)
                handler.wait_delivered(30)  # whatever is left stays spooled under the child's pid
                handler.close()
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for i in range(300):
        logger.info("parent after %d", i)
    exits = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert handler.wait_delivered(120)
    handler.close()
    restart = _handler(es_url, index_prefix, tmp_path / "spool.sqlite")  # adopts rows of exited children
    assert restart.wait_delivered(120)
    restart.close()
    expected = collections.Counter(
        [f"parent before {i}" for i in range(300)]
        + [f"parent after {i}" for i in range(300)]
        + [f"child {n} event {i}" for n in range(3) for i in range(200)]
    )
    assert exits == [0, 0, 0]
    assert log_messages(es, index_prefix) == expected


_SHUTDOWN_CHILD = """
import atexit, logging, sys, threading, time
import shipper

def late():
    logging.getLogger("late").warning("logged by an atexit hook after the shipper closed")

atexit.register(late)  # registered first, so it runs after the shipper's own atexit close
shipper.install(service="shutdown", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3])

class Noisy:
    def __del__(self):
        logging.getLogger("late").warning("logged from __del__ during teardown")

noisy = Noisy()

def chatter():
    while True:
        logging.getLogger("daemon").info("daemon thread still logging")
        time.sleep(0.001)

threading.Thread(target=chatter, daemon=True).start()
logging.getLogger("main").info("main done")
time.sleep(0.05)
"""


def test_logging_during_interpreter_shutdown(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """Logging from atexit hooks, __del__ and daemon threads during shutdown raises nothing and is kept."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool.sqlite"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_SHUTDOWN_CHILD))
    done = subprocess.run(
        [sys.executable, str(script), es_url, str(spool), index_prefix],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    handler = _handler(es_url, index_prefix, spool)
    assert handler.wait_delivered(60)
    handler.close()
    messages = log_messages(es, index_prefix)
    assert messages["main done"] == 1
    assert messages["logged by an atexit hook after the shipper closed"] == 1
    assert messages["daemon thread still logging"] >= 1


def test_logging_after_close_is_spooled_and_sent_next_start(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A record logged after close() raises nothing, is spooled, and the next handler delivers it."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool.sqlite"
    first = _handler(es_url, index_prefix, spool)
    logger = logger_only_to("delivery.after_close", first)
    first.close()
    before = first.stats()
    logger.error("logged after close")
    assert first.stats().spooled == before.spooled + 1
    second = _handler(es_url, index_prefix, spool)
    assert second.wait_delivered(60)
    second.close()
    assert log_messages(es, index_prefix) == collections.Counter(["logged after close"])
