"""A secret split over two log records: one record ends with what announces a value on the next line (a
label, `Please use the following password to proceed to installation:`; a command that prints a secret,
`$ vault kv get -field=password secret/db`) and the next record of the same stream holds the value. A
program that logs a child's output line by line (a service manager, a CI step) writes them apart, and
the rules read one text at a time.

So the last line of a record that announces a value is kept, per stream (process, thread and logger:
the records of one stream reach the formatter in the order they were logged), and the next record's
message is read by the same rules after it: what they find in the message is hidden. Whether a line
announces a value is asked of the rules too, with a made-up value below it, so no rule is written
twice. A line is kept only for the next record of its stream, and at most `_STREAMS` streams are.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final, Protocol

from shipper.redaction.model import REDACTED, Finding

# A value a label's or a command's next line could hold: letters of both cases and digits, random-looking.
_PROBE: Final = "Zq9XvB2kLm7Rt4Wp"
_STREAMS: Final = 1024  # streams whose announcing line is kept, at most (the oldest is dropped)
_LINE: Final = 512  # characters of an announcing line kept, at most (a label or a command is short)
_BLANKS: Final = 2  # blank records read past between an announcing line and its value, at most

Stream = tuple[object, object, object]


class _Rules(Protocol):
    def might_contain_secret(self, text: str) -> bool: ...

    def findings(self, text: str) -> list[Finding]: ...


class Announced:
    """The announcing line last seen on each stream; `follow` redacts a document's message with it."""

    def __init__(self) -> None:
        self._lines: OrderedDict[Stream, str] = OrderedDict()
        self._lock = threading.Lock()  # (a formatter may build documents on several threads)

    def follow(self, rules: _Rules, document: dict[str, Any]) -> dict[str, Any]:
        """`document` (already redacted on its own) with what its stream's previous record announced
        hidden from its message; remembers whether this message announces a value in turn."""
        message = document.get("message")
        if not isinstance(message, str):
            return document
        stream = _stream(document)
        with self._lock:
            before = self._lines.pop(stream, None)
        if before is not None and not message.strip():
            # a blank record between (Jenkins prints a blank line around its password): the line below it
            # is read after the announcing line and the blanks, as the rules read them in one text
            if before.count("\n") < _BLANKS:
                self._keep(stream, before + "\n")
            return document
        if before is not None:
            message = _hidden_after(rules, before, message)
            if message != document["message"]:
                document = {**document, "message": message}
        line = _last_line(message)
        if line is not None and _announces(rules, line):
            self._keep(stream, line)
        return document

    def may_follow(self, rules: _Rules, stream: Stream, message: str) -> bool:
        """Whether `follow` may change a document of `stream` with this message, or remember its last
        line: a line of the stream is kept, or the message's last line holds a trigger word (a lean
        path that builds documents without `follow` takes the careful one for these)."""
        if stream in self._lines:
            return True
        line = _last_line(message)
        return line is not None and _may_announce(rules, line)

    def _keep(self, stream: Stream, line: str) -> None:
        with self._lock:
            self._lines[stream] = line
            while len(self._lines) > _STREAMS:
                self._lines.popitem(last=False)


def _stream(document: Mapping[str, Any]) -> Stream:
    """The stream of a document: its process's id, its thread's id and its logger's name."""
    process, log = document.get("process"), document.get("log")
    pid = process.get("pid") if isinstance(process, Mapping) else None
    thread = process.get("thread") if isinstance(process, Mapping) else None
    thread_id = thread.get("id") if isinstance(thread, Mapping) else None
    logger = log.get("logger") if isinstance(log, Mapping) else None
    return pid, thread_id, logger


def _last_line(message: str) -> str | None:
    """The message's last line that is not blank (a label may be followed by a blank line, as Jenkins
    prints its password), when it is short enough to be a label or a command."""
    line = message.rstrip().rpartition("\n")[2]
    return line if line.strip() and len(line) <= _LINE else None


# How a line that announces a value on the next one ends or begins: a label's colon or `is`/`are`/`was`,
# a shell's prompt or trace; or a command that prints a secret named anywhere in it.
_LABEL_ENDS: Final = (":", "：", " is", " are", " was")
_PROMPTS: Final = ("$ ", "+ ", "# ", "> ", "% ")
_COMMAND_WORDS: Final = ("initial-password", "get-login-password", "print-access-token", "-field", "base64")


def _may_announce(rules: _Rules, line: str) -> bool:
    """Cheap tests that `line` may announce a value below it (most lines do not look like a label or a
    command, or have no trigger word): see `_announces`."""
    if REDACTED in line:
        return False
    stripped = line.strip()
    return (
        stripped.endswith(_LABEL_ENDS)
        or stripped.startswith(_PROMPTS)
        or "$ " in stripped
        or any(word in stripped for word in _COMMAND_WORDS)
    ) and rules.might_contain_secret(line)


def _announces(rules: _Rules, line: str) -> bool:
    """Whether the rules would hide a value on the line below `line`."""
    if not _may_announce(rules, line):
        return False
    start = len(line) + 1
    return any(found.start <= start and found.end > start for found in rules.findings(f"{line}\n{_PROBE}"))


def _hidden_after(rules: _Rules, before: str, message: str) -> str:
    """`message` with what the rules find in it when read after `before` (its stream's announcing line)."""
    offset = len(before) + 1
    spans = [
        (max(found.start - offset, 0), found.end - offset)
        for found in rules.findings(f"{before}\n{message}")
        if found.end > offset
    ]
    for start, end in sorted(spans, reverse=True):
        if message[start:end] != REDACTED:
            message = message[:start] + REDACTED + message[end:]
    return message
