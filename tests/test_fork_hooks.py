"""A program whose own at-fork hooks log (`os.register_at_fork`, registered before the shipper was
imported, as a library imported first does): every fork goes on, and every record its hooks logged, in
the parent and in each child, arrives once. Real programs, real node."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

# argv: es_url, index prefix, spool directory. Registered before `import shipper`: the hooks run while
# the shipper holds its locks for the fork (before, in the parent) or before it let go of them (child).
_PROGRAM = """
import logging, os, sys
logging.getLogger().setLevel(logging.INFO)

def said(text):
    logging.getLogger("hook").info(text)
    os.write(1, f"EXPECT {{text}}\\n".encode())  # (one write: a child's line never cuts into it)

os.register_at_fork({hook}=lambda: said(f"{hook} in {{os.getpid()}}"))
import shipper
shipper.install("forks", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], idle_exit=3)
said("parent first")
for n in range(3):
    pid = os.fork()
    if pid == 0:
        said(f"child {{n}} body")
        os._exit(0)
    os.waitpid(pid, 0)
said("parent last")
"""


@pytest.mark.parametrize("hook", ["before", "after_in_parent", "after_in_child"])
def test_a_program_whose_fork_hooks_log_forks_and_keeps_every_record(
    hook: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A record logged from a program's at-fork hook is written once, by the process that logged it,
    after the shipper's own fork steps: the hook waited for the writer's lock that the shipper holds
    across the fork (a plain lock, held by the same thread), and the program hung at its first fork."""
    install_template(es, index_prefix)
    try:
        args = [es_url, index_prefix, str(tmp_path / "spool")]
        done = programs.run(_PROGRAM.format(hook=hook), tmp_path, args=args, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the program hung at a fork")
    assert (done.returncode, done.stderr) == (0, "")
    want = programs.expected(done)
    assert sum(want.values()) == 2 + 3 + 3  # (each fork runs the hook once, in the parent or the child)
    assert programs.arrived(es, index_prefix, want, timeout=30) == want
