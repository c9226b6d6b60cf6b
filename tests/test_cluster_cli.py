"""`logloop cluster`: offline grouping of ECS JSON lines, run through the real CLI entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from logloop.cli import main
from shipper import cluster_cli, cluster_workers
from shipper.grouping.options import DEFAULT_OPTIONS

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


def test_every_line_of_a_cluster_has_its_first_lines_title(tmp_path: Path) -> None:
    """The lines of one group carry the title its first line was given, whatever each line's own
    message would title (a value masked in one, kept in another), as the registry keeps a group's
    first title; the lines of another group keep theirs."""

    def event(value: str, function: str = "parse") -> str:
        trace = (
            "Traceback (most recent call last):\n"
            f'  File "/srv/app/jobs.py", line 7, in {function}\n'
            "    return int(value)\n"
            f"ValueError: invalid literal for int() with base 10: '{value}'\n"
        )
        return json.dumps({"log": {"level": "error"}, "error": {"stack_trace": trace}})

    lines = [event("x1"), event("zz"), event("q7"), event("zz", "load"), event("x1", "load")]
    code, output = run_cluster(tmp_path, lines)
    own = [row.title for row in cluster_cli.cluster_lines(lines[1:2])]  # the second line titled alone
    assert code == 0 and own != [output[0]["title"]]  # the two messages title otherwise
    assert len({row["cluster"] for row in output[:3]}) == 1 and output[3]["cluster"] != output[0]["cluster"]
    assert [row["title"] for row in output] == [output[0]["title"]] * 3 + [output[3]["title"]] * 2
    assert "'zz'" in output[3]["title"]


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
    assert output[0]["title"] == "user <NUM> logged in from <IP>"
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


def test_lone_surrogates_are_grouped_and_written_escaped(tmp_path: Path) -> None:
    """Events whose text holds a lone surrogate (valid JSON: `"\\ud800"`) in a message-only line, a
    logging template or a traceback's message are grouped like the others, and the output stays valid
    UTF-8 JSON whose titles give the surrogate back as the input spelled it."""
    trace = (
        'Traceback (most recent call last):\n  File "/srv/app/jobs.py", line 3, in run\n'
        "    raise KeyError(k)\nKeyError: '\ud83d'\n"
    )
    lines = [
        json.dumps({"message": f"lost \ud800 token for job {n}", "log": {"level": "error"}}) for n in (7, 8)
    ] + [
        json.dumps({"message": "bad \udcff row 1", "logloop": {"template": "bad \udcff row %d"}}),
        json.dumps(
            {
                "error": {
                    "type": "KeyError",
                    "message": "'\ud83d'",
                    "stack_trace": trace + "KeyError: '\ud83d'\n",
                }
            }
        ),
    ]
    assert all("\\ud" in line for line in lines)  # the input spells them as JSON escapes
    code, output = run_cluster(tmp_path, lines)
    assert code == 0 and all(row["cluster"] for row in output)
    assert output[0]["cluster"] == output[1]["cluster"] and "\ud800" in output[0]["title"]
    assert "\udcff" in output[2]["title"] and output[3]["category"] == "traceback"


BAD_LINES = [b"{not json", b"[1, 2]", b"", b"   ", b'{"message": "caf\xe9"}']


def mixed_lines(bad_every: int = 0) -> list[bytes]:
    """Evaluation-set-like lines: the corpus's tracebacks, message-only lines of a few shapes between
    them, logging templates, and (every `bad_every` lines) one bad line of each kind in turn."""
    lines: list[bytes] = []
    for number, line in enumerate(CORPUS.read_bytes().splitlines()):
        lines.append(line)
        event = [
            {"message": f"user {number} logged in from 10.0.0.{number % 7}"},
            {"message": f"cache flushed in {number} ms", "error": {"type": "TimeoutError"}},
            {"message": f"lost {number} rows", "logloop.template": "lost %d rows", "log.level": "error"},
        ][number % 3]
        lines.append(json.dumps(event).encode())
        if bad_every and number % bad_every == 0:
            lines.append(BAD_LINES[number // bad_every % len(BAD_LINES)])
    return lines


def in_one_process(path: Path) -> list[tuple[object, ...]]:
    with path.open("rb") as source:
        return list(cluster_cli._rows(cluster_cli._lines_of(source), DEFAULT_OPTIONS))


def in_workers(path: Path, workers: int) -> list[tuple[object, ...]]:
    warnings: list[str] = []
    with path.open("rb") as source:
        rows = cluster_cli._parallel_rows(source.fileno(), DEFAULT_OPTIONS, workers, warnings.append)
    assert warnings == []
    return list(rows)


def ranges_of(path: Path, workers: int) -> list[bytes]:
    data = path.read_bytes()
    with path.open("rb") as source:
        parts = cluster_workers.ranges(source.fileno(), len(data), workers)
    return [data[part.start : part.end] for part in parts]


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_workers_give_the_rows_of_one_process(tmp_path: Path, workers: int) -> None:
    """On evaluation-set-like data, keying in 2, 3 or 4 processes gives the rows of one process."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(mixed_lines()) + b"\n")
    assert in_workers(path, workers) == in_one_process(path)


