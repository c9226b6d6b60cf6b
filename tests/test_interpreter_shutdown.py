"""Records logged while the interpreter shuts down, after the handler was closed at exit: from a
`__del__` run as the program's modules are freed, with daemon threads frozen wherever they stood.
Real programs, real node."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

# argv: es_url, index prefix, spool directory. `{setup}` runs before the program's last line.
_PROGRAM = """
import atexit, logging, os, sys, threading, time, types
import shipper

def said(text, write=os.write):  # (at finalization `print` and module globals may be gone)
    write(1, f"EXPECT {{text}}\\n".encode())

class Finalized:
    \"\"\"Logs when freed: as the interpreter frees __main__, after every atexit function ran.\"\"\"
    def __init__(self):
        self.log, self.said = logging.getLogger("late"), said
    def __del__(self):
        self.log.info("logged from __del__")
        self.said("logged from __del__")

{setup}
handler = shipper.install(
    "late", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], idle_exit=3
)
logging.getLogger("late").info("logged from main")
said("logged from main")
# Held by a module of its own, freed with the modules whatever holds __main__ (a daemon thread's frame)
sys.modules["finalized"] = types.ModuleType("finalized")
sys.modules["finalized"].value = Finalized()
"""

# A daemon thread that holds one of the shipper's locks when the interpreter freezes it: it took the
# lock once the handler was closed (an atexit function registered before install runs after that),
# as a thread logging flat out, or delivering, is frozen in the middle of an append or a probe.
_FROZEN_HOLDER = """
from shipper.spool import layout
taken = threading.Event()
go = threading.Event()

def hold():
    go.wait()
    {lock}.acquire()
    taken.set()
    time.sleep(3600)

threading.Thread(target=hold, daemon=True).start()
atexit.register(lambda: (go.set(), taken.wait(10)))
"""


@pytest.mark.parametrize(
    ("setup", "delivered"),
    [
        pytest.param("", {"logged from main", "logged from __del__"}, id="new-segment-at-finalization"),
        pytest.param(
            _FROZEN_HOLDER.replace("{lock}", "handler.writer._lock"),
            {"logged from main"},
            id="writer-lock-held-by-a-frozen-thread",
        ),
        pytest.param(
            # (the record needs a new segment, whose sequence number is read under the probe's lock)
            _FROZEN_HOLDER.replace("{lock}", "layout.fork_gate()"),
            {"logged from main"},
            id="spool-probe-lock-held-by-a-frozen-thread",
        ),
    ],
)
def test_a_record_logged_at_interpreter_shutdown_is_kept_or_counted_and_never_hangs(
    setup: str, delivered: set[str], es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A record logged from `__del__` while the interpreter frees the program's modules is written (it
    needs a new segment, the handler's being sealed at exit: the import of `resource` there failed,
    "sys.meta_path is None", and the record was lost), and where a daemon thread frozen by the
    shutdown holds a lock of the shipper's the record is given up at once: the program hung for ever."""
    install_template(es, index_prefix)
    try:
        args = [es_url, index_prefix, str(tmp_path / "spool")]
        done = programs.run(_PROGRAM.format(setup=setup), tmp_path, args=args, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the program hung at exit")
    assert (done.returncode, done.stderr) == (0, "")
    assert set(programs.expected(done)) == {"logged from main", "logged from __del__"}
    want = programs.expected(done)
    want = want.__class__({message: want[message] for message in delivered})
    assert programs.arrived(es, index_prefix, want, timeout=30) == want
