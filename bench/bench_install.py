"""Handler-only install against the full one: installed size, distributions and import time.

Builds two throwaway virtual environments under /tmp from this checkout:

    lean   pip install .                 (what a service that only logs installs)
    full   pip install .[analyzers]      (the analyzers, the digest, the scheduler)

and reports, for each, the size of site-packages, the number of installed distributions and the
median wall time of `python -c "import shipper"` (interpreter start-up subtracted; the two
environments' runs interleaved so that both see the same machine load). Both environments are
deleted afterwards unless --keep.

    python bench/bench_install.py [--runs 15] [--keep] [--json FILE]

Bounded: every pip call has a 900 s timeout, every timed import 60 s; pip's own cache is used, so a
second run does not download again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIP_TIMEOUT = 900
RUN_TIMEOUT = 60


@dataclass(frozen=True)
class Measured:
    name: str
    size_mb: float
    distributions: int
    import_ms: float
    install_s: float


def _python(env: Path) -> Path:
    return env / "bin" / "python"


def _site_packages(env: Path) -> Path:
    return next((env / "lib").glob("python3*/site-packages"))


def _size_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def _median_run_ms(python: Path, code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, timeout=RUN_TIMEOUT, cwd=tempfile.gettempdir())
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def install(name: str, requirement: str, workdir: Path) -> tuple[Path, float]:
    env = workdir / name
    venv.create(env, with_pip=True)
    started = time.perf_counter()
    subprocess.run(
        [str(_python(env)), "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement],
        check=True,
        timeout=PIP_TIMEOUT,
    )
    return env, time.perf_counter() - started


def import_times(envs: list[Path], runs: int) -> list[float]:
    """Median `import shipper` time per environment, runs interleaved so both see the same load."""
    samples: list[list[float]] = [[] for _ in envs]
    for _ in range(runs):
        for index, env in enumerate(envs):
            baseline = _median_run_ms(_python(env), "pass", 1)
            samples[index].append(_median_run_ms(_python(env), "import shipper", 1) - baseline)
    return [statistics.median(values) for values in samples]


def measure(names: list[str], requirements: list[str], workdir: Path, runs: int) -> list[Measured]:
    pairs = zip(names, requirements, strict=True)
    installed = [install(name, requirement, workdir) for name, requirement in pairs]
    times = import_times([env for env, _ in installed], runs)
    return [
        Measured(
            name=name,
            size_mb=_size_mb(_site_packages(env)),
            distributions=len(list(_site_packages(env).glob("*.dist-info"))),
            import_ms=import_ms,
            install_s=install_s,
        )
        for name, (env, install_s), import_ms in zip(names, installed, times, strict=True)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="timed imports per environment (median)")
    parser.add_argument("--keep", action="store_true", help="keep the environments under /tmp")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to FILE")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="logloop-bench-install-", dir="/tmp"))
    try:
        lean, full = measure(["lean", "full"], [str(ROOT), f"{ROOT}[analyzers]"], workdir, args.runs)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {args.runs} timed runs each (median, start-up subtracted)")
    header = ("install", "site-packages", "distributions", "import shipper", "pip install")
    print(f"{header[0]:<8} {header[1]:>14} {header[2]:>14} {header[3]:>15} {header[4]:>12}")
    for row in (lean, full):
        print(
            f"{row.name:<8} {row.size_mb:>11.1f} MB {row.distributions:>14} {row.import_ms:>12.1f} ms"
            f" {row.install_s:>10.1f} s"
        )
    print(
        f"full / lean: size {full.size_mb / lean.size_mb:.1f}x, distributions "
        f"{full.distributions / lean.distributions:.1f}x, "
        f"import shipper {full.import_ms / lean.import_ms:.2f}x"
    )
    if args.json is not None:
        args.json.write_text(json.dumps([dataclasses.asdict(row) for row in (lean, full)], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