@pytest.mark.parametrize("workers", [2, 3])
def test_many_ranges_taken_by_few_processes_give_the_rows_of_one_process(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ranges of a few hundred bytes (16 a process), bad lines among them, the rows and their
    numbers are those of one process: each process's memo carried from range to range changes nothing."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(mixed_lines(bad_every=7)) + b"\n")
    monkeypatch.setattr(cluster_cli, "_RANGE_BYTES", 256)
    assert path.stat().st_size // 256 >= workers * cluster_cli._RANGES_PER_WORKER
    assert in_workers(path, workers) == in_one_process(path)


@pytest.mark.parametrize("workers", [2, 3, 4])
@pytest.mark.parametrize("newline_at_end", [True, False])
def test_bad_lines_in_every_range_keep_their_numbers_and_errors(
    tmp_path: Path, workers: int, newline_at_end: bool
) -> None:
    """Bad lines of every kind in every range, and a last line with or without its newline, get the
    numbers and errors one process gives them."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join([*mixed_lines(bad_every=9), b"{not json either"]) + b"\n" * newline_at_end)
    assert all(
        any(bad in piece for bad in (b"{not json", b"[1, 2]", b"\xe9")) for piece in ranges_of(path, workers)
    )
    rows = in_workers(path, workers)
    assert rows == in_one_process(path)
    assert rows[-1][3] is not None and len(rows) == len(path.read_bytes().splitlines())


def test_a_range_boundary_on_a_newline(tmp_path: Path) -> None:
    """When the middle offset of the file is a newline, two processes still give the rows of one."""
    lines = mixed_lines()[:60]
    path = tmp_path / "in.jsonl"
    for pad in range(2 * max(map(len, lines)) + 4):  # each 2 spaces move the middle one byte on
        data = b"\n".join([*lines, b'{"message": "end"' + b" " * pad + b"}"]) + b"\n"
        if data[len(data) // 2] == ord("\n"):
            break
    path.write_bytes(data)
    assert data[len(data) // 2] == ord("\n")
    assert in_workers(path, 2) == in_one_process(path)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"message": "disk 1 full"}\n[]\n{"message": "disk 2 full"}', id="three-lines"),
        pytest.param(b"", id="empty-file"),
        pytest.param(b'{"message": "one line, no newline"}', id="one-line"),
    ],
)
def test_more_workers_than_lines(tmp_path: Path, data: bytes) -> None:
    """Eight processes on a file of three lines or fewer give the rows of one."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    assert in_workers(path, 8) == in_one_process(path)


def test_jobs_option_gives_the_output_of_one_process(tmp_path: Path) -> None:
    """`logloop cluster -j 3` (a fresh process, so it forks) writes the bytes, errors and exit status
    of `-j 1`, and the default takes workers on a file past the size threshold without changing them."""
    path = tmp_path / "in.jsonl"
    lines = mixed_lines(bad_every=11)
    while len(b"\n".join(lines)) < cluster_cli._PARALLEL_BYTES:
        lines = lines + lines
    path.write_bytes(b"\n".join(lines))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.run(
            [sys.executable, "-m", "logloop.cli", "cluster", str(path), *jobs],
            capture_output=True,
            env=env,
            timeout=120,
        )
        for jobs in (["-j", "1"], ["-j", "3"], [])
    ]
    assert runs[0].returncode == 2 and runs[0].stdout.count(b"\n") == len(lines)
    assert all(
        (run.returncode, run.stdout, run.stderr) == (2, runs[0].stdout, runs[0].stderr) for run in runs
    )


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_standard_output_is_utf8_whatever_its_encoding(tmp_path: Path, encoding: str) -> None:
    """Written to standard output, the lines are UTF-8 JSON (what `-o` writes) whatever encoding the
    terminal or the pipe has, titles outside that encoding included (a cp1252 or ASCII stdout crashed)."""
    lines = ['{"message": "Größe 12 überschritten: ключ 7", "log": {"level": "error"}}', "not json"]
    source = write_lines(tmp_path / "in.jsonl", lines)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": encoding}
    command = [sys.executable, "-m", "logloop.cli", "cluster", str(source)]
    shown = subprocess.run(command, capture_output=True, env=env, timeout=60)
    subprocess.run([*command, "-o", str(tmp_path / "out.jsonl")], env=env, timeout=60, capture_output=True)
    assert shown.returncode == 2 and shown.stdout == (tmp_path / "out.jsonl").read_bytes()
    first = json.loads(shown.stdout.decode("utf-8").splitlines()[0])
    assert first["title"] == "Größe <NUM> überschritten: ключ <NUM>"


