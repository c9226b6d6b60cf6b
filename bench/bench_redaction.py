"""Benchmark of redaction: misses and false positives on the secrets corpus, and cost per message.

    python bench/bench_redaction.py [--baseline-rev 984e79c] [--json FILE]

On tests/data/redaction/corpus.json (texts with planted secrets, and ordinary texts that must stay
as they are; the rules were built on it) and heldout.json (cases written after the rules, before
running them), in one run:
  - logloop's rules (`shipper.redaction`): a miss is a planted secret still in the redacted text, or
    a text around it (`keep`) that was lost; a false positive is an ordinary text that changed;
  - the rules of an earlier revision of `shipper/redaction` (`--baseline-rev`, read with git);
  - detect-secrets (Yelp, default plugins and filters; `pip install detect-secrets`, skipped if absent),
    a scanner that flags files rather than redacting: a miss is a text with secrets it does not flag,
    a false positive an ordinary text it flags.
With `--loghub DIR` (the loghub-2k folder of /work/shared/bench-data: 16 system logs of 2,000 lines,
ordinary text), also how many of its lines redaction changes, by log: each change is a false positive
unless the line holds a secret (a session id under `sessionid:` is counted as one).
And the cost per call of `redact_text` on an ordinary log line (the common case: no trigger word), on
a line with a secret, and on a 20-frame traceback, next to the cost of `str.lower()` of the same text;
and what `redact_before_spool=True` costs the program per plain event: the caller's step before the
segment (the redacted document built and serialized on the caller's thread) against the default step
(the record's attributes encoded as captured, redacted later by the delivery agent).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import logging  # noqa: E402
import statistics  # noqa: E402

from shipper import redaction  # noqa: E402
from shipper.formatter import EcsFormatter, dumps  # noqa: E402
from shipper.spool.records import encode_plain  # noqa: E402

CORPORA = {
    "corpus": REPO / "tests" / "data" / "redaction" / "corpus.json",  # what the rules were built on
    "held-out": REPO / "tests" / "data" / "redaction" / "heldout.json",  # written later, run once
}
Case = dict[str, Any]


def score_redactor(redact: Callable[[str], str], cases: list[Case]) -> dict[str, Any]:
    """Misses (secret kept or context lost) and false positives (ordinary text changed) of a redactor."""
    misses = [c["id"] for c in cases if c["secrets"] and not _redacted_well(redact(c["text"]), c)]
    false_positives = [c["id"] for c in cases if not c["secrets"] and redact(c["text"]) != c["text"]]
    return _score(cases, misses, false_positives)


def _redacted_well(redacted: str, case: Case) -> bool:
    return not any(s in redacted for s in case["secrets"]) and all(k in redacted for k in case["keep"])


def _score(cases: list[Case], misses: list[str], false_positives: list[str]) -> dict[str, Any]:
    positives = sum(1 for c in cases if c["secrets"])
    return {
        "positives": positives,
        "negatives": len(cases) - positives,
        "misses": len(misses),
        "false_positives": len(false_positives),
        "missed": misses,
        "false_positive_cases": false_positives,
    }


def baseline_redact(revision: str) -> Callable[[str], str] | None:
    """`redact_text` of the redaction rules at a git revision (`shipper/redaction.py`, or the
    `shipper/redaction/` package it became), or None if git cannot show them."""
    with tempfile.TemporaryDirectory() as directory:
        path = _write_baseline(revision, Path(directory))
        if path is None:
            return None
        package = path.name == "__init__.py"
        spec = importlib.util.spec_from_file_location(
            "baseline_redaction", path, submodule_search_locations=[str(path.parent)] if package else None
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        for name in [name for name in sys.modules if name.partition(".")[0] == spec.name]:
            del sys.modules[name]  # (an earlier revision's modules: its package's would be reused)
        sys.modules[spec.name] = module  # (its dataclasses look their module up while it runs)
        spec.loader.exec_module(module)
        # (a package's modules are read now, inside the directory: since the package loads them on a
        # name's first use, by asking for the name here)
        redact: Callable[[str], str] = module.redact_text
    return redact


def _write_baseline(revision: str, directory: Path) -> Path | None:
    """The rules at `revision` written into `directory`, and the file to load: the module, or the
    package's `__init__.py` with its imports of itself renamed `baseline_redaction` (so that the
    current package is not imported in its place); None if git cannot show them."""

    def show(path: str) -> bytes:
        return subprocess.run(
            ["git", "show", f"{revision}:{path}"], cwd=REPO, capture_output=True, check=True
        ).stdout

    try:
        try:
            source = show("shipper/redaction.py")
        except subprocess.CalledProcessError:
            listed = subprocess.run(
                ["git", "ls-tree", "--name-only", revision, "shipper/redaction/"],
                cwd=REPO,
                capture_output=True,
                check=True,
                text=True,
            ).stdout.split()
            package = directory / "baseline_redaction"
            package.mkdir()
            for name in (name for name in listed if name.endswith(".py")):
                text = show(name).decode()
                renamed = re.sub(r"\bshipper\.redaction\b", "baseline_redaction", text)
                (package / Path(name).name).write_text(renamed)
            init = package / "__init__.py"
            return init if init.exists() else None
    except (OSError, subprocess.CalledProcessError):
        return None
    path = directory / "baseline_redaction.py"
    path.write_bytes(source)
    return path


def score_detect_secrets(cases: list[Case]) -> dict[str, Any] | None:
    """detect-secrets' verdict per text (flagged or not), scored as misses and false positives."""
    try:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings
    except ImportError:
        return None
    flagged: set[str] = set()
    with tempfile.TemporaryDirectory() as directory, default_settings():
        paths = {}
        for number, case in enumerate(cases):
            path = Path(directory) / f"case{number}.txt"
            path.write_text(case["text"] + "\n", encoding="utf-8")
            paths[str(path)] = case["id"]
        collection = SecretsCollection()
        collection.scan_files(*paths)
        by_name = {Path(name).name: case_id for name, case_id in paths.items()}
        flagged = {by_name[Path(name).name] for name in collection.files}
    misses = [c["id"] for c in cases if c["secrets"] and c["id"] not in flagged]
    false_positives = [c["id"] for c in cases if not c["secrets"] and c["id"] in flagged]
    return _score(cases, misses, false_positives)


