"""Benchmark of the shipper against the alternatives, in one run on one machine; prints ratios.

    python bench/bench_shipper.py --es-url http://127.0.0.1:9200 --json /tmp/bench_shipper.json

Every measurement runs in a fresh child process (`--child`), the alternatives interleaved round by
round, and the median of the rounds is reported (the machine is shared: ratios count, not absolute
numbers). The checkout's `shipper` package is compiled to bytecode first (`__pycache__`, as `pip
install` does): the standard library and the installed alternatives come with theirs, and with
PYTHONDONTWRITEBYTECODE set (as on the development machine) every child, the agent included, would
otherwise compile the shipper's source at each start (about 45 ms of CPU per process).

  1. short script: 20 `logger.info` + 1 `logger.exception`, then exit; wall time of the whole process
     (interpreter start to exit) with FileHandler and with ShipperHandler (`shipper.install`), and how
     long after the script's exit the node has all 21 documents.
  2. caller wall per `logger.info` and per `logger.exception`: FileHandler, ShipperHandler (node
     reachable; the agent indexes on the same cores meanwhile) and python-logstash-async's memory
     handler (pointed at a closed port: Logstash cannot run here).
  3. total CPU per event of all processes, from the first call to acknowledged: 20,000 info + 2,000
     exceptions; the program's CPU plus the agent's (read from /proc), against the same program with
     FileHandler. "Cold": the agent starts for the run (its imports counted); "warm": it already runs.
  4. SIGKILL: a program logging flat out, killed at a random moment; calls that returned vs delivered.
  5. memory: the program's RSS growth from installing the handler and logging 20,000 events, the
     agent's RSS; and for 16 forked workers, the number of agents and their total RSS.

  6. (with `--only instructions`, not by default: it needs valgrind) the short script in
     instructions, with FileHandler and with the shipper (its agent already running), and the
     interpreter's own `python -c pass`: steadier than its wall time on a shared machine; and the
     agent started to send the script's records, with the pattern cache an earlier agent kept and
     without one.

Targets (issue 9): short script <= 2x FileHandler; info <= 1.0x, exception <= 0.5x FileHandler; total
CPU <= 1.5x FileHandler; SIGKILL loss 0.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import logging
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import callgrind  # noqa: E402

from shipper.connection import ElasticsearchSettings, make_client  # noqa: E402
from shipper.delivery import lock  # noqa: E402

ROUNDS = 5
INFO_N = 20_000
ERROR_N = 2_000
CALLER_INFO_N = 10_000
CALLER_ERROR_N = 1_000
_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound and let go): Logstash's, or an unreachable node's."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- what the children run ------------------------------------------------------------------------------


def _fail(depth: int) -> None:
    if depth == 0:
        raise ValueError(f"order {depth} could not be processed")
    _fail(depth - 1)


def _setup(kind: str, es_url: str, prefix: str, work: Path) -> logging.Handler:
    if kind == "file":
        handler: logging.Handler = logging.FileHandler(work / f"{uuid.uuid4().hex}.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        return handler
    if kind == "logstash-memory":
        from logstash_async.handler import AsynchronousLogstashHandler

        handler = AsynchronousLogstashHandler("127.0.0.1", _closed_port(), database_path=None)
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
        return handler
    import shipper

    return shipper.install(
        "bench", es_url=es_url, index_prefix=prefix, spool_path=work / "spool", idle_exit=20
    )


def _child(kind: str, workload: str, es_url: str, prefix: str, work: Path) -> None:
    """Run one workload with one handler and print its measurements as JSON."""
    rss_before = _rss_kb(os.getpid())
    handler = _setup(kind, es_url, prefix, work)
    log = logging.getLogger("bench")
    result: dict[str, Any] = {}
    if workload == "caller":
        for i in range(100):
            log.info("warm up %d", i)
        if hasattr(handler, "wait_delivered"):  # the agent started and busy only with what comes next
            handler.wait_delivered(60)
        start, cpu = time.perf_counter(), time.thread_time()
        for i in range(CALLER_INFO_N):
            log.info("processed order %d for customer %s", i, "c-42")
        result["info_us"] = (time.perf_counter() - start) / CALLER_INFO_N * 1e6
        result["info_cpu_us"] = (time.thread_time() - cpu) / CALLER_INFO_N * 1e6
        start, cpu = time.perf_counter(), time.thread_time()
        for i in range(CALLER_ERROR_N):
            try:
                _fail(5)
            except ValueError:
                log.exception("order %d failed", i)
        result["exception_us"] = (time.perf_counter() - start) / CALLER_ERROR_N * 1e6
        result["exception_cpu_us"] = (time.thread_time() - cpu) / CALLER_ERROR_N * 1e6
    if workload == "cpu":
        for i in range(INFO_N):
            log.info("processed order %d for customer %s", i, "c-42")
            if i % 10 == 0:
                try:
                    _fail(5)
                except ValueError:
                    log.exception("order %d failed", i)
        handler.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu_s"] = usage.ru_utime + usage.ru_stime
        result["rss_growth_kb"] = _rss_kb(os.getpid()) - rss_before
    print(json.dumps(result), flush=True)
    os._exit(0)  # no atexit: what is measured ends here


# -- helpers in the parent ------------------------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, seconds (from /proc, for the agent, which is not our child)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_child(
    kind: str, workload: str, es_url: str, prefix: str, work: Path
) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--es-url", es_url, "--child", kind, workload, prefix, str(work)],
        capture_output=True,
        text=True,
        env=_ENV,
        timeout=600,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{kind}/{workload} failed: {done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return wall, (json.loads(lines[-1]) if lines else {})


def _count(es: Any, prefix: str) -> int:
    from elasticsearch import ApiError

    try:
        es.indices.refresh(index=f"{prefix}-*", allow_no_indices=True)
        query = {"term": {"service.name": "bench"}}
        found = es.count(index=f"{prefix}-*", allow_no_indices=True, query=query)
    except ApiError:  # an index just created, its shard not started yet: look again
        return 0
    return int(found["count"])


def _wait_count(es: Any, prefix: str, expected: int, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while _count(es, prefix) < expected:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{prefix}: fewer than {expected} documents after {timeout} s")
        time.sleep(0.05)
    return time.perf_counter() - start


def _agent_pid(spool: Path) -> int | None:
    if not lock.running(spool):
        return None
    pid = lock.holder(spool).get("pid")
    return pid if isinstance(pid, int) else None


def _stop_agent(spool: Path) -> None:
    pid = _agent_pid(spool)
    if pid is not None:
        os.kill(pid, lock.REPLACE)  # (at once: SIGTERM would have it send what waits first)


def _drop(es: Any, prefix: str) -> None:
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))


# -- the measurements -----------------------------------------------------------------------------------


_SHORT = """
import logging, sys
{setup}
log = logging.getLogger("job")
for i in range(20):
    log.info("step %d of the maintenance job", i)
