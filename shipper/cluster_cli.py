"""`logloop cluster INPUT.jsonl [-o OUTPUT.jsonl]`: group ECS events offline, no Elasticsearch needed.

Each input line is one ECS event (nested `{"error": {"stack_trace": ...}}` or dotted
`"error.stack_trace"` keys). Each output line is one JSON object for the input line at the same
position: `line`, `cluster` (a stable id), `title` (the same on every line of a cluster: its first
line's, as a group keeps the title it was first given), `category` and `grouping_version`.

- an event with a Python traceback (`error.stack_trace`) or a logging template (`logloop.template`)
  gets the same key the shipper stores in `error.grouping_key` (`shipper.grouping.fingerprint`);
- any other event is grouped by the first line of its message (prefixed with the short error.type
  if any) with the template miner (`shipper.grouping.templates`), over the whole input at once:
  deterministic for a given input (same input, same order, same output). `shipper.grouping.message_only`
  says which events those are and what line the miner sees; `logloop regroup` uses it too.

The `[grouping]` table of the configuration (in_app packages, rules; see `shipper.grouping.options`)
applies, with `--in-app` packages added; an event's own `extra.fingerprint` is honoured.

A bad line (not UTF-8, not JSON, not an object, longer than the 100 MiB any stored event can be: never
held whole) gets an error on stderr naming its line number and an output
object with `cluster`/`title` null and `error`; the other lines are still processed and the exit
status is then 2 (0 when every line was good; 1 when the input cannot be read at all).

`--text` reads a plain-text log instead (a program's stderr, a `logging` file): each line is an
event, except that a traceback's lines belong to the line they follow (`shipper.text_log`), so a
traceback gets the key the shipper would give it; each output line is then one event, `line` its
first line. It runs in one process.

A regular input file of 1 MiB or more is decoded and keyed in several processes (`--jobs`; default:
the usable CPUs, at most 4), each taking ranges of its lines as it gets free
(`shipper.cluster_workers`); the template miner then runs once over the message-only lines of all
of them in input order, so the output is the same as with `--jobs 1` (one process, as for standard
input).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol, cast

from shipper import json_lines
from shipper.exceptions import ShipperError
from shipper.grouping.fingerprint import GROUPING_VERSION, Fingerprint, fingerprint_document
from shipper.grouping.json_logs import as_ecs
from shipper.grouping.message_only import (
    has_located_failure,
    keyed_template,
    located_failure_in_message,
    message_of,
    stack_trace_text,
    title_of,
    traceback_in_message,
)
from shipper.grouping.options import (
    DEFAULT_OPTIONS,
    GroupingConfigError,
    GroupingOptions,
    in_app_problem,
    options_from_table,
)
from shipper.grouping.templates import mine
from shipper.grouping.tracebacks import TextMemo, has_frame_lines
from shipper.schema import get_field

EXIT_BAD_LINES: Final = 2
_BLOCK: Final = 1 << 20  # bytes read at a time
# The longest line read whole: Elasticsearch refuses a request over 100 MB by default
# (`http.max_content_length`), so no stored event's line is longer; what a longer one held past its
# first `_OVERLONG_HEAD` bytes is never read into memory.
MAX_LINE_BYTES: Final = 100 << 20
_OVERLONG_HEAD: Final = 64 << 10
# The fast path's key of each distinct traceback text of the input (a fleet sends the same one again
# and again), for at most this many texts and characters (about 64 MB for ASCII text).
_MEMO_ENTRIES: Final = 100_000
_MEMO_CHARACTERS: Final = 64_000_000
# The smallest file worth forking workers for, unless --jobs says how many. Measured in fresh
# processes on 2 cores, keying alone: a second process costs about 3 ms of wall and 5 of CPU time
# (the fork, copied pages, memos warmed twice); it breaks even near 512 KiB of evaluation-set lines
# and saves 20-35% of the keying time at 1 MiB (a few ms of a 0.1 s run).
_PARALLEL_BYTES: Final = 1 << 20
# The workers taken by default when more CPUs are usable: the parent alone reads every result and
# mines every message, so more buys less and less (measured on 2 cores only: 4 is a guess).
MAX_AUTO_WORKERS: Final = 4
# The most `--jobs` takes: each process claims ranges by a one-byte number (`cluster_workers.MAX_RANGES`,
# which a test holds equal; not imported here, see `_workers`).
MAX_JOBS: Final = 256


@dataclass(frozen=True, slots=True)
class Assignment:
    """The group of one input line, or the reason the line could not be read."""

    line: int
    cluster: str | None
    title: str | None
    category: str | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "line": self.line,
            "cluster": self.cluster,
            "title": self.title,
            "category": self.category,
            "grouping_version": GROUPING_VERSION,
        }
        if self.error is not None:
            result["error"] = self.error
        return result


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cluster",
        help="group ECS events (JSON lines) into error groups and message templates, offline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        type=Path,
        metavar="INPUT.jsonl",
        help="ECS events, one JSON object a line ('-': standard input)",
    )
    parser.add_argument("-o", "--output", type=Path, metavar="OUTPUT.jsonl", help="default: standard output")
    parser.add_argument(
        "--in-app",
        action="append",
        default=[],
        type=_in_app,
        metavar="PACKAGE",
        help="a package of the program (myapp, acme.billing) or an fnmatch path pattern; repeatable",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        metavar="N",
        help=(
            "processes that decode and key a regular input file, even a small one (default: the usable"
            f" CPUs, at most {MAX_AUTO_WORKERS}, for a file of {_PARALLEL_BYTES >> 20} MiB"
            " or more; 1: this process only)"
        ),
    )
    parser.add_argument(
        "--text",
        action="store_true",
        help=(
            "INPUT is a plain-text log (a program's stderr, a logging file): each line is an event, but a"
            " traceback belongs to the line it follows; `line` is then an event's first line"
        ),
    )
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected a number of processes from 1 to {MAX_JOBS}; got {text!r}")
    return number


def _in_app(text: str) -> str:
    """`--in-app PACKAGE` for argparse: a usage error naming the value when no frame could mean it."""
    problem = in_app_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def run(args: argparse.Namespace, settings: object) -> int:
    """Cluster `args.input` into `args.output` (or stdout); 2 if any line was bad, else 0."""
    options = _options(args, settings)
    _refuse_input_as_output(args.input, args.output)
    numbers: list[int] | None = None  # each row's line, where it is not its position (--text)
    kind = "plain-text log" if args.text else "JSON-lines file"
    try:
        if args.text:
            source = sys.stdin.buffer if str(args.input) == "-" else args.input.open("rb")
            with source:
                rows, numbers = _text_rows(source, options, str(args.input))
        elif str(args.input) == "-":
            rows = _rows(_lines_of(sys.stdin.buffer), options)
        else:
            with args.input.open("rb") as source:
                rows = _file_rows(source, options, args.jobs, str(args.input))
    except OSError as exc:
        raise ShipperError(f"cannot read {args.input}: {exc}; pass a readable {kind}") from exc
    bad = [(line, row[3]) for line, row in enumerate(rows, start=1) if row[3] is not None]
    if bad and len(bad) == len(rows):
        # A file none of whose lines is an event (a text log given without --text, nearly always):
        # one line, no output, rather than a refusal and an empty row per line of a large log.
        line, error = bad[0]
        first = error.partition(";")[0]  # the reason, without the advice that does not fit this case
        print(
            f"logloop cluster: error: no line of {args.input} is a JSON object (line {line}: {first});"
            " for a text log, pass --text",
            file=sys.stderr,
        )
        return EXIT_BAD_LINES
    for line, error in bad:
        print(f"logloop cluster: {args.input}:{line}: {error}", file=sys.stderr)
    if args.output is None:
        sys.stdout.flush()
        _write(rows, sys.stdout.buffer, numbers)
        sys.stdout.buffer.flush()
    else:
        try:
            with args.output.open("wb") as target:
                _write(rows, target, numbers)
        except OSError as exc:
            raise ShipperError(f"cannot write {args.output}: {exc}; choose a writable path with -o") from exc
    if bad:
        print(f"logloop cluster: {len(bad)} of {len(rows)} lines skipped", file=sys.stderr)
        return EXIT_BAD_LINES
    return 0


def _refuse_input_as_output(source: Path, output: Path | None) -> None:
    """-o naming the input itself (or a link to it) would replace the events with their groups."""
    if output is None or str(source) == "-":
        return
    try:
        same = os.path.samefile(source, output)
    except (OSError, ValueError):  # either one missing (its own error comes later), or unreadable
        return
    if same:
        raise ShipperError(f"-o {output} is the input file: its events would be lost; write to another path")


def _text_rows(source: _Readable, options: GroupingOptions, name: str) -> tuple[list[_Row], list[int]]:
    """The rows of a plain-text log's entries (`shipper.text_log`), and each entry's first line. Bytes
    that are not UTF-8 are kept as `\\xNN` escapes (a log is whatever a program wrote)."""
    from shipper import text_log  # only for --text

    def decoded() -> Iterator[str]:
        for number, line in enumerate(_lines_of(source), start=1):
            if isinstance(line, Overlong):
                print(
                    f"logloop cluster: {name}:{number}: a line of {line.size:,} bytes, longer than"
                    f" {MAX_LINE_BYTES >> 20} MiB: read as its first {len(line):,} bytes",
                    file=sys.stderr,
                )
                yield line.decode("utf-8", "backslashreplace") + "\n"
            else:
                yield line.decode("utf-8", "backslashreplace")

    lines = decoded()
    numbers: list[int] = []

    def documents() -> Iterator[tuple[Mapping[str, Any], None]]:
        for entry in text_log.entries(lines):  # (one at a time: a log can be larger than memory)
            numbers.append(entry.line)
            yield _json_entry(entry.text) or entry.document(), None

    part = _keyed(documents(), options)
    return _mined([part]), numbers


def _json_entry(text: str) -> Mapping[str, Any] | None:
    """A text log's entry that is one JSON object (a JSON logger's line, in a log of other lines) as the
    event it holds (`json_logs.as_ecs`); None for any other entry."""
    if not text.startswith("{") or text.count("\n") > 1:
        return None
    doc, _ = json_lines.decode(text)
    return as_ecs(doc) if isinstance(doc, dict) else None


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _lines_of(source: _Readable, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of `source` as iterating it gives them (each with its b"\\n"), read in large blocks:
    a buffered reader's `readline` looks at every byte in turn, several times the cost of one search
    per line in a block. A line longer than `limit` bytes is an `Overlong` (its head only): memory
    stays bounded whatever the input (a line that never ends, `/dev/zero`)."""
    pending: list[bytes] = []  # the pieces of the line not finished yet, while within `limit`
    head = b""  # the head of the line not finished yet, once past `limit` (then nothing else is held)
    held = 0  # the bytes of the line not finished yet
    while block := source.read(_BLOCK):
        start = 0
        end = block.find(b"\n")
        while end >= 0:
            size = held + end + 1 - start
            if size > limit:
                yield Overlong(head or _head([*pending, block[start:end]]), size)
            elif pending:
                pending.append(block[start : end + 1])
                yield b"".join(pending)  # (joined once: a long line costs linear time)
            else:
                yield block[start : end + 1]
            pending.clear()
            head, held = b"", 0
            start = end + 1
            end = block.find(b"\n", start)
        if start < len(block):
            piece = block[start:] if start else block
            held += len(piece)
            if head:
                continue
            pending.append(piece)
            if held > limit:
                head = _head(pending)
                pending.clear()
    if held > limit:
        yield Overlong(head or _head(pending), held)
    elif pending:
        yield b"".join(pending)


