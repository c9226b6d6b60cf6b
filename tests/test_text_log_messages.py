"""Messages over several lines in a text log (`logloop cluster --text`): PostgreSQL's fields, SQLAlchemy's
statement, pydantic's field list, an exception's notes and any multi-line message of a log that stamps
its records stay in the entry they belong to; the next record, and what starts an entry of its own,
stay apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from logloop.cli import main
from shipper.grouping.fingerprint import fingerprint_document
from shipper.text_log import entries

_TB = (
    'Traceback (most recent call last):\n  File "{path}/db.py", line {line}, in save\n    cur.execute(sql)\n'
)
_TRACE = _TB.format(path="/srv/app", line=12)

# shape -> (the entry, what follows it and must be an entry of its own or "")
SHAPES = {
    "psycopg DETAIL": (
        "2026-12-04 10:00:01,123 ERROR app: save failed\n"
        + _TRACE
        + 'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "users_pkey"\n'
        "DETAIL:  Key (id)=(5) already exists.\n",
        "2026-12-04 10:00:02,000 INFO app: next\n",
    ),
    "psycopg LINE, caret and HINT, uncaught": (
        _TRACE + "psycopg2.errors.UndefinedFunction: function foo(integer) does not exist\n"
        "LINE 1: SELECT foo(1)\n               ^\n"
        "HINT:  No function matches the given name and argument types.\n",
        "",
    ),
    "psycopg CONTEXT and STATEMENT": (
        _TRACE + "psycopg.errors.RaiseException: boom\nCONTEXT:  PL/pgSQL function f() line 3 at RAISE\n"
        "STATEMENT:  SELECT f()\n",
        "",
    ),
    "SQLAlchemy, a blank line before its statement": (
        "ERROR:app:save failed\n"
        + _TRACE
        + 'sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key "users_pkey"\n'
        "DETAIL:  Key (id)=(5) already exists.\n\n[SQL: INSERT INTO users (id) VALUES (%(id)s)]\n"
        "[parameters: {'id': 5}]\n(Background on this error at: https://sqlalche.me/e/20/gkpj)\n",
        "INFO:app:next\n",
    ),
    "SQLAlchemy, a statement over lines": (
        _TRACE
        + 'sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) relation "userz" missing\n'
        "LINE 2: FROM userz\n             ^\n\n"
        "[SQL: SELECT users.id\nFROM userz\nWHERE users.id = %(id_1)s]\n"
        "[parameters: {'id_1': 5}]\n(Background on this error at: https://sqlalche.me/e/20/f405)\n",
        "",
    ),
    "pydantic 2, two fields": (
        "2026-12-04 10:00:01,123 ERROR api: bad\n"
        + _TRACE
        + "pydantic_core._pydantic_core.ValidationError: 2 validation errors for User\nname\n"
        "  Field required [type=missing, input_value={}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2.5/v/missing\nage\n"
        "  Input should be a valid integer [type=int_parsing, input_value='x', input_type=str]\n",
        "2026-12-04 10:00:02,000 INFO api: next\n",
    ),
    "pydantic 2, uncaught, a dotted field": (
        _TRACE + "pydantic_core._pydantic_core.ValidationError: 1 validation error for User\naddress.zip\n"
        "  String should have at most 5 characters [type=string_too_long, input_value='123456']\n",
        "",
    ),
    "pydantic 1": (
        _TRACE + "pydantic.error_wrappers.ValidationError: 2 validation errors for User\nname\n"
        "  field required (type=value_error.missing)\nage\n"
        "  value is not a valid integer (type=type_error.integer)\n",
        "",
    ),
    "notes of a logged exception, bracketed time": (
        "[2026-12-04 10:00:01] ERROR in app: boom\n"
        + _TRACE
        + "ValueError: bad value 5\nwhile processing order 17\n",
        "[2026-12-04 10:00:02] INFO in app: next\n",
    ),
    **{
        f"notes of a logged exception, ISO 8601 time with a T{name}": (
            f"2026-12-06T15:07:10{fraction} ERROR shop.cfg: import failed\n"
            + _TRACE
            + "ValueError: bad value 5\nwhile parsing row 3 of /data/in_3.csv\n",
            f"2026-12-06T15:07:11{fraction} INFO shop.cfg: next\n",
        )
        for name, fraction in (("", ""), (", milliseconds", ",123"), (", microseconds", ".123456"))
    },
    "a multi-line message, ISO 8601 time with a T": (
        "2026-12-06T15:07:10.123 ERROR could not sync:\nline two of the message\n\nline four\n",
        "2026-12-06T15:07:11.000 INFO next\n",
    ),
    "notes of a logged exception, logfmt": (
        'time=2026-12-06T15:07:10+00:00 level=error logger=shop.cfg msg="import failed"\n'
        + _TRACE
        + "ValueError: bad value 5\nwhile parsing row 3 of /data/in_3.csv\n",
        'time=2026-12-06T15:07:11+00:00 level=info logger=shop.cfg msg="next"\n',
    ),
    "a multi-line message, logfmt, quoted time": (
        'time="2026-12-06 15:07:10" level=error msg="could not sync:\nline two of the message\n',
        'time="2026-12-06 15:07:11" level=info msg="next"\n',
    ),
    "a multi-line message, key=value, level first": (
        "level='ERROR' event='could not sync:\nline two of the message\n",
        "level='INFO' event='next'\n",
    ),
    "a multi-line message, time first": (
        "10:00:01.123 ERROR could not sync:\nline two of the message\n\nline four\n",
        "10:00:02.000 INFO next\n",
    ),
    "a multi-line message, basicConfig's default format": (
        "ERROR:root:could not sync:\n  detail 1\nreason: timeout\n",
        "WARNING:root:next\n",
    ),
    "a Django system check, stamped": (
        "2026-12-04 10:00:01 ERROR manage: failed\n"
        + _TRACE
        + "django.core.management.base.SystemCheckError: SystemCheckError: System check found issues:\n\n"
        "ERRORS:\nshop.Order.customer: (fields.E300) Field defines a relation with model 'Customer'.\n\n"
        "System check identified 1 issue (0 silenced).\n",
        "2026-12-04 10:00:02 INFO manage: next\n",
    ),
}

# After a stamped record: lines that start an entry of their own although unstamped.
OWN_STARTS = {
    "an uncaught traceback after a blank line": "\n" + _TRACE + "KeyError: 'x'\n",
    "a warning's location line": "/srv/app/w.py:3: UserWarning: careful\n  warnings.warn('careful')\n",
    "a warning's location line on Windows": "C:\\app\\w.py:3: DeprecationWarning: old\n  old()\n",
    "a thread's uncaught exception": "Exception in thread Thread-1 (work):\n" + _TRACE + "KeyError: 'x'\n",
    "an unraisable exception": "Exception ignored in: <function C.__del__ at 0x7f>\n"
    + _TRACE
    + "KeyError: 'x'\n",
    "a crash dump": (
        "Fatal Python error: Segmentation fault\n\nCurrent thread 0x7f (most recent call first):\n"
        '  File "x.py", line 1 in f\n'
    ),
    "logging's report": "--- Logging error ---\n" + _TRACE + "TypeError: not all arguments converted\n",
    "a JSON logger's line": '{"levelname": "ERROR", "message": "save failed", "exc_info": "Traceback..."}\n',
}


def _texts(text: str) -> list[str]:
    return [entry.text for entry in entries(text.splitlines(keepends=True))]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_message_over_several_lines_stays_in_its_entry(shape: str) -> None:
    """Every line of a multi-line message is its entry's, and the record after it an entry of its own."""
    entry, after = SHAPES[shape]
    found = _texts(entry + after)
    assert [text.rstrip("\n") for text in found] == [
        entry.rstrip("\n"),
        *([after.rstrip("\n")] if after else []),
    ]