try:
    {{}}["missing"]
except KeyError:
    log.exception("the maintenance job failed")
"""
_SHORT_FILE = (
    "logging.basicConfig(filename=sys.argv[1], level=logging.INFO, format='%(asctime)s %(message)s')"
)
_SHORT_SHIPPER = (
    "import shipper\n"
    "shipper.install('bench', es_url=sys.argv[2], index_prefix=sys.argv[3], spool_path=sys.argv[1],"
    " idle_exit=20)"
)


def _short_script(setup: str, *args: str) -> float:
    """Wall time of a whole short script: interpreter start to exit."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _SHORT.format(setup=setup), *args], env=_ENV, check=True, timeout=120
    )
    return time.perf_counter() - start


def bench_short(es_url: str, es: Any, work: Path) -> dict[str, Any]:
    """Cold: a new spool directory each round, so the script starts the agent. Warm: one directory
    for every round, its agent still running from the round before (a script run again and again)."""
    files, cold, warm, acks = [], [], [], []
    warm_spool = work / "short-warm"
    warm_prefix = f"bench-short-{uuid.uuid4().hex[:8]}"
    _short_script(_SHORT_SHIPPER, str(warm_spool), es_url, warm_prefix)  # starts the agent
    for n in range(ROUNDS * 2):
        prefix = f"bench-short-{uuid.uuid4().hex[:8]}"
        files.append(_short_script(_SHORT_FILE, str(work / f"short-{n}.log")))
        spool = work / f"short-{n}"
        cold.append(_short_script(_SHORT_SHIPPER, str(spool), es_url, prefix))
        acks.append(_wait_count(es, prefix, 21))
        _stop_agent(spool)
        _drop(es, prefix)
        warm.append(_short_script(_SHORT_SHIPPER, str(warm_spool), es_url, warm_prefix))
    _wait_count(es, warm_prefix, 21 * (ROUNDS * 2 + 1))
    _stop_agent(warm_spool)
    _drop(es, warm_prefix)
    return {
        "file_s": statistics.median(files),
        "cold_s": statistics.median(cold),
        "warm_s": statistics.median(warm),
        "cold_ratio": statistics.median(s / f for s, f in zip(cold, files, strict=True)),
        "warm_ratio": statistics.median(s / f for s, f in zip(warm, files, strict=True)),
        "acknowledged_after_exit_s": statistics.median(acks),
        "acknowledged_after_exit_max_s": max(acks),
    }


