"""Grouping benchmark: logloop's grouping next to drain3 (default configuration), in one run.

Two inputs, each fed identically to both:

(a) the labelled traceback corpus in tests/data/tracebacks/ (built by bench/corpus/generate.py from
    really raised exceptions): logloop groups with `shipper.grouping.fingerprint.fingerprint_event`; drain3's
    `TemplateMiner().add_log_message` is fed the whole `error.stack_trace` text (drain3 has no
    traceback support, so the full text is the fairest input; its first line is the same for every
    traceback, so the final exception line alone would be fed to it by no real deployment either).
(b) loghub-2k (16 datasets, original and corrected ground truth) from --data: the `Content` column
    is the message; logloop uses `shipper.grouping.templates.mine` (ONE configuration for all datasets);
    drain3 the default `TemplateMiner()` (no masking). The extra column "GA key" is the stateless key
    `fingerprint_event` gives a message-only error without template (masking only, no learning).

Note on speed: `mine` is a batch miner (what `logloop cluster` needs) and processes identical
messages and words once; drain3 is online and processes every message. Both are timed on the same
messages, best of 3 runs, each run with a fresh state.

Note on `fingerprint_event`'s speed: it memoizes (bounded LRU caches) what repeats from event to event:
masked message lines (by shape: the same line with other digits), the site of a frame (whatever its
line number), group members, facts about a file path, finished fingerprints. The table's "ev/s ours"
for the corpus is WARM: the memos are kept between the 3 timed
runs, so every event was seen before (the steady state of a shipper that sees the same errors again).
The corpus has 321 distinct stack traces in 324 events, so the memos hit far less within one pass:
the bench also prints FIRST PASS (memos cleared at the start of each run, as drain3 gets a fresh
miner: only repeats within the corpus hit) and COLD (memos cleared before every event: no hit at all),
each with its ratio to drain3.

(c) the evaluation set (bench/evalset/generate.py: real exceptions raised by ~80 installed libraries
    and standard-library modules, with fleet-like recurrences and siblings; rebuilt in a subprocess at
    each run unless --evalset names a built file): logloop = `logloop cluster`'s grouping of the whole
    file (`shipper.cluster_cli.cluster_lines`: traceback keys, and the template miner for message-only
    lines), as the events come (their `log.logger` names the program's package), without `log.logger`
    (pasted tracebacks: library raises keyed by the library's statement) and with `--in-app fleetapp`;
    drain3 fed `type: message` (the message alone for lines without a traceback); "frame key"
    a Sentry-like baseline: the exception type and every in-app frame (file stem, function, source line;
    all frames when none is in-app), the raw message for lines without a traceback.

(d) whole process, start to exit, on the evaluation set, the corpus and each --process-file: `python -m
    logloop.cli cluster FILE` (its default: one process per usable CPU for a file of 1 MiB or more) and
    the same with `-j 1` (one process) vs a drain3 script reading the same JSON lines and feeding
    `type: message`, alternating, 7 runs each (--rounds) after an untimed one, both with bytecode caches (see
    `whole_process`); the 1-minute load average before and after is printed with each. A large file of
    long service-manager tracebacks recurring as a fleet sends them: `python bench/evalset/fleet.py -o
    FILE` (25,000 events).

Metrics: grouping accuracy GA (an event is correct only if its predicted group is exactly its true
group), pairwise precision, recall and F1 (a pair of events is positive when both share a group),
events per second (wall clock of the grouping call only, CSV reading excluded).

    python bench/bench_grouping.py [--data /work/shared/bench-data] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipper.cluster_cli import cluster_lines  # noqa: E402
from shipper.grouping.fingerprint import FrameKind, classify_frame, clear_caches, fingerprint_event  # noqa: E402
from shipper.grouping.options import DEFAULT_OPTIONS, GroupingOptions  # noqa: E402
from shipper.grouping.templates import mine  # noqa: E402

DATASETS = (
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
    "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
)  # fmt: skip
DATA = Path("/work/shared/bench-data")
CORPUS = ROOT / "tests" / "data" / "tracebacks" / "corpus.jsonl"


EVALSET_GENERATOR = ROOT / "bench" / "evalset" / "generate.py"


@dataclass(frozen=True)
class Score:
    ga: float
    f1: float
    events_per_s: float
    groups: int
    precision: float = 1.0
    recall: float = 1.0


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Share of events whose predicted group holds exactly the events of their true group."""
    true_members: dict[Hashable, set[int]] = {}
    pred_members: dict[Hashable, set[int]] = {}
    for index, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        true_members.setdefault(t, set()).add(index)
        pred_members.setdefault(p, set()).add(index)
    correct = sum(
        len(members) for members in pred_members.values() if members == true_members[truth[min(members)]]
    )
    return correct / len(truth) if truth else 1.0


