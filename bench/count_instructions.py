"""Instructions, counted by valgrind's callgrind, of `logloop cluster` and of drain3 on the same files.

Wall time on a shared 2-core machine moves by about 5% from run to run; an instruction count does
not (it moves by about 0.2% with hash randomisation), so small changes to start-up or to keying are
measured here, and whole-process speed in `bench_grouping.py` part (d). For each FILE:

- whole process: `python -m logloop.cli cluster -j 1 FILE` (one process) and the drain3 script of
  `bench_grouping.py` (`type: message` of each line), start to exit;
- keying: the instructions per traceback of `fingerprint_document` over the events of FILE that have
  one (with a `TextMemo`, as `logloop cluster` keys them), that is a script that reads the events and
  keys them, less the same script that only reads them, divided by the number of tracebacks.

Each is run once first (bytecode caches are written to a temporary directory, as an installed
package has them), then counted. A one-line file gives the start-up of each.

    python bench/count_instructions.py FILE [FILE ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_grouping import DRAIN3_PROCESS  # noqa: E402
from callgrind import INSTALL_HINT, available, instructions  # noqa: E402

KEYING = """
import json, sys
from shipper.grouping.fingerprint import fingerprint_document
from shipper.grouping.options import DEFAULT_OPTIONS
from shipper.grouping.tracebacks import TextMemo
with open(sys.argv[1], "rb") as source:
    docs = [json.loads(line) for line in source if line.strip()]
docs = [doc for doc in docs if 'File "' in str((doc.get("error") or {}).get("stack_trace", ""))]
if sys.argv[2] == "key":
    memo = TextMemo(100_000, 64_000_000)
    for doc in docs:
        fingerprint_document(doc, DEFAULT_OPTIONS, memo)
print(len(docs))
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="ECS events, one JSON object a line"
    )
    args = parser.parse_args(argv)
    if not available():
        parser.error(INSTALL_HINT)
    with tempfile.TemporaryDirectory() as pycache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": pycache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = sys.executable
        for path in args.files:
            ours, _ = instructions([python, "-m", "logloop.cli", "cluster", "-j", "1", str(path)], env, ROOT)
            theirs, _ = instructions([python, "-c", DRAIN3_PROCESS, str(path)], env, ROOT)
            keyed, printed = instructions([python, "-c", KEYING, str(path), "key"], env, ROOT)
            read, _ = instructions([python, "-c", KEYING, str(path), "read"], env, ROOT)
            tracebacks = int(printed.split()[-1])
            per = f"{(keyed - read) / tracebacks / 1000:.1f}k" if tracebacks else "-"
            print(
                f"{path.name}: whole process, logloop cluster -j 1 {ours / 1e6:.1f} M,"
                f" drain3 {theirs / 1e6:.1f} M instructions;"
                f" keying {per} instructions per traceback ({tracebacks} tracebacks)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