def bench_instructions(es_url: str, es: Any, work: Path) -> dict[str, Any]:
    """The short script in instructions (valgrind's callgrind; steadier than its wall time on a shared
    machine): with FileHandler, and with the shipper (the node's URL in its argv, as a user's script
    has it, so argv redaction runs), its agent already running (started by an untimed run, which also
    writes the bytecode caches); and `python -c pass`, the interpreter's own share. Not one of the
    default steps: it needs valgrind (`--only instructions`)."""
    if not callgrind.available():
        raise SystemExit(f"bench_shipper: the instructions step needs valgrind: {callgrind.INSTALL_HINT}")
    spool = work / "short-instructions"
    prefix = f"bench-short-{uuid.uuid4().hex[:8]}"
    shipper_script = [sys.executable, "-c", _SHORT.format(setup=_SHORT_SHIPPER), str(spool), es_url, prefix]
    file_script = [
        sys.executable,
        "-c",
        _SHORT.format(setup=_SHORT_FILE),
        str(work / "short-instructions.log"),
    ]
    try:
        shipper, _ = callgrind.instructions(
            shipper_script, _ENV, REPO
        )  # (its first, uncounted run starts the agent)
        _wait_count(es, prefix, 21 * 2)
    finally:
        _stop_agent(spool)
    _drop(es, prefix)
    file, _ = callgrind.instructions(file_script, _ENV, REPO)
    interpreter, _ = callgrind.instructions([sys.executable, "-c", "pass"], _ENV, REPO)
    cold = {cache: _cold_agent_instructions(es_url, es, work, cache) for cache in (False, True)}
    return {
        "shipper": shipper,
        "file": file,
        "python": interpreter,
        "ratio": shipper / file,
        "agent_cold": cold[False],
        "agent_cold_pattern_cache": cold[True],
    }


# The short script's records, spooled for an agent that cannot reach its node (a closed port), then
# sent by an agent started for them alone, in the foreground: what one short script's agent costs.
_AGENT_FOR = """
import io, sys
from pathlib import Path
from shipper.connection import ElasticsearchSettings
from shipper.delivery import agent, launcher
from shipper.delivery.config import AgentConfig
from shipper.transports import TransportSpec
spool, url, prefix = sys.argv[1:4]
spec = TransportSpec("elasticsearch", ElasticsearchSettings(url=url))
config = AgentConfig(index_prefix=prefix, idle_exit=0.2)
sys.exit(agent.main(io.BytesIO(launcher.settings_message(Path(spool), spec, config))))
"""


def _stop_agent_when_started(spool: Path, timeout: float = 30.0) -> None:
    """Stop the agent a program started for `spool` (once it holds the lock: it starts after the
    program's exit) and wait until it is gone."""
    deadline = time.monotonic() + timeout
    while _agent_pid(spool) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no agent of {spool} started within {timeout} s")
        time.sleep(0.05)
    _stop_agent(spool)
    while _agent_pid(spool) is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the agent of {spool} did not stop within {timeout} s")
        time.sleep(0.05)


