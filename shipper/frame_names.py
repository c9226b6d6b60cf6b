"""The qualified names of a traceback's functions whose bare names collide in their file.

A printed traceback names a frame's function bare (`close` for both `Reader.close` and `Writer.close`),
so two methods of one name in one file that fail on one statement's text look alike to grouping. Here,
while the frames are alive, each frame's function is looked up among the functions its module defines;
where another function of that file has the same bare name, its qualified name is recorded, written
`<file>:<line>:<qualname>` (`logloop.qualnames`; `shipper.grouping.qualnames` reads it back).

Only collisions are recorded: a traceback printed without the handler (a text log) can only name the
bare function, so every other frame keeps the key its printed text has. The one rule: this runs on the
program's thread and must neither raise a failure of its own nor run the program's code (no attribute
of the program's objects is read through their own `__getattribute__`; only dictionaries are iterated);
an exception the program's signal handler raises meanwhile is the program's, and goes on to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import CodeType, FunctionType, TracebackType
from typing import Any, Final

from shipper import reentry

_LIMIT: Final = 32  # names recorded per event: a key needs the raising frames, not a deep recursion's
_FRAMES: Final = 2000  # frames looked at per event (a RecursionError prints 1,000)
_OBJECTS: Final = 20_000  # objects of a module looked at per walk: a huge namespace is not walked whole
_CACHE_SIZE: Final = 1024
_CHAIN: Final = 16  # links of a cause/context chain followed

# id(code) -> the code and its qualified name where its bare name collides in its file, else "" (looked
# up once per code). By identity: code objects compare equal across files (the same methods at the same
# lines of two generated modules), and one file's name must never be taken for another's. (The code is
# held with its name, so its id is not reused while the entry stands.)
_known: dict[int, tuple[CodeType, str]] = {}
# Attributes read by the built-in types' own descriptors: a subclass's `__getattribute__` is never run.
_class_dict: Final = type.__dict__["__dict__"].__get__  # a class's own namespace, past its metaclass
_static_function: Final = staticmethod.__dict__["__func__"].__get__
_class_function: Final = classmethod.__dict__["__func__"].__get__
_PROPERTY_FUNCTIONS: Final = tuple(property.__dict__[name].__get__ for name in ("fget", "fset", "fdel"))


def colliding_qualnames(value: BaseException | None, tb: TracebackType | None) -> list[str]:
    """`<file>:<line>:<qualname>` for each frame of the exception's traceback (and of its chain's) whose
    function shares its bare name with another function of its file; [] when none does, or when looking
    failed (never raises)."""
    try:
        return _colliding(value, tb)
    except Exception:  # a module in an odd state: no names, the printed ones stand
        reentry.reraise_program_exception()  # (a signal handler's raise meanwhile is the program's)
        return []


def _colliding(value: BaseException | None, tb: TracebackType | None) -> list[str]:
    found: dict[str, None] = {}
    frames = 0
    known = _known
    for current in _tracebacks(value, tb):
        while current is not None and frames < _FRAMES:
            frame = current.tb_frame
            code = frame.f_code
            entry = known.get(id(code))  # (nearly always known: the same frames recur)
            if entry is not None and entry[0] is code:
                qualname = entry[1]
            else:
                qualname = _remembered(code, frame.f_globals)
            if qualname:
                found[f"{code.co_filename}:{current.tb_lineno}:{qualname}"] = None
                if len(found) >= _LIMIT:
                    return list(found)
            current = current.tb_next
            frames += 1
    return list(found)


def _tracebacks(value: BaseException | None, tb: TracebackType | None) -> Iterator[TracebackType | None]:
    """The traceback given, then those of the exception's causes and contexts (each exception once)."""
    yield tb
    seen = {id(value)}
    pending = [value]
    while pending and len(seen) <= _CHAIN:
        exception = pending.pop()
        for linked in (exception.__cause__, exception.__context__) if exception is not None else ():
            if linked is not None and id(linked) not in seen:
                seen.add(id(linked))
                pending.append(linked)
                yield linked.__traceback__


def _remembered(code: CodeType, namespace: dict[str, Any]) -> str:
    """The qualified name of `code` if another function of its file has its bare name, else "" (a
    `<module>`, `<lambda>` or comprehension has no name to tell); remembered for the next time."""
    found = _looked_up(code, namespace) if code.co_name.isidentifier() else ""
    # (No lock: a dict's clear and store are each atomic, and a race costs a lookup again; a lock held
    # by another thread when the program forks would block every later capture in the child.)
    if len(_known) >= _CACHE_SIZE:
        _known.clear()
    _known[id(code)] = (code, found)
    return found


def _looked_up(code: CodeType, namespace: dict[str, Any]) -> str:
    functions = _functions_of(namespace, code.co_filename)
    qualname = functions.get(id(code), (code, ""))[1]
    # (A module's function is named bare already; one with `<locals>` is nested: left bare too.)
    if "." not in qualname or "<" in qualname or qualname.rpartition(".")[2] != code.co_name:
        return ""
    same = sum(1 for other, _ in functions.values() if other.co_name == code.co_name)
    return qualname if same > 1 else ""


def _functions_of(namespace: dict[str, Any], filename: str) -> dict[int, tuple[CodeType, str]]:
    """Every function (id(code) -> the code and its qualified name) of `filename` that its module's
    namespace reaches: its functions, its classes' methods (static, class, properties, decorated ones'
    wrapped functions, nested classes), and the functions nested in them."""
    module = namespace.get("__name__")
    found: dict[int, tuple[CodeType, str]] = {}
    pending: list[Any] = list(namespace.values())
    seen: set[int] = set()
    while pending and len(seen) < _OBJECTS:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        kind = type(value)
        if kind is FunctionType:
            _add_code(value.__code__, filename, found)
            wrapped = value.__dict__.get("__wrapped__")  # a decorator's wrapper: the function it wraps
            if wrapped is not None:
                pending.append(wrapped)
        elif issubclass(kind, staticmethod):
            pending.append(_static_function(value))
        elif issubclass(kind, classmethod):
            pending.append(_class_function(value))
        elif issubclass(kind, property):
            pending.extend(accessor(value) for accessor in _PROPERTY_FUNCTIONS)
        elif issubclass(kind, type):
            own = _class_dict(value)
            if own.get("__module__") == module:
                pending.extend(own.values())
    return found


def _add_code(code: CodeType, filename: str, found: dict[int, tuple[CodeType, str]]) -> None:
    """`code` and the codes nested in it, where they are of `filename`, with the qualified names the
    compiler gave them (a decorator may rename a function object: `functools.wraps`)."""
    if code.co_filename != filename or id(code) in found:
        return
    found[id(code)] = (code, code.co_qualname)
    for constant in code.co_consts:
        if type(constant) is CodeType:
            _add_code(constant, filename, found)
