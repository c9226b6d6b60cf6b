"""A traceback that reaches the handler as text inside the message: a QueueHandler in front of it
(the stdlib's `prepare()` formats the exception into the message and drops `exc_info`), loguru
(`logger.add(handler)` renders it into the message too), `log.error(traceback.format_exc())`.
The event keeps its message, gets the traceback as its error and the group of the same bug logged
directly; a traceback that a message quotes of another exception stays in the message."""

from __future__ import annotations

import importlib.util
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents

from kibana.setup import install_template
from shipper.formatter import split_rendered_trace

_HEADER = "Traceback (most recent call last):"
_LINK = "\n\nThe above exception was the direct cause of the following exception:\n\n"
_TRACE = f"{_HEADER}\n  File \"/app/billing.py\", line 3, in charge\n    raise KeyError(order)\nKeyError: 'b'"


@pytest.mark.parametrize(
    ("text", "message", "trace"),
    [
        pytest.param(f"charge failed\n{_TRACE}", "charge failed", _TRACE, id="queue-handler"),
        pytest.param(f"charge failed\n{_TRACE}\n", "charge failed", _TRACE + "\n", id="trailing-newline"),
        pytest.param(f"a\nb\n{_TRACE}", "a\nb", _TRACE, id="multi-line-message"),
        pytest.param(_TRACE, "KeyError: 'b'", _TRACE, id="format-exc-alone"),
        pytest.param(f"\n{_TRACE}", "KeyError: 'b'", _TRACE, id="empty-message"),
        pytest.param(
            f"x\n{_TRACE}{_LINK}{_TRACE}",
            "x",
            f"{_TRACE}{_LINK}{_TRACE}",
            id="chain",
        ),
        pytest.param(
            f"x\n  + Exception Group {_HEADER}\n  | ExceptionGroup: two (2 sub-exceptions)",
            "x",
            f"  + Exception Group {_HEADER}\n  | ExceptionGroup: two (2 sub-exceptions)",
            id="exception-group",
        ),
        pytest.param(f"see {_HEADER} inline", f"see {_HEADER} inline", None, id="header-inside-a-line"),
        pytest.param("no traceback here", "no traceback here", None, id="none"),
    ],
)
def test_split_rendered_trace(text: str, message: str, trace: str | None) -> None:
    """The traceback is the text from the first line that is a traceback header on; the message what
    comes before, or the exception's line where nothing does."""
    assert split_rendered_trace(text) == (message, trace)


def test_split_rendered_trace_anywhere() -> None:
    """With `anywhere` (a copy of the record's own exception), the header may follow the message on
    its line, as loguru writes it."""
    assert split_rendered_trace(f"charge failed{_TRACE}", anywhere=True) == ("charge failed", _TRACE)
    assert split_rendered_trace(f"charge failed{_TRACE}") == (f"charge failed{_TRACE}", None)


# Each program logs the same failure directly and through the shape under test, as `direct` and
# `shaped` loggers, and prints what it logged.
_PROGRAM = """
import logging, logging.handlers, queue, sys, traceback
import shipper
handler = shipper.ShipperHandler("rendered", es_url=sys.argv[1], index_prefix=sys.argv[2],
                                 spool_path=sys.argv[3], idle_exit=3)
direct = logging.getLogger("app.direct")
direct.addHandler(handler)
direct.propagate = False
shaped = logging.getLogger("app.shaped")
shaped.propagate = False

def charge(order):
    return {{"a": 1}}[order]

def fail():
    try:
        charge("b")
    except KeyError as exc:
        raise RuntimeError("charge failed") from exc

try:
    fail()
except RuntimeError:
    direct.exception("charge failed for %s", "b")
{shape}
"""

