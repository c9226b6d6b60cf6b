"""The split a frame printed without its source line makes, measured on the evaluation set: some hosts
print the program's frames without source (a `.pyc`-only deployment, a frozen application), the others
with it. Grouping accuracy (GA) and pairwise F1 of `logloop cluster`'s grouping:

- on the evaluation set as built (the reference);
- with the program's frames (`fleetapp`) of the hosts one in SHARE picks printed without source, today;
- with the same, and a batch join after the keys: each event's "source-less form" is its key with the
  program's source lines taken out of its text; an event that shows no program source line takes the
  key of the events printed with source that share its form, when they all have one key (one
  statement); else it keeps its own (two raises of one function, which its form cannot tell apart).
  The join is also run on the evaluation set as built, where it must move no event.

A key alone cannot join the two forms (keying every frame by file and function alone merges the raises
of one function: README, "Frames printed without their source line"); a batch can.

    python bench/evalset/without_source.py [--evalset FILE] [--share 5]

Without --evalset, the evaluation set is built in a temporary directory (`generate.py`).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench_grouping import cluster_grouper, grouping_accuracy, pairwise  # noqa: E402

_FILE_LINE_RE = re.compile(r'File "([^"\n]*)", line \d+, in ')
_PROGRAM = "fleetapp"


def without_program_source(text: str) -> str:
    """`text` with the lines under each program frame's "File" line (its source, carets, the rest of a
    multi-line statement) taken out, as a host without the program's source prints it."""
    lines = text.split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        kept.append(line)
        index += 1
        found = _FILE_LINE_RE.search(line)
        if found is None or _PROGRAM not in found.group(1):
            continue
        indent = len(line) - len(line.lstrip(" |"))
        while index < len(lines):
            body = lines[index].lstrip(" |")
            deeper = len(lines[index]) - len(body) > indent
            if not (body and deeper and not body.startswith(("File ", "[Previous line"))):
                break
            index += 1
    return "\n".join(kept)


def _stack_trace(doc: dict[str, Any]) -> str | None:
    error = doc.get("error")
    trace = error.get("stack_trace") if isinstance(error, dict) else None
    return trace if isinstance(trace, str) else None


def _with_trace(doc: dict[str, Any], trace: str) -> dict[str, Any]:
    return {**doc, "error": {**doc["error"], "stack_trace": trace}}


def stripped_hosts(docs: Sequence[dict[str, Any]], share: int) -> set[str]:
    """The hosts (one in `share`, by a hash of the name: deterministic) whose program has no source."""
    names = {str((doc.get("host") or {}).get("name", "")) for doc in docs}
    return {name for name in names if zlib.crc32(name.encode()) % share == 0}


def on_hosts(docs: Sequence[dict[str, Any]], hosts: set[str]) -> list[dict[str, Any]]:
    """`docs`, those of `hosts` with their program's frames printed without source."""
    return [
        _with_trace(doc, without_program_source(trace))
        if (trace := _stack_trace(doc)) and str((doc.get("host") or {}).get("name", "")) in hosts
        else doc
        for doc in docs
    ]


def batch_joined(docs: Sequence[dict[str, Any]]) -> tuple[list[str | None], int]:
    """`logloop cluster`'s clusters of `docs` with the batch join (see the module's docstring), and how
    many events it moved."""
    clusters = cluster_grouper([json.dumps(doc) for doc in docs])()
    forms_of = [
        _with_trace(doc, without_program_source(trace)) if (trace := _stack_trace(doc)) else doc
        for doc in docs
    ]
    forms = cluster_grouper([json.dumps(doc) for doc in forms_of])()
    sourceless = [
        trace is not None and without_program_source(trace) == trace for trace in map(_stack_trace, docs)
    ]
    keys_of_form: dict[str | None, set[str | None]] = defaultdict(set)
    for form, cluster, bare, doc in zip(forms, clusters, sourceless, docs, strict=True):
        if not bare and _stack_trace(doc) is not None:
            keys_of_form[form].add(cluster)
    joined = [
        next(iter(keys_of_form[form])) if bare and len(keys_of_form.get(form, ())) == 1 else cluster
        for form, cluster, bare in zip(forms, clusters, sourceless, strict=True)
    ]
    return joined, sum(a != b for a, b in zip(clusters, joined, strict=True))


def _figures(truth: Sequence[str], clusters: Sequence[str | None]) -> str:
    f1 = pairwise(truth, clusters)[2]
    return f"GA {grouping_accuracy(truth, clusters):.3f}  F1 {f1:.3f}  groups {len(set(clusters))}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--evalset", type=Path, help="a built evaluation set (default: built now)")
    parser.add_argument("--share", type=int, default=5, help="one host in SHARE has no source (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = args.evalset
        if path is None:
            path = Path(folder) / "evalset.jsonl"
            subprocess.run([sys.executable, str(HERE / "generate.py"), "-o", str(path)], check=True)
        docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    truth = [str(doc.pop("label")) for doc in docs]
    hosts = stripped_hosts(docs, args.share)
    variant = on_hosts(docs, hosts)
    changed = sum(a is not b for a, b in zip(docs, variant, strict=True))
    print(f"{len(hosts)} hosts of {len(stripped_hosts(docs, 1))} without source: {changed} events")
    print("as built            ", _figures(truth, cluster_grouper([json.dumps(doc) for doc in docs])()))
    joined, moved = batch_joined(docs)
    print("as built, joined    ", _figures(truth, joined), f" ({moved} events moved)")
    print("without source      ", _figures(truth, cluster_grouper([json.dumps(doc) for doc in variant])()))
    joined, moved = batch_joined(variant)
    print("without source, join", _figures(truth, joined), f" ({moved} events moved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
