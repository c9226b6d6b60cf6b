"""`shipper.lazy_regex`: a pattern compiled on first use behaves as the compiled pattern, importing
the redaction rules compiles none of them, and the cache of the code's compiled patterns gives
exactly what `re.compile` gives, is trusted only when this user's, and holds nothing of a user's."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipper import lazy_regex
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
    none, so no Ctrl-C or timer signal can land in a compile there (a 1 ms timer starved one). Only
    the calling thread's compiles count: the delivery thread may still be starting."""
    script = (
        "import logging, re, sys, threading\n"
        "from pathlib import Path\n"
        "from shipper.handler import ShipperHandler\n"
        "sys.argv = ['job.py', '--password', 'hunter2', 'https://bob:pw@db.example/x']\n"
        "handler = ShipperHandler('first', spool_path=Path(sys.argv[0] + '.spool'), delivery='thread')\n"
        "handler._stop.set()\n"
        "compiled, main = [], threading.get_ident()\n"
        "real = re.compile\n"
        "mine = lambda: threading.get_ident() == main\n"
        "re.compile = lambda *a, **k: (mine() and compiled.append(a[0])) or real(*a, **k)\n"
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


# The cache of compiled patterns on disk (`compile_cached`, `enable`, `save`, `kept_on_disk`).


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test turns the process's cache on and off itself; whatever it was before comes back."""
    monkeypatch.setattr(lazy_regex, "_cache", None)


def _code_patterns() -> list[tuple[str, int]]:
    """The pattern and flags of every module-level pattern of the grouping, text-log and redaction code."""
    import importlib
    import pkgutil

    import shipper.grouping
    import shipper.redaction

    names = ["shipper.text_log"]
    for package in (shipper.grouping, shipper.redaction):
        names += [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]
    found: dict[tuple[str, int], None] = {}
    for name in names:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, re.Pattern | lazy_regex._LazyPattern) and isinstance(value.pattern, str):
                found[(value.pattern, value.flags)] = None
    return list(found)


def _cache_file(directory: Path) -> Path:
    (path,) = directory.glob("patterns-*.marshal")
    return path


def test_every_code_pattern_rebuilt_from_the_cache_file_is_the_pattern_re_compiles(
    tmp_path: Path, no_cache: None
) -> None:
    """Each of the code's patterns, written to the cache by one process's compile and read back from
    the file, is equal to re.compile's (same text, flags and engine code) and matches alike."""
    patterns = _code_patterns()
    assert len(patterns) > 300  # the grouping, text-log and redaction rules
    with lazy_regex.kept_on_disk(tmp_path):
        for source, flags in patterns:
            lazy_regex.compile_cached(source, flags)
    lazy_regex.enable(tmp_path)
    try:
        cache = lazy_regex._cache
        assert cache is not None and set(patterns) <= set(cache.entries)
        for source, flags in patterns:
            rebuilt, compiled = lazy_regex.compile_cached(source, flags), re.compile(source, flags)
            assert rebuilt == compiled and rebuilt.groupindex == compiled.groupindex, source
        assert cache.added == 0  # every one came from the file
        word = lazy_regex.compile_cached(r"(?P<key>\w+)=(?P<value>\d+)", re.IGNORECASE)
        assert word.search("X a=1")["value"] == "1"  # type: ignore[index]
    finally:
        lazy_regex.disable()


