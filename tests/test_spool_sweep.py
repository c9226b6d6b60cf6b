"""What interrupted writes leave in a spool directory (a temporary acknowledgement or agent.json a kill
cut short, a segment never renamed into view, the acknowledgement an agent wrote again for a segment
a writer's drop_oldest had just deleted) is deleted by the next agent once it is old enough to be no
one's; what may still be someone's is left. Real programs, real agent process, real node."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_SEGMENT = "1700000000000-4242-0000abcd"

# name -> (content, swept when two minutes old)
_LEFT = {
    f"{_SEGMENT}.ack.tmp": (b'{"offset":40', True),
    "1700000000002-999999-0000abcf.ack.tmp": (b"", True),
    f".{_SEGMENT}.seg.new": (bytes(4096), True),
    f"{_SEGMENT}.ack": (json.dumps({"offset": 4096, "finished": False}).encode(), True),
    "1700000000001-4242-0000abce.ack": (json.dumps({"offset": 4096, "finished": True}).encode(), False),
    "notes.txt": (b"the program's own file", False),
}

_PROGRAM = """
import logging, sys
import shipper
handler = shipper.install("sweep", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3])
logging.getLogger("sweep").warning("one record")
assert handler.wait_delivered(30)
"""


@pytest.mark.parametrize("name", list(_LEFT))
@pytest.mark.parametrize("age", [120, 0])
def test_leftovers_of_interrupted_writes_are_swept_once_no_one_can_need_them(
    name: str, age: int, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A leftover two minutes old is deleted by the next agent (an `.ack.tmp` was kept for ever, one
    more per kill; an unfinished segment's acknowledgement for an hour); a fresh
    one, a finished segment's acknowledgement its writer may yet read, and a file not the spool's
    own are left."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    content, swept = _LEFT[name]
    left = spool / name
    left.write_bytes(content)
    then = time.time() - age
    os.utime(left, (then, then))
    done = programs.run(_PROGRAM, tmp_path, args=[es_url, index_prefix, str(spool)], timeout=60)
    assert done.returncode == 0, done.stderr
    # The agent sweeps as it first looks at the directory, and deletes what it saw there unneeded at
    # a second look a second or two later (`layout.sweep_unfinished`: the wall clock alone may lie).
    deadline = time.monotonic() + 4.0
    while left.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left.exists() is not (swept and age > 60)
