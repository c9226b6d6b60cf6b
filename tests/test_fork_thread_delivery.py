"""A program that delivers from a thread (`delivery="thread"`) and forks long-lived workers: each child
inherited the delivery thread's segment descriptors and mappings (the thread is not copied, so nothing
closed them). Once the agent deleted those segments, their disk space stayed taken for as long as the
children lived, outside the spool's bound and out of sight. Real programs, the real node."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, how the children are forked, report file
_PROGRAM = """
import logging, multiprocessing, os, sys, threading, time
import shipper

url, spool, prefix, forking, report = sys.argv[1:6]
handler = shipper.install("threaded", es_url=url, spool_path=spool, index_prefix=prefix, delivery="thread")
handler.writer.segment_bytes = 256 * 1024  # segments finished and deleted while the children live
log = logging.getLogger("threaded")
logged = []
stop = threading.Event()

def spin():
    i = 0
    while not stop.is_set():
        log.info("threaded %d %s", i, "y" * 2000)
        logged.append(i)
        i += 1
        if i % 50 == 0:
            time.sleep(0.001)

def sleeper():
    time.sleep(60)

thread = threading.Thread(target=spin)
thread.start()
children = []
for _ in range(20):
    if forking == "os.fork":
        pid = os.fork()
        if pid == 0:
            sleeper()
            os._exit(0)
        children.append(pid)
    else:
        worker = multiprocessing.get_context("fork").Process(target=sleeper)
        worker.start()
        children.append(worker.pid)
    time.sleep(0.05)
stop.set()
thread.join()
delivered = handler.wait_delivered(60)
with open(report, "w") as out:  # (not stdout: the children, asleep, hold it open)
    out.write(f"DELIVERED {delivered}\\n")
    out.write("CHILDREN " + " ".join(map(str, children)) + "\\n")
    for i in logged:
        out.write(f"EXPECT threaded {i} " + "y" * 2000 + "\\n")
os._exit(0)  # the children live on (a normal exit would join the multiprocessing ones)
"""


def _into(spool: Path, pid: int) -> list[str]:
    """The descriptors and mappings of process `pid` that refer to files of the spool directory."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith(str(spool)):
                found.append(f"fd {fd}: {target}")
    found += [
        line.split()[-2] for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if str(spool) in line
    ]
    return found


@pytest.mark.parametrize("forking", ["os.fork", "multiprocessing"])
def test_workers_forked_by_a_program_delivering_from_a_thread_hold_nothing_of_the_spool(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, forking: str
) -> None:
    """Twenty workers forked while the program's delivery thread sends hold no descriptor or mapping
    of the spool's files once everything is delivered (the deleted segments' disk space is free), and
    every record arrives exactly once."""
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    report = tmp_path / "report.txt"
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    children: list[int] = []
    try:
        arguments = [es_url, str(spool), index_prefix, forking, str(report)]
        subprocess.run([sys.executable, str(script), *arguments], env=env, timeout=120, check=False)
        out = report.read_text()
        assert "DELIVERED True" in out
        children = [
            int(pid) for line in out.splitlines() if line.startswith("CHILDREN ") for pid in line.split()[1:]
        ]
        assert len(children) == 20
        kept = {pid: _into(spool, pid) for pid in children}
        assert not any(kept.values()), (
            f"children hold spool files: {[entry for found in kept.values() for entry in found][:6]}"
        )
        want = programs.expected(subprocess.CompletedProcess([], 0, out, ""))
        assert programs.arrived(es, index_prefix, want) == want
    finally:
        for pid in children:  # the program's workers, still asleep
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