def loghub_changes(folder: Path) -> dict[str, int]:
    """Lines of each loghub-2k log (`<Dataset>/<Dataset>_2k.log`) that `redact_text` changes."""
    changed: dict[str, int] = {}
    for path in sorted(folder.glob("*/*_2k.log")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        changed[path.parent.name] = sum(1 for line in lines if redaction.redact_text(line) != line)
    return changed


def per_call_us(function: Callable[[str], object], text: str, seconds: float = 0.5) -> float:
    """Median microseconds per call over five rounds of about `seconds` / 5 each."""
    rounds: list[float] = []
    for _ in range(5):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 5:
            for _ in range(50):
                function(text)
            count += 50
        rounds.append(elapsed / count * 1e6)
    return sorted(rounds)[2]


def _traceback() -> str:
    frames = "".join(
        f'  File "/srv/app/module{i}.py", line {i * 7}, in handler_{i}\n'
        f"    result = process(item, retries={i})\n"
        for i in range(20)
    )
    return f"Traceback (most recent call last):\n{frames}ValueError: invalid literal for int(): 'abc'\n"


def costs() -> dict[str, dict[str, float]]:
    texts = {
        "ordinary line": "GET /api/orders/1234 200 in 35 ms for user 42 from 10.0.0.7",
        "line with a secret": "login failed for bob: password=hunter2 from 10.0.0.7",
        "20-frame traceback": _traceback(),
    }
    return {
        name: {
            "redact_text_us": per_call_us(redaction.redact_text, text),
            "str_lower_us": per_call_us(str.lower, text),
        }
        for name, text in texts.items()
    }


def caller_us(before_spool: bool, events: int = 5000, rounds: int = 15) -> float:
    """Median microseconds per plain event of the caller's step before the segment append."""
    formatter = EcsFormatter(service_name="bench")
    logger = logging.getLogger("bench.caller")
    records = [
        logger.makeRecord(
            logger.name, logging.INFO, __file__, 1, "order %d shipped to %s", (i, "dock-7"), None
        )
        for i in range(events)
    ]
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        if before_spool:
            for record in records:
                dumps(formatter.to_document(record))
        else:
            for record in records:
                encode_plain(record)
        timings.append((time.perf_counter() - start) / events * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline-rev", default="984e79c", help="git revision of the earlier rules")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    parser.add_argument("--loghub", type=Path, help="the loghub-2k folder: count the lines redaction changes")
    args = parser.parse_args()
    results: dict[str, Any] = {"scores": {}}
    baseline = baseline_redact(args.baseline_rev)
    for corpus, path in CORPORA.items():
        cases: list[Case] = json.loads(path.read_text(encoding="utf-8"))
        results["scores"][f"logloop, {corpus}"] = score_redactor(redaction.redact_text, cases)
        if baseline is not None:
            results["scores"][f"logloop at {args.baseline_rev}, {corpus}"] = score_redactor(baseline, cases)
        detect = score_detect_secrets(cases)
        if detect is not None:
            results["scores"][f"detect-secrets (flags only), {corpus}"] = detect
    if args.loghub is not None:
        results["loghub_changed"] = loghub_changes(args.loghub)
    results["costs"] = costs()
    # interleaved, so that the machine's drift touches both alike
    pairs = [(caller_us(before_spool=True), caller_us(before_spool=False)) for _ in range(5)]
    results["caller_us"] = {
        "redact_before_spool": statistics.median(p[0] for p in pairs),
        "default": statistics.median(p[1] for p in pairs),
    }
    print(f"{'redactor, cases':<48} {'misses':>8} {'false positives':>16}")
    for name, score in results["scores"].items():
        misses = f"{score['misses']}/{score['positives']}"
        false_positives = f"{score['false_positives']}/{score['negatives']}"
        print(f"{name:<48} {misses:>8} {false_positives:>16}")
    if "loghub_changed" in results:
        changed = {name: count for name, count in results["loghub_changed"].items() if count}
        total = 2000 * len(results["loghub_changed"])
        print(f"\nloghub-2k lines changed: {sum(changed.values())} of {total} {changed}")
    print(f"\n{'text':<22} {'redact_text':>12} {'str.lower':>10} {'ratio':>7}")
    for name, cost in results["costs"].items():
        ratio = cost["redact_text_us"] / cost["str_lower_us"]
        print(f"{name:<22} {cost['redact_text_us']:>9.2f} us {cost['str_lower_us']:>7.2f} us {ratio:>6.1f}x")
    caller = results["caller_us"]
    print(
        f"\ncaller, per plain event: {caller['redact_before_spool']:.2f} us with redact_before_spool, "
        f"{caller['default']:.2f} us by default "
        f"({caller['redact_before_spool'] / caller['default']:.1f}x)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
