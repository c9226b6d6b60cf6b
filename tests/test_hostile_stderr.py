"""A program's `sys.stderr` is the program's: closed, replaced by an object that raises, or gone, the
shipper's own warnings (said on it through logging's last resort) never raise into the logging call
that led to them, and what they were about is still counted. Real programs in their own interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import programs

_PROGRAM = """
import logging, os, sys
import shipper
import shipper.handler
shipper.handler._SPOOL_ROOTS = ()  # no fallback directory: the records are lost, and said so

{stderr}
handler = shipper.ShipperHandler("stderr", spool_path=sys.argv[1], delivery="thread",
                                 es_url="http://127.0.0.1:9", idle_exit=1)
logging.getLogger().addHandler(handler)
log = logging.getLogger("stderr")
for i in range(10):
    log.warning("record %d", i)
print("LOST", sorted(dict(handler.stats().lost).items()), flush=True)
handler.close()
sys.stderr = sys.__stderr__  # (Python's own flush at exit fails on some of these, handler or not)
"""

_STDERRS = {
    "closed-file": "sys.stderr = open(os.devnull, 'w'); sys.stderr.close()",
    "write-raises-value-error": (
        "class S:\n    def write(self, s): raise ValueError('no')\n"
        "    def flush(self): pass\nsys.stderr = S()"
    ),
    "write-raises-os-error": (
        "class S:\n    def write(self, s): raise OSError(5, 'no')\n"
        "    def flush(self): pass\nsys.stderr = S()"
    ),
    "write-raises-runtime-error": (
        "class S:\n    def write(self, s): raise RuntimeError('no')\n"
        "    def flush(self): pass\nsys.stderr = S()"
    ),
    "no-write-at-all": "sys.stderr = object()",
    "none": "sys.stderr = None",
    "a-handler-on-the-internal-logger-raises": (
        "class H(logging.Handler):\n    def emit(self, record): raise RuntimeError('no')\n"
        "logging.getLogger('logloop.shipper.internal').addHandler(H())"
    ),
}


@pytest.mark.parametrize("stderr", list(_STDERRS.values()), ids=list(_STDERRS))
def test_the_shippers_warnings_never_raise_into_the_program(stderr: str, tmp_path: Path) -> None:
    """Records that cannot be spooled (the spool path under a file), with the program's stderr closed,
    raising or gone, are counted lost and the program runs to its end (a closed stderr's ValueError
    escaped logging's error handling, which catches OSError only, out of the logging call)."""
    (tmp_path / "a-file").write_text("")
    where = tmp_path / "a-file" / "spool"
    done = programs.run(_PROGRAM.format(stderr=stderr), tmp_path, args=[str(where)], timeout=60)
    assert done.returncode == 0 and "LOST" in done.stdout, done.stderr[-2000:]
    assert done.stdout.split("LOST", 1)[1].strip() == "[('spool_unavailable', 10)]"
