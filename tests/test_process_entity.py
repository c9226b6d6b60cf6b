"""Every event carries `process.entity_id`, the id of the process that logged it: real programs (one
that forks a worker, one killed with SIGKILL whose spool another process's agent delivers, one that
writes segments as an earlier version did) and the real node; the agent's document layout for it."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents
from helpers.programs import UNREACHABLE

from shipper import environment, schema
from shipper.delivery.documents import Documents
from shipper.handler import ShipperHandler
from shipper.spool import records

# Logs its own records (plain, an error with its traceback, feedback, one without a pid), one it
# relays from another process, forks a worker that logs too, then reports its health and ends as
# `how` says: "exit" (close at exit; "redact": its documents built in the program, `redact_before_spool`)
# or "kill" (SIGKILL, its records left in the spool).
_PROGRAM = """
import logging, os, signal, sys, time
import shipper
from shipper import environment

spool, prefix, url, how, old = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "old"
if old:  # the program frame as a shipper before `process.entity_id` wrote it
    from shipper.capture import program
    facts = program.facts
    program.facts = lambda **kw: {k: v for k, v in facts(**kw).items() if k != program.ENTITY_ID}
handler = shipper.install(
    "entity", es_url=url, spool_path=spool, index_prefix=prefix, stats_interval=0.2, idle_exit=1.0,
    unreachable_exit=1.0, redact_before_spool=how == "redact",
)
log = logging.getLogger("entity")
log.info("own plain")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("own error")
shipper.feedback("own feedback", kind="bug")
logging.logProcesses = False
log.info("own without pid")
log.error("own error without pid")
logging.logProcesses = True
relayed = logging.makeLogRecord({"name": "entity", "msg": "relayed", "levelno": 40, "levelname": "ERROR",
                                 "process": 4242424})
log.handle(relayed)
child = os.fork()
if child == 0:
    log.info("child plain")
    log.error("child error")
    print("CHILD", os.getpid(), environment.entity_id(), flush=True)
    time.sleep(1.0)  # a health report of its own (one every 0.2 s)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    logging.shutdown()
    os._exit(0)
os.waitpid(child, 0)
print("PARENT", os.getpid(), environment.entity_id(), flush=True)
time.sleep(1.0)
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _run(
    tmp_path: Path, spool: Path, prefix: str, url: str, how: str, old: bool
) -> dict[str, tuple[int, str]]:
    """Run the program; {"PARENT"|"CHILD": (pid, entity id)} as each process said."""
    done = programs.run(_PROGRAM, tmp_path, args=[str(spool), prefix, url, how, "old" if old else "new"])
    said = {
        name: (int(pid), entity)
        for name, pid, entity in (line.split() for line in done.stdout.splitlines() if line.count(" ") == 2)
    }
    assert said.keys() == {"PARENT", "CHILD"}, done.stderr
    return said


def _deliver(spool: Path, es_url: str, prefix: str) -> str:
    """Another process's agent (this test's) sends what waits in `spool`; that process's entity id."""
    handler = ShipperHandler("deliverer", es_url=es_url, spool_path=spool, index_prefix=prefix, idle_exit=1.0)
    try:
        assert handler.wait_delivered(90)
    finally:
        handler.close()
    return environment.entity_id()


