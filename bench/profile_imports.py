"""Where `logloop cluster`'s imports spend their time: the frozen dataclasses built, `dataclasses` itself,
and the regular expressions compiled, against drain3's imports; run in fresh interpreters, with bytecode
caches in a temporary directory (as an installed package has them), the median of several runs.

    python bench/profile_imports.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: times `import dataclasses`, then the imports of `logloop cluster` with
# dataclasses' class processing and the regular-expression compiler timed as they are called.
LOGLOOP = """
import json, time
start = time.perf_counter()
import dataclasses
after_dataclasses = time.perf_counter()
import re._compiler
spent = {"dataclasses built": 0.0, "regular expressions compiled": 0.0}
counts = {"dataclasses built": 0, "regular expressions compiled": 0}
def timed(function, name):
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - began
            counts[name] += 1
    return wrapper
dataclasses._process_class = timed(dataclasses._process_class, "dataclasses built")
re._compiler.compile = timed(re._compiler.compile, "regular expressions compiled")
began = time.perf_counter()
import logloop.cli, shipper.cluster_cli, shipper.cluster_workers
end = time.perf_counter()
print(json.dumps({
    "imports, all": end - start,
    "dataclasses module": after_dataclasses - start,
    **spent,
    "counts": counts,
}))
"""
DRAIN3 = """
import json, time
start = time.perf_counter()
import drain3
from drain3.template_miner_config import TemplateMinerConfig
print(json.dumps({"imports, all": time.perf_counter() - start}))
"""


def _run(script: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="runs of each (default 7), after a warm-up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as pycache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": pycache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for name, script in (("logloop cluster", LOGLOOP), ("drain3", DRAIN3)):
            _run(script, env)  # (writes the bytecode caches)
            runs = [_run(script, env) for _ in range(args.runs)]
            print(f"{name}, median of {args.runs} runs:")
            for key in runs[0]:
                if key == "counts":
                    continue
                seconds = statistics.median(float(str(run[key])) for run in runs)
                print(f"  {key:32} {seconds * 1000:6.1f} ms")
            if "counts" in runs[0]:
                print(f"  counted: {runs[0]['counts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