_SHAPES = {
    "queue-handler-exception": """
        q = queue.Queue()
        listener = logging.handlers.QueueListener(q, handler)
        listener.start()
        shaped.addHandler(logging.handlers.QueueHandler(q))
        try:
            fail()
        except RuntimeError:
            shaped.exception("charge failed for %s", "b")
        listener.stop()
        """,
    "queue-handler-warning-with-exc-info": """
        q = queue.Queue()
        listener = logging.handlers.QueueListener(q, handler)
        listener.start()
        shaped.addHandler(logging.handlers.QueueHandler(q))
        try:
            fail()
        except RuntimeError:
            shaped.warning("charge failed for %s", "b", exc_info=True)
        listener.stop()
        """,
    "format-exc-as-the-message": """
        shaped.addHandler(handler)
        try:
            fail()
        except RuntimeError:
            shaped.error(traceback.format_exc())
        """,
    "loguru-sink": """
        from loguru import logger
        logger.remove()
        logger.add(handler, format="{message}")
        try:
            fail()
        except RuntimeError:
            logger.exception("charge failed for b")
        """,
}
_MESSAGES = {
    "queue-handler-exception": "charge failed for b",
    "queue-handler-warning-with-exc-info": "charge failed for b",
    "format-exc-as-the-message": "RuntimeError: charge failed",
    "loguru-sink": "charge failed for b",
}


def _arrived(es: Any, prefix: str, query: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The documents matching `query` once `count` arrived (60 s at most), read again after a pause."""
    deadline = time.monotonic() + 60
    while len(documents(es, prefix, query)) < count and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1.0)
    return documents(es, prefix, query)


@pytest.mark.parametrize("shape", list(_SHAPES))
def test_a_traceback_in_the_message_is_the_events_error(
    shape: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """The record arrives once with its message alone, the traceback as `error.stack_trace`, and the
    grouping key of the same failure logged directly (it was message-only: the traceback, line
    numbers and all, in the message and the template, keyed apart from the direct event)."""
    if shape.startswith("loguru") and importlib.util.find_spec("loguru") is None:
        pytest.skip("loguru is not installed")
    install_template(es, index_prefix)
    script = _PROGRAM.format(shape=textwrap.dedent(_SHAPES[shape]))
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")])
    assert done.returncode == 0, done.stderr
    found = _arrived(es, index_prefix, {"term": {"event.dataset": "logloop.log"}}, 2)
    assert len(found) == 2, found
    direct, shaped = sorted(found, key=lambda doc: doc["log"]["logger"] != "app.direct")
    assert (direct["log"]["logger"], shaped["log"]["logger"]) == (
        "app.direct",
        "__main__" if "loguru" in shape else "app.shaped",
    )
    assert shaped["message"] == _MESSAGES[shape]
    assert _HEADER not in shaped.get("logloop", {}).get("template", "")
    assert shaped["error"]["stack_trace"].lstrip().startswith(_HEADER)
    assert "KeyError" in shaped["error"]["stack_trace"]
    assert shaped["error"]["grouping_key"] == direct["error"]["grouping_key"]


def test_a_quoted_traceback_of_another_exception_stays_in_the_message(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """An exception logged with a message that quotes a different exception's traceback (a child
    process's output, say) keeps that text in the message: only a copy of its own is cut."""
    install_template(es, index_prefix)
    done = programs.run(
        """
        import logging, sys
        import shipper
        log = logging.getLogger("quoting")
        log.addHandler(shipper.ShipperHandler("rendered", es_url=sys.argv[1], index_prefix=sys.argv[2],
                                              spool_path=sys.argv[3], idle_exit=3))
        child = 'Traceback (most recent call last):\\n  File "w.py", line 1, in <module>\\nOSError: disk'
        try:
            raise ValueError("worker died")
        except ValueError:
            log.exception("worker output:\\n%s", child)
        """,
        tmp_path,
        args=[es_url, index_prefix, str(tmp_path / "spool")],
    )
    assert done.returncode == 0, done.stderr
    found = _arrived(es, index_prefix, {"term": {"log.logger": "quoting"}}, 1)
    assert len(found) == 1
    assert found[0]["message"].endswith("OSError: disk")
    assert "ValueError: worker died" in found[0]["error"]["stack_trace"]
