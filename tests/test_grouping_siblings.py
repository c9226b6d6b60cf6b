"""Siblings in same-named files: the program's frames are keyed by their module's path from the program's
package (`shop/payments/views`), not by the file's stem alone, so the same statement in the same-named
function of `payments/views.py` and `shipping/views.py` is two groups, on any install of the program;
frames of libraries, of the standard library and of a program whose package is not known keep the stem."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shipper.grouping.fingerprint import (
    fingerprint_event,
    fingerprint_plain,
    fingerprint_traceback,
    with_package_frames,
)
from shipper.grouping.options import GroupingOptions
from shipper.grouping.tracebacks import parse_traceback

# A library raise (keyed by the program's calling statement) and the program's own raise.
LIBRARY_RAISE = """Traceback (most recent call last):
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    resp.raise_for_status()
  File "/srv/venv/lib/python3.11/site-packages/requests/models.py", line 1024, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: http://partner/x
"""
PROGRAM_RAISE = """Traceback (most recent call last):
  File "{root}{sep}shop{sep}api.py", line 40, in handle
    return views.fetch(request)
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    raise LookupError("no such order")
LookupError: no such order
"""
STDLIB_RAISE = """Traceback (most recent call last):
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    return json.loads(body)
  File "/usr/lib/python3.12/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
  File "/usr/lib/python3.12/json/decoder.py", line 355, in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
"""
INTERRUPT = """Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    time.sleep(5)
KeyboardInterrupt
"""
RECURSION = """Traceback (most recent call last):
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    return fetch(order)
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    return fetch(order)
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded
"""
COMPREHENSION_RECURSION = """Traceback (most recent call last):
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    return [fetch(child) for child in order]
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in <listcomp>
    return [fetch(child) for child in order]
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    return [fetch(child) for child in order]
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in <listcomp>
    return [fetch(child) for child in order]
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
    return [fetch(child) for child in order]
RecursionError: maximum recursion depth exceeded
"""
WITHOUT_SOURCE = """Traceback (most recent call last):
  File "{root}{sep}shop{sep}{app}{sep}views.py", line {line}, in fetch
  File "/srv/venv/lib/python3.11/site-packages/lxml/etree.pyx", line 3, in lxml.etree.fromstring
lxml.etree.XMLSyntaxError: Start tag expected, '<' not found, line 1, column 1
"""
TRACES = [pytest.param(LIBRARY_RAISE, id="library-raise"), pytest.param(PROGRAM_RAISE, id="program-raise")]
KINDS = [
    *TRACES,
    pytest.param(STDLIB_RAISE, id="stdlib-raise"),
    pytest.param(INTERRUPT, id="interrupt"),
    pytest.param(RECURSION, id="recursion"),
    pytest.param(COMPREHENSION_RECURSION, id="comprehension-recursion"),
    pytest.param(WITHOUT_SOURCE, id="without-source"),
]

# Where one program's package lives on the hosts of one fleet (the directory that holds `shop/`).
ROOTS = [
    pytest.param("/home/alice/src/shop/src", "/", id="checkout"),
    pytest.param("/home/shop/shop", "/", id="user-and-checkout-named-like-the-package"),
    pytest.param("/app", "/", id="docker"),
    pytest.param("/srv/venv/lib/python3.11/site-packages", "/", id="venv"),
    pytest.param("/usr/lib/python3/dist-packages", "/", id="dist-packages"),
    pytest.param("/usr/lib/python3.11/site-packages/shop-1.4-py3.11.egg", "/", id="egg"),
    pytest.param("C:\\Users\\bob\\shop", "\\", id="windows"),
]

LOGGED = GroupingOptions()
IN_APP = GroupingOptions(in_app=("shop",))


def _trace(template: str, root: str, sep: str, app: str, line: int = 12) -> str:
    return template.format(root=root, sep=sep, app=app, line=line)


def _key(text: str, logger: str, options: GroupingOptions) -> str:
    doc: dict[str, object] = {"log": {"logger": logger, "level": "error"}, "error": {"stack_trace": text}}
    found = fingerprint_event(doc, options)
    assert found is not None
    return found.key


@pytest.mark.parametrize("template", KINDS)
@pytest.mark.parametrize(
    ("logger", "options"),
    [
        pytest.param("shop.payments.views", LOGGED, id="logger-package"),
        pytest.param("", IN_APP, id="in-app"),
    ],
)
@pytest.mark.parametrize(("root", "sep"), ROOTS)
def test_siblings_in_same_named_files_of_two_subpackages_are_two_groups(
    template: str, logger: str, options: GroupingOptions, root: str, sep: str
) -> None:
    """The same statement in `fetch` of `shop/payments/views.py` and of `shop/shipping/views.py` is two
    groups when the program's package is known, on every install of it."""
    payments = _key(_trace(template, root, sep, "payments"), logger, options)
    shipping = _key(_trace(template, root, sep, "shipping"), logger, options)
    assert payments != shipping


