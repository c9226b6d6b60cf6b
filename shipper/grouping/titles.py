"""Group titles people recognise: the exception type and its message with the variable parts shown as
placeholders, and the culprit (`module.function`) beside it. Pure, standard library only.

The one rule: a title masks what varies between occurrences and keeps what names the bug. So short
quoted identifiers stay (`'NoneType' object has no attribute 'items'`, `No module named 'yaml'`)
unless the whole message is that one value (a `KeyError`'s key); a logging template's format
specifiers become placeholders (`disk usage at <NUM>% on <PATH>`, never `%d%%`); and quoted text that
holds quotes of its own (a command line, a list) becomes one placeholder instead of garbled halves.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final

from shipper.grouping.masking import mask
from shipper.lazy_regex import compile_cached, compile_lazily

TITLE_LIMIT: Final = 200
_MESSAGE_LIMIT: Final = 1000

# A quoted identifier: a module, attribute, key or file name a reader recognises (short, one word).
# (No digits: `'x12'`, `'user-42'` are values.)
_IDENTIFIER_RE: Final = compile_cached(r"""(['"])([A-Za-z_][A-Za-z_.\-]{0,39})\1""")
# An exception class's dotted name with a digit in its module (`psycopg2.errors.UniqueViolation`,
# `boto3.exceptions.S3UploadFailedError`): a name, where the masks take any word with digits for a value.
_CLASS_PATH_RE: Final = compile_cached(
    r"(?<![\w.])[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*\.[A-Z]\w*"
    r"(?:Error|Exception|Warning|Violation|Timeout|Failure|Fault|Denied|Refused|Exit)(?![\w.])"
)
# A quoted list or tuple (a command line's argv): its own quotes would garble a per-string mask.
_QUOTED_SEQUENCE_RE: Final = compile_cached(r"""(['"])[\[(][^\n]*?[\])]\1""")
# printf-style specifiers of a logging template, and str.format fields.
_SPECIFIER_RE: Final = compile_cached(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])"
)
_FIELD_RE: Final = compile_cached(r"\{[^{}]*\}")
_NUMERIC: Final = frozenset("diouxXeEfFgG")
# A kept identifier's stand-in while the rest is masked: letters only, which no mask rule touches.
_KEEP: Final = "QqKEPT{}KEPTqQ"
_KEPT_RE: Final = compile_cached("QqKEPT([a-j]+)KEPTqQ")
_TO_LETTERS: Final = str.maketrans("0123456789", "abcdefghij")
_TO_DIGITS: Final = str.maketrans("abcdefghij", "0123456789")


def title(type_name: str, message: str, culprit: str = "", masker: Callable[[str], str] = mask) -> str:
    """`Type: message` with variables as placeholders, then `(culprit)`; at most TITLE_LIMIT chars.
    `masker` is `mask` or a memoized equivalent."""
    short = type_name.rsplit(".", 1)[-1]
    text = masked_message(first_line(message)[:_MESSAGE_LIMIT], masker)
    head = f"{short}: {text}" if short and text else short or text or "(empty message)"
    if culprit:
        head = f"{head} ({culprit})"
    return head if len(head) <= TITLE_LIMIT else head[: TITLE_LIMIT - 1] + "…"


def template_title(type_name: str, template: str, message: str = "", culprit: str = "") -> str:
    """The title of a message-only group keyed by its logging template: specifiers as placeholders."""
    return title(type_name, template_text(_first_line(template), _first_line(message)), culprit)


def template_text(template: str, message: str = "") -> str:
    """A logging template with its specifiers written as placeholders: `%d` -> `<NUM>`, `%%` -> `%`,
    `%s` and `{name}` -> the placeholder its value in `message` masks to when that is one (`<PATH>`,
    `<IP>`...), else `<VAR>`."""
    values = template_values(template, message) if message else []
    taken = 0  # the specifiers (but `%%`) written so far: the next one's index in `values`

    def specifier(match: re.Match[str]) -> str:
        nonlocal taken
        kind = match[1]
        if kind == "%":
            return "%"
        index, taken = taken, taken + 1
        value = values[index] if index < len(values) else ""
        masked = mask(value) if value else ""
        if _PLACEHOLDER_RE.fullmatch(masked):
            return masked.strip("'\"")
        return "<NUM>" if kind in _NUMERIC else "<VAR>"

    text = _SPECIFIER_RE.sub(specifier, template)
    if "{" in text and "}" in text:
        text = _FIELD_RE.sub("<VAR>", text)
    return text


_PLACEHOLDER_RE: Final = compile_cached(r"""['"]?<[A-Z]+>['"]?""")


@functools.lru_cache(maxsize=1024)  # (a program logs through a few hundred templates, again and again)
def names_a_statement(template: str) -> bool:
    """Whether a logging template holds a word of its own beside its specifiers: `charge failed: %s`
    names the statement that logged it, `%s`, `%r: %s` or `{}` (`log.error("%s", exc)`, the
    `py.warnings` logger) name none; their events are told apart by their message alone."""
    text = _SPECIFIER_RE.sub("", template)
    if "{" in text:
        text = _FIELD_RE.sub("", text)
    return any(character.isalpha() for character in text)


