"""The SQLite spool on its own: ordering, acknowledgement, size bound, overflow policies, ownership."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipper.exceptions import ConfigurationError
from shipper.spool import NewEvent, Spool


def _events(n: int, size: int = 100, start: int = 0) -> list[NewEvent]:
    return [NewEvent(f"id{i}", "logloop-2026.01.01", b"x" * size) for i in range(start, start + n)]


def test_rows_come_back_in_order_and_survive_a_reopen(tmp_path: Path) -> None:
    """What is put is taken back oldest first, also from a new connection after the first closed."""
    spool = Spool(tmp_path / "s.sqlite")
    assert spool.put(_events(5)).stored == 5
    spool.close()
    again = Spool(tmp_path / "s.sqlite")
    assert [e.event_id for e in again.take(10, 1 << 20)] == [f"id{i}" for i in range(5)]


def test_only_deleted_rows_are_forgotten(tmp_path: Path) -> None:
    """Deleting acknowledged rows leaves the unacknowledged ones for the next take."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put(_events(4))
    batch = spool.take(10, 1 << 20)
    spool.delete([batch[0].row_id, batch[2].row_id])
    assert [e.event_id for e in spool.take(10, 1 << 20)] == ["id1", "id3"]
    assert spool.backlog() == 2


def test_take_respects_the_byte_budget_but_always_returns_one(tmp_path: Path) -> None:
    """A batch stops before exceeding max_bytes, yet a single large row is still returned."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put(_events(3, size=1000))
    assert len(spool.take(10, 2500)) == 2
    assert len(spool.take(10, 10)) == 1


@pytest.mark.parametrize(
    ("policy", "kept_first"),
    [
        pytest.param("drop_oldest", False, id="drop-oldest"),
        pytest.param("drop_newest", True, id="drop-newest"),
    ],
)
def test_overflow_policy_bounds_the_file_and_counts_the_drop(
    tmp_path: Path, policy: str, kept_first: bool
) -> None:
    """A full spool drops old or new rows per the policy, reports how many, and stays near its bound."""
    spool = Spool(tmp_path / "s.sqlite", max_bytes=256 * 1024, overflow=policy)  # type: ignore[arg-type]
    dropped = stored = 0
    for round_ in range(20):
        result = spool.put(_events(50, size=1000, start=round_ * 50))
        dropped, stored = dropped + result.dropped, stored + result.stored
    assert dropped > 0
    assert stored - (dropped if policy == "drop_oldest" else 0) == spool.backlog()
    ids = {e.event_id for e in spool.take(2000, 1 << 30)}
    assert ("id0" in ids) is kept_first
    assert os.path.getsize(tmp_path / "s.sqlite") <= 400 * 1024


def test_rows_of_a_live_other_owner_are_not_taken(tmp_path: Path) -> None:
    """A process (a forked child, say) never takes rows another live process wrote."""
    parent = Spool(tmp_path / "s.sqlite", owner=os.getpid())
    parent.put(_events(3))
    child = Spool(tmp_path / "s.sqlite", owner=os.getppid())  # a live pid that is not ours
    child.put(_events(2, start=10))
    assert [e.event_id for e in parent.take(10, 1 << 20)] == ["id0", "id1", "id2"]
    assert parent.adopt_orphans() == 0


def test_rows_of_a_dead_owner_are_adopted(tmp_path: Path) -> None:
    """Rows left by a process that has exited are adopted and sent by the next one."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    Spool(tmp_path / "s.sqlite", owner=int(dead.stdout)).put(_events(3))
    spool = Spool(tmp_path / "s.sqlite")
    assert len(spool.take(10, 1 << 20)) == 0
    assert spool.adopt_orphans() == 3
    assert len(spool.take(10, 1 << 20)) == 3


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    """An unknown overflow policy or a tiny bound is a ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError, match="overflow"):
        Spool(tmp_path / "s.sqlite", overflow="drop_all")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="spool_max_bytes"):
        Spool(tmp_path / "s.sqlite", max_bytes=10)