@pytest.mark.parametrize("jobs", ["0", "-2", "two", "257", "1000", "99999999999999999999"])
def test_jobs_must_be_a_positive_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    """`-j` with no number from 1 to 256 is a usage error naming what is expected, before any input is
    read (1000 was a ValueError traceback, a 20-digit number a hang building ranges)."""
    with pytest.raises(SystemExit):
        main(["cluster", str(tmp_path / "nope.jsonl"), "-j", jobs])
    assert f"expected a number of processes from 1 to 256; got '{jobs}'" in capsys.readouterr().err


def test_the_most_jobs_is_the_most_ranges_the_workers_take() -> None:
    """`--jobs`' bound is the claims pipe's (one byte a range), so every accepted number can run."""
    assert cluster_cli.MAX_JOBS == cluster_workers.MAX_RANGES


def test_the_most_jobs_runs_on_a_small_file(tmp_path: Path) -> None:
    """`-j 256` (the bound) on a file of three lines gives the rows of one process."""
    lines = [json.dumps({"message": f"user {n} logged in"}) for n in range(3)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    assert main(["cluster", str(source), "-o", str(tmp_path / "a.jsonl"), "-j", "256"]) == 0
    assert main(["cluster", str(source), "-o", str(tmp_path / "b.jsonl"), "-j", "1"]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


_DEEP = 5000  # past the interpreter's recursion limit (1000) and json's own


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param('{"a": ' + "[" * _DEEP + "]" * _DEEP + "}", "nested too deeply", id="deep-array"),
        pytest.param('{"a": ' + '{"b": ' * _DEEP + "1" + "}" * _DEEP + "}", "too deeply", id="deep-object"),
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep-top-level"),
        pytest.param('{"message": "x", "n": ' + "7" * 5000 + "}", "too many digits", id="long-integer"),
        pytest.param('{"message": "x", "n": -' + "1" * 4301 + "}", "too many digits", id="long-negative"),
        pytest.param('{"error": {"code": ' + "[" * 3000 + "]" * 3000 + "}}", "too deeply", id="deep-error"),
    ],
)
def test_a_line_the_decoder_refuses_without_a_json_error_is_a_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, reason: str, jobs: str
) -> None:
    """Valid JSON that Python's decoder refuses with RecursionError or ValueError (deep nesting, an
    integer of thousands of digits) is a bad line named on stderr, in one process or several; before,
    it ended the command with a traceback and no output."""
    good = json.dumps({"message": "user 1 logged in"})
    source = write_lines(tmp_path / "in.jsonl", [good, bad, good])
    target = tmp_path / "out.jsonl"
    assert main(["cluster", str(source), "-o", str(target), "-j", jobs]) == 2
    err = capsys.readouterr().err
    output = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert "in.jsonl:2:" in err and reason in err and "Traceback" not in err
    assert reason in output[1]["error"] and output[1]["cluster"] is None
    assert output[0]["cluster"] == output[2]["cluster"] is not None


@pytest.mark.parametrize("depth", [3000, 100_000])
@pytest.mark.parametrize("key", ["log", "msg", "message"])
def test_a_json_line_nested_too_deeply_is_text_in_a_text_log(tmp_path: Path, depth: int, key: str) -> None:
    """With --text, a line that looks like a Docker json-file record or a JSON logger's line but is
    nested past the decoder's limit is read as the text it is (a RecursionError traceback before), and
    the log around it grouped."""
    source = tmp_path / "app.log"
    deep = "[" * depth + "]" * depth
    source.write_text(f'{{"{key}": {deep}}}\nERROR disk 1 full\n', encoding="utf-8")
    target = tmp_path / "out.jsonl"
    assert main(["cluster", "--text", str(source), "-o", str(target)]) == 0
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2


@pytest.mark.parametrize(
    "name_output",
    [
        pytest.param(lambda source: source, id="same-path"),
        pytest.param(lambda source: source.parent / "." / source.name, id="dotted-path"),
        pytest.param(lambda source: _link(source, os.symlink), id="symlink"),
        pytest.param(lambda source: _link(source, os.link), id="hard-link"),
    ],
)
def test_output_naming_the_input_is_refused_and_the_input_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name_output: Any
) -> None:
    """`-o` naming the input file itself (by any path or link) is one error and the events stay; before,
    the input was silently replaced by its groups."""
    source = write_lines(tmp_path / "in.jsonl", [json.dumps({"message": "user 1 logged in"})] * 3)
    before = source.read_bytes()
    assert main(["cluster", str(source), "-o", str(name_output(source))]) == 1
    err = capsys.readouterr().err
    assert "is the input file" in err and len(err.strip().splitlines()) == 1
    assert source.read_bytes() == before


