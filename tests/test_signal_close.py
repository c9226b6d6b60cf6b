"""A signal handler that closes the shipper (a SIGTERM handler calling `logging.shutdown()`, the
handler's `close()`, then perhaps `sys.exit`) while its thread is inside a logging call: the program
never hangs, and every record whose call returned arrives. Real programs, real node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template
from shipper.handler import ShipperHandler

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, signal, sys, time
import shipper
handler = shipper.install(
    "closing", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], delivery=sys.argv[4],
    idle_exit=2,
)
log = logging.getLogger("closing")
def on_signal(signum, frame):
    {closes}
signal.signal(signal.SIGALRM, on_signal)
signal.setitimer(signal.ITIMER_REAL, 0.2, 0.0005)  # then again and again: many land inside emit()
started, n = time.monotonic(), 0
try:
    while time.monotonic() - started < 1.0:
        log.warning(f"record {{n}} " + "w" * 300)
        print(f"EXPECT record {{n}} " + "w" * 300, flush=True)
        n += 1
finally:
    signal.setitimer(signal.ITIMER_REAL, 0, 0)
"""

_CLOSES = {
    "logging-shutdown": "logging.shutdown()",
    "handler-close": "handler.close()",
    "shutdown-then-exit": "logging.shutdown(); sys.exit(0)",
    "close-then-exit-code": "handler.close(); raise SystemExit(3)",
}


@pytest.mark.parametrize("delivery", ["process", "thread"])
@pytest.mark.parametrize("closes", list(_CLOSES))
def test_a_signal_handler_that_closes_the_shipper_inside_a_logging_call_never_hangs(
    closes: str, delivery: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """The close waits for the logging call it interrupted to leave the shipper (it sealed the segment
    under the lock that call held: the program hung for good); records logged before and after it
    are all kept, and arrive once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = _PROGRAM.format(closes=_CLOSES[closes])
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(spool), delivery], timeout=30)
    assert done.returncode in (0, 3), done.stderr
    want = programs.expected(done)
    assert sum(want.values()) > 10
    drain = ShipperHandler("drain", es_url=es_url, index_prefix=index_prefix, spool_path=spool, idle_exit=2)
    try:  # what was logged after the close waits in the spool for the next start: this one
        assert drain.wait_delivered(60)
    finally:
        drain.close()
    found = programs.arrived(es, index_prefix, want, timeout=10)
    assert {message: found[message] for message in want} == want
    # At most one more: the record whose call returned right before an exit cut its EXPECT line.
    assert sum(found.values()) - sum(want.values()) <= 1 and max(found.values()) == 1