def test_a_second_run_of_a_command_compiles_none_of_its_own_patterns(tmp_path: Path) -> None:
    """`logloop cluster` run again (a new process, the same user) rebuilds every pattern of logloop's
    code from the cache the first run wrote; the first run compiled them (counted in re's parser)."""
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"error": {"type": "KeyError", "message": "1", "stack_trace": "Traceback (most recent call last):\\n'
        '  File \\"/srv/app/jobs.py\\", line 3, in run\\n    x = d[k]\\nKeyError: 1"}}\n'
        '{"message": "disk full on /dev/sda1", "log": {"level": "error"}}\n',
        encoding="utf-8",
    )
    script = (
        "import os, sys\n"
        "from re import _parser\n"
        "real, ours = _parser.parse, []\n"
        "def counted(p, flags=0):\n"
        "    frame = sys._getframe(1)\n"
        "    while frame and 're' + os.sep in frame.f_code.co_filename:\n"
        "        frame = frame.f_back\n"
        "    ours.append(bool(frame) and os.sep + 'shipper' + os.sep in frame.f_code.co_filename)\n"
        "    return real(p, flags)\n"
        "_parser.parse = counted\n"
        "from logloop.cli import main\n"
        "status = main(['cluster', '-j', '1', sys.argv[1], '-o', sys.argv[1] + '.out'])\n"
        "print(status, sum(ours))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, str(events)], capture_output=True, text=True, env=env, timeout=60
        )
        for _ in range(2)
    ]
    first, second = (run.stdout.split() for run in runs)
    assert first[0] == second[0] == "0", runs[0].stderr + runs[1].stderr
    assert int(first[1]) > 50 and second[1] == "0", (first, second)
    assert _cache_file(tmp_path / ".cache" / "logloop").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("loose", ["file", "directory"])
def test_a_cache_others_may_write_is_never_read(tmp_path: Path, no_cache: None, loose: str) -> None:
    """A cache file or directory that another user could write (a planted file could change what a
    redaction rule finds) is ignored: the patterns are compiled, not read from it."""
    with lazy_regex.kept_on_disk(tmp_path):
        lazy_regex.compile_cached(r"token=\w+")
    path = _cache_file(tmp_path)
    (path if loose == "file" else tmp_path).chmod(0o666 if loose == "file" else 0o777)
    lazy_regex.enable(tmp_path)
    try:
        assert lazy_regex._cache is not None and lazy_regex._cache.entries == {}
        assert lazy_regex.compile_cached(r"token=\w+") == re.compile(r"token=\w+")
    finally:
        lazy_regex.disable()


