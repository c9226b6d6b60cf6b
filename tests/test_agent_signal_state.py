"""The delivery agent starts with a signal state of its own, not the program's: a program that
blocks SIGTERM (a daemon waiting in `sigwait`) or sets it to SIG_IGN passed that on through the exec,
and its agent could then not be asked to stop. Real programs, real agent processes, the real node."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.ports import free_port

from shipper.delivery import lock
from shipper.handler import ShipperHandler

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix, tag, what the program does to its signals before logging
_PROGRAM = """
import logging, signal, sys
import shipper

url, spool, prefix, tag, shape = sys.argv[1:6]
if shape == "sigterm-blocked":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
elif shape == "every-signal-blocked":
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
elif shape == "sigterm-ignored":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif shape == "hangup-and-sigterm-ignored":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif shape == "sigterm-handled":
    signal.signal(signal.SIGTERM, lambda *_: None)
handler = shipper.install("signals", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=120,
                          unreachable_exit=600, retry_max_delay=0.5, request_timeout=2.0)
log = logging.getLogger("signals")
for i in range(20):
    log.warning("%s record %d", tag, i)
    print(f"EXPECT {tag} record {i}", flush=True)
print("READY", handler.ready(30), flush=True)
"""


def _signal_state(pid: int) -> tuple[int, int]:
    """(blocked, ignored) signal masks of a running process, from /proc."""
    masks = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("SigBlk", "SigIgn"):
            masks[name] = int(value.strip(), 16)
    return masks["SigBlk"], masks["SigIgn"]


def _bit(signum: int) -> int:
    return 1 << (signum - 1)


@pytest.mark.parametrize(
    "shape",
    [
        "sigterm-blocked",
        "every-signal-blocked",
        "sigterm-ignored",
        "hangup-and-sigterm-ignored",
        "sigterm-handled",  # a handler does not survive an exec: this one always worked
    ],
)
def test_an_agent_started_by_a_program_that_blocks_or_ignores_sigterm_can_still_be_replaced(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, shape: str
) -> None:
    """The agent of a program that blocked or ignored SIGTERM has no signal blocked and SIGTERM at its
    default, so a newer program with another destination takes the spool over and both programs'
    records arrive exactly once."""
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    unreachable = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    outputs = []
    first_agent = 0
    try:
        for url, tag, program_shape in ((unreachable, "older", shape), (es_url, "newer", "plain")):
            done = subprocess.run(
                [sys.executable, str(script), url, str(spool), index_prefix, tag, program_shape],
                capture_output=True, text=True, env=env, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 0 and "READY True" in done.stdout, done.stderr
            outputs.append(done.stdout)
            if not first_agent:
                first_agent = int(lock.holder(spool)["pid"])
                blocked, ignored = _signal_state(first_agent)
                assert blocked == 0, f"the agent inherited blocked signals {blocked:#x}"
                stops = _bit(signal.SIGTERM) | _bit(signal.SIGHUP) | _bit(lock.REPLACE)
                assert not ignored & stops, f"ignored {ignored:#x}"
        deadline = time.monotonic() + 30
        while lock.holder(spool).get("pid") == first_agent and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.holder(spool).get("pid") != first_agent, "the older program's agent kept the spool"
        drain = ShipperHandler(
            "drain", es_url=es_url, index_prefix=index_prefix, spool_path=spool, idle_exit=2
        )
        try:
            assert drain.wait_delivered(60)
        finally:
            drain.close()
        want = programs.expected(subprocess.CompletedProcess([], 0, "".join(outputs), ""))
        assert programs.arrived(es, index_prefix, want) == want
    finally:
        if first_agent:  # the agent our first program started, stopped whatever it ignores
            with contextlib.suppress(OSError):
                os.kill(first_agent, signal.SIGKILL)