@pytest.mark.parametrize("shape", OWN_STARTS)
def test_what_starts_an_entry_of_its_own_is_not_taken_for_a_message(shape: str) -> None:
    """In a stamped log, an unstamped line that starts something (a traceback, a warning, a dump, an
    interpreter's report) is not taken for the rest of the record before it."""
    record = "2026-12-04 10:00:01,123 INFO app: started\n"
    found = _texts(record + OWN_STARTS[shape])
    assert len(found) == 2 and found[0] == record


def test_an_unstamped_log_keeps_a_line_after_a_traceback_apart() -> None:
    """Where no line is stamped, a line after an exception line that is no known part of a message is an
    entry of its own (nothing tells it from the program's next line)."""
    found = _texts(_TRACE + "ValueError: bad\nRetrying in 5s\n")
    assert found[1:] == ["Retrying in 5s\n"]


# Prefixes a tool that gathers a program's output writes before each of its lines, none known beforehand
# (learned from a traceback's header; n: the line's number).
LEARNED_PREFIXES: dict[str, Callable[[int], str]] = {
    "docker compose logs": lambda n: "acme-web-1  | ",
    "kubectl logs --prefix": lambda n: "[pod/web-7d9f8c-x2x4z/app] ",
    "stern": lambda n: "web-7d9f8c-x2x4z app ",
    "docker service logs": lambda n: "shop_web.1.q0h8dkh4c7ax@node-1    | ",
    "honcho": lambda n: f"10:{n // 60 % 60:02d}:{n % 60:02d} web.1  | ",
}
_STAMPED_LOG = (
    "2026-12-04 10:00:01,123 ERROR app: import failed\n"
    + _TRACE
    + "ValueError: bad value 5\nwhile parsing row 3 of /data/in_3.csv\n"
    + "2026-12-04 10:00:02,000 WARNING app: skipped rows:\n  row 4: empty\nrow 5: too long\n"
    + "2026-12-04 10:00:03,123 ERROR app: import failed\n"
    + _TRACE
    + "ValueError: bad value 9\nwhile parsing row 9 of /data/in_9.csv\n"
)