def _head(pieces: list[bytes]) -> bytes:
    """The first `_OVERLONG_HEAD` bytes of the pieces joined."""
    taken = []
    size = 0
    for piece in pieces:
        taken.append(piece[: _OVERLONG_HEAD - size])
        size += len(taken[-1])
        if size >= _OVERLONG_HEAD:
            break
    return b"".join(taken)


class Overlong(bytes):
    """The head of a line longer than `MAX_LINE_BYTES` (the rest was never held), and its length."""

    size: int

    def __new__(cls, head: bytes, size: int) -> Overlong:
        line = super().__new__(cls, head)
        line.size = size
        return line


def _options(args: argparse.Namespace, settings: object) -> GroupingOptions:
    """The `[grouping]` table of the configuration, with `--in-app` packages added."""
    section = getattr(settings, "section", None)
    table = section("grouping") if callable(section) else {}
    try:
        options = options_from_table(table)
    except GroupingConfigError as exc:
        raise ShipperError(f"{exc}; fix the configuration file") from exc
    return dataclasses.replace(options, in_app=(*options.in_app, *args.in_app))


def _write(rows: Iterable[_Row], target: IO[bytes], numbers: Sequence[int] | None = None) -> None:
    """One `Assignment.as_json` line per row (its number: its position, from 1), as `json.dumps` writes
    it, in UTF-8 (JSON lines' encoding, whatever the terminal's). A group's fields are encoded once
    (every line of a group but its number is the same), and lines go out as bytes `_WRITE_LINES` at a
    time: one text of all lines would be built, then encoded whole, several times the output's size in
    memory at once."""
    encoded: dict[tuple[str | None, ...], bytes] = {}
    pieces: list[bytes] = []
    for position, row in enumerate(rows, start=1):
        line = position if numbers is None else numbers[position - 1]
        if row[3] is not None:
            pieces.append((_json_line(Assignment(line, *row).as_json()) + "\n").encode("utf-8"))
        else:
            key = row[:3]
            rest = encoded.get(key)
            if rest is None:
                whole = _json_line(Assignment(0, *key).as_json())
                after_number = whole[whole.index(", ") + 2 :]  # what follows `"line": 0, `
                rest = encoded[key] = (after_number + "\n").encode("utf-8")
            pieces.append(b'{"line": %d, ' % line)
            pieces.append(rest)
        if len(pieces) >= _WRITE_LINES:
            target.write(b"".join(pieces))
            pieces.clear()
    target.write(b"".join(pieces))


