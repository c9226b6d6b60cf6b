"""Regular expressions compiled when first used instead of when their module is imported (standard
library only: the grouping package uses it too, for the patterns of rare renderings).

Every program that logs through the shipper imports `shipper.redaction`, whose rules are well over a
hundred regular expressions: compiled at import they cost a short script about 60 M instructions
(some 10 ms), although such a program redacts little itself (its argv; the delivery agent redacts
the records). A pattern made here compiles on the first call of one of its methods; from then on
each method is the compiled pattern's own, held in a slot, so a call costs what it costs on a pattern
compiled at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, cast

_METHODS: Final = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class _LazyPattern:
    __slots__ = ("_compiled", "_flags", "_source", *_METHODS)

    def __init__(self, source: str | Callable[[], str], flags: int) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        # Reached only for what is not set: a method before the first use, or another attribute of a
        # pattern (`groupindex`, `pattern`, ...), always read from the compiled pattern.
        compiled = self._compiled
        if compiled is None:
            source = self._source if isinstance(self._source, str) else self._source()
            compiled = self._compiled = re.compile(source, self._flags)
            for method in _METHODS:
                setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"compile_lazily({self._source!r}, {self._flags!r})"


def compile_lazily(source: str | Callable[[], str], flags: int = 0) -> re.Pattern[str]:
    """A pattern that compiles `source` with `flags` when one of its methods is first called (an
    error in `source` is raised then, not here: for patterns written in the code, not for users').
    `source` may be a function that writes the pattern's text, called then too (for a text built
    from word lists, whose building costs start-up as much as compiling does)."""
    return cast(re.Pattern[str], _LazyPattern(source, flags))
