"""One bug as each Python version (3.8 to 3.13) prints it is one group: an exception class the standard
library renamed between versions (`socket.timeout` is `TimeoutError` since 3.10, `re.error` is
`re.PatternError` since 3.13), and the chain `asyncio` raises for a timeout (no chain in 3.8, two
CancelledErrors before the TimeoutError in 3.9 and 3.10, one since 3.11). The tracebacks are those real
interpreters printed, their paths and lines varied as a fleet varies them."""

from __future__ import annotations

import pytest
from helpers.keyed import checked_key

_FRAMES = """Traceback (most recent call last):
  File "{root}/sv.py", line {line}, in <module>
    main()
  File "{root}/sv.py", line 5, in {function}
    {statement}
"""


def _raised(type_name: str, *, root: str = "/srv/app", line: int = 46, function: str = "fetch") -> str:
    statement = "return c.recv(10)" if function == "fetch" else "return conn.recv(10)"
    head = _FRAMES.format(root=root, line=line, function=function, statement=statement)
    return head + f"{type_name}: timed out\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            _raised("socket.timeout"), _raised("TimeoutError", root="/opt/x", line=9), id="socket.timeout"
        ),
        pytest.param(
            _raised("re.error").replace("timed out", "missing ), unterminated subpattern at position 0"),
            _raised("re.PatternError").replace(
                "timed out", "missing ), unterminated subpattern at position 3"
            ),
            id="re.error",
        ),
        pytest.param(
            _raised("sre_constants.error").replace("timed out", "nothing to repeat at position 0"),
            _raised("re.PatternError").replace("timed out", "nothing to repeat at position 0"),
            id="sre_constants.error",
        ),
    ],
)
def test_an_exception_class_renamed_between_versions_is_one_group(old: str, new: str) -> None:
    """The same statement failing with a class the standard library renamed is one group on old and new
    interpreters, and the same class from another function another."""
    assert checked_key(old).key == checked_key(new).key
    assert checked_key(old.replace("in fetch", "in read")).key != checked_key(old).key


def test_a_class_of_a_renamed_name_elsewhere_keeps_its_name() -> None:
    """Only the standard library's renamed classes are read as their new names: a program's own
    `timeout` or `error` class stays a class of its own."""
    assert checked_key(_raised("shop.net.timeout")).key != checked_key(_raised("TimeoutError")).key
    assert checked_key(_raised("shop.rules.error")).key != checked_key(_raised("re.PatternError")).key


_WAIT = """  File "{root}/sv.py", line 46, in <module>
    run_wait()
  File "{root}/sv.py", line 26, in run_wait
    asyncio.run(wait_slow())
  File "{lib}/asyncio/runners.py", line 44, in run
    return loop.run_until_complete(main)
  File "{lib}/asyncio/base_events.py", line 616, in run_until_complete
    return future.result()
  File "{root}/sv.py", line {line}, in {function}
    await asyncio.wait_for(slow(), 0.01)
  File "{lib}/asyncio/tasks.py", line 501, in wait_for
    {raises}
"""
_SLOW = """Traceback (most recent call last):
  File "{root}/sv.py", line 18, in slow
    await asyncio.sleep(1)
  File "{lib}/asyncio/tasks.py", line 652, in sleep
    return await future
asyncio.exceptions.CancelledError
"""
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _timed_out(version: str, *, root: str = "/srv/app", line: int = 22, function: str = "wait_slow") -> str:
    lib = f"/usr/lib/python{version}"
    outer = "Traceback (most recent call last):\n" + _WAIT.format(
        root=root, lib=lib, line=line, function=function, raises="raise exceptions.TimeoutError() from exc"
    )
    if version == "3.8":
        return outer.replace(" from exc", "") + "asyncio.exceptions.TimeoutError\n"
    slow = _SLOW.format(root=root, lib=lib)
    if version in ("3.9", "3.10"):
        waiting = (
            "Traceback (most recent call last):\n"
            f'  File "{lib}/asyncio/tasks.py", line 490, in wait_for\n'
            "    return fut.result()\n"
            "asyncio.exceptions.CancelledError\n"
        )
        return slow + _CONTEXT + waiting + _CAUSE + outer + "asyncio.exceptions.TimeoutError\n"
    waiting = (
        "Traceback (most recent call last):\n"
        f'  File "{lib}/asyncio/tasks.py", line 500, in wait_for\n'
        "    return fut.result()\n"
        "           ^^^^^^^^^^^^\n"
    )
    return waiting + slow.partition("\n")[2] + _CAUSE + outer + "TimeoutError\n"


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_an_asyncio_timeout_is_one_group_whatever_chain_the_version_prints(version: str) -> None:
    """`asyncio.wait_for` timing out is keyed by the program's call whatever CancelledErrors the version
    chains before its TimeoutError (each version was a group of its own), and another call another."""
    expected = checked_key(_timed_out("3.8"))
    assert checked_key(_timed_out(version, root="/home/ann/app", line=31)).key == expected.key
    assert checked_key(_timed_out(version, function="wait_other")).key != expected.key
    assert checked_key(_timed_out(version)).name == "TimeoutError (sv.wait_slow)"


_INTERRUPTED_310 = """Traceback (most recent call last):
  File "{root}/ki.py", line 18, in <module>
    main()
  File "{root}/ki.py", line 15, in main
    asyncio.run(serve())
  File "/usr/lib/python3.10/asyncio/runners.py", line 44, in run
    return loop.run_until_complete(main)
  File "/usr/lib/python3.10/asyncio/base_events.py", line 603, in run_forever
    self._run_once()
  File "/usr/lib/python3.10/selectors.py", line 469, in select
    fd_event_list = self._selector.poll(timeout, max_ev)
KeyboardInterrupt
"""
_INTERRUPTED_312 = """Traceback (most recent call last):
  File "/usr/lib/python3.12/asyncio/runners.py", line 118, in run
    return self._loop.run_until_complete(task)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "{root}/ki.py", line 10, in serve
    await poll()
  File "{root}/ki.py", line 6, in poll
    await asyncio.sleep(0.001)
  File "/usr/lib/python3.12/asyncio/tasks.py", line 665, in sleep
    return await future
           ^^^^^^^^^^^^
asyncio.exceptions.CancelledError

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{root}/ki.py", line 18, in <module>
    main()
  File "{root}/ki.py", line 15, in main
    asyncio.run(serve())
  File "/usr/lib/python3.12/asyncio/runners.py", line 123, in run
    raise KeyboardInterrupt()
KeyboardInterrupt
"""


def test_an_interrupted_asyncio_program_is_one_group_whatever_chain_the_version_prints() -> None:
    """Ctrl-C during `asyncio.run` is one group on Python 3.8-3.10 (the interrupt where the loop waited)
    and 3.11+ (the main task's CancelledError, then the interrupt the runner raises again): it was two."""
    old = checked_key(_INTERRUPTED_310.format(root="/srv/app"))
    assert checked_key(_INTERRUPTED_312.format(root="/home/ann/app")).key == old.key
    assert checked_key(_INTERRUPTED_312.format(root="/srv/app").replace("ki.py", "other.py")).key != old.key