_WRITE_LINES: Final = 8192


def _json_line(value: Mapping[str, Any]) -> str:
    """`value` as one line of JSON, non-ASCII text as it is, but where a text holds a lone surrogate
    (a JSON input may spell one, `"\\ud800"`, and a title keeps it): then it is written escaped, as
    the input had it, since no UTF-8 output can hold it as a character."""
    line = json.dumps(value, ensure_ascii=False)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value)
    return line


def cluster_lines(
    lines: Iterable[str | bytes], options: GroupingOptions = DEFAULT_OPTIONS
) -> list[Assignment]:
    """Assign every line a group; bad lines get an `error` instead. Pure apart from reading `lines`."""
    return [Assignment(line, *row) for line, row in enumerate(_rows(lines, options), start=1)]


# An `Assignment`'s fields but its line number, which is the row's position: what the command writes,
# without building the object. (No number in it: the rows of a worker's range are not renumbered when
# the parts are put together.)
_Row = tuple[str | None, str | None, str | None, str | None]


def _rows(lines: Iterable[str | bytes], options: GroupingOptions) -> list[_Row]:
    """`cluster_lines`, each assignment as a tuple of its fields."""
    return _mined([_part(lines, options)])


def _file_rows(source: IO[bytes], options: GroupingOptions, jobs: int | None, name: str) -> list[_Row]:
    """`_rows` of the lines of `source`, in `jobs` processes where the file and the machine allow it."""
    workers = _workers(source, jobs)
    if workers == 1:
        return _rows(_lines_of(source), options)
    return _parallel_rows(
        source.fileno(),
        options,
        workers,
        lambda problem: print(f"logloop cluster: {name}: {problem}", file=sys.stderr),
    )


