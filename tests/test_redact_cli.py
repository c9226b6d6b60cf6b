"""`logloop redact`: what redaction hides in a JSONL file, highlighted (--check), or the file redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logloop.cli import main

LINES = [
    {"message": "login password=hunter2 ok", "extra": {"api_token": "abc", "employee": "EMP-123456"}},
    {"message": "nothing secret here"},
]


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in LINES) + "\nnot json: Bearer qqq\n")
    return path


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "logloop.toml"
    path.write_text(body)
    return path


def test_check_prints_each_hidden_field_highlighted_with_its_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each field to hide is one JSON line naming the line, the field and the rules, the secret marked."""
    config = _config(tmp_path, '[redaction]\npatterns = ["EMP-\\\\d+"]\n')
    assert main(["--config", str(config), "redact", "--check", str(_write(tmp_path))]) == 0
    *records, summary = capsys.readouterr().out.splitlines()
    found = [json.loads(record) for record in records]
    assert found == [
        {"line": 1, "field": "message", "rules": ["key_value"], "value": "login password=⟦hunter2⟧ ok"},
        {"line": 1, "field": "extra.api_token", "rules": ["secret_key"], "value": "⟦abc⟧"},
        {"line": 1, "field": "extra.employee", "rules": ["user_pattern_1"], "value": "⟦EMP-123456⟧"},
        {"line": 3, "field": "message", "rules": ["bearer_token"], "value": "not json: Bearer ⟦qqq⟧"},
    ]
    assert summary.startswith("# 4 finding(s): ")


def test_without_check_the_file_is_printed_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --check every line comes out as the shipper would send it, ordinary lines unchanged."""
    config = _config(tmp_path, '[redaction]\nkeys = ["employee"]\n')
    assert main(["--config", str(config), "redact", str(_write(tmp_path))]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0] == {
        "message": "login password=[REDACTED] ok",
        "extra": {"api_token": "[REDACTED]", "employee": "[REDACTED]"},
    }
    assert out[1] == LINES[1]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param('[redaction]\npatterns = ["("]\n', "is not a regular expression", id="bad-pattern"),
        pytest.param('[redaction]\nkey = ["x"]\n', "unknown key", id="unknown-key"),
        pytest.param('[redaction]\nkeys = "pin"\n', "give a list of strings", id="keys-not-a-list"),
    ],
)
def test_bad_rules_or_file_give_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    """A bad [redaction] section or an unreadable file is one error line naming the problem, exit 1."""
    path = _config(tmp_path, config)
    assert main(["--config", str(path), "redact", "--check", str(_write(tmp_path))]) == 1
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1 and message in error
    assert main(["redact", "--check", str(tmp_path / "missing.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_check_names_a_copy_of_a_secret_found_in_another_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret found in one field and hidden in another (where no rule of its own finds it) is marked
    there as `repeated_secret`, the rest of that field unmarked."""
    path = tmp_path / "docs.jsonl"
    document = {"message": "rejected Fk9cli7secret for bob", "extra": {"password": "Fk9cli7secret"}}
    path.write_text(json.dumps(document) + "\n")
    assert main(["--config", str(_config(tmp_path, "")), "redact", "--check", str(path)]) == 0
    *records, _ = capsys.readouterr().out.splitlines()
    assert [json.loads(record) for record in records] == [
        {
            "line": 1,
            "field": "message",
            "rules": ["repeated_secret"],
            "value": "rejected ⟦Fk9cli7secret⟧ for bob",
        },
        {"line": 1, "field": "extra.password", "rules": ["secret_key"], "value": "⟦Fk9cli7secret⟧"},
    ]


_SECRET = "password=Hunter22xyz"


@pytest.mark.parametrize("check", [False, True], ids=["print", "check"])
@pytest.mark.parametrize(
    "line",
    [
        pytest.param('{"message": "%s", "a": ' + "[" * 900 + "]" * 900 + "}", id="deep-for-the-pass"),
        pytest.param('{"message": "%s", "a": ' + '{"b": ' * 600 + "1" + "}" * 600 + "}", id="deep-object"),
        pytest.param('{"message": "%s", "a": ' + "[" * 5000 + "]" * 5000 + "}", id="deep-for-the-decoder"),
        pytest.param('{"message": "%s", "n": ' + "9" * 5000 + "}", id="long-integer"),
    ],
)
def test_a_document_too_deep_or_too_long_is_redacted_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, check: bool
) -> None:
    """A line the decoder or the pass cannot walk (nesting past the recursion limit, a number of
    thousands of digits) is redacted as the text of its line, its secret hidden and the lines after it
    done; before, the command ended with a RecursionError or ValueError traceback."""
    path = tmp_path / "events.jsonl"
    path.write_text(line.replace("%s", _SECRET) + "\n" + json.dumps({"message": _SECRET}) + "\n")
    assert main(["redact", *(["--check"] if check else []), str(path)]) == 0
    captured = capsys.readouterr()
    assert "Hunter22xyz" not in captured.out.replace("⟦Hunter22xyz⟧", "") and "Traceback" not in captured.err
    if check:
        assert [json.loads(record)["line"] for record in captured.out.splitlines()[:-1]][-1] == 2
    else:
        assert [json.loads(out)["message"] for out in captured.out.splitlines()][-1] == "password=[REDACTED]"


def _on_a_terminal(tmp_path: Path, *argv: str, **env: str) -> str:
    """What `logloop redact` writes to a pseudo-terminal (its standard output and error)."""
    import os
    import pty
    import subprocess
    import sys

    primary, secondary = pty.openpty()
    root = Path(__file__).resolve().parent.parent
    environ = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
    environ.update(PYTHONPATH=str(root), HOME=str(tmp_path), **env)
    with subprocess.Popen(
        [sys.executable, "-m", "logloop.cli", "redact", *argv],
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
        env=environ,
    ) as process:
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize(
    ("env", "reverse_video"),
    [
        pytest.param({}, True, id="terminal"),
        pytest.param({"NO_COLOR": "1"}, False, id="no-color"),
        pytest.param({"NO_COLOR": "yes please"}, False, id="no-color-any-text"),
        pytest.param({"NO_COLOR": ""}, True, id="no-color-empty"),
    ],
)
def test_check_on_a_terminal_honours_no_color(
    tmp_path: Path, env: dict[str, str], reverse_video: bool
) -> None:
    """`--check` highlights in reverse video on a terminal unless NO_COLOR is set (to anything but
    the empty text), when it uses the plain marks; before, NO_COLOR was ignored."""
    shown = _on_a_terminal(tmp_path, "--check", str(_write(tmp_path)), **env)
    assert ("\x1b[7m" in shown) is reverse_video and ("⟦" in shown) is not reverse_video, shown
