"""A signal handler that logs and then ends the program (`sys.exit`, `raise SystemExit`,
`KeyboardInterrupt`) while its thread is inside a logging call: the handler's record, deferred until
that call leaves the shipper, is written as the exit unwinds through it, before the exit's close.
Real programs, real node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, os, signal, sys
import shipper
shipper.install(
    "exiting", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], delivery=sys.argv[4],
    idle_exit=2,
)
log = logging.getLogger("exiting")
def on_signal(signum, frame):
    log.warning("stopping on signal %d", signum)
    print(f"EXPECT stopping on signal {{signum}}", flush=True)
    {ends}
signal.signal(signal.SIGTERM, on_signal)
class Trigger:  # the signal arrives while the logging call that formats this is inside the shipper
    def __str__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        return "trigger"
for n in range(5):
    log.warning(f"before {{n}}")
    print(f"EXPECT before {{n}}", flush=True)
try:
    log.warning("%s", Trigger())
finally:
    logging.shutdown()
"""

_ENDS = {
    "sys-exit": "sys.exit(0)",
    "system-exit-code": "raise SystemExit(4)",
    "keyboard-interrupt": "raise KeyboardInterrupt",
}


@pytest.mark.parametrize("delivery", ["process", "thread"])
@pytest.mark.parametrize("ends", list(_ENDS))
def test_a_record_logged_by_a_signal_handler_that_exits_inside_a_logging_call_is_kept(
    ends: str, delivery: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """The signal handler's record arrives with the others: it waits for the interrupted call to leave
    the shipper, and the exit unwound through that call without writing it, so it was written only by
    the close at exit, after the delivery thread had stopped (left for some later program to send)."""
    install_template(es, index_prefix)
    script = _PROGRAM.format(ends=_ENDS[ends])
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool"), delivery])
    assert "stopping on signal" in done.stdout, done.stderr
    want = programs.expected(done)
    found = programs.arrived(es, index_prefix, want, timeout=15)
    assert {message: found[message] for message in want} == want
