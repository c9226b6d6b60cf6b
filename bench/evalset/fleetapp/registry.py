"""The bug registry: `@bug("library")` records a function as one bug of the evaluation set."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BugFunction = Callable[[str], Any]


@dataclass(frozen=True)
class Bug:
    """One bug: the function that raises it and the library it misuses."""

    name: str
    library: str
    function: BugFunction
    funnel: str = ""  # "chained"/"unchained": raised again by a plug-in dispatcher


BUGS: list[Bug] = []


class Missing(Exception):
    """The library a bug needs is not installed (the generator skips the bug and says so)."""


def bug(library: str, funnel: str = "") -> Callable[[BugFunction], BugFunction]:
    """Register the decorated function (returned unchanged: no frame is added) as one bug."""

    def register(function: BugFunction) -> BugFunction:
        name = f"{function.__module__.rsplit('.', 1)[-1]}.{function.__name__}"
        BUGS.append(Bug(name, library, function, funnel))
        return function

    return register


MISSED: list[str] = []  # what `need` found missing since the generator last cleared it


def need(module: str) -> None:
    """Raise `Missing` when `module` is not installed, and note it in MISSED (a funnel may hide the raise)."""
    if importlib.util.find_spec(module) is None:
        MISSED.append(module)
        raise Missing(module)


BASE_URL = "http://127.0.0.1:9"  # set by the generator to its loopback HTTP server
