"""A large file of long service-manager tracebacks for timing `logloop cluster`: the evaluation set's
failures sent again and again by a fleet of hosts, each worker of which adds its own outer frames.

The bench's other inputs are small (1,334 and 324 events, nearly every traceback new) and their
tracebacks short. A fleet's log is the other case: a few hundred bugs recurring thousands of times,
raised deep inside a service manager (worker threads, a supervisor, retries, a middleware chain), so
every traceback is long and most have been seen before, from this host or another. Built from one or
more built evaluation sets (`generate.py`; each event keeps its `label`), as follows, deterministic for
a given seed and input:

- bugs recur by a Zipf-like law (a few very often, most now and then), message-only lines too;
- each event comes from one worker of one host: the host is the evaluation set's (its install layout
  and user), the worker adds 12-40 outer frames printed as that host's paths (standard library
  threads and executors, the service manager's package installed beside the libraries, with line
  numbers of its own version) above the program's frames of the final exception; a worker resends the
  same text for the same failure, as a fleet does;
- an ExceptionGroup's box is left as it is (its frames are drawn inside the box).

    python bench/evalset/fleet.py -o FILE [--events 25000] [--seed 1] [--workers 6] [--evalset FILE]...

Without --evalset, the evaluation set of seeds 12 and 2 is built in a subprocess (`generate.py`).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import LAYOUTS, Layout  # noqa: E402

HEADER = "Traceback (most recent call last):\n"
# The service manager's outer frames, outermost first: (where the file lives, its path, function,
# source line). `{n}` is a worker's middleware depth.
THREAD_FRAMES = (
    ("stdlib", "threading.py", "_bootstrap", "self._bootstrap_inner()"),
    ("stdlib", "threading.py", "_bootstrap_inner", "self.run()"),
    ("stdlib", "threading.py", "run", "self._target(*self._args, **self._kwargs)"),
    ("stdlib", "concurrent/futures/thread.py", "_worker", "work_item.run()"),
    ("stdlib", "concurrent/futures/thread.py", "run", "result = self.fn(*self.args, **self.kwargs)"),
)
MANAGER_FRAMES = (
    ("packages", "svcmgr/supervisor.py", "_supervise", "outcome = self._run_job(job, attempt)"),
    ("packages", "svcmgr/supervisor.py", "_run_job", "return self.retry.call(job.target, job.payload)"),
    ("packages", "svcmgr/retry.py", "call", "return self._attempt(function, payload, deadline)"),
    ("packages", "svcmgr/retry.py", "_attempt", "return function(payload)"),
    ("packages", "svcmgr/hooks.py", "around", "with self.tracer.span(name, attributes=attributes):"),
    ("packages", "svcmgr/hooks.py", "around", "return call(payload)"),
)
# The middleware chain: one class per module, each layer calling the next (at most 4 rounds of the list:
# a frame repeated as often as a recursion's would join its cycle, see `_recursion_cycle`).
MIDDLEWARE = ("auth", "session", "locale", "csrf", "metrics", "tracing", "ratelimit", "compress")
MIDDLEWARE_FRAMES = tuple(
    ("packages", f"svcmgr/middleware/{name}.py", "__call__", "return self.next_layer(request)")
    for name in MIDDLEWARE
)
ENTRY_FRAME = ("packages", "svcmgr/dispatch.py", "dispatch", "return handler(request.payload)")


def worker_frames(layout: Layout, user: str, rng: random.Random) -> str:
    """The outer frames one worker of a host prints above the program's, as 3.11 prints them."""
    depth = rng.randint(1, 29)  # middleware layers: 12 to 40 frames in all
    version_shift = rng.choice((0, 4, 11, 23))
    frames = [
        *THREAD_FRAMES,
        *MANAGER_FRAMES,
        *(MIDDLEWARE_FRAMES[layer % len(MIDDLEWARE)] for layer in range(depth)),
        ENTRY_FRAME,
    ]
    lines = []
    for index, (where, path, function, source) in enumerate(frames):
        root = (layout.stdlib if where == "stdlib" else layout.packages).format(user=user)
        filename = f"{root}/{path}"
        if layout.windows:
            filename = filename.replace("/", "\\")
        line = 40 + 7 * index + (version_shift if where == "packages" else 0)
        lines.append(f'  File "{filename}", line {line}, in {function}\n    {source}\n')
        if rng.random() < 0.5:
            lines.append("    " + "^" * len(source) + "\n")
    return "".join(lines)


def with_outer_frames(stack_trace: str, outer: str) -> str:
    """The traceback with `outer` above the frames of its final exception (not inside a group box)."""
    if "+-+" in stack_trace:
        return stack_trace
    at = stack_trace.rfind(HEADER)
    if at < 0 or (at > 0 and stack_trace[at - 1] != "\n"):
        return stack_trace
    at += len(HEADER)
    return stack_trace[:at] + outer + stack_trace[at:]


def build(
    sources: Sequence[dict[str, Any]], events: int, seed: int, workers_per_host: int = 6
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    by_label: dict[str, list[dict[str, Any]]] = {}
    for doc in sources:
        by_label.setdefault(doc["label"], []).append(doc)
    labels = sorted(by_label)
    rng.shuffle(labels)
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(labels))]
    layouts = {layout.name: layout for layout in LAYOUTS}
    workers: dict[tuple[str, int], str] = {}
    out = []
    for label in rng.choices(labels, weights, k=events):
        doc = rng.choice(by_label[label])
        error = doc.get("error")
        if not error or "stack_trace" not in error:
            out.append(doc)
            continue
        host = doc["host"]["name"]
        layout_name, _, user = host.partition("-")
        worker = rng.randrange(workers_per_host)
        if (host, worker) not in workers:
            workers[host, worker] = worker_frames(layouts[layout_name], user, rng)
        stack_trace = with_outer_frames(error["stack_trace"], workers[host, worker])
        out.append(
            {**doc, "error": {**error, "stack_trace": stack_trace}, "host": {"name": f"{host}-w{worker}"}}
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--events", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--evalset", type=Path, action="append", default=[], help="a built evaluation set")
    parser.add_argument(
        "--workers", type=int, default=6, help="workers per host, each with its outer frames (default 6)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        paths = list(args.evalset)
        if not paths:
            for seed in (12, 2):
                path = Path(tmp) / f"evalset-{seed}.jsonl"
                subprocess.run(
                    [sys.executable, str(HERE / "generate.py"), "-o", str(path), "--seed", str(seed)],
                    check=True,
                    capture_output=True,
                )
                paths.append(path)
        sources = [
            json.loads(line) for path in paths for line in path.read_text("utf-8").splitlines() if line
        ]
    docs = build(sources, args.events, args.seed, args.workers)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    traces = [doc["error"]["stack_trace"] for doc in docs if "stack_trace" in doc.get("error", {})]
    print(
        f"wrote {len(docs)} events ({len(traces)} tracebacks, {len(set(traces))} distinct, "
        f"{sum(map(len, traces)) // max(len(traces), 1)} characters on average; "
        f"{len({doc['label'] for doc in docs})} bugs) to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
