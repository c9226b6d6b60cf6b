"""The traceback a function raises, as `traceback.format_exception` prints it: how the grouping tests
make real tracebacks instead of writing them by hand."""

from __future__ import annotations

import traceback
from collections.abc import Callable


def formatted(function: Callable[[], object]) -> str:
    """The traceback `function` raises, as `traceback.format_exception` prints it."""
    try:
        function()
    except BaseException as exc:  # the point is to format whatever it raises
        return "".join(traceback.format_exception(exc))
    raise AssertionError("did not raise")