def _parallel_rows(
    fd: int, options: GroupingOptions, workers: int, warn: Callable[[str], None]
) -> list[_Row]:
    """`_rows` of the regular file `fd`, its lines cut into `workers` ranges each keyed in a process
    of its own (`warn` hears of a worker that failed: its range is then keyed here)."""
    from shipper import cluster_workers  # see `_workers`

    size = os.fstat(fd).st_size
    count = max(workers, min(workers * _RANGES_PER_WORKER, size // _RANGE_BYTES, cluster_workers.MAX_RANGES))
    memo = _memo()  # each process's own copy, from one of its ranges to the next
    parts = cluster_workers.map_ranges(
        fd,
        cluster_workers.ranges(fd, size, count),
        lambda reader: _part(_lines_of(reader), options, memo),
        warn,
        workers,
    )
    return _mined(parts)


# Ranges a worker takes on average, and their smallest size: the work of a byte is uneven (a deep
# recursion is long and cheap to key), so equal shares of bytes are unequal shares of work; with
# many ranges taken as processes get free, the last to finish waits for at most one range.
_RANGES_PER_WORKER: Final = 16
_RANGE_BYTES: Final = 64 << 10


def _workers(source: IO[bytes], jobs: int | None) -> int:
    """How many processes: `jobs` if given, else the usable CPUs (at most MAX_AUTO_WORKERS) for a
    file of `_PARALLEL_BYTES` or more; 1 when `source` is no regular file or forking is unsafe."""
    if jobs == 1 or (jobs is None and os.fstat(source.fileno()).st_size < _PARALLEL_BYTES):
        return 1
    # Imported only for a run that may fork: its classes cost a small file's run about 45 M
    # instructions of start-up (7%), and most runs of `logloop cluster` are on small files.
    from shipper import cluster_workers

    if not cluster_workers.can_fork() or not cluster_workers.is_regular(source.fileno()):
        return 1
    if jobs is not None:
        return jobs
    return min(cluster_workers.usable_cpus(), MAX_AUTO_WORKERS)


# The rows of a run of lines, a message-only line's row None, and the messages of those lines in
# order: what a worker returns (`marshal` encodes it).
_Part = tuple[list[_Row | None], list[str]]


def _memo() -> TextMemo[Fingerprint | None]:
    return TextMemo(_MEMO_ENTRIES, _MEMO_CHARACTERS)


def _part(
    lines: Iterable[str | bytes], options: GroupingOptions, memo: TextMemo[Fingerprint | None] | None = None
) -> _Part:
    """The work of each line apart from the template miner's (which needs every message at once);
    `memo` holds the keys of the tracebacks seen (a new one if None)."""
    return _keyed(_documents(lines), options, memo)


def _keyed(
    documents: Iterable[tuple[Mapping[str, Any] | None, str | None]],
    options: GroupingOptions,
    memo: TextMemo[Fingerprint | None] | None = None,
) -> _Part:
    """`_part` of decoded documents (None and why, for a line that is none)."""
    results: list[_Row | None] = []
    messages: list[str] = []
    if memo is None:
        memo = _memo()
    for doc, error in documents:
        if doc is None:
            results.append((None, None, None, error))
            continue
        stack_trace = stack_trace_text(get_field(doc, "error.stack_trace"))
        # `has_key_of_its_own(doc)`, with the traceback read once
        traced = bool(stack_trace)
        if traced:
            framed = has_frame_lines(stack_trace) or has_located_failure(stack_trace)
        else:
            framed = traced = bool(traceback_in_message(doc)) or located_failure_in_message(doc)
        if framed or keyed_template(doc):
            fingerprint = fingerprint_document(doc, options, memo)
            category = "traceback" if traced else "template"
            results.append((fingerprint.key, fingerprint.name, category, None))
        else:
            messages.append(message_of(doc))
            results.append(None)
    return results, messages


def _mined(parts: Iterable[_Part]) -> list[_Row]:
    """The rows of consecutive parts, each message-only line's row given by the template miner run
    over the messages of all parts in order."""
    results: list[_Row | None] = []
    messages: list[str] = []
    for rows, part_messages in parts:
        results.extend(rows)
        messages.extend(part_messages)
    pending = [index for index, row in enumerate(results) if row is None]
    mined = mine(messages)
    for position, index in enumerate(pending):
        template = mined.template_of(position)
        results[index] = (template.cluster_id, title_of(template), "message", None)
    return _first_titles(cast(list[_Row], results))


def _first_titles(rows: list[_Row]) -> list[_Row]:
    """`rows` with every row of a cluster titled as its first row is: a traceback's title is made from
    its own event's message (`x1` is masked, `zz` is not), but a group has one title, the one it was
    first given, as the registry keeps it (`analyzers.analyze.stable_title`)."""
    first: dict[str, str | None] = {}
    for index, row in enumerate(rows):
        cluster = row[0]
        if cluster is None:
            continue
        title = first.setdefault(cluster, row[1])
        if title != row[1]:
            rows[index] = (cluster, title, row[2], row[3])
    return rows


def _documents(lines: Iterable[str | bytes]) -> Iterator[tuple[Mapping[str, Any] | None, str | None]]:
    for line in lines:
        if isinstance(line, Overlong):
            yield (
                None,
                (
                    f"a line of {line.size:,} bytes, longer than any stored event can be"
                    f" ({MAX_LINE_BYTES >> 20} MiB: Elasticsearch refuses larger requests by default);"
                    " each line must be one JSON object"
                ),
            )
            continue
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError as exc:
            yield None, f"not valid UTF-8 (byte {exc.start + 1}); each line must be one UTF-8 JSON object"
            continue
        if not text or text.isspace():  # (no stripped copy of a long line)
            yield None, "empty line; each line must be one JSON object"
            continue
        doc, problem = json_lines.decode(text)
        if problem is not None:
            yield None, f"{problem}; each line must be one JSON object"
            continue
        if not isinstance(doc, dict):
            yield None, f"expected a JSON object, got {type(doc).__name__}"
            continue
        yield as_ecs(doc), None
