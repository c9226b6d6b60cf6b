"""`logloop cluster`: offline grouping of ECS JSON lines, run through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from logloop.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "tracebacks" / "corpus.jsonl"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run_cluster(tmp_path: Path, lines: list[str]) -> tuple[int, list[dict[str, Any]]]:
    source = write_lines(tmp_path / "in.jsonl", lines)
    target = tmp_path / "out.jsonl"
    code = main(["cluster", str(source), "-o", str(target)])
    return code, [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def test_one_output_object_per_input_line_in_order(tmp_path: Path) -> None:
    """Every input line gets one output object, in input order, with cluster and title."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:30]
    code, output = run_cluster(tmp_path, lines)
    assert code == 0
    assert [item["line"] for item in output] == list(range(1, 31))
    assert all(isinstance(item["cluster"], str) and item["title"] for item in output)


def test_traceback_clusters_match_the_labels(tmp_path: Path) -> None:
    """On the labelled corpus, clusters coincide exactly with the labels."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    _, output = run_cluster(tmp_path, lines)
    pairs = {(json.loads(line)["label"], item["cluster"]) for line, item in zip(lines, output, strict=True)}
    assert len(pairs) == len({label for label, _ in pairs}) == len({cluster for _, cluster in pairs})


def test_nested_and_dotted_keys_give_the_same_cluster(tmp_path: Path) -> None:
    """The same event written with nested or dotted keys lands in the same cluster."""
    trace = 'Traceback (most recent call last):\n  File "/a/b.py", line 3, in f\n    x()\nKeyError: 7\n'
    nested = {"log": {"level": "error"}, "error": {"stack_trace": trace, "type": "builtins.KeyError"}}
    dotted = {
        "log.level": "error",
        "error.stack_trace": trace.replace("7", "8"),
        "error.type": "builtins.KeyError",
    }
    code, output = run_cluster(tmp_path, [json.dumps(nested), json.dumps(dotted)])
    assert code == 0 and output[0]["cluster"] == output[1]["cluster"]
    assert output[0]["category"] == "traceback"


def test_messages_without_template_are_mined(tmp_path: Path) -> None:
    """Message-only events without a template are grouped by the miner; templates group by template."""
    events = [
        {"message": "user 17 logged in from 10.0.0.1"},
        {"message": "user 42 logged in from 10.0.0.9"},
        {"message": "cache flushed in 12 ms"},
        {"message": "lost 3 rows", "logloop": {"template": "lost %d rows"}, "log": {"level": "error"}},
        {"message": "lost 5 rows", "logloop.template": "lost %d rows", "log.level": "error"},
    ]
    code, output = run_cluster(tmp_path, [json.dumps(event) for event in events])
    assert code == 0
    assert output[0]["cluster"] == output[1]["cluster"] != output[2]["cluster"]
    assert output[0]["title"] == "user <*> logged in from <*>"
    assert output[3]["cluster"] == output[4]["cluster"] and output[3]["category"] == "template"


def test_deterministic(tmp_path: Path) -> None:
    """Two runs over the same input give byte-identical output."""
    lines = [*CORPUS.read_text(encoding="utf-8").splitlines()[:20], json.dumps({"message": "disk 3 full"})]
    first = run_cluster(tmp_path, lines)
    second = run_cluster(tmp_path, lines)
    assert first == second


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param("{not json", "not valid JSON", id="broken-json"),
        pytest.param("[1, 2]", "expected a JSON object", id="not-an-object"),
        pytest.param("", "empty line", id="empty-line"),
    ],
)
def test_bad_lines_are_reported_and_the_rest_processed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, reason: str
) -> None:
    """A bad line gets an error naming its number on stderr, exit status 2, and the others still cluster."""
    good = json.dumps({"message": "user 1 logged in"})
    code, output = run_cluster(tmp_path, [good, bad, good])
    assert code == 2
    assert "in.jsonl:2:" in capsys.readouterr().err
    assert reason in output[1]["error"] and output[1]["cluster"] is None
    assert output[0]["cluster"] == output[2]["cluster"] is not None


def test_missing_input_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unreadable input file is a one-line error naming the file, exit status 1."""
    code = main(["cluster", str(tmp_path / "nope.jsonl")])
    assert code == 1
    assert "nope.jsonl" in capsys.readouterr().err


def test_invalid_utf8_line_is_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line that is not UTF-8 is reported by number; the lines around it are still clustered."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"message": "disk 1 full"}\n{"message": "caf\xe9"}\n{"message": "disk 2 full"}\n')
    target = tmp_path / "out.jsonl"
    assert main(["cluster", str(source), "-o", str(target)]) == 2
    output = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert "not valid UTF-8" in output[1]["error"] and "in.jsonl:2:" in capsys.readouterr().err
    assert output[0]["cluster"] == output[2]["cluster"] is not None
