"""`logloop es start|stop|status --data-dir PATH` with a path no node could use: one line naming the
path, the problem and what to do, status 1, before anything is started, stopped or asked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_cli_outcomes import assert_one_line, run


def _file(tmp_path: Path) -> Path:
    (tmp_path / "data").write_text("not a directory\n")
    return tmp_path / "data"


def _below_a_file(tmp_path: Path) -> Path:
    return _file(tmp_path) / "node"


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "data")
    return tmp_path / "data"


def _pid_file_a_directory(tmp_path: Path) -> Path:
    (tmp_path / "data" / "es.pid").mkdir(parents=True)
    return tmp_path / "data"


def _pid_file_a_fifo(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    os.mkfifo(tmp_path / "data" / "es.pid")  # reading it would block: never opened
    return tmp_path / "data"


def _name_too_long(tmp_path: Path) -> Path:
    return tmp_path / ("d" * 300)


UNUSABLE = [
    pytest.param(_file, "is a file", id="file"),
    pytest.param(_below_a_file, "below a file", id="below-a-file"),
    pytest.param(_fifo, "not a directory", id="fifo"),
    pytest.param(_pid_file_a_directory, "es.pid", id="pid-file-a-directory"),
    pytest.param(_pid_file_a_fifo, "es.pid", id="pid-file-a-fifo"),
    pytest.param(_name_too_long, "too long", id="name-too-long"),
]


@pytest.mark.parametrize("action", ["status", "stop"])
@pytest.mark.parametrize(("make", "words"), [*UNUSABLE, pytest.param(lambda p: p / "none", "does not exist")])
def test_an_unusable_data_dir_is_named(
    tmp_path: Path, action: str, make: Callable[[Path], Path], words: str
) -> None:
    """`status` and `stop` name a data directory that is missing, a file, below a file or whose pid
    file cannot be read; before, `status` said "not running" (status 3) and `stop` "no node"."""
    path = make(tmp_path)
    result = run(tmp_path, "es", action, "--port", "1", "--data-dir", str(path))
    line = assert_one_line(result, "--data-dir", str(path)[:40], words, "logloop es start")
    assert result.stdout == "", line


@pytest.mark.parametrize(("make", "words"), UNUSABLE[:3])
def test_start_refuses_a_data_dir_that_is_no_directory(
    tmp_path: Path, make: Callable[[Path], Path], words: str
) -> None:
    """`start` names a data directory path that is a file (or below one) before fetching or starting
    anything; a missing one is created as before (not run here: it would start a node)."""
    path = make(tmp_path)
    result = run(tmp_path, "es", "start", "--port", "1", "--data-dir", str(path))
    assert_one_line(result, "--data-dir", str(path), words, "give a directory")
