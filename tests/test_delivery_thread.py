"""A program that delivers from a thread of its own (`delivery="thread"`) and ends: close() gives that
thread until `close_timeout` to send what the program logged, however the program ends. Real
programs, real node; no delivery process runs, so what close() did not send does not arrive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import log_messages

from kibana.setup import install_template
from shipper.spool import layout

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, os, sys, threading
import shipper
shipper.install(
    "short", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], delivery="thread",
    close_timeout=20,
)
log = logging.getLogger("short")
for n in range({count}):
    log.warning(f"record {{n}}")
    print(f"EXPECT record {{n}}", flush=True)
{end}
"""

_ENDS = {
    "falls-off-the-end": "",
    "sys-exit": "sys.exit(0)",
    "logging-shutdown": "logging.shutdown()",
    "exit-from-a-thread-joined": "t = threading.Thread(target=sys.exit); t.start(); t.join()",
}


@pytest.mark.parametrize("end", list(_ENDS))
@pytest.mark.parametrize("count", [1, 40, 3000])
def test_a_short_program_delivering_from_a_thread_sends_everything_before_it_ends(
    end: str, count: int, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Every record arrives once: close() stopped the delivery thread at once, so a thread waiting
    between two looks at the spool sent nothing and the records stayed on disk with no agent."""
    install_template(es, index_prefix)
    script = _PROGRAM.format(count=count, end=_ENDS[end])
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")])
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    want = programs.expected(done)
    assert sum(want.values()) == count
    assert programs.arrived(es, index_prefix, want, timeout=5) == want


# argv: url, prefix, spool, tag, count. Delivered by an agent process that stays 4 s once idle.
_PROCESS_PROGRAM = """
import logging, sys
import shipper

url, prefix, spool, tag, count = sys.argv[1:6]
handler = shipper.install("process", es_url=url, index_prefix=prefix, spool_path=spool, idle_exit=4)
for n in range(int(count)):
    logging.getLogger("process").warning("%s %d", tag, n)
print("DELIVERED", handler.wait_delivered(30))
handler.close()
"""

# argv: url, prefix, spool. Its delivery thread makes its agent at once, then waits for the lock; once
# the thread holds it, five records, delivered by the thread.
_THREAD_PROGRAM = """
import logging, os, sys, time
from pathlib import Path
import shipper
from shipper.delivery import lock

url, prefix, spool = sys.argv[1], sys.argv[2], Path(sys.argv[3])
handler = shipper.install("thread", es_url=url, index_prefix=prefix, spool_path=spool, delivery="thread")
print("WAITING", flush=True)
deadline = time.monotonic() + 40
while lock.holder(spool).get("pid") != os.getpid() and time.monotonic() < deadline:
    time.sleep(0.05)
for n in range(5):
    logging.getLogger("thread").warning("thread %d", n)
print("DELIVERED", handler.wait_delivered(30), flush=True)
handler.close()
"""


def test_a_delivery_thread_that_waited_for_the_lock_counts_from_what_the_agent_before_it_left(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program's delivery thread that started while an agent process held the spool's lock, and took
    it only after that agent delivered another program's records, counts on from the totals that agent
    left in agent.json: it read them before it held the lock, and its first write put them back (the
    30 records delivered meanwhile missing from `sent`)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    args = [es_url, index_prefix, str(spool)]
    first = programs.run(_PROCESS_PROGRAM, tmp_path, args=[*args, "first", "20"])
    assert "DELIVERED True" in first.stdout, first.stderr
    script = tmp_path / "thread.py"
    script.write_text(_THREAD_PROGRAM)
    waiting = subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(programs.REPO)},
    )  # fmt: skip
    try:
        assert waiting.stdout is not None and waiting.stdout.readline().strip() == "WAITING"
        assert programs.agent_pid(spool) is not None  # the first program's agent still holds the lock
        second = programs.run(_PROCESS_PROGRAM, tmp_path, args=[*args, "second", "30"])
        assert "DELIVERED True" in second.stdout, second.stderr
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.communicate(timeout=30)
    assert "DELIVERED True" in out and waiting.returncode == 0, err
    total = log_messages(es, index_prefix).total()
    assert total == 55
    assert layout.read_json(spool / layout.AGENT_STATS_NAME)["sent"] == total
