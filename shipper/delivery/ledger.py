"""What agent.json's totals hold of each segment, so that a killed agent's successor counts once.

An agent writes a segment's acknowledgement (what it sent there), then, a moment later, agent.json
(the directory's totals, cumulative across agents). Killed in between (SIGKILL, the OOM killer), the
acknowledgement was ahead of the totals, and the next agent resumed from the acknowledgement: what the
first had sent was never in `sent` (120 of 316 delivered documents counted after four kills). So
agent.json keeps, beside its totals and in the same write, the counts of each segment whose files are
still there as those totals hold them (an entry), and the next agent adds what an acknowledgement
holds beyond its entry (`catch_up`). A count made once for a segment and its evidence then removed (a
drop mark, a segment finished) is entered under its own name, and the evidence removed only after
agent.json says so: found again after a kill, it is not counted again.

The other way round, an acknowledgement that could not be written (a full disk, EIO) leaves agent.json
ahead of it: the next agent sends again what the acknowledgement lacks, and the node refuses each copy
as a duplicate (409), which is delivered, so counted again (`sent` 100 for 50 documents on the node).
An acknowledgement's counts are of distinct records (each record is finished once in it), so an entry
is a floor the acknowledgement climbs back to as those copies are refused: a total grows only by what
an acknowledgement holds beyond its entry, and an entry never goes down (`catch_up`, `of_ack`).

The rule: a total changes only together with the entry that says which segment it came from; an agent
counts an acknowledgement's fields through `catch_up`, never on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shipper.spool.layout import Ack

KEY: Final = "ledger"  # agent.json's key for the entries
# An acknowledgement's counts -> the totals they go to.
ACK_TOTALS: Final = {
    "sent": "sent",
    "dead_lettered": "dead_lettered",
    "retried": "retried",
    "torn": "torn_skipped",
}
OVERFLOW: Final = "overflow"  # the entry of a segment drop_oldest deleted: its loss was counted
RECOVERED: Final = "recovered"  # the entry of a dead writer's segment: its recovered records were counted

Entry = dict[str, int]


def of_ack(ack: Ack, entry: Mapping[str, int] | None = None) -> Entry:
    """The entry that says the totals hold `ack`'s counts, and what `entry` said they held (never less:
    an acknowledgement behind its entry was not written, and the totals hold what it lacks)."""
    made = dict(entry or {})
    made.update((name, max(getattr(ack, name), made.get(name, 0))) for name in ACK_TOTALS)
    return made


def read(saved: Mapping[str, Any]) -> dict[str, Entry] | None:
    """The entries of a read agent.json; None where it has none (an earlier version wrote it)."""
    found = saved.get(KEY)
    if not isinstance(found, dict):
        return None
    return {
        name: {k: v for k, v in entry.items() if type(v) is int and v >= 0}
        for name, entry in found.items()
        if isinstance(name, str) and isinstance(entry, dict)
    }


def catch_up(totals: dict[str, int], entries: dict[str, Entry], acks: Mapping[str, Ack]) -> bool:
    """Add to `totals` what each acknowledgement (by segment name) holds beyond its entry, and enter
    it; True if any total changed."""
    changed = False
    for name, ack in acks.items():
        entry = entries.get(name, {})
        for field, total in ACK_TOTALS.items():
            beyond = getattr(ack, field) - entry.get(field, 0)
            if beyond > 0:
                totals[total] = totals.get(total, 0) + beyond
                changed = True
        entries[name] = of_ack(ack, entry)
    return changed