def _cold_agent_instructions(es_url: str, es: Any, work: Path, pattern_cache: bool) -> int:
    """An agent started to send the short script's 21 records, in instructions: with the pattern cache
    an earlier agent wrote (`shipper.lazy_regex`), or with none (a home of its own, empty at first)."""
    home = work / f"agent-home-{pattern_cache}"
    home.mkdir(exist_ok=True)
    env = {**_ENV, "HOME": str(home)}
    counted = 0
    for warm_up in (True, False):  # the first sends one script's records to warm the caches
        spool = work / f"agent-cold-{pattern_cache}-{warm_up}"
        prefix = f"bench-agent-{uuid.uuid4().hex[:8]}"
        short = _SHORT.format(setup=_SHORT_SHIPPER)
        subprocess.run(
            [sys.executable, "-c", short, str(spool), f"http://127.0.0.1:{_closed_port()}", prefix],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=120,
        )
        _stop_agent_when_started(spool)
        command = [sys.executable, "-c", _AGENT_FOR, str(spool), es_url, prefix]
        if warm_up:
            subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True, timeout=120)
        else:
            counted, _ = callgrind.instructions(command, env, REPO, uncounted_first=False)
        _wait_count(es, prefix, 21)
        _drop(es, prefix)
        if not pattern_cache:
            shutil.rmtree(home / ".cache" / "logloop", ignore_errors=True)  # none for the next either
    return counted


def bench_caller(es_url: str, es: Any, work: Path) -> dict[str, Any]:
    found: dict[str, list[dict[str, Any]]] = {"file": [], "shipper": [], "logstash-memory": []}
    for n in range(ROUNDS):
        prefix = f"bench-caller-{uuid.uuid4().hex[:8]}"
        for kind in found:
            _, result = _run_child(kind, "caller", es_url, prefix, work / f"caller-{kind}-{n}")
            found[kind].append(result)
        _stop_agent(work / f"caller-shipper-{n}" / "spool")
        _drop(es, prefix)
    out: dict[str, Any] = {}
    measures = ("info_us", "exception_us", "info_cpu_us", "exception_cpu_us")
    for kind, results in found.items():
        for measure in measures:
            out[f"{kind}_{measure}"] = statistics.median(r[measure] for r in results)
    for kind in ("shipper", "logstash-memory"):
        for measure in measures:
            ratios = [r[measure] / f[measure] for r, f in zip(found[kind], found["file"], strict=True)]
            out[f"{kind}_{measure}_ratio"] = statistics.median(ratios)
    return out


def bench_cpu(es_url: str, es: Any, work: Path) -> dict[str, Any]:
    events = INFO_N + INFO_N // 10
    files, cold, warm, rss, agent_rss = [], [], [], [], []
    for n in range(ROUNDS):
        _, result = _run_child("file", "cpu", es_url, "unused", work / f"cpu-file-{n}")
        files.append(result["cpu_s"])
        for mode in ("cold", "warm"):
            prefix = f"bench-cpu-{uuid.uuid4().hex[:8]}"
            spool_work = work / f"cpu-{mode}-{n}"
            before = 0.0
            if mode == "warm":  # an agent already running for the directory, as on a busy host
                _short_script(_SHORT_SHIPPER, str(spool_work / "spool"), es_url, prefix)
                _wait_count(es, prefix, 21)
                agent = _agent_pid(spool_work / "spool")
                before = _cpu_s(agent) if agent else 0.0
            _, result = _run_child("shipper", "cpu", es_url, prefix, spool_work)
            _wait_count(es, prefix, events + (21 if mode == "warm" else 0))
            agent = _agent_pid(spool_work / "spool")
            agent_cpu = (_cpu_s(agent) - before) if agent else 0.0
            (cold if mode == "cold" else warm).append(result["cpu_s"] + agent_cpu)
            if mode == "cold":
                rss.append(result["rss_growth_kb"])
                agent_rss.append(_rss_kb(agent) if agent else 0)
            _stop_agent(spool_work / "spool")
            _drop(es, prefix)
    file_cpu = statistics.median(files)
    return {
        "events": events,
        "file_us_per_event": file_cpu / events * 1e6,
        "cold_us_per_event": statistics.median(cold) / events * 1e6,
        "warm_us_per_event": statistics.median(warm) / events * 1e6,
        "cold_ratio": statistics.median(c / f for c, f in zip(cold, files, strict=True)),
        "warm_ratio": statistics.median(w / f for w, f in zip(warm, files, strict=True)),
        "program_rss_growth_kb": statistics.median(rss),
        "agent_rss_kb": statistics.median(agent_rss),
    }


