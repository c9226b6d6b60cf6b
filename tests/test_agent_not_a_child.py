"""The delivery agent is not a child of the program that started it: a program's own waits for any
child (`os.wait()` until ChildProcessError, `waitpid(-1)`, a SIGCHLD handler that reaps every child,
a prefork server that restarts the worker whose pid it gets) see only the children it made, neither
waiting for the agent to idle out (30 s, or for ever while the node is down) nor getting its pid.
Real programs, real agent processes, the real node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.ports import free_port

from kibana.setup import install_template

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, idle_exit. Each shape forks 3 workers that log, then waits
# for its children its own way and prints "UNKNOWN <n>": children it reaped that it never forked.
_PROGRAM = """
import logging, os, signal, sys, time
import shipper

url, spool, prefix, idle = sys.argv[1:5]
shipper.install("children", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=float(idle),
                retry_max_delay=0.5, request_timeout=2.0)
log = logging.getLogger("children")

def logged(text):
    log.warning(text)
    os.write(1, f"EXPECT {{text}}\\n".encode())

def worker(n, pause=0.0):
    pid = os.fork()
    if pid == 0:
        for i in range(20):
            logged(f"worker {{n}} record {{i}}")
        time.sleep(pause)
        os._exit(0)
    return pid

logged("parent starts")
started = time.monotonic()
mine = {{worker(n): n for n in range(3)}}
unknown = 0
{shape}
logged("parent ends")
print("UNKNOWN", unknown, "WAITED", round(time.monotonic() - started, 1), flush=True)
"""

_SHAPES = {
    "wait-until-no-child": """
while True:
    try:
        pid, _ = os.wait()
    except ChildProcessError:
        break
    unknown += pid not in mine
""",
    "waitpid-minus-one": """
while True:
    try:
        pid, _ = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    unknown += pid not in mine
""",
    "prefork-server-restarting-workers": """
restarts = 0
while restarts < 9 and time.monotonic() - started < 20:
    pid, _ = os.wait()
    n = mine.pop(pid)  # a pid it never forked: KeyError, the server dies
    restarts += 1
    mine[worker(n + 3, pause=0.3)] = n + 3
while mine:
    mine.pop(os.wait()[0])
""",
    "sigchld-handler-reaping-all": """
def reap(*_):
    global unknown
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if mine.pop(pid, None) is None:
            unknown += 1
signal.signal(signal.SIGCHLD, reap)
reap()
deadline = time.monotonic() + 4
while time.monotonic() < deadline:
    time.sleep(0.05)
""",
}


@pytest.mark.parametrize("reachable", [True, False], ids=["node-up", "node-unreachable"])
@pytest.mark.parametrize("shape", list(_SHAPES))
def test_a_programs_waits_for_its_children_never_see_the_agent(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, shape: str, reachable: bool
) -> None:
    """A program that waits for its children its own way never waits for, nor reaps, the agent it
    started (an agent that idles out after 1 s, or one retrying an unreachable node), and every record
    arrives once where the node is up."""
    install_template(es, index_prefix)
    url = es_url if reachable else f"http://127.0.0.1:{free_port()}"
    spool = tmp_path / "spool"
    idle = "1" if shape in ("prefork-server-restarting-workers", "sigchld-handler-reaping-all") else "30"
    script = _PROGRAM.format(shape=_SHAPES[shape])
    done = programs.run(script, tmp_path, args=[url, str(spool), index_prefix, idle], timeout=60)
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[-1].split()
    assert summary[:2] == ["UNKNOWN", "0"], done.stdout[-500:]
    assert float(summary[3]) < 10, f"the program waited {summary[3]} s for its children"
    if reachable:
        want = programs.expected(done)
        assert programs.arrived(es, index_prefix, want) == want


_MANY_FILES = """
import logging, os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1500)]  # the helper's pipe gets a high number
import shipper
from shipper.delivery import lock
url, spool, prefix = sys.argv[1:4]
handler = shipper.install("files", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=3)
for i in range(20):
    logging.getLogger("files").warning("record %d", i)
    print(f"EXPECT record {i}")
print("READY", handler.ready(30), lock.holder(handler.spool_dir).get("mode"))
"""


def test_a_program_with_many_files_open_starts_its_agent(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program holding 1,500 descriptors (the helper's pipe numbered past select()'s limit) starts
    an agent process, never raises, and every record arrives once."""
    install_template(es, index_prefix)
    done = programs.run(_MANY_FILES, tmp_path, args=[es_url, str(tmp_path / "spool"), index_prefix])
    assert done.returncode == 0, done.stderr
    assert "READY True process" in done.stdout, done.stdout[-300:] + done.stderr
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want) == want


# argv: destination, spool root, index prefix. The SIGCHLD handler is the program's from its start;
# then five handlers, each with a spool of its own, start five agents (five helper shells).
_HANDLER_FIRST = """
import logging, os, signal, sys, time
url, root, prefix = sys.argv[1:4]
mine, unknown = {{}}, []

def reap(*_):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        {on_reaped}

signal.signal(signal.SIGCHLD, reap)
for n in range(2):
    pid = os.fork()
    if pid == 0:
        time.sleep(1.0)
        os._exit(0)
    mine[pid] = n
import shipper
for n in range(5):
    handler = shipper.ShipperHandler("first", es_url=url, spool_path=f"{{root}}/{{n}}", index_prefix=prefix,
                                     idle_exit=2)
    logging.getLogger("first").addHandler(handler)
    logging.getLogger("first").warning("record %d", n)
    print(f"EXPECT record {{n}}", flush=True)
    logging.getLogger("first").removeHandler(handler)
    handler.close()
deadline = time.monotonic() + 5
while mine and time.monotonic() < deadline:
    time.sleep(0.05)
print("UNKNOWN", len(unknown), "LEFT", len(mine), flush=True)
"""

_ON_REAPED = {
    "reaps-and-counts": "unknown.append(pid) if mine.pop(pid, None) is None else None",
    "prefork-pops": "unknown.append(pid) if pid not in mine else None; mine.pop(pid)  # else KeyError",
}


@pytest.mark.parametrize("shape", list(_ON_REAPED))
def test_a_sigchld_handler_installed_first_never_gets_a_helpers_pid(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, shape: str
) -> None:
    """A program whose SIGCHLD handler reaps every child from its start (a prefork server's) never gets
    the pid of the shell that starts an agent, over five agent starts (every start gave it one: a
    KeyError out of a prefork server's handler), and every record arrives once."""
    install_template(es, index_prefix)
    script = _HANDLER_FIRST.format(on_reaped=_ON_REAPED[shape])
    done = programs.run(script, tmp_path, args=[es_url, str(tmp_path / "spools"), index_prefix], timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "UNKNOWN 0 LEFT 0", done.stdout[-500:]
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want) == want