def _entities(es: Any, prefix: str) -> dict[str, Any]:
    """{message: process} of the events, and {"health": {(pid, entity id)}} of the health reports."""
    found: dict[str, Any] = {"health": set()}
    for doc in documents(es, prefix):
        process = doc.get("process") or {}
        if doc["event"]["dataset"] == schema.DATASET_SHIPPER:
            found["health"].add((process.get("pid"), process.get("entity_id")))
        elif doc.get("service", {}).get("name") == "entity":
            found[doc["message"]] = process
    return found


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("exit", id="delivered-while-it-runs"),
        pytest.param("redact", id="documents-built-in-the-program"),
        pytest.param("kill", id="sigkill-delivered-later"),
    ],
)
def test_events_carry_the_id_of_the_process_that_logged_them(
    how: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program's events (plain, errors, feedback, records without a pid) carry its entity id and a
    forked worker's carry the worker's own, each the id of that process's health reports; a record
    relayed from another process carries none; for a program killed before delivery, delivered by
    another process's agent, the ids are the program's, not the deliverer's."""
    spool = tmp_path / "spool"
    url = UNREACHABLE if how == "kill" else es_url
    said = _run(tmp_path, spool, index_prefix, url, how, old=False)
    deliverer = _deliver(spool, es_url, index_prefix)
    found = _entities(es, index_prefix)
    parent, child = said["PARENT"], said["CHILD"]
    assert parent[1] != child[1] and deliverer not in (parent[1], child[1])
    for message in ("own plain", "own error", "own feedback", "own without pid", "own error without pid"):
        assert (found[message]["pid"], found[message].get("entity_id")) == parent, message
    for message in ("child plain", "child error"):
        assert (found[message]["pid"], found[message].get("entity_id")) == child, message
    assert found["relayed"]["pid"] == 4242424 and "entity_id" not in found["relayed"]
    assert {parent, child} <= found["health"]


def test_segments_of_an_earlier_version_are_delivered_without_an_entity_id(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Segments whose program frame has no entity id (an earlier version wrote them), left by a
    program killed with SIGKILL, are delivered whole, their events with the program's pid and
    without `process.entity_id` (none made up, not the delivering process's)."""
    spool = tmp_path / "spool"
    said = _run(tmp_path, spool, index_prefix, UNREACHABLE, "kill", old=True)
    _deliver(spool, es_url, index_prefix)
    found = _entities(es, index_prefix)
    events = {message: process for message, process in found.items() if message != "health"}
    assert len(events) == 8
    for message, process in events.items():
        assert "entity_id" not in process, message
    assert found["own error"]["pid"] == said["PARENT"][0] and found["child error"]["pid"] == said["CHILD"][0]


def test_two_processes_with_one_pid_keep_their_own_ids() -> None:
    """Two programs alike in everything but their entity id (the next cron run given the same pid)
    each get their own id in the agent's documents (its cache of their constant part tells them apart)."""
    record = logging.LogRecord("entity", logging.INFO, __file__, 7, "plain", None, None, func="fn")
    fields = records.decode(records.encode_plain(record) or b"")[1]
    agent = Documents("entity")
    base = {"service": "entity", "pid": os.getpid(), "host": {"name": "h"}, "process_name": "p", "args": []}
    got = [
        json.loads(agent.plain(fields, {**base, "entity_id": entity}, "0" * 32)[1])["process"]["entity_id"]
        for entity in ("a" * 32, "b" * 32)
    ]
    assert got == ["a" * 32, "b" * 32]


def test_the_program_looks_its_entity_id_up_once_not_per_record(tmp_path: Path) -> None:
    """The id goes into each segment's program frame, made once per process: logging thousands of
    records over several segments asks for it once on the program's side (no cost per record)."""
    done = programs.run(
        """
        import logging, os, sys
        from shipper import environment
        calls = []
        own = environment.entity_id
        environment.entity_id = lambda: calls.append(1) or own()
        import shipper
        shipper.install("entity", es_url="http://127.0.0.1:9", spool_path=sys.argv[1], index_prefix="x",
                        stats_interval=3600)
        for i in range(5000):
            logging.getLogger("entity").info("record %d %s", i, "y" * 200)
        segments = [name for name in os.listdir(sys.argv[1]) if name.endswith(".seg")]
        print("CALLS", len(calls), "SEGMENTS", len(segments), flush=True)
        os._exit(0)
        """,
        tmp_path,
        args=[str(tmp_path / "spool")],
    )
    said = done.stdout.split()
    assert said[0] == "CALLS", done.stderr
    assert int(said[1]) == 1 and int(said[3]) > 1