@pytest.mark.parametrize("template", KINDS)
@pytest.mark.parametrize(
    ("logger", "options"),
    [
        pytest.param("shop.payments.views", LOGGED, id="logger-package"),
        pytest.param("", IN_APP, id="in-app"),
    ],
)
def test_one_bug_is_one_group_on_every_install_of_the_program(
    template: str, logger: str, options: GroupingOptions
) -> None:
    """Recurrences of one bug under a checkout, Docker, a venv, dist-packages, an egg and Windows, at
    other line numbers, are one group: the module's path is taken from the package on."""
    keys = {
        _key(_trace(template, str(root.values[0]), str(root.values[1]), "payments", line), logger, options)
        for line, root in enumerate(ROOTS, start=12)
    }
    assert len(keys) == 1


@pytest.mark.parametrize("template", TRACES)
@pytest.mark.parametrize("logger", ["", "root", "__main__"])
def test_without_a_known_package_a_frame_is_keyed_by_its_file_name(template: str, logger: str) -> None:
    """With no `in_app` and no logger naming a package, the program's frames are keyed as before, by
    the file's stem: the siblings stay one group (nothing tells which directories are the program's)."""
    payments = _key(_trace(template, "/app", "/", "payments"), logger, LOGGED)
    shipping = _key(_trace(template, "/app", "/", "shipping"), logger, LOGGED)
    assert payments == shipping


@pytest.mark.parametrize("template", KINDS)
@pytest.mark.parametrize(("root", "sep"), ROOTS)
def test_the_fast_path_keys_the_package_path_as_the_general_parser_does(
    template: str, root: str, sep: str
) -> None:
    """`fingerprint_plain` given the program's package answers with the general parser's key (on the
    text with the package's frames marked), for the program's frames under any install directory."""
    text = _trace(template, root, sep, "payments")
    fast = fingerprint_plain(text, "shop")
    general = fingerprint_traceback(parse_traceback(with_package_frames(text, "shop")))
    assert fast is not None
    assert (fast.key, fast.name) == (general.key, general.name)


def test_the_title_names_the_module_of_the_program_frame() -> None:
    """A group's title names its culprit by the module's dotted path from the package (as Sentry's
    culprit does), so the two siblings' titles tell them apart too."""
    text = _trace(PROGRAM_RAISE, "/app", "/", "shipping")
    found = fingerprint_event({"log": {"logger": "shop"}, "error": {"stack_trace": text}})
    assert found is not None
    assert found.name == "LookupError: no such order (shop.shipping.views.fetch)"


PROGRAM = {
    "shop/__init__.py": "",
    "shop/payments/__init__.py": "",
    "shop/shipping/__init__.py": "",
    "shop/payments/views.py": "def fetch(order):\n    raise LookupError(f'no such order {order}')\n",
    "shop/shipping/views.py": "def fetch(order):\n    raise LookupError(f'no such order {order}')\n",
}
RUN = textwrap.dedent(
    """
    import json, sys, traceback
    from shop.payments import views as payments
    from shop.shipping import views as shipping
    texts = []
    for fetch in (payments.fetch, shipping.fetch, payments.fetch):
        try:
            fetch(len(texts))
        except LookupError as exc:
            texts.append("".join(traceback.format_exception(exc)))
    print(json.dumps(texts))
    """
)


def test_really_raised_siblings_split_and_recur_across_installs(tmp_path: Path) -> None:
    """Really raised from a real package installed under two directories (a checkout and a venv's
    site-packages): the two `views.fetch` are two groups, and each is one group on both installs."""
    keys: list[list[str]] = []
    for root in (tmp_path / "home" / "dev" / "shop", tmp_path / "venv" / "lib" / "site-packages"):
        for name, code in PROGRAM.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(code, encoding="utf-8")
        run = subprocess.run(
            [sys.executable, "-c", RUN], cwd=root, capture_output=True, text=True, check=True, timeout=60
        )
        keys.append([_key(text, "shop.views", LOGGED) for text in json.loads(run.stdout)])
    checkout, venv = keys
    assert checkout == venv
    assert checkout[0] != checkout[1]
    assert checkout[0] == checkout[2]
