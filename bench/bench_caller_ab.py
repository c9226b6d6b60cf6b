"""Caller wall time of `logger.info` through ShipperHandler over FileHandler's, this tree against an
earlier revision, alternated in one run (the machine's drift touches both alike).

    python bench/bench_caller_ab.py [--baseline-rev 984e79c] [--runs 4]

Each run is a fresh interpreter per tree: 20,000 `logger.info` calls with FileHandler, then with
ShipperHandler pointed at a closed port (its own cost: no node indexes on the same cores), five
rounds; it prints the median ratio of each run and the median over the runs per tree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, logging, socket, statistics, sys, tempfile, time
from pathlib import Path
from shipper.handler import ShipperHandler
N = 20_000
def loop(logger):
    start = time.perf_counter()
    for i in range(N):
        logger.info("order %d shipped to %s in %.1f ms", i, "warehouse-7", 3.5)
    return (time.perf_counter() - start) / N * 1e6
def closed_port():
    probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
    return port
with tempfile.TemporaryDirectory() as directory:
    file_logger = logging.getLogger("ab.file")
    file_logger.handlers = [logging.FileHandler(Path(directory) / "f.log")]
    file_logger.propagate = False; file_logger.setLevel(logging.INFO)
    shipper = ShipperHandler("ab", es_url=f"http://127.0.0.1:{closed_port()}",
                             spool_path=Path(directory) / "s.sqlite", close_timeout=0.5)
    shipper.ready(10)
    ship_logger = logging.getLogger("ab.ship")
    ship_logger.handlers = [shipper]; ship_logger.propagate = False; ship_logger.setLevel(logging.INFO)
    ratios = []
    for _ in range(5):
        file_us = loop(file_logger); ship_us = loop(ship_logger); shipper.flush()
        ratios.append(ship_us / file_us)
    shipper.close()
    print(json.dumps(statistics.median(ratios)))
"""


def tree_at(revision: str, directory: Path) -> Path:
    """The files of `revision`, unpacked into `directory`."""
    archive = directory / "tree.tar"
    subprocess.run(["git", "archive", "-o", str(archive), revision], cwd=REPO, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(directory / "tree", filter="data")
    return directory / "tree"


def run(tree: Path) -> float:
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=tree, env=environment, capture_output=True, text=True, check=True
    )
    ratio: float = json.loads(result.stdout.strip().splitlines()[-1])
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline-rev", default="984e79c")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        baseline = tree_at(args.baseline_rev, Path(directory))
        ratios: dict[str, list[float]] = {args.baseline_rev: [], "this tree": []}
        for _ in range(args.runs):
            for name, tree in ((args.baseline_rev, baseline), ("this tree", REPO)):
                ratios[name].append(run(tree))
                print(f"{name}: {ratios[name][-1]:.2f}x FileHandler", flush=True)
    for name, values in ratios.items():
        print(
            f"{name}: median {statistics.median(values):.2f}x (runs {', '.join(f'{v:.2f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
