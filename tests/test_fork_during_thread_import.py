"""A fork that catches one of the shipper's threads in the middle of an import (the watchdog starting an
agent imports `_sha256` the first time): the child inherited that module's import lock, held by a
thread it does not have, and its own first import of the module waited for ever (CI: a worker forked
by a SIGALRM handler hung in test_fork_in_signal_handler). Real processes, no node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import programs

# argv: the slow module's directory and name, who starts the thread, the child's alarm in seconds
_PROGRAM = """
import os, signal, sys, threading, time
from shipper import reentry

sys.path.insert(0, sys.argv[1])
started = threading.Event()
thread = threading.Thread(target=lambda: __import__(sys.argv[2]), name="logloop-test-importer", daemon=True)
(reentry.start_thread if sys.argv[3] == "shipper" else threading.Thread.start)(thread)
if not started.wait(20):
    sys.exit("the thread never began its import")
pid = os.fork()
if pid == 0:
    signal.alarm(int(sys.argv[4]))  # a child that would wait for ever ends with SIGALRM instead
    module = __import__(sys.argv[2])
    print("child imported", module.VALUE, "runs of its code:", module.RUNS, flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
thread.join(20)
print("parent", __import__(sys.argv[2]).VALUE, "child status", os.waitstatus_to_exitcode(status), flush=True)
"""

# A module whose code takes a second: it tells the program its import has begun, then sleeps.
_SLOW_MODULE = """
import sys, time
main = sys.modules["__main__"]
RUNS = getattr(main, "runs", 0) + 1
main.runs = RUNS
main.started.set()
time.sleep(1.0)
VALUE = "whole"
"""


def _run(tmp_path: Path, name: str, starter: str, alarm: int) -> subprocess.CompletedProcess[str]:
    (tmp_path / f"{name}.py").write_text(_SLOW_MODULE)
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path), name, starter, str(alarm)],
        env=env,
        timeout=60,
        capture_output=True,
        text=True,
    )


def test_a_child_forked_while_a_shipper_thread_imports_imports_the_module_whole(tmp_path: Path) -> None:
    """A child forked while a shipper thread is halfway through a module's code imports that module
    itself, runs its code from the start and gets all of it, instead of waiting for ever on the lock
    of a thread it does not have; the parent's import is untouched."""
    done = _run(tmp_path, "slow_for_shipper", "shipper", 15)
    assert done.returncode == 0, done.stderr
    assert "child imported whole runs of its code: 2" in done.stdout, done.stdout + done.stderr
    assert "parent whole child status 0" in done.stdout, done.stdout + done.stderr


def test_imports_of_the_programs_own_threads_are_left_as_they_are(tmp_path: Path) -> None:
    """The same fork with the import in a thread of the program's own leaves that lock alone (the
    hazard is the program's, with or without logging): its child still waits, ended by its alarm."""
    done = _run(tmp_path, "slow_for_program", "program", 3)
    assert done.returncode == 0, done.stderr
    assert "child imported" not in done.stdout
    assert f"child status {-14}" in done.stdout, done.stdout + done.stderr
