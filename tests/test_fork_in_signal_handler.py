"""A child forked by a signal handler that interrupted a logging call (a SIGCHLD or SIGHUP handler that
starts a worker while the main thread logs): the child inherited the thread's "inside the shipper"
mark, so every record it logged was put aside for a call it would never return to, and lost without
a count when it exited. Real programs, real agents, the real node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from shipper.handler import ShipperHandler

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, how the child is made and ends, report file
_PROGRAM = """
import logging, multiprocessing, os, signal, sys, time
import shipper

url, spool, prefix, shape, report = sys.argv[1:6]
handler = shipper.install("forked", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=5)
handler.writer.segment_bytes = 32 * 1024  # segments made often: some forks land while one is made
log = logging.getLogger("forked")
lines = []

def expect(message):
    fd = os.open(report, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, f"EXPECT {message}\\n".encode())
    os.close(fd)

def work(number):
    for j in range(3):
        log.warning("child %d record %d", number, j)
        expect(f"child {number} record {j}")
    if shape == "sys.exit":
        sys.exit(0)
    os._exit(0)

children, inside = [], []

def on_alarm(signum, frame):
    if inside or len(children) >= 40:
        return
    inside.append(1)
    number = len(children)
    if shape == "multiprocessing":
        worker = multiprocessing.get_context("fork").Process(target=work, args=(number,))
        worker.start()
        children.append(worker)
    else:
        pid = os.fork()
        if pid == 0:
            work(number)
        children.append(pid)
    inside.clear()

signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
i = 0
while len(children) < 40:
    log.info("parent record %d %s", i, "z" * 300)
    expect(f"parent record {i} " + "z" * 300)
    i += 1
signal.setitimer(signal.ITIMER_REAL, 0)
for child in children:
    child.join() if shape == "multiprocessing" else os.waitpid(child, 0)
"""


@pytest.mark.parametrize("shape", ["os._exit", "sys.exit", "multiprocessing"])
def test_a_child_forked_by_a_signal_handler_inside_a_logging_call_ships_its_records(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, shape: str
) -> None:
    """Forty children forked by a signal handler while the main thread logs flat out (most of them
    in the middle of a logging call) each deliver their three records, and the parent all of its own,
    each exactly once."""
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    report = tmp_path / "report.txt"
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    arguments = [es_url, str(spool), index_prefix, shape, str(report)]
    done = subprocess.run(
        [sys.executable, str(script), *arguments], env=env, timeout=120, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    drain = ShipperHandler("drain", es_url=es_url, index_prefix=index_prefix, spool_path=spool, idle_exit=2)
    try:
        assert drain.wait_delivered(90)
    finally:
        drain.close()
    want = programs.expected(subprocess.CompletedProcess([], 0, report.read_text(), ""))
    assert sum(1 for message in want if message.startswith("child ")) == 120
    found = programs.arrived(es, index_prefix, want)
    missing = [message for message in want if found[message] < want[message]]
    assert not missing, f"{len(missing)} records lost, first {missing[:3]}"
    assert found == want


def test_no_shipper_object_is_finalized_by_python_code() -> None:
    """No class of the shipper has a `__del__` written in Python, and dropping an open segment file
    runs no Python function: a finalizer's bytecode is where a program's signal handler may run, and
    the exception it raises there (KeyboardInterrupt, a forked worker's `sys.exit`) was swallowed as
    "ignored" (a worker forked by a SIGALRM handler ran its parent's loop for ever)."""
    import gc
    import importlib
    import inspect
    import pkgutil
    import tempfile

    import shipper
    from shipper.capture import writer

    for module_info in pkgutil.walk_packages(shipper.__path__, "shipper."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            finalizer = cls.__dict__.get("__del__")
            assert not inspect.isfunction(finalizer), f"{cls.__module__}.{cls.__qualname__}.__del__"
    with tempfile.TemporaryDirectory() as directory:
        opened = writer._SegmentFile(Path(directory) / "segment", "x+")
        calls: list[str] = []

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

        sys.setprofile(profile)
        try:
            del opened
            gc.collect()
        finally:
            sys.setprofile(None)
    assert [call for call in calls if "shipper" in call] == []