@pytest.mark.parametrize("tool", LEARNED_PREFIXES)
def test_a_stamped_records_message_lines_continue_it_past_a_learned_prefix(tool: str) -> None:
    """Past a prefix learned from the log (a tool's before each line), a stamped record's unstamped lines
    (an exception's notes, a multi-line message) continue it, as without the prefix (the entry keeps its
    first line's): the record whose traceback teaches the prefix too."""
    prefix = LEARNED_PREFIXES[tool]
    lines = _STAMPED_LOG.splitlines(keepends=True)
    found = list(entries(prefix(n) + line for n, line in enumerate(lines)))
    alone = list(entries(lines))
    assert len(alone) == 3
    assert [(e.line, e.text) for e in found] == [(e.line, prefix(e.line - 1) + e.text) for e in alone]


def test_a_repeated_time_left_out_past_a_learned_prefix_still_starts_a_record() -> None:
    """Past a learned prefix, a record whose repeated time the handler left blank (RichHandler's) is an
    entry of its own, its message the line with the prefix and the time put back, as without a prefix."""
    prefix = "acme-web-1  | "
    lines = [
        prefix + _TRACE.splitlines()[0],  # (an uncaught traceback teaches the prefix)
        prefix + "ValueError: bad value 5",
        prefix + "[12/05/26 10:00:01] INFO     handling x1                     app.py:3",
        prefix + "                    INFO     handling x2                     app.py:3",
    ]
    found = list(entries(lines))
    assert [entry.line for entry in found] == [1, 3, 4]
    assert found[2].document()["message"] == (
        prefix + "[12/05/26 10:00:01] INFO     handling x2                     app.py:3"
    )


