"""Instructions a command runs, counted by valgrind's callgrind: the benches' steady measure.

Wall time on a shared 2-core machine moves by about 5% from run to run; an instruction count moves
by about 0.2% (hash randomisation), so small changes to start-up and hot paths are measured with it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_COLLECTED = re.compile(r"Collected : (\d+)")
INSTALL_HINT = "valgrind is not installed (Debian: apt-get install valgrind)"


def available() -> bool:
    return shutil.which("valgrind") is not None


def instructions(
    command: Sequence[str], env: Mapping[str, str], cwd: Path, *, uncounted_first: bool = True
) -> tuple[int, str]:
    """The instructions `command` ran (its forked children apart: `--trace-children=no`), and its
    standard output. It is run once uncounted first, so bytecode caches are written as an installed
    package has them (`uncounted_first=False`: a command whose first run changes what the next does,
    the caller having written the caches)."""
    if uncounted_first:
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    counted = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        "--trace-children=no",
        *command,
    ]
    done = subprocess.run(counted, env=env, cwd=cwd, check=True, capture_output=True, text=True)
    found = _COLLECTED.findall(done.stderr)
    if not found:
        raise SystemExit(
            f"valgrind printed no instruction count for {list(command[:4])}: {done.stderr[-300:]}"
        )
    return int(found[0]), done.stdout
