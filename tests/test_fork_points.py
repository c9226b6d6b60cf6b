"""A program that delivers from a thread may fork at any moment of that thread's delivery pass: a real
program forks at points throughout a pass (sampled every few interpreter events of the agent's code,
where the thread is outside `layout.fork_gate`, as another thread's fork would find it) and each child
must hold no descriptor or mapping of the spool's files. The pass's holds were released outside the
gate after being forgotten: a child forked in between kept them, the deleted segments' disk space
taken for the child's whole life (the rare CI failure of `test_fork_thread_delivery`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, report file. The delivery thread's profile hook forks at every
# `_STRIDE`-th event (a call, a return) of the agent module's code while the thread does not hold the fork
# gate; the child writes what of the spool it holds (after the at-fork hooks ran) and exits.
_PROGRAM = """
import logging, os, sys, threading
import shipper
from shipper.delivery import agent
from shipper.spool import layout

url, spool, prefix, report, stride = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
events, forks, sampled = 0, 0, set()

def spool_files():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # (the listing's own descriptor)
            continue
        if target.startswith(spool):
            found.append(f"fd {fd}: {target}")
    with open("/proc/self/maps") as maps:
        found += [f"mapped: {line.split()[-1]}" for line in maps if spool in line]
    return found

def hook(frame, event, arg):
    global events, forks
    if threading.current_thread().name != "logloop-shipper-agent":
        sys.setprofile(None)  # only the delivery thread is swept
        return
    if frame.f_code.co_filename != agent.__file__:
        return
    events += 1
    if events % stride or layout.fork_gate()._is_owned():
        return
    forks += 1
    sampled.add(frame.f_code.co_qualname)
    pid = os.fork()
    if pid == 0:
        held = spool_files()
        if held:
            with open(report, "a") as out:
                out.write(f"HELD at {event} in {frame.f_code.co_qualname}:{frame.f_lineno}: {held}\\n")
        os._exit(0)
    os.waitpid(pid, 0)

threading.setprofile(hook)
handler = shipper.install("forking", es_url=url, spool_path=spool, index_prefix=prefix, delivery="thread")
handler.writer.segment_bytes = 16 * 1024  # a pass holds several segments
log = logging.getLogger("forking")
for i in range(80):
    log.info("forking %d %s", i, "y" * 1000)
delivered = handler.wait_delivered(60)
with open(report, "a") as out:
    out.write(f"DELIVERED {delivered}\\nFORKS {forks}\\nSAMPLED {' '.join(sorted(sampled))}\\n")
os._exit(0)
"""
# Every third event: 950 forks or so of a pass's 3,000 events (4 to 10 s); the old window, from forgetting the
# holds to closing the last of them, spans a dozen events of a pass holding five segments.
_STRIDE = 3


def test_a_fork_at_any_point_of_a_delivery_pass_leaves_the_child_nothing_of_the_spool(
    es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Children forked at points throughout a delivery thread's pass (holding several segments) each
    hold no descriptor or mapping of the spool once their at-fork hooks ran."""
    report = tmp_path / "report.txt"
    arguments = [es_url, str(tmp_path / "spool"), index_prefix, str(report), str(_STRIDE)]
    done = programs.run(_PROGRAM, tmp_path, args=arguments, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = report.read_text().splitlines()
    facts: dict[str, Any] = dict(line.split(" ", 1) for line in lines if not line.startswith("HELD "))
    assert facts["DELIVERED"] == "True"
    sampled = set(facts["SAMPLED"].split())
    # the sweep reached a pass that held segments and sent and settled records of them
    assert {"Agent.step", "Agent._hold", "Agent._send", "Agent._settle"} <= sampled, sampled
    assert int(facts["FORKS"]) >= 300, facts["FORKS"]
    held = [line for line in lines if line.startswith("HELD ")]
    assert not held, held[:3]
