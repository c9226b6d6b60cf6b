"""`logloop redact --check FILE`: what the shipper's redaction would hide in a JSONL file of documents.

Each line is read as one document and goes through the same pass the shipper applies before a
document leaves the process (`Redactor.redact_document`, with the `[redaction]` rules of the
configuration). `--check` prints every line that holds something to hide, as JSON with the hidden
parts highlighted (reverse video on a terminal, `⟦…⟧` otherwise) and the names of the rules that
found them, then one summary line. Without `--check` it prints the redacted documents (JSONL), as
they would be shipped. A line that is not a JSON object is checked as the text of a `message`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from shipper import json_lines
from shipper.connection import Deployment
from shipper.exceptions import ConfigurationError
from shipper.redaction import REDACTED, Finding, Redactor, options_from_config

SECRET_KEY_RULE: Final = "secret_key"  # a whole value hidden because its key (or pair name) is secret
REPEATED_RULE: Final = "repeated_secret"  # a copy of a secret found in another field of the document
_PLAIN_MARKS: Final = ("⟦", "⟧")
_TERMINAL_MARKS: Final = ("\x1b[7m", "\x1b[27m")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "redact",
        help="show what redaction hides in a JSONL file of documents (--check), or print it redacted",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("file", type=Path, help="JSONL file: one document per line ('-' for stdin)")
    parser.add_argument("--check", action="store_true", help="highlight what would be redacted")
    parser.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="reverse video for highlights"
    )
    parser.set_defaults(handler=run_redact)


@dataclass(frozen=True)
class Hidden:
    """One field of a document with something to hide: its dotted path, the value and the spans."""

    path: str
    value: str
    findings: tuple[Finding, ...]


def hidden_fields(redactor: Redactor, document: Mapping[str, Any]) -> list[Hidden]:
    """Every field the redaction pass changes, with the spans it hides (all of it if its key is secret)."""
    return list(_diff(redactor, document, redactor.redact_document(document), ""))


def _diff(redactor: Redactor, before: Any, after: Any, path: str) -> Iterator[Hidden]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for (key, old), (new_key, new) in zip(before.items(), after.items(), strict=False):
            dotted = f"{path}.{key}" if path else str(key)
            if key != new_key:
                yield Hidden(f"{dotted} (the key)", str(key), tuple(redactor.findings(str(key))))
            yield from _diff(redactor, old, new, dotted)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple):
        for index, (old, new) in enumerate(zip(before, after, strict=False)):
            yield from _diff(redactor, old, new, f"{path}[{index}]")
    elif before != after:
        text = before if isinstance(before, str) else json.dumps(before)
        spans = redactor.findings(text) if isinstance(before, str) else []
        if not spans or redactor.redact_text(text) != after:
            laid = _laid_over(text, after) if isinstance(after, str) and after != REDACTED else None
            spans = laid or [Finding(0, len(text), SECRET_KEY_RULE)]
        yield Hidden(path, text, tuple(spans))


def _laid_over(text: str, redacted: str) -> list[Finding] | None:
    """Where `[REDACTED]` stands in a text that the document pass changed beyond its own rules (a
    secret found in another field, hidden here too), by laying the redacted text over it; None if
    it does not fit."""
    pieces = redacted.split(REDACTED)
    if len(pieces) < 2 or not text.startswith(pieces[0]):
        return None
    spans: list[Finding] = []
    position = len(pieces[0])
    for number, piece in enumerate(pieces[1:], start=2):
        if number == len(pieces):
            end = len(text) - len(piece)
            if end < position or not text.endswith(piece):
                return None
        else:
            end = text.find(piece, position + 1) if piece else -1
            if end < 0:
                return None
        spans.append(Finding(position, end, REPEATED_RULE))
        position = end + len(piece)
    return spans


def highlight(value: str, findings: tuple[Finding, ...], marks: tuple[str, str]) -> str:
    """The value as a JSON string with each finding wrapped in the marks (outside the JSON escapes)."""
    parts: list[str] = []
    position = 0
    for finding in findings:
        parts.append(_inner_json(value[position : finding.start]))
        parts.append(marks[0] + _inner_json(value[finding.start : finding.end]) + marks[1])
        position = finding.end
    parts.append(_inner_json(value[position:]))
    return '"' + "".join(parts) + '"'


def _inner_json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _documents(lines: TextIO) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(line number, document, the line's text) of each line that is not blank; a line that is no JSON
    object (`json_lines.decode` says why) is the document `{"message": line}`."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        document, _ = json_lines.decode(line)
        text = line.rstrip("\n")
        yield number, document if isinstance(document, dict) else {"message": text}, text


def _redacted(redactor: Redactor, document: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The document as the shipper would send it; one nested too deeply for the pass to walk (which the
    shipper never builds: `formatter.MAX_DEPTH` caps a record's depth) is redacted as the text of its
    line, so that nothing in it is printed unredacted."""
    try:
        return redactor.redact_document(document)
    except RecursionError:
        return redactor.redact_document({"message": text})


def _redactor(settings: Deployment) -> Redactor:
    options = options_from_config(settings.section("redaction"))
    return Redactor.build(keys=options["redact_keys"], patterns=options["redact_patterns"])


def check(redactor: Redactor, lines: TextIO, out: TextIO, marks: tuple[str, str]) -> Counter[str]:
    """Print each line's hidden fields, highlighted; return the count of findings by rule."""
    counts: Counter[str] = Counter()
    for number, document, text in _documents(lines):
        try:
            fields = hidden_fields(redactor, document)
        except RecursionError:  # see `_redacted`
            fields = hidden_fields(redactor, {"message": text})
        for field in fields:
            rules = sorted({finding.rule for finding in field.findings})
            counts.update(finding.rule for finding in field.findings)
            record = f'{{"line":{number},"field":{json.dumps(field.path, ensure_ascii=False)},'
            record += f'"rules":{json.dumps(rules)},"value":{highlight(field.value, field.findings, marks)}}}'
            print(record, file=out)
    return counts


def run_redact(args: argparse.Namespace, settings: Deployment) -> int:
    redactor = _redactor(settings)
    try:
        stream = sys.stdin if str(args.file) == "-" else open(args.file, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise ConfigurationError(f"cannot read {args.file}: {exc.strerror}") from None
    with stream:
        if not args.check:
            for _, document, text in _documents(stream):
                print(json.dumps(_redacted(redactor, document, text), ensure_ascii=False))
            return 0
        # auto: on a terminal, unless NO_COLOR (https://no-color.org) is set to anything but ""
        terminal = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        colour = args.color == "always" or (args.color == "auto" and terminal)
        counts = check(redactor, stream, sys.stdout, _TERMINAL_MARKS if colour else _PLAIN_MARKS)
    summary = ", ".join(f"{rule} {count}" for rule, count in counts.most_common()) or "nothing to redact"
    print(f"# {sum(counts.values())} finding(s): {summary}")
    return 0
