"""A program run under a file size limit (RLIMIT_FSIZE: a quota, a tiny spool) with SIGXFSZ at its
default disposition, as an interpreter embedded without its signal handlers has it: the shipper never
writes past the limit, so the program is never killed by SIGXFSZ. Real programs, real node: every
record logged is on the node or counted lost, and the program's exit status is its own."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import log_messages

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, resource, signal, sys
import shipper
if sys.argv[5] == "default":
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # as `Py_InitializeEx(0)` leaves it
limit = int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
handler = shipper.install("fsize", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3],
                          idle_exit=3)
log = logging.getLogger("fsize")
for n in range(int(sys.argv[6])):
    log.warning("fsize record %d %s", n, "x" * 200)
stats = handler.stats()
print("COUNTS", stats.spooled, stats.dropped, flush=True)
sys.exit(3)
"""


@pytest.mark.parametrize("disposition", ["default", "ignored"])
@pytest.mark.parametrize(
    ("limit", "records"),
    [
        pytest.param(0, 20, id="no-file-may-grow"),
        pytest.param(100, 20, id="below-a-segment-header"),
        pytest.param(10_000, 20, id="below-the-smallest-segment"),
        pytest.param(100_000, 20, id="below-the-first-segment"),
        pytest.param(300_000, 3000, id="below-a-full-segment"),
    ],
)
def test_a_file_size_limit_never_kills_the_program(
    limit: int, records: int, disposition: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Under a file size limit below a segment, with SIGXFSZ at its default (the program died with
    status 153 at its first record) or ignored, the program ends with its own status, and each record
    is on the node or counted lost."""
    install_template(es, index_prefix)
    args = [es_url, index_prefix, str(tmp_path / "spool"), str(limit), disposition, str(records)]
    # No bytecode written by the program: under the limit the interpreter would write a module's cache
    # cut short (its write is not checked), and every later import of that module fails (not the
    # shipper's files, and not under test).
    done = programs.run(_PROGRAM, tmp_path, args=args, env={"PYTHONDONTWRITEBYTECODE": "1"}, timeout=60)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    spooled, dropped = map(int, done.stdout.split("COUNTS", 1)[1].split())
    assert spooled + dropped == records
    if limit >= 100_000:
        assert dropped == 0
    deadline = time.monotonic() + 30
    found = log_messages(es, index_prefix)
    while sum(found.values()) < spooled and time.monotonic() < deadline:
        time.sleep(0.5)
        found = log_messages(es, index_prefix)
    assert sum(found.values()) == spooled and set(found.values()) <= {1}
