"""Records a program changed into nonsense on their way (a filter, a bridge from another log system
that copies its own times and line numbers) reach the node, every one, with nothing raised into the
program: a real program, its agent and the real node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import programs
from helpers.delivered import documents

# Each case: the attribute a logger filter sets, and the value (Python source).
CASES = {
    "created NaN": ("created", "float('nan')"),
    "created infinite": ("created", "float('inf')"),
    "created in the year 33658": ("created", "1e12"),
    "created as text": ("created", "'yesterday'"),
    "line number as text": ("lineno", "'forty'"),
    "line number past 64 bits": ("lineno", "2 ** 70"),
    "pid as text": ("process", "'1234'"),
    "thread id as a list": ("thread", "[1, 2]"),
    "no logger name": ("name", "None"),
    "logger name a number": ("name", "7"),
}

SCRIPT = """
    import logging, sys, shipper
    handler = shipper.install(service="bridge", es_url=sys.argv[1], index_prefix=sys.argv[2],
                              spool_path=sys.argv[3])
    cases = {cases}

    for case, (attribute, value) in cases.items():
        def spoil(record, attribute=attribute, value=eval(value)):
            setattr(record, attribute, value)
            return True
        log = logging.getLogger("bridge." + str(len(case)))
        log.addFilter(spoil)
        log.warning("case %s", case)
        try:
            raise ValueError(case)
        except ValueError:
            log.exception("failed %s", case)
        log.removeFilter(spoil)
    print("LOGGED", flush=True)
    assert handler.wait_delivered(60), "not delivered"
"""


def test_spoiled_records_all_arrive(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """Every spoiled record, plain and with a traceback, is indexed (none lost, none dead-lettered),
    the program sees no exception, and what no field could hold is kept in `logloop.unusable`."""
    spool = tmp_path / "spool"
    script = SCRIPT.replace("{cases}", repr(CASES))
    done = programs.run(script, tmp_path, args=(es_url, index_prefix, str(spool)))
    assert done.returncode == 0 and "LOGGED" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    found = documents(es, index_prefix, fields=["message", "logloop.unusable", "error.type", "@timestamp"])
    messages = sorted(doc["message"] for doc in found)
    assert messages == sorted([f"case {case}" for case in CASES] + [f"failed {case}" for case in CASES])
    totals = json.loads((spool / "agent.json").read_text())
    assert not any(name.startswith("lost:") for name in totals) and "dead_lettered" not in totals, totals
    unusable = {doc["message"]: doc.get("logloop", {}).get("unusable") for doc in found}
    for case, (attribute, _) in CASES.items():
        if attribute != "name":
            assert attribute in unusable[f"case {case}"] and attribute in unusable[f"failed {case}"], case
    assert all(
        doc["error"]["type"] == "builtins.ValueError" for doc in found if doc["message"].startswith("failed")
    )
