"""Stack traces of other runtimes in a Python pipeline: a Java (JVM) exception and a Go panic, read for
a key of frames as a Python traceback is. Pure, standard library only.

A service's log can carry them as text (a JVM subprocess's stderr, a sidecar's panic, a collector's
line): keyed by their message (every failure one statement logged, one group) or mined, siblings merge
and a message of letters only splits. Read here instead:

- Java: each exception of the chain (the thrown one first, then each "Caused by:") by its class's short
  name and its site, the innermost frame outside the JDK and the languages' runtimes (`java.`, `jdk.`,
  `sun.`, `kotlin.`, `scala.`...), as `Class.method` without file line or module prefix (`java.base/`,
  `app//`), lambda and proxy counters written `N`; "Suppressed:" blocks and "... N more" are not read.
- Go: the panicking goroutine's innermost frame outside `runtime.` (its function, without arguments,
  file line or offset), with the panic's kind: a runtime error's masked text (`index out of range
  [<NUM>] with length <NUM>`, `invalid memory address or nil pointer dereference`); a `panic(value)`'s
  text varies with the value and is only its title.

Messages are no part of these keys (but a Go runtime error's kind); they make the title, culprit beside.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from shipper.grouping.masking import mask
from shipper.lazy_regex import compile_lazily

_LINES: Final = 4000  # lines read of one trace (a JVM trace of a deep framework stack holds ~300)

_JAVA_FRAME_RE: Final = compile_lazily(
    r"^[ \t]+at (?:[^\s(/]*/)*(?P<site>[\w$.<>\-]+)\((?P<where>[^)\n]*)\)[ \t]*$"
)
_JAVA_EXCEPTION_RE: Final = compile_lazily(
    r"^(?P<cause>Caused by: )?(?:Exception in thread \"[^\"\n]*\" )?"
    r"(?P<type>(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*)(?::[ \t]?(?P<message>.*))?$"
)
_JAVA_RUNTIME: Final = (
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.coroutines.",
    "scala.",
    "groovy.",
    "org.codehaus.groovy.",
)
# Names a build or a run numbers: `lambda$main$0`, `$$Lambda$14/0x0000000800c03000`, `$Proxy12`,
# `$$EnhancerBySpringCGLIB$$1a2b3c`, accessors `access$000`.
_JAVA_COUNTER_RE: Final = compile_lazily(
    r"\$\$Lambda[^.(]*|\$Proxy\d+|\$\$[A-Za-z]+\$\$[0-9a-f]+|(?<=\$)\d+|/0x[0-9a-f]+"
)

_GO_PANIC_RE: Final = compile_lazily(r"^(?P<kind>panic|fatal error): (?P<message>.*?)(?: \[recovered\])?$")
_GO_GOROUTINE_RE: Final = compile_lazily(r"^goroutine \d+ \[[^\]\n]*\]:$")
_GO_FUNCTION_RE: Final = compile_lazily(
    r"^(?P<function>[^\s()]+(?:\(\*?[\w.\[\]]+\)[^\s(]*)?)\((?:[^\n]*)\)$"
)
_GO_FILE_RE: Final = compile_lazily(r"^\t(?P<file>[^\n]+?\.go):\d+(?: \+0x[0-9a-f]+)?$")
_GO_RUNTIME_ERROR: Final = "runtime error: "


class ForeignTrace(NamedTuple):
    """What keys and titles a foreign stack trace: its signature, and the type, message and culprit of
    the exception it shows first."""

    signature: str
    type: str
    message: str
    culprit: str


def has_foreign_frames(text: str) -> bool:
    """Whether `text` may hold a Java exception's or a Go panic's frames (a cheap test: `read_foreign`
    reads them)."""
    return "\n\tat " in text or "\n        at " in text or ("\ngoroutine " in text and "panic" in text)


def read_foreign(text: str) -> ForeignTrace | None:
    """The key material of the Java exception or Go panic `text` holds; None when it holds neither."""
    if not has_foreign_frames(text):
        return None
    lines = text.replace("\r\n", "\n").split("\n", _LINES)[:_LINES]
    java = _read_java(lines) if "at " in text else None
    return java or _read_go(lines)


def _read_java(lines: list[str]) -> ForeignTrace | None:
    """A Java chain: each exception header's type and its site; None without a frame after a header."""
    chain: list[tuple[str, str, list[str]]] = []  # (type, message, sites innermost first)
    suppressed = 0  # the indent of a "Suppressed:" block being skipped, else 0
    for line in lines:
        frame = _JAVA_FRAME_RE.match(line)
        if frame is not None:
            indent = len(line) - len(line.lstrip())
            if chain and not (suppressed and indent > suppressed):
                chain[-1][2].append(frame["site"])
            continue
        stripped = line.strip()
        if stripped.startswith("Suppressed: "):
            suppressed = len(line) - len(line.lstrip())
            continue
        if suppressed and line[:1] in ("\t", " "):  # (a suppressed exception's causes are indented too)
            continue
        header = _JAVA_EXCEPTION_RE.match(stripped)
        if header is not None and (header["cause"] or not chain or not chain[-1][2]):
            suppressed = 0
            if chain and not chain[-1][2] and not header["cause"]:
                chain.pop()  # (a line before the exception that read like one: a log line's logger)
            chain.append((header["type"], header["message"] or "", []))
    chain = [exception for exception in chain if exception[2]]
    if not chain:
        return None
    parts = []
    for type_name, _, sites in chain:
        parts.append(f"{type_name.rsplit('.', 1)[-1]}|{_java_site(sites)}")
    type_name, message, sites = chain[0]
    return ForeignTrace("java\n" + "\n".join(parts), type_name, message, _java_site(sites))


def _java_site(sites: list[str]) -> str:
    """The innermost frame outside the runtime's libraries (else the innermost), counters written N."""
    site = next((site for site in sites if not site.startswith(_JAVA_RUNTIME)), sites[0])
    return _JAVA_COUNTER_RE.sub("N", site) if "$" in site or "/" in site else site


def _read_go(lines: list[str]) -> ForeignTrace | None:
    """A Go panic: its kind and the panicking goroutine's innermost frame outside the runtime."""
    panic = None
    for index, line in enumerate(lines):
        if panic is None:
            panic = _GO_PANIC_RE.match(line.strip())
            continue
        if _GO_GOROUTINE_RE.match(line):
            site = _go_site(lines, index + 1)
            if site is None:
                return None
            kind, message = panic["kind"], panic["message"]
            text = mask(message) if message.startswith(_GO_RUNTIME_ERROR) or kind != "panic" else ""
            return ForeignTrace(f"go\n{kind}|{text}|{site}", kind, message, site)
    return None


def _go_site(lines: list[str], start: int) -> str | None:
    """The innermost function of a goroutine's frames (from `start`) outside `runtime.` and `panic`."""
    first = None
    for index in range(start, len(lines) - 1, 2):
        function = _GO_FUNCTION_RE.match(lines[index])
        if function is None or _GO_FILE_RE.match(lines[index + 1]) is None:
            break
        name = function["function"]
        if first is None:
            first = name
        if not name.startswith(("runtime.", "panic")):
            return name
    return first
