"""How the regular expressions written in logloop's code are compiled: when first used instead of when
their module is imported, and, in a `logloop` command, from a cache of their compiled form on disk
(standard library only: the grouping package uses it too).

When first used: the redaction rules are well over a hundred regular expressions, and a process that
loads them (the delivery agent; a program that redacts before its spool or was given rules of its
own) uses few of them on most texts: compiled at import they cost a short script about 60 M
instructions (some 10 ms). A pattern made by `compile_lazily` compiles on the first call
of one of its methods; from then on each method is the compiled pattern's own, held in a slot, so a
call costs what it costs on a pattern compiled at import.

From a cache on disk: Python compiles a regular expression in pure Python (`re._parser`,
`re._compiler`), and what that makes is a list of integers, the `_sre` engine's code: a pure function of
the pattern, its flags and the interpreter. The hundred-odd patterns `logloop cluster` uses cost about
64 M instructions (15 ms) to compile at every start, a fifth of its start-up; rebuilt from their code by
`_sre.compile` (which checks that the code is well formed) they cost about 3 M. The cache holds only
patterns written in logloop's code (`compile_cached`, `compile_lazily`), never a pattern from a user's
configuration: a redaction rule may hold the very secret it hides, and nothing of a user's is written
anywhere by this. It is read and written only in a process that turned it on (`enable`: the `logloop`
command and the delivery agent's process do), never in a program that merely logs through the shipper
(nor in its delivery thread). It is read only from a directory and file this user owns and nobody else
may write (a planted file could change what a pattern finds), and only when the interpreter that wrote
it is this one. Anything wrong with it (missing, cut short, another interpreter's, not this user's,
unwritable) means the patterns are compiled as `re` compiles them: slower, never different.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # `re`'s engine, where `re.compile` ends
import contextlib
import marshal
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from re import _compiler, _parser  # type: ignore[attr-defined]
from typing import Any, Final, cast

_METHODS: Final = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class _LazyPattern:
    __slots__ = ("_compiled", "_flags", "_kept", "_source", *_METHODS)

    def __init__(self, source: str | Callable[[], str], flags: int, kept: bool) -> None:
        self._source = source
        self._flags = flags
        self._kept = kept
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        # Reached only for what is not set: a method before the first use, or another attribute of a
        # pattern (`groupindex`, `pattern`, ...), always read from the compiled pattern.
        compiled = self._compiled
        if compiled is None:
            source = self._source if isinstance(self._source, str) else self._source()
            compile = compile_cached if self._kept else re.compile
            compiled = self._compiled = compile(source, self._flags)
            for method in _METHODS:
                setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"compile_lazily({self._source!r}, {self._flags!r})"


def compile_lazily(source: str | Callable[[], str], flags: int = 0, *, kept: bool = True) -> re.Pattern[str]:
    """A pattern that compiles `source` with `flags` when one of its methods is first called (an
    error in `source` is raised then, not here: for patterns written in the code, not for users').
    `source` may be a function that writes the pattern's text, called then too (for a text built
    from word lists, whose building costs start-up as much as compiling does). `kept=False` for a
    text made with anything of a user's (key names from a configuration): never in the cache."""
    return cast(re.Pattern[str], _LazyPattern(source, flags, kept))


# A compiled pattern as the cache holds it: the arguments of `_sre.compile` after the pattern's text
# (its final flags, its code, its number of groups less one, its group names and their numbers).
_Entry = tuple[int, list[int], int, dict[str, int]]
# The most patterns a cache file keeps: past it, a process writes only those it used (patterns of
# older versions of the code would otherwise pile up at every upgrade).
_MOST_ENTRIES: Final = 4096
_LARGEST_FILE: Final = 16 << 20  # bytes: a bigger file was not written here


class _Cache:
    __slots__ = ("_entries", "added", "path", "used")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[tuple[str, int], _Entry] | None = None
        self.used: set[tuple[str, int]] = set()
        self.added = 0  # patterns compiled since the file was read or written

    @property
    def entries(self) -> dict[tuple[str, int], _Entry]:
        """The file's patterns, read when the first pattern is asked for: a process that compiles
        none (an agent that finds nothing to send, a command that reads no text) never reads it."""
        if self._entries is None:
            self._entries = _read(self.path)
        return self._entries


_cache: _Cache | None = None  # None: compile as `re` does (the cache is not turned on)