def test_recurrences_with_other_details_are_one_group_and_titled_by_the_exception(tmp_path: Path) -> None:
    """`cluster --text`: the same failure with other values in its continuation lines is one group whose
    title is its exception line (not a DETAIL or field line)."""
    log = tmp_path / "app.log"
    log.write_text(
        "".join(
            f"2026-12-04 10:00:0{n},123 ERROR app: save failed\n"
            + _TB.format(path=path, line=line)
            + f'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "{table}"\n'
            f"DETAIL:  Key (id)=({n}) already exists.\n\n2026-12-04 10:00:0{n},500 ERROR api: bad input\n"
            + _TB.format(path=path, line=line)
            + f"pydantic_core._pydantic_core.ValidationError: {n} validation errors for User\n"
            + "".join(f"field{k}\n  Field required [type=missing]\n" for k in range(n))
            for n, path, line, table in (
                (1, "/srv/app", 12, "users_pkey"),
                (3, "C:\\Users\\ann\\app", 40, "t_pkey"),
            )
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    assert main(["cluster", "--text", str(log), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["category"] for row in rows] == ["traceback"] * 4
    assert rows[0]["cluster"] == rows[2]["cluster"] != rows[1]["cluster"] == rows[3]["cluster"]
    assert rows[0]["title"].startswith("UniqueViolation: duplicate key") and "DETAIL" not in rows[0]["title"]
    assert rows[1]["title"].startswith("ValidationError: <NUM> validation errors for User")


_TWISTED = (
    "Traceback (most recent call last):\n"
    '  File "/usr/lib/python3/dist-packages/twisted/internet/defer.py", line 654, in _runCallbacks\n'
    "    current.result = callback(current.result, *args, **kw)\n"
    "--- <exception caught here> ---\n"
    '  File "{path}/handlers.py", line 22, in on_result\n'
    '    raise ValueError("bad")\n'
    "builtins.ValueError: bad\n"
)


@pytest.mark.parametrize(
    "before", [pytest.param("Unhandled Error\n", id="logged"), pytest.param("", id="alone")]
)
def test_a_twisted_failure_is_one_entry_keyed_as_its_traceback(before: str) -> None:
    """Twisted's `--- <exception caught here> ---` line between frames does not end the traceback: the
    entry holds it all, keyed as the same traceback printed without the line."""
    failure = _TWISTED.format(path="/srv/app")
    found = list(entries((before + failure + "next line\n").splitlines(keepends=True)))
    assert [entry.text for entry in found] == [before + failure, "next line\n"]
    plain = failure.replace("--- <exception caught here> ---\n", "")
    document = found[0].document()
    assert fingerprint_document(document) == fingerprint_document(
        {**document, "error": {"stack_trace": plain}}
    )


@pytest.mark.parametrize("line", ["Traceback: see the log above\n", "*--- Failure #3 was retried\n"])
def test_a_line_that_only_starts_like_a_twisted_failure_holds_no_stack_trace(line: str) -> None:
    """An entry whose first line starts as Twisted's brief or verbose header does but is none (no type and
    value after `Traceback: `, no closing dashes) is a message: no stack trace is made of it."""
    found = list(entries([line]))
    assert [entry.text for entry in found] == [line]
    assert found[0].document() == {"message": line.rstrip("\n")}


@pytest.mark.parametrize("prefix", [pytest.param("", id="plain"), pytest.param("web-1  | ", id="prefixed")])
def test_a_blank_source_line_under_a_frame_does_not_end_the_traceback(prefix: str) -> None:
    """A frame whose file Twisted's `Failure` could not read (`eval`'s `<string>`) has its source line
    written blank (indented, nothing else): the traceback goes on under it, one entry keyed as the same
    traceback without that line; a blank line between entries still parts them."""
    failure = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/jobs.py", line 9, in run\n'
        '    eval("parse(value)")\n'
        '  File "<string>", line 1, in <module>\n'
        "    \n"
        '  File "/srv/app/jobs.py", line 3, in parse\n'
        "    return int(value)\n"
        "builtins.ValueError: invalid literal for int() with base 10: 'x'\n"
    )
    text = "ERROR job failed\n" + failure + "\n" + "INFO next\n"
    lines = [prefix + line for line in text.splitlines(keepends=True)]
    found = list(entries(lines))
    assert len(found) == 2, [entry.text for entry in found]
    assert found[1].text == prefix + "INFO next\n"
    plain = failure.replace("    \n", "")
    document = found[0].document()
    assert fingerprint_document(document) == fingerprint_document(
        {**document, "error": {"stack_trace": plain}}
    )


@pytest.mark.parametrize(
    "opening",
    [
        pytest.param("2026-12-04 10:00:00,000 INFO app: started\n", id="a stamped record, stamps stopping"),
        pytest.param(
            _TRACE + "sqlalchemy.exc.ProgrammingError: (x) y\n\n[SQL: SELECT 1\n", id="a statement cut short"
        ),
        pytest.param(
            "-" * 75 + "\nValueError                                Traceback (most recent call last)\n",
            id="IPython's traceback cut short",
        ),
        pytest.param("____ test_x ____\n", id="pytest's report cut short"),
    ],
)
def test_an_entry_that_never_ends_is_bounded(opening: str) -> None:
    """A log whose stamps stop after its first record, or a display cut short, does not make the rest of
    the log one endless entry: past a bound, lines are entries as they would be without it."""
    rest = "".join(f"line {number} of a program's own output\n" for number in range(20_000))
    found = list(entries((opening + rest).splitlines(keepends=True)))
    assert max(entry.text.count("\n") for entry in found) <= 5_100
    assert sum(entry.text.count("\n") for entry in found) == (opening + rest).count("\n")