def template_values(template: str, message: str) -> list[str]:
    """The values the template's specifiers (but `%%`) took in `message`; [] if it does not fit.

    The leftmost fit (each value as short as the rest allows), found in one pass: the text before the
    first specifier must start the message and the text after the last must end it; each literal
    between two specifiers is then the first occurrence after the previous one (the earliest
    occurrence leaves the most room for the others, so if any fit exists this one does). A regular
    expression of one lazy group per specifier gave the same values, but backtracked exponentially
    on a message that does not fit (one cut short, a value holding the separators)."""
    literals: list[str] = []  # the literal text around the specifiers: one more than there are values
    text = ""
    last = 0
    for match in _SPECIFIER_RE.finditer(template):
        text += template[last : match.start()]
        if match[1] == "%":
            text += "%"
        else:
            literals.append(text)
            text = ""
        last = match.end()
    literals.append(text + template[last:])
    first, end = literals[0], literals[-1]
    limit = len(message) - len(end)  # where the last value ends
    if len(literals) == 1 or limit < len(first) or not (message.startswith(first) and message.endswith(end)):
        return []
    values = []
    position = len(first)
    for literal in literals[1:-1]:
        found = message.find(literal, position, limit)
        if found < 0:
            return []
        values.append(message[position:found])
        position = found + len(literal)
    values.append(message[position:limit])
    return values


def masked_message(line: str, masker: Callable[[str], str] = mask) -> str:
    """One message line masked for a title: identifiers kept (quoted ones, and an exception class's
    dotted name a message quotes, whose module may hold digits: `psycopg2.errors.UniqueViolation`),
    quoted sequences as one placeholder."""
    named = "." in line and _CLASS_PATH_RE.search(line) is not None
    if "'" not in line and '"' not in line and not named:
        return masker(line)
    line = _QUOTED_SEQUENCE_RE.sub("'<LIST>'", line)
    stripped = line.strip()
    if _IDENTIFIER_RE.fullmatch(stripped):  # the whole message is one value (a KeyError's key)
        return masker(line)
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match[0])
        return _KEEP.format(str(len(kept) - 1).translate(_TO_LETTERS))

    protected = _IDENTIFIER_RE.sub(keep, line)
    if named:
        protected = _CLASS_PATH_RE.sub(keep, protected)
    masked = masker(protected)
    return _KEPT_RE.sub(lambda match: kept[int(match[1].translate(_TO_DIGITS))], masked) if kept else masked


def culprit_of(module_tail: str, function: str) -> str:
    """`package.module.function` from a frame's module tail (`pkg/__init__` -> `pkg`) and function. A
    compiled module's file (Cython's `fast.pyx`, `etree.cpython-311-x86_64-linux-gnu.so`) names its
    module without the suffix; a function Cython names with its module (`lxml.etree._Validator.assert_`:
    a Python frame never holds a dot) is the culprit as it stands."""
    if "." in function and not function.startswith("<"):
        return function
    module = module_tail.removesuffix("/__init__")
    if "." in module:  # (rare: a module tail is a file's stem, but a compiled module's keeps its suffix)
        module = _without_compiled_suffix(module)
    module = module.replace("/", ".")
    if not function or function.startswith("<"):
        return module
    return f"{module}.{function}" if module else function


def logged_culprit(logger: object, file_name: object, function: object) -> str:
    """`module.function` of the logging call that wrote a line (ECS `log.logger`, `log.origin.file.name`,
    `log.origin.function`): the module is the logger's name when that names the file's module (the
    `getLogger(__name__)` convention: it ends with the file's stem, or it is a package's and the file its
    `__init__.py`), else the file's stem; "" when the event names no file and no function."""
    name = logger if isinstance(logger, str) else ""
    path = file_name if isinstance(file_name, str) else ""
    called = function if isinstance(function, str) else ""
    stem = path.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
    if not stem and not called:
        return ""
    module = stem
    if name and _DOTTED_NAME_RE.fullmatch(name) and name not in ("__main__", "root"):
        if stem == "__init__" or name == stem or name.endswith("." + stem):
            module = name
    elif stem == "__init__":
        module = ""
    return culprit_of(module, called)


# A module's dotted name, as `getLogger(__name__)` names a logger.
_DOTTED_NAME_RE: Final = compile_cached(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _without_compiled_suffix(module: str) -> str:
    """A module tail whose file is a compiled module's (`fast.pyx`, `etree.cpython-311-x86_64-linux-gnu.so`)
    without its suffix (`fast`, `etree`); another as it is."""
    _, dot, suffix = module.rpartition("/")[2].partition(".")
    if dot and suffix.rpartition(".")[2] in _COMPILED_SUFFIXES:
        return module[: len(module) - len(suffix) - 1]
    return module


_COMPILED_SUFFIXES: Final = frozenset({"pyx", "pxd", "pxi", "so", "pyd"})


def _first_line(text: str) -> str:
    text = text.strip()
    end = text.find("\n")
    return text if end < 0 else text[:end]


def first_line(message: str) -> str:
    """The message's first line without the suggestion the interpreter adds to it where it prints it
    (3.10+: `name 'taxx' is not defined. Did you mean: 'tax'?`; 3.12+ `Did you forget to import 'sys'?`
    and ImportError's; 3.14 SyntaxError's `Did you mean 'for'?`): older versions, a logger that prints
    `str(exc)`, print none, and it names no variable part the message does not."""
    line = _first_line(message)
    return _SUGGESTION_RE.sub("", line) if "id you " in line else line


_SUGGESTION_RE: Final = compile_lazily(  # (a rare shape: compiled when first used)
    r"\.? (?:(?:Did you mean:? '[^'\n]*'\?)(?: Or did you forget to import '[^'\n]*'\?)?"
    r"|Did you forget to import '[^'\n]*'\?)\Z"
)