def _link(source: Path, make: Any) -> Path:
    link = source.with_name("link.jsonl")
    make(source, link)
    return link


def children_of(pid: int) -> list[tuple[int, str]]:
    """The (pid, state) of each process whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = (Path("/proc") / entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:  # it left meanwhile
                continue
            if int(fields[1]) == pid:
                found.append((int(entry), fields[0]))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker through /proc")
def test_a_worker_killed_during_the_run_loses_no_line(tmp_path: Path) -> None:
    """`logloop cluster -j 2` whose worker is SIGKILLed while it runs says so in one line and still
    writes the output of `-j 1`, exit status included."""
    path = tmp_path / "in.jsonl"
    lines = mixed_lines(bad_every=13)
    # big enough that the worker, whose result fills its pipe, is still there while the parent works
    copies = 16 * 2**20 // len(b"\n".join(lines)) + 1
    path.write_bytes(b"\n".join(lines * copies) + b"\n")
    command = [sys.executable, "-m", "logloop.cli", "cluster", str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    expected = subprocess.run([*command, "-j", "1"], capture_output=True, env=env, timeout=120)
    with subprocess.Popen(
        [*command, "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        deadline = time.monotonic() + 60
        while not (workers := children_of(process.pid)) and process.poll() is None:
            assert time.monotonic() < deadline, "no worker seen"
            time.sleep(0.001)
        assert len(workers) == 1 and workers[0][1] != "Z", "the worker was gone before it could be killed"
        os.kill(workers[0][0], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=120)
    assert (process.returncode, stdout) == (expected.returncode, expected.stdout)
    warning, *errors = stderr.decode().splitlines()
    assert warning.endswith("was killed by SIGKILL; processing them in the main process")
    assert errors == expected.stderr.decode().splitlines()


def test_the_lines_read_in_blocks_are_the_files_lines_and_an_overlong_one_its_head() -> None:
    """Lines read in blocks are the input's lines at every block size; a line past the limit is an
    `Overlong` holding its head and its size (it was held whole, its blocks joined again at each block:
    a 150 MB line took 14 s and 750 MB), whatever the blocks, and none of the others changes."""
    import io
    import random

    rnd = random.Random(5)
    pieces = [b"a", b"\n", b"bb", b"xyz\n", b"\n\n", b"\r\n"]
    for _ in range(4000):
        data = b"".join(rnd.choice([*pieces, b"q" * rnd.randint(0, 40)]) for _ in range(rnd.randint(0, 30)))
        block, limit = rnd.randint(1, 16), rnd.randint(1, 30)
        original = cluster_cli._BLOCK
        cluster_cli._BLOCK = block  # type: ignore[misc]
        try:
            whole = list(cluster_cli._lines_of(io.BytesIO(data)))
            bounded = list(cluster_cli._lines_of(io.BytesIO(data), limit))
        finally:
            cluster_cli._BLOCK = original  # type: ignore[misc]
        expected = data.splitlines(keepends=True)
        assert whole == expected
        assert len(bounded) == len(expected)
        for got, line in zip(bounded, expected, strict=True):
            if len(line) > limit:
                assert isinstance(got, cluster_cli.Overlong) and got.size == len(line)
                assert line.startswith(got)
            else:
                assert got == line and not isinstance(got, cluster_cli.Overlong)


@pytest.mark.parametrize("text", [pytest.param(False, id="json"), pytest.param(True, id="text")])
def test_a_line_longer_than_any_event_is_named_and_the_rest_grouped(tmp_path: Path, text: bool) -> None:
    """A line past 100 MiB (longer than Elasticsearch takes in one request) is named on stderr with its
    size, never held whole (JSON lines: a bad line, status 2; a text log: read as its head), and the
    lines after it are grouped as usual."""
    path = tmp_path / "events.jsonl"
    long_line = b'{"message": "' + b"x" * (cluster_cli.MAX_LINE_BYTES + 10) + b'"}\n'
    with path.open("wb") as handle:
        handle.write(long_line)
        handle.write(json.dumps({"message": "disk full on /var", "log": {"level": "error"}}).encode() + b"\n")
    argv = [sys.executable, "-m", "logloop.cli", "cluster", *(["--text"] if text else []), str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert f"{path}:1: a line of {len(long_line):,} bytes" in done.stderr
    assert rows[-1]["title"] is not None and "disk full" in rows[-1]["title"]
    if text:
        assert done.returncode == 0 and len(rows) == 2
    else:
        assert done.returncode == 2 and rows[0]["cluster"] is None and "longer than" in rows[0]["error"]
