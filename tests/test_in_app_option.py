"""An `in_app` item no frame could mean (empty, blank, spaces around it, a control character,
wildcards alone) is refused by name wherever it is given: `cluster --in-app`, `[grouping] in_app` in
the TOML file or the environment, and the handler's `grouping` argument. An empty name matched the
empty first part of every absolute path: every frame, the libraries' too, was told as the program's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipper.exceptions import ConfigurationError
from shipper.handler import ShipperHandler
from tests.test_cli_outcomes import assert_one_line, run

BAD = [
    pytest.param("", "empty", id="empty"),
    pytest.param("   ", "empty", id="blank"),
    pytest.param("\t", "empty", id="tab"),
    pytest.param(" myapp", "spaces around", id="leading-space"),
    pytest.param("myapp\n", "spaces around", id="trailing-newline"),
    pytest.param("my\x00app", "control character", id="nul"),
    pytest.param("my\x1bapp", "control character", id="escape"),
    pytest.param("*", "every file", id="star"),
    pytest.param("*/*", "every file", id="star-slash-star"),
    pytest.param("/**", "every file", id="slash-stars"),
    pytest.param("?", "every file", id="question-mark"),
]


def _events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text('{"message": "boom", "log": {"level": "error"}}\n')
    return path


@pytest.mark.parametrize(("value", "words"), BAD)
def test_cluster_refuses_an_in_app_option_no_frame_could_mean(tmp_path: Path, value: str, words: str) -> None:
    """`logloop cluster --in-app VALUE` is a usage error naming the option and the problem."""
    if "\x00" in value:
        pytest.skip("a NUL cannot be passed in a process's arguments")
    result = run(tmp_path, "cluster", "--in-app", "myapp", "--in-app", value, str(_events(tmp_path)))
    assert result.returncode == 2 and result.stdout == "", result
    assert "argument --in-app" in result.stderr and words in result.stderr, result.stderr


@pytest.mark.parametrize(("value", "words"), BAD)
def test_the_configuration_file_refuses_an_in_app_item_no_frame_could_mean(
    tmp_path: Path, value: str, words: str
) -> None:
    """`[grouping] in_app = ["myapp", VALUE]` is one line naming the item's place and the problem."""
    config = tmp_path / "logloop.toml"
    config.write_text(f'[grouping]\nin_app = ["myapp", {json.dumps(value)}]\n')  # JSON escapes are TOML's
    result = run(tmp_path, "--config", str(config), "cluster", str(_events(tmp_path)))
    assert_one_line(result, "[grouping] in_app[1]", words)


def test_the_environment_refuses_an_empty_in_app_item(tmp_path: Path) -> None:
    """LOGLOOP_GROUPING_IN_APP='["", "myapp"]' is refused like the file's item."""
    result = run(
        tmp_path, "cluster", str(_events(tmp_path)), env={"LOGLOOP_GROUPING_IN_APP": '["", "myapp"]'}
    )
    assert_one_line(result, "[grouping] in_app[0]", "empty")


@pytest.mark.parametrize(("value", "words"), BAD)
def test_the_handler_refuses_an_in_app_item_no_frame_could_mean(
    tmp_path: Path, value: str, words: str
) -> None:
    """`ShipperHandler(grouping={"in_app": [VALUE]})` is a ConfigurationError at set-up naming it."""
    with pytest.raises(ConfigurationError) as raised:
        ShipperHandler(
            "in-app", es_url="http://127.0.0.1:9", spool_path=tmp_path / "s", grouping={"in_app": [value]}
        )
    assert "in_app[0]" in str(raised.value) and words in str(raised.value), raised.value


@pytest.mark.parametrize("value", ["myapp", "my_app2", "*/src/myapp/*", "C:\\src\\myapp\\*", "*.py"])
def test_a_package_name_or_a_narrow_pattern_is_taken(tmp_path: Path, value: str) -> None:
    """Names and patterns that mean some files, not all, are taken by the command as before."""
    result = run(tmp_path, "cluster", "--in-app", value, str(_events(tmp_path)))
    assert result.returncode == 0 and result.stderr == "", result.stderr
