"""The acknowledgement file a delivery agent resumes from, when a crash, a full disk or a hand left it
holding something else than the agent writes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from shipper.delivery.agent import Agent
from shipper.delivery.config import AgentConfig
from shipper.handler import ShipperHandler
from shipper.spool import layout
from shipper.transports.memory import MemoryTransport

# Each is valid JSON of the wrong shape: the agent must neither crash on it nor skip records for it.
_BAD_ACKS = [
    {"offset": "x"},
    {"offset": -5},
    {"offset": 1.5},
    {"offset": True},
    {"offset": None},
    {"done": "12"},
    {"done": [1, "2"]},
    {"done": {"1": 2}},
    {"sent": "many"},
    {"torn": -1},
    {"finished": "yes"},
    {"finished": 1},
    [1, 2, 3],
    "offset",
    7,
    None,
]


@pytest.mark.parametrize("content", _BAD_ACKS, ids=lambda content: json.dumps(content))
def test_an_acknowledgement_of_the_wrong_shape_reads_as_none_yet(tmp_path: Path, content: object) -> None:
    """A field of another kind or a negative count makes the whole file read as a fresh start (the
    segment is read again from its beginning), never a crash later in the agent's arithmetic."""
    segment = tmp_path / f"1-1-1{layout.SUFFIX}"
    layout.ack_path(segment).write_text(json.dumps(content))
    assert layout.read_ack(segment) == layout.Ack()


def test_a_well_formed_acknowledgement_is_read_back_whole(tmp_path: Path) -> None:
    """What the agent writes, it reads back field for field (the checks refuse no real file)."""
    segment = tmp_path / f"1-1-1{layout.SUFFIX}"
    ack = layout.Ack(
        offset=4096, done=[5000, 6000], sent=12, dead_lettered=1, retried=3, torn=0, finished=True
    )
    layout.write_ack(segment, ack)
    assert layout.read_ack(segment) == ack


@pytest.mark.parametrize("content", [{"offset": "x"}, {"done": [1, "2"]}, {"offset": 10**9}])
def test_an_agent_resuming_from_a_bad_acknowledgement_delivers_every_record(
    tmp_path: Path, content: object
) -> None:
    """Records spooled by a program, then an acknowledgement file of the wrong shape or pointing past
    the segment's end: the agent runs to idle without raising and every record is delivered."""
    spool = tmp_path / "spool"
    handler = ShipperHandler("acks", spool_path=spool, delivery="thread")
    handler._stop.set()  # no delivery thread: the agent below is the only reader
    log = logging.getLogger(f"acks-{tmp_path.name}")
    log.addHandler(handler)
    log.propagate = False
    try:
        for number in range(50):
            log.warning("record %d", number)
    finally:
        log.removeHandler(handler)
        handler.close()
    segments = layout.segments(spool)
    assert segments
    for segment in segments:
        layout.ack_path(segment).write_text(json.dumps(content))
    transport = MemoryTransport()
    agent = Agent(spool, lambda: transport, AgentConfig(idle_exit=0.5, poll_interval=0.01))
    agent.run()
    assert sorted(doc["message"] for doc in transport.documents) == sorted(f"record {n}" for n in range(50))
