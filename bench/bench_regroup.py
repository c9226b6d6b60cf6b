"""Regroup benchmark: message-only lines grouped run by run (as `analyze`/`regroup` do) next to the
whole input at once (as `logloop cluster` does) and next to a stateless per-event key, in one run.

Input: loghub-2k (16 datasets, corrected ground truth) from --data; the `Content` column is the
message, in file order. Three groupers over the same messages:

- batch:       `shipper.grouping.templates.mine` over all 2,000 lines (what `logloop cluster` does);
- incremental: the lines cut into --runs consecutive runs (10 by default: 200 lines a run, like
               daily `analyze` runs); each run uses `LearnedTemplates.assign` with what the earlier
               runs learned, and when a run merges an earlier template into a general one, the
               earlier lines of that template are moved to the general key (as `regroup` rewrites
               their events). The labels are the keys the lines carry at the end;
- stateless:   `fingerprint_event` on each line alone (masking only, no learning): what regroup did
               before it mined.

Metrics: grouping accuracy GA and pairwise F1 (bench_grouping's definitions), and lines per second
(wall clock of the grouping, best of 3, fresh state each time).

    python bench/bench_regroup.py [--data /work/shared/bench-data] [--runs 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_grouping import DATA, DATASETS, grouping_accuracy, pairwise_f1, read_loghub  # noqa: E402

from shipper.grouping.fingerprint import clear_caches, fingerprint_event  # noqa: E402
from shipper.grouping.message_only import LearnedTemplates  # noqa: E402
from shipper.grouping.templates import mine  # noqa: E402


def batch(messages: Sequence[str]) -> list[str]:
    mined = mine(messages)
    return [mined.template_of(index).cluster_id for index in range(len(messages))]


def incremental(messages: Sequence[str], runs: int) -> list[str]:
    """Keys after `runs` consecutive runs over the lines, merges applied to earlier lines."""
    labels: list[str] = []
    known = LearnedTemplates()
    size = -(-len(messages) // runs)
    for start in range(0, len(messages), size):
        assignment = known.assign(messages[start : start + size])
        labels.extend(template.cluster_id for template in assignment.templates)
        moved = {old.cluster_id: new.cluster_id for old, new in assignment.merged}
        if moved:
            labels = [moved.get(label, label) for label in labels]
        known = known.with_learned(assignment.learned, assignment.merged)
    return labels


def stateless(messages: Sequence[str]) -> list[str]:
    clear_caches()
    labels = []
    for message in messages:
        fingerprint = fingerprint_event({"log.level": "error", "message": message})
        labels.append(fingerprint.key if fingerprint else "")
    return labels


def measure(
    truth: Sequence[Hashable], grouper: Callable[[], Sequence[Hashable]]
) -> tuple[float, float, float]:
    best, labels = float("inf"), grouper()
    for _ in range(3):
        start = time.perf_counter()
        labels = grouper()
        best = min(best, time.perf_counter() - start)
    return grouping_accuracy(truth, labels), pairwise_f1(truth, labels), len(truth) / best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    names = ("batch", "incremental", "stateless")
    print(
        f"{'dataset':<12}"
        + "".join(f" {'GA ' + n[:5]:>9} {'F1 ' + n[:5]:>9} {'l/s ' + n[:5]:>10}" for n in names)
    )
    totals = {name: [0.0, 0.0, 0.0] for name in names}
    for dataset in DATASETS:
        messages, truth = read_loghub(args.data, "loghub-2k-corrected", dataset)
        groupers: dict[str, Callable[[], Sequence[Hashable]]] = {
            "batch": partial(batch, messages),
            "incremental": partial(incremental, messages, args.runs),
            "stateless": partial(stateless, messages),
        }
        line = f"{dataset:<12}"
        for name in names:
            ga, f1, rate = measure(truth, groupers[name])
            totals[name] = [totals[name][0] + ga, totals[name][1] + f1, totals[name][2] + rate]
            line += f" {ga:>9.3f} {f1:>9.3f} {rate:>10,.0f}"
        print(line)
    count = len(DATASETS)
    print(
        f"{'average':<12}"
        + "".join(
            f" {totals[n][0] / count:>9.3f} {totals[n][1] / count:>9.3f} {totals[n][2] / count:>10,.0f}"
            for n in names
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
