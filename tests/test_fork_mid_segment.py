"""A fork while another thread of the program makes or closes a spool segment: the child inherited
that segment's descriptor (held only by the other thread's local variables, which the after-fork reset
cannot see), and with it the segment's lock. For as long as such a child lived (a pre-fork server's
worker: days) the segment looked written to by a live program, so `drop_oldest` could never delete
it and the agent never gave up nor finished it. Real programs, real agents, the real node."""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.ports import free_port

from shipper.handler import ShipperHandler
from shipper.spool import layout

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, how children are forked, how the program ends, report file
_PROGRAM = """
import logging, multiprocessing, os, signal, sys, threading, time
import shipper

url, spool, prefix, forking, ending, report = sys.argv[1:7]
handler = shipper.install("forks", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=60,
                          unreachable_exit=600, spool_max_bytes=1 << 30)
handler.writer.segment_bytes = 64 * 1024  # a new segment every few records: many forks land mid-way
log = logging.getLogger("forks")
logged = []
stop = threading.Event()

def spin():
    i = 0
    while not stop.is_set():
        log.info("spin %d %s", i, "x" * 2000)
        logged.append(i)
        i += 1

def sleeper():
    time.sleep(60)

thread = threading.Thread(target=spin)
thread.start()
children = []
for _ in range(60):
    if forking == "os.fork":
        pid = os.fork()
        if pid == 0:
            sleeper()
            os._exit(0)
        children.append(pid)
    else:
        worker = multiprocessing.get_context("fork").Process(target=sleeper, daemon=False)
        worker.start()
        children.append(worker.pid)
    time.sleep(0.003)
stop.set()
thread.join()
with open(report, "w") as out:  # (not stdout: the children, asleep, hold it open)
    out.write("CHILDREN " + " ".join(map(str, children)) + "\\n")
    for i in logged:
        out.write(f"EXPECT spin {i} " + "x" * 2000 + "\\n")
if ending == "close":  # sealed, as at a normal exit (whose multiprocessing hook would join them)
    handler.close()
if ending == "SIGKILL":
    os.kill(os.getpid(), signal.SIGKILL)
os._exit(0)
"""


@pytest.mark.parametrize("forking", ["os.fork", "multiprocessing"])
@pytest.mark.parametrize("ending", ["close", "os._exit", "SIGKILL"])
def test_children_forked_while_a_segment_is_made_do_not_hold_it(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, forking: str, ending: str
) -> None:
    """Once a program that forked sixty children while another of its threads logged (rolling over
    small segments) has ended, no segment is held by a live writer though every child still lives,
    and every record it logged arrives exactly once."""
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    unreachable = f"http://127.0.0.1:{free_port()}"  # nothing is delivered (or deleted) meanwhile
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    children: list[int] = []
    try:
        report = tmp_path / "report.txt"
        arguments = [unreachable, str(spool), index_prefix, forking, ending, str(report)]
        subprocess.run([sys.executable, str(script), *arguments], env=env, timeout=90, check=False)
        out = report.read_text()
        children = [
            int(pid) for line in out.splitlines() if line.startswith("CHILDREN ") for pid in line.split()[1:]
        ]
        assert len(children) == 60
        assert all(Path(f"/proc/{pid}").exists() for pid in children)
        held = [path.name for path in layout.segments(spool) if layout.writer_alive(path)]
        assert not held, f"{len(held)} segments held by the program's children"
        drain = ShipperHandler(
            "drain", es_url=es_url, index_prefix=index_prefix, spool_path=spool, idle_exit=2
        )
        try:
            assert drain.wait_delivered(90)
        finally:
            drain.close()
        want = programs.expected(subprocess.CompletedProcess([], 0, out, ""))
        assert programs.arrived(es, index_prefix, want) == want
    finally:
        for pid in children:  # the program's children, still asleep
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


# argv: spool, report file, what a thread of the program probes while the main thread forks
_PROBING_PROGRAM = """
import os, sys, threading, time
from pathlib import Path
from shipper.delivery import lock
from shipper.spool import layout

spool, report, probe = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
layout.ensure_private_dir(spool)
(spool / layout.LOCK_NAME).touch()
(spool / "q000000000001-1-00000000.seg").touch()  # a dead writer's empty segment
stop = threading.Event()

def spin():
    while not stop.is_set():
        lock.running(spool) if probe == "agent-lock" else layout.writer_attached(spool)

thread = threading.Thread(target=spin)
thread.start()
children = []
for _ in range(100):
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)
    time.sleep(0.001)
stop.set()
thread.join()
Path(report).write_text(" ".join(map(str, children)))
"""


@pytest.mark.parametrize("probe", ["agent-lock", "writers"])
def test_children_forked_while_a_thread_probes_a_lock_do_not_hold_the_probe(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, probe: str
) -> None:
    """A program that forks a hundred children while another thread asks whether an agent runs (or
    whether a writer is attached) leaves no probe's lock to them: the agent lock stays free, and the
    next program's agent takes it and delivers."""
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROBING_PROGRAM)
    report = tmp_path / "children.txt"
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    children: list[int] = []
    try:
        subprocess.run(
            [sys.executable, str(script), str(spool), str(report), probe], env=env, timeout=90, check=True
        )
        children = [int(pid) for pid in report.read_text().split()]
        assert not layout.held(spool / layout.LOCK_NAME, exclusive=True), "a child holds the agent lock"
        assert not layout.writer_attached(spool), "a child holds a segment's lock"
        handler = ShipperHandler(
            "probes", es_url=es_url, index_prefix=index_prefix, spool_path=spool, idle_exit=2
        )
        try:
            handler.handle(logging_record("after the forks"))
            assert handler.wait_delivered(60)
        finally:
            handler.close()
        assert (
            programs.arrived(es, index_prefix, collections.Counter(["after the forks"]))["after the forks"]
            == 1
        )
    finally:
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def logging_record(message: str) -> logging.LogRecord:
    return logging.LogRecord("probes", logging.WARNING, __file__, 1, message, None, None)
