"""`spool_backlog` says how many of a program's records wait in the spool: records its `drop_oldest`
policy deleted (lost, counted in `dropped`) were counted as waiting too, for the program's whole life
(22,226 "waiting" in a spool the agent had emptied), in its health documents, /metrics and the
digest. Real programs; the agent stopped (SIGSTOP) or absent while the spool overflows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

_PROGRAM = """
import logging, os, signal, sys, time
import shipper
from shipper.delivery import lock

url, spool, prefix, shape = sys.argv[1:5]
delivery = "thread" if shape == "no-delivery" else "process"
handler = shipper.install("backlog", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=3,
                          spool_max_bytes=256 * 1024, delivery=delivery)
log = logging.getLogger("backlog")
if shape == "no-delivery":
    handler._stop.set()  # nothing is delivered: every record kept waits
else:
    assert handler.ready(30)
    agent = lock.holder(handler.spool_dir)["pid"]
for i in range(1000):
    log.warning("early %d %s", i, "e" * 300)
if shape == "agent-stopped":
    os.kill(agent, signal.SIGSTOP)
for i in range(8000):
    log.warning("late %d %s", i, "l" * 300)
if shape == "agent-stopped":
    os.kill(agent, signal.SIGCONT)
if shape != "no-delivery":
    assert handler.wait_delivered(60)
s = handler.stats()
print("STATS", s.queued, s.sent, s.dropped, s.dead_lettered, s.spool_backlog)
"""


@pytest.mark.parametrize("shape", ["agent-stopped", "agent-running", "no-delivery"])
def test_records_drop_oldest_deleted_are_not_counted_as_waiting(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, shape: str
) -> None:
    """Every record the program logged is sent, dropped or waiting, each once: once delivered the
    backlog is 0 and what was sent is what reached the node; with nothing delivered it is what the
    spool holds."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    done = programs.run(_PROGRAM, tmp_path, args=[es_url, str(spool), index_prefix, shape], timeout=120)
    assert done.returncode == 0, done.stderr
    queued, sent, dropped, dead, backlog = map(int, done.stdout.split("STATS")[1].split())
    assert queued == 9000 and dropped > 0, done.stdout
    assert queued == sent + dropped + dead + backlog, done.stdout
    if shape == "no-delivery":
        assert sent == 0 and backlog > 0
    else:
        assert backlog == 0
        assert sum(programs.arrived(es, index_prefix, {}).values()) == sent


_REPORTING = """
import logging, sys, time
import shipper

url, spool, prefix = sys.argv[1:4]
handler = shipper.install("reporting", es_url=url, spool_path=spool, index_prefix=prefix, stats_interval=0.5)
log = logging.getLogger("reporting")
for i in range(10):
    log.warning("reporting %d", i)
deadline = time.monotonic() + 30  # until the agent delivered health reports of this process too
while time.monotonic() < deadline:
    if handler.wait_delivered(10) and handler._reports >= 3:
        break
    time.sleep(0.2)
assert handler.wait_delivered(10)
s = handler.stats()
print("STATS", handler._reports, s.queued, s.sent, s.spool_backlog)
"""


def test_health_reports_delivered_or_waiting_are_no_record_sent_or_waiting(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program's `sent` and `spool_backlog` count its records, not the health reports it writes every
    `stats_interval`: each report delivered was counted sent (13 sent for 10 records logged), one
    written a moment before `stats()` was counted waiting."""
    install_template(es, index_prefix)
    done = programs.run(_REPORTING, tmp_path, args=[es_url, str(tmp_path / "spool"), index_prefix])
    assert done.returncode == 0, done.stderr
    reports, queued, sent, backlog = map(int, done.stdout.split("STATS")[1].split())
    assert reports >= 3
    assert (queued, sent, backlog) == (10, 10, 0), done.stdout