def pairwise(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> tuple[float, float, float]:
    """Precision, recall and F1 over event pairs: a pair is positive when both events share a group."""

    def pairs(counter: Counter[Hashable]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter(zip(truth, predicted, strict=True)))
    true_pairs, pred_pairs = pairs(Counter(truth)), pairs(Counter(predicted))
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    if both == 0:
        return precision, recall, 1.0 if true_pairs == pred_pairs == 0 else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def pairwise_f1(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """F1 over event pairs (see `pairwise`)."""
    return pairwise(truth, predicted)[2]


def timed(
    grouper: Callable[[], Sequence[Hashable]], count: int, repeat: int = 3
) -> tuple[Sequence[Hashable], float]:
    """Run a grouper `repeat` times (a fresh state each time); the best wall time gives events/s."""
    best = float("inf")
    labels: Sequence[Hashable] = ()
    for _ in range(repeat):
        start = time.perf_counter()
        labels = grouper()
        best = min(best, time.perf_counter() - start)
    return labels, count / best if best > 0 else float("inf")


def score(truth: Sequence[Hashable], grouper: Callable[[], Sequence[Hashable]]) -> Score:
    labels, rate = timed(grouper, len(truth))
    precision, recall, f1 = pairwise(truth, labels)
    return Score(grouping_accuracy(truth, labels), f1, rate, len(set(labels)), precision, recall)


def drain3_grouper(texts: Sequence[str]) -> Callable[[], list[int]]:
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    def run() -> list[int]:
        miner = TemplateMiner(config=TemplateMinerConfig())  # the defaults, without the ini lookup
        return [miner.add_log_message(text)["cluster_id"] for text in texts]

    return run


def logloop_miner_grouper(texts: Sequence[str]) -> Callable[[], tuple[int, ...]]:
    return lambda: mine(texts).assignments


def fingerprint_grouper(docs: Sequence[dict[str, object]], memo: str = "warm") -> Callable[[], list[str]]:
    """`memo`: "warm" keeps fingerprint_event's memos between runs, "first" clears them at the start of
    each run, "cold" before every event (the clearing, ~0.2 us, is timed with it)."""

    def run() -> list[str]:
        if memo != "warm":
            clear_caches()
        labels = []
        for doc in docs:
            if memo == "cold":
                clear_caches()
            fingerprint = fingerprint_event(doc)
            labels.append(fingerprint.key if fingerprint else "")
        return labels

    return run


_FRAME_RE: Final = re.compile(
    r'^[ \t]+File "([^"\n]*)", line \d+, in ([^\n]*)\n(?:[ \t]+(?!File ")([^\n]*)\n)?', re.M
)


def frame_key(doc: Mapping[str, Any]) -> str:
    """A Sentry-like key: the final exception's type and its in-app frames (all frames if none is)."""
    error = doc.get("error") or {}
    trace = str(error.get("stack_trace") or "")
    if 'File "' not in trace:
        return f"{error.get('type', '')}: {doc.get('message') or error.get('message', '')}"
    last = trace[trace.rfind("Traceback (most recent call last):") :]
    frames = [
        (stem(path), function, (source or "").strip()) for path, function, source in _FRAME_RE.findall(last)
    ]
    kinds = [classify_frame(path) for path, _, _ in _FRAME_RE.findall(last)]
    in_app = [frame for frame, kind in zip(frames, kinds, strict=True) if kind is FrameKind.APPLICATION]
    return f"{error.get('type', '')}|{in_app or frames}"


def stem(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def frame_key_grouper(docs: Sequence[Mapping[str, Any]]) -> Callable[[], list[str]]:
    return lambda: [frame_key(doc) for doc in docs]


def cluster_grouper(
    lines: Sequence[str], options: GroupingOptions = DEFAULT_OPTIONS
) -> Callable[[], list[str | None]]:
    """`logloop cluster`'s grouping of the whole file (traceback keys and mined message templates)."""
    return lambda: [assignment.cluster for assignment in cluster_lines(lines, options)]


def build_evalset(target: Path) -> None:
    """Rebuild the evaluation set in a subprocess (it raises real exceptions; its summary is printed)."""
    done = subprocess.run(
        [sys.executable, str(EVALSET_GENERATOR), "-o", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    print(done.stdout.strip())


DRAIN3_PROCESS = """
import json, sys, logging
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
logging.getLogger("drain3").setLevel(logging.WARNING)
miner = TemplateMiner(config=TemplateMinerConfig())
out = []
with open(sys.argv[1], encoding="utf-8") as handle:
    for line in handle:
        doc = json.loads(line)
        error = doc.get("error") or {}
        text = f"{error['type']}: {error['message']}" if error.get("type") else str(doc.get("message", ""))
        out.append(json.dumps({"cluster": miner.add_log_message(text)["cluster_id"]}))
sys.stdout.write("\\n".join(out) + "\\n")
"""


def whole_process(path: Path, pycache: Path, repeat: int = 7) -> dict[str, list[float]]:
    """Seconds of each run, start to exit, on the same file: `logloop cluster` (its default: a file of
    1 MiB or more is keyed in one process per usable CPU; and `-j 1`, one process) vs a drain3 script that
    reads the JSON lines and feeds `type: message`, alternating (the machine's load drifts), after one
    untimed run of each; also the CPU seconds of each run ("... cpu": user + system, less moved by other
    work on the machine). Both run with bytecode caches (in `pycache`, outside the tree), as an installed
    package has them (pip compiles them; drain3's are in site-packages): a tree run with
    PYTHONDONTWRITEBYTECODE would compile logloop's modules at every start. The wait is one blocking
    `wait4` (`subprocess.run(timeout=...)` polls with growing sleeps: its times fell on 64, 114, 164 ms...,
    so a small file's runs were rounded up by up to 50 ms); a run still going after 600 s is killed."""
    commands = {
        "logloop cluster": [sys.executable, "-m", "logloop.cli", "cluster", str(path)],
        "logloop cluster -j 1": [sys.executable, "-m", "logloop.cli", "cluster", "-j", "1", str(path)],
        "drain3": [sys.executable, "-c", DRAIN3_PROCESS, str(path)],
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times: dict[str, list[float]] = {key: [] for name in commands for key in (name, f"{name} cpu")}
    times["load"] = [os.getloadavg()[0]]  # the 1-minute load average before and after the runs
    for round_ in range(repeat + 1):
        for name, command in commands.items():
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
            guard = threading.Timer(600, process.kill)
            guard.start()
            _, status, usage = os.wait4(process.pid, 0)
            elapsed = time.perf_counter() - start
            guard.cancel()
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                raise subprocess.CalledProcessError(process.returncode, command)
            if round_:
                times[name].append(elapsed)
                times[f"{name} cpu"].append(usage.ru_utime + usage.ru_stime)
    times["load"].append(os.getloadavg()[0])
    return times


def print_whole_process(processes: Mapping[str, Mapping[str, list[float]]], rounds: int = 7) -> None:
    print(
        f"\n(d) whole process, start to exit, alternating, {rounds} runs each after a warm-up (medians,"
        " seconds; ratio = drain3's / logloop's: > 1, logloop cluster faster; cpu: user + system seconds,"
        " its workers' included)"
    )
    for name, runs in processes.items():
        theirs = statistics.median(runs["drain3"])
        their_cpu = statistics.median(runs["drain3 cpu"])
        cells = []
        for ours_name in ("logloop cluster", "logloop cluster -j 1"):
            ours, ours_cpu = statistics.median(runs[ours_name]), statistics.median(runs[f"{ours_name} cpu"])
            cells.append(
                f"{ours_name.removeprefix('logloop cluster').strip() or 'default'} {ours:.3f} s"
                f" ratio {theirs / ours:.2f} (cpu {their_cpu / ours_cpu:.2f})"
            )
        print(
            f"{name:<14} logloop cluster: {';  '.join(cells)};   drain3 {theirs:.3f} s"
            f"   load {runs['load'][0]:.1f}-{runs['load'][-1]:.1f}"
        )


def bench_evalset(path: Path) -> dict[str, dict[str, Score]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]
    truth = [str(doc.pop("label")) for doc in docs]
    unlabelled = [json.dumps(doc) for doc in docs]
    messages = [
        f"{doc['error']['type']}: {doc['error']['message']}" if "error" in doc else str(doc["message"])
        for doc in docs
    ]
    # The same events without `log.logger` (pasted tracebacks, another shipper): no program package.
    anonymous = [json.dumps({**doc, "log": {**doc.get("log", {}), "logger": ""}}) for doc in docs]
    return {
        "evalset": {
            "logloop": score(truth, cluster_grouper(unlabelled)),
            "logloop no logger": score(truth, cluster_grouper(anonymous)),
            "logloop in_app": score(
                truth, cluster_grouper(unlabelled, GroupingOptions(in_app=("fleetapp",)))
            ),
            "drain3": score(truth, drain3_grouper(messages)),
            "frame key": score(truth, frame_key_grouper(docs)),
        }
    }


def read_loghub(data: Path, variant: str, dataset: str) -> tuple[list[str], list[str]]:
    suffix = "_structured_corrected.csv" if variant == "loghub-2k-corrected" else "_structured.csv"
    path = data / variant / dataset / f"{dataset}_2k.log{suffix}"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["Content"] for row in rows], [row["EventId"] for row in rows]


def bench_loghub(data: Path, variant: str) -> dict[str, dict[str, Score]]:
    results: dict[str, dict[str, Score]] = {}
    for dataset in DATASETS:
        messages, truth = read_loghub(data, variant, dataset)
        results[dataset] = {
            "logloop": score(truth, logloop_miner_grouper(messages)),
            "drain3": score(truth, drain3_grouper(messages)),
            "stateless": score(
                truth, fingerprint_grouper([{"log.level": "error", "message": m} for m in messages])
            ),
        }
    return results


def bench_corpus(path: Path) -> dict[str, dict[str, Score]]:
    """Score the traceback corpus; drain3 once on the whole stack_trace, once on error.message."""
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    truth = [str(doc.pop("label")) for doc in docs]
    stack_traces = [str(doc["error"]["stack_trace"]) for doc in docs]
    messages = [f"{doc['error']['type']}: {doc['error']['message']}" for doc in docs]
    ours = score(truth, fingerprint_grouper(docs))  # warm: see the module docstring
    return {
        "stack_trace": {"logloop": ours, "drain3": score(truth, drain3_grouper(stack_traces))},
        "type+message": {
            "logloop": ours,
            "drain3": score(truth, drain3_grouper(messages)),
            "frame key": score(truth, frame_key_grouper(docs)),
        },
        "first pass": {"logloop": score(truth, fingerprint_grouper(docs, "first"))},
        "cold": {"logloop": score(truth, fingerprint_grouper(docs, "cold"))},
    }


def print_memo_figures(corpus: dict[str, dict[str, Score]]) -> None:
    """fingerprint_event's events/s warm, first pass and cold, each against both drain3 figures."""
    drain_trace = corpus["stack_trace"]["drain3"].events_per_s
    drain_message = corpus["type+message"]["drain3"].events_per_s
    print("\nfingerprint_event and its memos (warm: events seen before; first pass: memos cleared at the")
    print("start of each run; cold: cleared before every event)")
    print(f"{'memos':<12} {'ev/s ours':>10} {'x d3 trace':>11} {'x d3 type+msg':>14} {'GA ours':>8}")
    for name, key in (("warm", "stack_trace"), ("first pass", "first pass"), ("cold", "cold")):
        ours = corpus[key]["logloop"]
        print(
            f"{name:<12} {ours.events_per_s:>10.0f} {ours.events_per_s / drain_trace:>11.2f} "
            f"{ours.events_per_s / drain_message:>14.2f} {ours.ga:>8.3f}"
        )


def print_table(title: str, rows: dict[str, dict[str, Score]]) -> None:
    """One line per dataset, ours next to drain3, then the average; "GA key" when measured."""
    with_key = all("stateless" in pair for pair in rows.values())
    print(f"\n{title}")
    header = (
        f"{'dataset':<12} {'GA ours':>8} {'GA d3':>7} {'F1 ours':>8} {'F1 d3':>7} "
        f"{'ev/s ours':>10} {'ev/s d3':>9} {'speed x':>8}"
    )
    print(header + (f" {'GA key':>8}" if with_key else ""))
    lines = {name: {tool: asdict(result) for tool, result in pair.items()} for name, pair in rows.items()}
    if len(rows) > 2:
        lines["average"] = {
            tool: {
                field: sum(line[tool][field] for line in lines.values()) / len(lines)
                for field in Score.__annotations__
            }
            for tool in next(iter(lines.values()))
        }
    for name, line in lines.items():
        ours, theirs = line["logloop"], line["drain3"]
        text = (
            f"{name:<12} {ours['ga']:>8.3f} {theirs['ga']:>7.3f} {ours['f1']:>8.3f} {theirs['f1']:>7.3f} "
            f"{ours['events_per_s']:>10.0f} {theirs['events_per_s']:>9.0f} "
            f"{ours['events_per_s'] / theirs['events_per_s']:>8.2f}"
        )
        print(text + (f" {line['stateless']['ga']:>8.3f}" if with_key else ""))


def print_quality(title: str, rows: dict[str, dict[str, Score]]) -> None:
    """GA, pairwise precision, recall and F1 of each grouper, one line each."""
    print(f"\n{title}")
    print(
        f"{'input':<14} {'grouper':<10} {'GA':>6} {'prec':>6} {'recall':>6} {'F1':>6} {'groups':>7}"
        f" {'ev/s':>8}"
    )
    for name, pair in rows.items():
        for tool, result in pair.items():
            print(
                f"{name:<14} {tool:<10} {result.ga:>6.3f} {result.precision:>6.3f} {result.recall:>6.3f} "
                f"{result.f1:>6.3f} {result.groups:>7} {result.events_per_s:>8.0f}"
            )


def _as_json(rows: dict[str, dict[str, Score]]) -> dict[str, dict[str, dict[str, float]]]:
    return {name: {tool: asdict(result) for tool, result in pair.items()} for name, pair in rows.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="bench-data folder (holds loghub-2k/)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="labelled traceback corpus (JSONL)")
    parser.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    parser.add_argument(
        "--evalset", type=Path, help="a built evaluation set (default: rebuilt in a temp dir)"
    )
    parser.add_argument("--only", choices=("corpus", "loghub", "evalset"), help="run one part only")
    parser.add_argument(
        "--process-file",
        type=Path,
        action="append",
        default=[],
        help="also time the whole process on this file",
    )
    parser.add_argument("--rounds", type=int, default=7, help="whole-process runs of each (default 7)")
    args = parser.parse_args(argv)
    logging.getLogger("drain3").setLevel(logging.WARNING)
    report: dict[str, object] = {}
    if args.only in (None, "corpus"):
        corpus = bench_corpus(args.corpus)
        print_table(
            f"(a) traceback corpus {args.corpus.name}: logloop = fingerprint_event(doc), memos warm; drain3"
            " fed the whole error.stack_trace (row 1) or 'error.type: error.message' (row 2)",
            {name: pair for name, pair in corpus.items() if "drain3" in pair},
        )
        print_memo_figures(corpus)
        print_quality("(a) quality on the corpus", {"type+message": corpus["type+message"]})
        report["corpus"] = _as_json(corpus)
    if args.only in (None, "evalset"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.evalset
            if path is None:
                path = Path(tmp) / "evalset.jsonl"
                build_evalset(path)
            evalset = bench_evalset(path)
            print_quality(
                "(c) evaluation set: logloop cluster vs drain3 (type: message) vs frame key", evalset
            )
            report["evalset"] = _as_json(evalset)
            pycache = Path(tmp) / "pycache"
            processes = {
                "evalset": whole_process(path, pycache, args.rounds),
                "corpus": whole_process(args.corpus, pycache, args.rounds),
            }
            for extra in args.process_file:
                processes[extra.name] = whole_process(extra, pycache, args.rounds)
        print_whole_process(processes, args.rounds)
        report["whole_process"] = processes
    if args.only in (None, "loghub"):
        if not (args.data / "loghub-2k").is_dir():
            parser.error(f"{args.data / 'loghub-2k'} not found: pass the bench-data folder with --data")
        for variant in ("loghub-2k", "loghub-2k-corrected"):
            results = bench_loghub(args.data, variant)
            print_table(f"(b) {variant}: Content column, one configuration for all datasets", results)
            report[variant] = _as_json(results)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
