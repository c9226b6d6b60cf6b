"""A program that delivers from a thread of its own (`delivery="thread"`) and ends: close() gives that
thread until `close_timeout` to send what the program logged, however the program ends. Real
programs, real node; no delivery process runs, so what close() did not send does not arrive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, os, sys, threading
import shipper
shipper.install(
    "short", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], delivery="thread",
    close_timeout=20,
)
log = logging.getLogger("short")
for n in range({count}):
    log.warning(f"record {{n}}")
    print(f"EXPECT record {{n}}", flush=True)
{end}
"""

_ENDS = {
    "falls-off-the-end": "",
    "sys-exit": "sys.exit(0)",
    "logging-shutdown": "logging.shutdown()",
    "exit-from-a-thread-joined": "t = threading.Thread(target=sys.exit); t.start(); t.join()",
}


@pytest.mark.parametrize("end", list(_ENDS))
@pytest.mark.parametrize("count", [1, 40, 3000])
def test_a_short_program_delivering_from_a_thread_sends_everything_before_it_ends(
    end: str, count: int, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Every record arrives once: close() stopped the delivery thread at once, so a thread waiting
    between two looks at the spool sent nothing and the records stayed on disk with no agent."""
    install_template(es, index_prefix)
    script = _PROGRAM.format(count=count, end=_ENDS[end])
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")])
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    want = programs.expected(done)
    assert sum(want.values()) == count
    assert programs.arrived(es, index_prefix, want, timeout=5) == want
