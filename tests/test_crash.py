"""Crash-proof capture against the real node: SIGKILL of the program at random moments, os._exit in
parents and forked children, the agent killed mid-send, both killed, sixteen forked workers sharing
one agent."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.delivered import log_messages

from kibana.setup import install_template
from shipper.delivery import lock
from shipper.handler import ShipperHandler
from shipper.spool import layout

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.es, pytest.mark.slow]
_ENV = {**os.environ, "PYTHONPATH": str(REPO)}

# argv: es_url, spool dir, index prefix, tag, paced (0/1). Reports each returned call's number.
_LOGGING_CHILD = """
import logging, os, sys, time
import shipper
shipper.install("crash", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3], idle_exit=5)
log = logging.getLogger("crash")
tag, paced = sys.argv[4], sys.argv[5] == "1"
out = os.fdopen(1, "w", buffering=1)
for i in range(10_000_000):
    if i % 7 == 3:
        try:
            raise ValueError(f"failure {i}")
        except ValueError:
            log.exception("%s n%d", tag, i)
    else:
        log.info("%s n%d", tag, i)
    out.write(f"{i}\\n")
    if paced:
        time.sleep(0.0005)
"""


def _drain(es_url: str, prefix: str, spool: Path) -> ShipperHandler:
    """A fresh program on the same spool, waiting until everything there is delivered."""
    handler = ShipperHandler("drain", es_url=es_url, index_prefix=prefix, spool_path=spool, idle_exit=2)
    assert handler.wait_delivered(180)
    return handler


def _kill_child_at_random(script: Path, args: list[str], rng: random.Random, paced: bool) -> int:
    """Run the logging child, SIGKILL it at a random moment, return the last call it saw return."""
    child = subprocess.Popen(
        [sys.executable, str(script), *args, "1" if paced else "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=_ENV,
    )
    assert child.stdout is not None
    target = rng.randint(50, 3000)
    last = -1
    for line in child.stdout:
        last = int(line)
        if last >= target:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    for line in child.stdout:  # what it reported before the kill landed
        if line.strip().isdigit():
            last = int(line)
    child.stdout.close()
    return last


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Twenty SIGKILLs of a program logging info and exceptions (ten paced, ten flat out): every call
    that returned is delivered exactly once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(_LOGGING_CHILD)
    rng = random.Random(9)
    last: dict[str, int] = {}
    for round_ in range(20):
        tag = f"r{round_}"
        last[tag] = _kill_child_at_random(
            script, [es_url, str(spool), index_prefix, tag], rng, round_ % 2 == 0
        )
    _drain(es_url, index_prefix, spool).close()
    found = log_messages(es, index_prefix)
    for tag, returned in last.items():
        missing = [i for i in range(returned + 1) if found[f"{tag} n{i}"] == 0]
        assert not missing, (
            f"{tag}: {len(missing)} of {returned + 1} returned calls lost, first {missing[:5]}"
        )
    assert max(found.values()) == 1, "a record was delivered twice"


_EXIT_CHILD = """
import logging, os, sys
import shipper
shipper.install("exits", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3], idle_exit=5)
log = logging.getLogger("exits")
children = []
for c in range(4):
    pid = os.fork()
    if pid == 0:
        for i in range(300):
            log.info("child %d n%d", c, i)
        os._exit(0)  # no close(), no atexit
    children.append(pid)
for i in range(300):
    log.warning("parent n%d", i)
for pid in children:
    os.waitpid(pid, 0)
os._exit(0)
"""


def test_os_exit_in_parent_and_forked_children_loses_nothing(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A parent and four forked children that leave with os._exit() (no close, no atexit): all
    1,500 records arrive once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(_EXIT_CHILD)
    subprocess.run(
        [sys.executable, str(script), es_url, str(spool), index_prefix], env=_ENV, check=True, timeout=120
    )
    handler = _drain(es_url, index_prefix, spool)
    handler.close()
    found = log_messages(es, index_prefix)
    expected = {f"child {c} n{i}" for c in range(4) for i in range(300)} | {
        f"parent n{i}" for i in range(300)
    }
    assert set(found) == expected
    assert max(found.values()) == 1
    assert handler.stats().recovered >= 1500  # every segment was left open: all recovered


def _agent_pid(spool: Path) -> int | None:
    """The pid of the agent process running for `spool`, if one runs."""
    if not lock.running(spool):
        return None
    holder = layout.read_json(spool / layout.LOCK_NAME)
    pid = holder.get("pid")
    return pid if isinstance(pid, int) and holder.get("mode") == "process" else None


def test_agent_killed_mid_send_repeatedly_loses_and_duplicates_nothing(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """The agent SIGKILLed eight times while a program keeps logging: the watchdog restarts it, and
    every record arrives exactly once; then program and agent are both killed, and a new program
    recovers the rest."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(_LOGGING_CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), es_url, str(spool), index_prefix, "k", "1"],
        stdout=subprocess.PIPE,
        text=True,
        env=_ENV,
    )
    assert child.stdout is not None
    kills, last, killed_at = 0, -1, time.monotonic()
    for line in child.stdout:
        last = int(line)
        if time.monotonic() - killed_at > 0.4:
            pid = _agent_pid(spool)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
            killed_at = time.monotonic()
        if kills >= 8 or last > 200_000:
            break
    pid = _agent_pid(spool)
    child.send_signal(signal.SIGKILL)  # both killed
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    child.wait()
    for line in child.stdout:
        if line.strip().isdigit():
            last = int(line)
    child.stdout.close()
    assert kills >= 8
    _drain(es_url, index_prefix, spool).close()
    found = log_messages(es, index_prefix)
    missing = [i for i in range(last + 1) if found[f"k n{i}"] == 0]
    assert not missing, f"{len(missing)} of {last + 1} lost, first {missing[:5]}"
    assert max(found.values()) == 1


_WORKERS_CHILD = """
import logging, os, sys, time
import shipper
shipper.install("workers", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3], idle_exit=5)
log = logging.getLogger("workers")
log.info("parent starts")
pids = []
for w in range(16):
    pid = os.fork()
    if pid == 0:
        for i in range(2000):
            log.info("worker %d n%d", w, i)
            if i % 100 == 0:
                time.sleep(0.01)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
"""


def _agents_reading(spool: Path) -> dict[int, int]:
    """pid -> RSS (kB) of every delivery agent process with a segment of `spool` mapped."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"shipper.delivery.agent" not in (entry / "cmdline").read_bytes():
                continue
            if str(spool) not in (entry / "maps").read_text():
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        found[int(entry.name)] = rss
    return found


def test_sixteen_forked_workers_share_one_agent(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Sixteen forked workers logging at once are served by one agent process, and all 32,001
    records arrive once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(_WORKERS_CHILD)
    child = subprocess.Popen([sys.executable, str(script), es_url, str(spool), index_prefix], env=_ENV)
    seen: set[int] = set()
    most = 0
    # Watched until the agent exits (idle_exit), not only while the workers run: the agent is niced,
    # and on a loaded machine sixteen busy workers may finish before it maps its first segment.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        agents = _agents_reading(spool)
        seen |= set(agents)
        most = max(most, len(agents))
        if child.poll() is not None and seen and not agents:
            break
        time.sleep(0.05)
    child.wait()
    assert child.returncode == 0
    _drain(es_url, index_prefix, spool).close()
    found = log_messages(es, index_prefix)
    assert len(found) == 16 * 2000 + 1
    assert max(found.values()) == 1
    log = spool / "agent.log"
    assert most == 1 and len(seen) == 1, (most, seen, log.read_text() if log.exists() else "no agent.log")
