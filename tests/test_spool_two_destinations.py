"""Two programs that share one spool directory but ship to different destinations: the newest
program's agent takes the directory and keeps it while both run; the older program, its forked
workers included, no longer takes it back every second (each agent killed in the middle of its
work, a new one started). Real programs, real agent processes, the real node reached directly and
through a loopback proxy (another address: other settings)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.proxy import Proxy, proxy_to

from kibana.setup import install_template
from shipper.delivery import lock

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, tag, seconds to log, whether a forked worker logs too
_PROGRAM = """
import logging, os, sys, time
import shipper

url, spool, prefix, tag, seconds, fork = sys.argv[1:7]
handler = shipper.install("two", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=2)
log = logging.getLogger("two")
log.warning("%s first", tag)
print(f"EXPECT {tag} first", flush=True)
time.sleep(1.5)  # the other program starts meanwhile
if fork == "fork" and os.fork() == 0:
    tag = tag + "-worker"  # a worker forked after the other program began (and it logs)
end, n = time.monotonic() + float(seconds), 0
while time.monotonic() < end:
    log.warning("%s record %d", tag, n)
    print(f"EXPECT {tag} record {n}", flush=True)
    n += 1
    time.sleep(0.02)
if tag.endswith("-worker"):
    os._exit(0)
time.sleep(0.5)
"""


@pytest.fixture
def proxy(es_url: str) -> Iterator[Proxy]:
    server = proxy_to(es_url)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("fork", ["fork", "no-fork"])
@pytest.mark.parametrize("older_direct", [True, False], ids=["older-direct", "older-through-proxy"])
def test_the_newest_programs_agent_keeps_a_shared_spool_while_both_run(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, proxy: Proxy, fork: str, older_direct: bool
) -> None:
    """While two programs with other destinations log into one spool, the agent is replaced once (by
    the newer program's), not every second; every record of both arrives exactly once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    older, newer = (es_url, proxy.url) if older_direct else (proxy.url, es_url)
    env = {"PYTHONPATH": str(programs.REPO), "PATH": "/usr/bin:/bin"}
    runs = []
    for url, tag, delay in ((older, "older", 0.0), (newer, "newer", 0.5)):
        time.sleep(delay)
        arguments = [sys.executable, str(script), url, str(spool), index_prefix, tag, "5", fork]
        runs.append(
            subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        )
    agents: list[int] = []
    deadline = time.monotonic() + 60
    while any(run.poll() is None for run in runs) and time.monotonic() < deadline:
        pid = lock.holder(spool).get("pid") if lock.running(spool) else None
        if isinstance(pid, int) and (not agents or agents[-1] != pid):
            agents.append(pid)
        time.sleep(0.02)
    outputs = [run.communicate(timeout=30) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    assert 1 <= len(agents) <= 2, f"{len(agents)} agents took turns"
    want = programs.expected(subprocess.CompletedProcess([], 0, "".join(out for out, _ in outputs), ""))
    assert programs.arrived(es, index_prefix, want) == want


def test_an_ended_newer_programs_agent_gives_the_spool_back_to_the_older_one_still_running(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A newer program with an unreachable destination takes the shared spool, then ends: the older
    program, still logging, takes it back at once, and every record of both arrives (the ended
    program's agent never gave up while the older one wrote there, and held its records for good)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    env = {"PYTHONPATH": str(programs.REPO), "PATH": "/usr/bin:/bin"}
    runs = []
    for url, tag, seconds, delay in (
        (es_url, "older", "8", 0.0),
        (programs.UNREACHABLE, "newer", "0.2", 0.5),
    ):
        time.sleep(delay)
        arguments = [sys.executable, str(script), url, str(spool), index_prefix, tag, seconds, "no-fork"]
        runs.append(
            subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        )
    newer_out, newer_err = runs[1].communicate(timeout=60)
    assert runs[1].returncode == 0, newer_err
    older_out, older_err = runs[0].communicate(timeout=60)
    assert runs[0].returncode == 0, older_err
    want = programs.expected(subprocess.CompletedProcess([], 0, older_out + newer_out, ""))
    assert any(message.startswith("newer") for message in want)
    assert programs.arrived(es, index_prefix, want, timeout=30) == want