_KILLED = """
import logging, os, sys
sys.path.insert(0, {repo!r})
import shipper
shipper.install("bench", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3], idle_exit=20)
log = logging.getLogger("bench")
out = os.fdopen(1, "w", buffering=1)
for i in range(10_000_000):
    if i % 10 == 0:
        try:
            raise ValueError(i)
        except ValueError:
            log.exception("n%d", i)
    else:
        log.info("n%d", i)
    out.write(f"{{i}}\\n")
"""


def bench_sigkill(es_url: str, es: Any, work: Path) -> dict[str, Any]:
    script = work / "killed.py"
    script.write_text(_KILLED.format(repo=str(REPO)))
    rng = random.Random(9)
    lost_total = returned_total = 0
    for n in range(ROUNDS):
        prefix = f"bench-kill-{uuid.uuid4().hex[:8]}"
        spool = work / f"kill-{n}"
        child = subprocess.Popen(
            [sys.executable, str(script), es_url, str(spool), prefix],
            stdout=subprocess.PIPE,
            text=True,
            env=_ENV,
        )
        assert child.stdout is not None
        target, last = rng.randint(2_000, 20_000), -1
        for line in child.stdout:
            last = int(line)
            if last >= target:
                break
        child.kill()
        child.wait()
        for line in child.stdout:
            if line.strip().isdigit():
                last = int(line)
        child.stdout.close()
        with contextlib.suppress(RuntimeError):  # counted below as lost
            _wait_count(es, prefix, last + 1, timeout=60)
        delivered = _count(es, prefix)
        lost_total += max(0, last + 1 - delivered)
        returned_total += last + 1
        _stop_agent(spool)
        _drop(es, prefix)
    return {"rounds": ROUNDS, "returned": returned_total, "lost": lost_total}


_WORKERS = """
import logging, os, sys, time
sys.path.insert(0, {repo!r})
import shipper
shipper.install("bench", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3], idle_exit=20)
log = logging.getLogger("bench")
pids = []
for w in range(16):
    pid = os.fork()
    if pid == 0:
        for i in range(2000):
            log.info("worker %d n%d", w, i)
        time.sleep(1.0)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
"""


def bench_workers(es_url: str, es: Any, work: Path) -> dict[str, Any]:
    script = work / "workers.py"
    script.write_text(_WORKERS.format(repo=str(REPO)))
    prefix = f"bench-workers-{uuid.uuid4().hex[:8]}"
    spool = work / "workers"
    child = subprocess.Popen([sys.executable, str(script), es_url, str(spool), prefix], env=_ENV)
    agents: set[int] = set()
    most_rss = 0
    while child.poll() is None:
        pid = _agent_pid(spool)
        if pid is not None:
            agents.add(pid)
            most_rss = max(most_rss, _rss_kb(pid))
        time.sleep(0.05)
    _wait_count(es, prefix, 16 * 2000)
    _stop_agent(spool)
    _drop(es, prefix)
    return {"workers": 16, "agents": len(agents), "agent_rss_kb": most_rss}


