"""`shipper.lazy_regex`: a pattern compiled on first use behaves as the compiled pattern, and importing
the redaction rules compiles none of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from shipper.lazy_regex import compile_lazily

ROOT = Path(__file__).resolve().parent.parent


def test_every_method_and_attribute_answers_as_the_compiled_pattern() -> None:
    """search, match, fullmatch, finditer, findall, sub, subn, split and the pattern's attributes give
    what the same pattern compiled with re.compile gives, before and after the first use."""
    source, flags, text = r"(?P<key>\w+)=(?P<value>\d+)", re.IGNORECASE, "a=1 b=x c=22"
    real = re.compile(source, flags)
    for first in ("groupindex", "search"):  # whichever is asked first compiles it
        lazy = compile_lazily(source, flags)
        getattr(lazy, first)
        assert lazy.search(text)[0] == real.search(text)[0]  # type: ignore[index]
        assert lazy.match(text) is not None and lazy.fullmatch("a=1") is not None
        assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
        assert lazy.findall(text) == real.findall(text)
        assert lazy.sub("-", text) == real.sub("-", text) and lazy.subn("-", text) == real.subn("-", text)
        assert lazy.split(text) == real.split(text)
        assert (lazy.pattern, lazy.flags, lazy.groups, dict(lazy.groupindex)) == (
            real.pattern,
            real.flags,
            real.groups,
            dict(real.groupindex),
        )


def test_a_bad_pattern_fails_at_its_first_use_not_before() -> None:
    """The source is not read until used: a mistake in it is an re.error at the first call."""
    lazy = compile_lazily(r"(unclosed")
    try:
        lazy.search("x")
    except re.error:
        return
    raise AssertionError("a bad pattern was used without an error")


def test_importing_the_redaction_rules_compiles_none_of_them() -> None:
    """A program that imports the shipper pays for no redaction rule it does not run: the import
    compiles no pattern of shipper.redaction (re.compile is counted in a fresh interpreter)."""
    script = (
        "import os, re, sys\n"
        "compiled = []\n"
        "real = re.compile\n"
        "re.compile = lambda *a, **k: compiled.append(sys._getframe(1).f_code.co_filename) or real(*a, **k)\n"
        "import shipper.redaction\n"
        "ours = (os.path.join('shipper', 'redaction', ''), os.path.join('shipper', 'lazy_regex.py'))\n"
        "print(sum(any(part in name for part in ours) for name in compiled))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=60
    )
    assert done.stdout.strip() == "0", done.stdout + done.stderr


def test_a_programs_first_logging_call_compiles_no_redaction_rule(tmp_path: Path) -> None:
    """The rules the program's own redaction needs (its argv, a secret in it included) are compiled
    when the handler is made: its first logging call (which makes the facts of the program) compiles
    none, so no Ctrl-C or timer signal can land in a compile there (a 1 ms timer starved one)."""
    script = (
        "import logging, re, sys\n"
        "from pathlib import Path\n"
        "from shipper.handler import ShipperHandler\n"
        "sys.argv = ['job.py', '--password', 'hunter2', 'https://bob:pw@db.example/x']\n"
        "handler = ShipperHandler('first', spool_path=Path(sys.argv[0] + '.spool'), delivery='thread')\n"
        "handler._stop.set()\n"
        "compiled = []\n"
        "real = re.compile\n"
        "re.compile = lambda *a, **k: compiled.append(a[0]) or real(*a, **k)\n"
        "logger = logging.getLogger('first')\n"
        "logger.handlers, logger.propagate = [handler], False\n"
        "logger.warning('the first record')\n"
        "print(len(compiled))\n"
        "handler.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "0", done.stdout + done.stderr