def compile_cached(source: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(source, flags)` for a pattern written in logloop's code: from the cache where a
    `logloop` command turned it on and holds it, else compiled (and then kept, where turned on)."""
    cache = _cache
    if cache is None:
        return re.compile(source, flags)
    key = (source, int(flags))
    cache.used.add(key)
    entry = cache.entries.get(key)
    if entry is not None:
        try:
            return _rebuilt(source, entry)
        except Exception:  # (code `_sre` refuses: compiled again below, and replaced)
            del cache.entries[key]
    try:
        pattern, entry = _compiled_with_code(source, flags)
    except re.error:
        raise
    except Exception:  # (`re`'s internals are not what this interpreter was seen to have)
        return re.compile(source, flags)
    cache.entries[key] = entry
    cache.added += 1
    return pattern


@contextlib.contextmanager
def kept_on_disk(directory: Path | None = None) -> Iterator[None]:
    """Within: the cache is on (`enable`); after: what was compiled is saved, and the cache is off
    again unless it was on before."""
    was_on = _cache is not None
    enable(directory)
    try:
        yield
    finally:
        save()
        if not was_on:
            disable()


def enable(directory: Path | None = None) -> None:
    """Turn the cache on for this process: read it from `directory` (default: the user's cache
    directory), and keep there, at `save`, what is compiled from now on. Only on CPython, whose `_sre`
    code this is."""
    global _cache
    if _cache is not None or sys.implementation.name != "cpython":
        return
    try:
        name = f"patterns-{sys.implementation.cache_tag}-{_sre.MAGIC}-{_sre.CODESIZE}.marshal"
        path = (directory or Path.home() / ".cache" / "logloop") / name
    except Exception:  # (RuntimeError: no home directory; AttributeError: another `_sre`)
        return
    _cache = _Cache(path)


def disable() -> None:
    """Turn the cache off (what was compiled since the last `save` is not kept)."""
    global _cache
    _cache = None


def save() -> None:
    """Write what was compiled since the cache was read to its file, with what another process has
    written there since (never raises: a cache that cannot be written costs the next run time only)."""
    cache = _cache
    if cache is None or not cache.added:
        return
    path = cache.path
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(os.stat(path.parent)):
            return
        entries = {**_read(path), **cache.entries}
        if len(entries) > _MOST_ENTRIES:
            entries = {key: entry for key, entry in entries.items() if key in cache.used}
        data = marshal.dumps((_interpreter(), [(*key, *entry) for key, entry in entries.items()]))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with open(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)  # whole or not at all, for a reader in another process
        cache.added = 0
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def _compiled_with_code(source: str, flags: int) -> tuple[re.Pattern[str], _Entry]:
    """What `re.compile` does (`re._compiler.compile`), keeping the code it makes."""
    parsed = _parser.parse(source, flags)
    code = _compiler._code(parsed, flags)
    names: dict[str, int] = parsed.state.groupdict
    entry: _Entry = (
        int(flags | parsed.state.flags),
        [int(word) for word in code],  # (plain ints: `marshal` takes no subclass, as opcodes are)
        parsed.state.groups - 1,
        {str(name): int(number) for name, number in names.items()},
    )
    return _rebuilt(source, entry), entry


def _rebuilt(source: str, entry: _Entry) -> re.Pattern[str]:
    """The pattern `source` compiled to `entry` (what `re._compiler.compile` ends with)."""
    flags, code, groups, names = entry
    numbered: list[str | None] = [None] * (groups + 1)
    for name, number in names.items():
        numbered[number] = name
    return cast(re.Pattern[str], _sre.compile(source, flags, code, groups, names, tuple(numbered)))


def _interpreter() -> str:
    """What must be equal for code compiled by another process to be this interpreter's."""
    return f"{sys.version}|{sys.implementation.cache_tag}|{_sre.MAGIC}|{_sre.CODESIZE}"


def _trusted(status: os.stat_result) -> bool:
    """Whether a file or directory is this user's and nobody else may write it."""
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def _read(path: Path) -> dict[tuple[str, int], _Entry]:
    """The entries of the cache file at `path`; none where it is missing, not trusted, another
    interpreter's or not in this shape."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        with open(fd, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not (_trusted(status) and _trusted(os.stat(path.parent))) or status.st_size > _LARGEST_FILE:
                return {}
            interpreter, rows = marshal.loads(handle.read())
        if interpreter != _interpreter():
            return {}
        return {
            (source, flags): (final, code, groups, names)
            for source, flags, final, code, groups, names in rows
        }
    except (OSError, ValueError, EOFError, TypeError):
        return {}