def _damaged(path: Path, how: str) -> None:
    data = path.read_bytes()
    interpreter, rows = marshal.loads(data)
    if how == "cut short":
        path.write_bytes(data[: len(data) // 2])
    elif how == "not marshal":
        path.write_bytes(b"\x00garbage" * 10)
    elif how == "another interpreter":
        path.write_bytes(marshal.dumps(("3.99.0|cpython-399|1|4", rows)))
    elif how == "rows of another shape":
        path.write_bytes(marshal.dumps((interpreter, [("x", 0), 7, None])))
    elif how == "code the engine refuses":
        source, flags, final, code, groups, names = rows[0]
        path.write_bytes(
            marshal.dumps((interpreter, [(source, flags, final, [99999, *code], groups, names)]))
        )
    elif how == "code of another type":
        source, flags, final, _code, groups, names = rows[0]
        path.write_bytes(marshal.dumps((interpreter, [(source, flags, final, "code", groups, names)])))


@pytest.mark.parametrize(
    "how",
    [
        "cut short",
        "not marshal",
        "another interpreter",
        "rows of another shape",
        "code the engine refuses",
        "code of another type",
    ],
)
def test_a_damaged_cache_file_costs_time_never_a_wrong_pattern(
    tmp_path: Path, no_cache: None, how: str
) -> None:
    """Whatever is wrong with the cache file, a pattern asked for is the one re.compile makes, and
    the next save writes a sound file again."""
    source = r"(?P<user>\w+):(?P<password>[^@\s]+)@"
    with lazy_regex.kept_on_disk(tmp_path):
        lazy_regex.compile_cached(source)
    _damaged(_cache_file(tmp_path), how)
    with lazy_regex.kept_on_disk(tmp_path):
        pattern = lazy_regex.compile_cached(source)
    assert pattern == re.compile(source) and pattern.search("bob:pw@db")["password"] == "pw"  # type: ignore[index]
    lazy_regex.enable(tmp_path)
    try:
        assert lazy_regex._cache is not None and (source, 0) in lazy_regex._cache.entries
    finally:
        lazy_regex.disable()


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path, no_cache: None) -> None:
    """Where the cache's directory cannot be made (a file stands in its way), saving does nothing and
    raises nothing; the patterns are still compiled."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a directory", encoding="utf-8")
    with lazy_regex.kept_on_disk(blocked / "logloop"):
        assert lazy_regex.compile_cached(r"\d+").findall("a1b22") == ["1", "22"]
    assert blocked.read_text(encoding="utf-8") == "a file, not a directory"
    assert lazy_regex._cache is None  # off again after the block


def test_a_users_patterns_and_key_names_never_reach_the_cache(tmp_path: Path, no_cache: None) -> None:
    """Patterns made from a user's configuration (redaction key names and patterns, grouping rules,
    in-app packages) are compiled, never written to the cache: only the code's own are."""
    from shipper.grouping.fingerprint import fingerprint_document
    from shipper.grouping.options import options_from_table
    from shipper.redaction import Redactor

    with lazy_regex.kept_on_disk(tmp_path):
        lazy_regex.compile_cached(r"(?i)password[=:]\s*\S+")  # one of the code's, whatever ran before
        redactor = Redactor.build(keys=["zqx-marker-key"], patterns=[r"zqxmarker-\d+"])
        assert "s3cr3t" not in redactor.redact_text("zqx-marker-key=s3cr3t and password=hunter2 zqxmarker-12")
        options = options_from_table(
            {"in_app": ["zqxmarkerpkg"], "rules": [{"message": "zqxmarker rule", "group_by": "message"}]}
        )
        stack = (
            'Traceback (most recent call last):\n  File "/srv/zqxmarkerpkg/jobs.py", line 3, in run\n'
            "    x = d[k]\nKeyError: 'zqxmarker rule'"
        )
        document = {"error": {"type": "KeyError", "message": "'zqxmarker rule'", "stack_trace": stack}}
        assert fingerprint_document(document, options) is not None
    data = _cache_file(tmp_path).read_bytes()
    assert b"password" in data and b"zqx" not in data


_LOGGING_PROGRAM = """
import logging, sys, shipper
url, spool, prefix, delivery = sys.argv[1:5]
handler = shipper.install(
    "cached", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=1, delivery=delivery,
    redact_keys=["zqx-marker-key"], redact_patterns=[r"zqxmarker-[0-9]+"],
)
log = logging.getLogger("cached")
log.warning("zqx-marker-key=s3cr3t and password=hunter2 zqxmarker-12")
try:
    {}["missing"]
except KeyError:
    log.exception("failed with token=abc123 for zqx-marker-key=s3cr3t")
print(handler.wait_delivered(60))
"""


@pytest.mark.es
@pytest.mark.parametrize("delivery", ["process", "thread"])
def test_a_delivery_agent_keeps_the_codes_patterns_and_never_the_programs(
    es_url: str, index_prefix: str, tmp_path: Path, delivery: str
) -> None:
    """A program's delivery agent, a process of its own, keeps in the cache the redaction and grouping
    patterns it compiled (the next agent rebuilds them: a quarter of a cold agent's instructions), and
    never the program's own redaction keys and patterns; a program that delivers from its own thread
    writes no cache at all."""
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "program.py"
    script.write_text(_LOGGING_PROGRAM)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, str(script), es_url, str(tmp_path / "spool"), index_prefix, delivery],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr
    cached = home / ".cache" / "logloop"
    if delivery == "thread":
        assert list(cached.glob("patterns-*")) == []
        return
    deadline = time.monotonic() + 60  # the agent saves the cache as it exits, idle for a second
    while not list(cached.glob("patterns-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    data = _cache_file(cached).read_bytes()
    assert b"password" in data and b"Traceback" in data  # a redaction rule and a grouping pattern
    assert b"zqx" not in data