def report(results: dict[str, Any]) -> str:
    short, caller, cpu = results["short"], results["caller"], results["cpu"]
    kill, workers = results["sigkill"], results["workers"]
    lines = [
        "| measure | logloop | ratio | target |",
        "|---|---:|---:|---:|",
        f"| short script (20 info + 1 exception), wall, agent already running "
        f"| {short['warm_s'] * 1000:.0f} ms "
        f"| {short['warm_ratio']:.2f}x FileHandler ({short['file_s'] * 1000:.0f} ms) | <= 2x |",
        f"| short script, wall, the script starts the agent | {short['cold_s'] * 1000:.0f} ms "
        f"| {short['cold_ratio']:.2f}x FileHandler | <= 2x |",
        f"| its 21 documents acknowledged, after the script's exit "
        f"| {short['acknowledged_after_exit_s']:.2f} s (max {short['acknowledged_after_exit_max_s']:.2f} s) "
        "| | a few s |",
        *(
            f"| `logger.{call}`, caller {what} | {caller[f'shipper_{key}']:.1f} µs "
            f"| {caller[f'shipper_{key}_ratio']:.2f}x FileHandler; logstash-async memory "
            f"{caller[f'logstash-memory_{key}_ratio']:.2f}x | {target} |"
            for call, what, key, target in (
                ("info", "wall", "info_us", "<= 1.0x"),
                ("info", "thread CPU", "info_cpu_us", ""),
                ("exception", "wall", "exception_us", "<= 0.5x"),
                ("exception", "thread CPU", "exception_cpu_us", ""),
            )
        ),
        f"| CPU per event, program + agent, to acknowledged (agent started for the run) "
        f"| {cpu['cold_us_per_event']:.1f} µs | {cpu['cold_ratio']:.2f}x FileHandler "
        f"({cpu['file_us_per_event']:.1f} µs) | <= 1.5x |",
        f"| CPU per event, program + agent, to acknowledged (agent already running) "
        f"| {cpu['warm_us_per_event']:.1f} µs | {cpu['warm_ratio']:.2f}x FileHandler | <= 1.5x |",
        f"| SIGKILL at a random moment ({kill['rounds']} rounds) | {kill['lost']} lost of "
        f"{kill['returned']} returned calls | | 0 |",
        f"| memory, 1 program ({cpu['events']} events) "
        f"| program RSS +{cpu['program_rss_growth_kb'] / 1024:.1f} MB, "
        f"agent {cpu['agent_rss_kb'] / 1024:.1f} MB | | |",
        f"| memory, 16 forked workers | {workers['agents']} agent, {workers['agent_rss_kb'] / 1024:.1f} MB "
        "| | one agent |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    parser.add_argument(
        "--only",
        help=(
            "run only these steps, comma-separated: short, caller, cpu, sigkill, workers (the default"
            " set), instructions (the short script counted by callgrind; needs valgrind)"
        ),
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("KIND", "WORKLOAD", "PREFIX", "DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        work = Path(args.child[3])
        work.mkdir(parents=True, exist_ok=True)
        _child(args.child[0], args.child[1], args.es_url, args.child[2], work)
        return 0
    es = make_client(ElasticsearchSettings(url=args.es_url))
    compileall.compile_dir(REPO / "shipper", quiet=1)  # as installed: see the module docstring
    steps = {
        "short": bench_short,
        "caller": bench_caller,
        "cpu": bench_cpu,
        "sigkill": bench_sigkill,
        "workers": bench_workers,
    }
    default = list(steps)
    steps["instructions"] = bench_instructions
    chosen = args.only.split(",") if args.only else default
    unknown = [name for name in chosen if name not in steps]
    if unknown:
        parser.error(f"--only: no step {', '.join(unknown)}; the steps are {', '.join(steps)}")
    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-shipper-") as tmp:
        for name in chosen:
            started = time.perf_counter()
            results[name] = steps[name](args.es_url, es, Path(tmp))
            print(f"# {name} done in {time.perf_counter() - started:.1f} s: {results[name]}", file=sys.stderr)
    if set(default) <= set(chosen):
        print(report(results))
    if "instructions" in results:
        counted = results["instructions"]
        print(
            f"short script, instructions (agent already running): shipper {counted['shipper'] / 1e6:.1f} M,"
            f" FileHandler {counted['file'] / 1e6:.1f} M ({counted['ratio']:.2f}x);"
            f" python -c pass {counted['python'] / 1e6:.1f} M"
        )
        print(
            "an agent started to send its 21 records, instructions: with the pattern cache"
            f" {counted['agent_cold_pattern_cache'] / 1e6:.1f} M, without {counted['agent_cold'] / 1e6:.1f} M"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
