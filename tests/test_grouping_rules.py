"""Grouping rules of GROUPING_VERSION 3 on real raised exceptions: funnels, recursion through
comprehensions, group members, library frames with and without `in_app`, bare-word variables in
message-only lines, and titles."""

from __future__ import annotations

import copy
import functools
import inspect
import io
import json
import logging
import os
import pprint
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.keyed import checked_key
from helpers.raised import formatted

from shipper.formatter import EcsFormatter
from shipper.grouping.fingerprint import fingerprint_event, fingerprint_plain, fingerprint_traceback
from shipper.grouping.options import GroupingOptions
from shipper.grouping.templates import mine
from shipper.grouping.titles import _SPECIFIER_RE, logged_culprit, template_title, title
from shipper.grouping.tracebacks import parse_traceback

REPO = Path(__file__).resolve().parents[1]


class PluginError(RuntimeError):
    """A host application's report of a plug-in failure."""


def _dispatch(plugin: Callable[[], object]) -> None:
    failure = None
    try:
        plugin()
    except Exception as exc:
        failure = exc
    raise PluginError(f"Error: {failure}")


DEFAULT = GroupingOptions()


def _key(text: str, options: GroupingOptions = DEFAULT) -> str:
    found = fingerprint_event({"error": {"stack_trace": text}}, options)
    assert found is not None
    return found.key


def _divide() -> object:
    return 1 / 0


def _none_attribute() -> object:
    owner: Any = None
    return owner.name


def _bad_int(value: str) -> object:
    return int(value)


def test_funnel_raise_site_tells_plugin_bugs_apart_by_their_text() -> None:
    """One generic raise statement re-raising different plug-in failures gives one group per failure."""
    keys = {_key(formatted(lambda plugin=plugin: _dispatch(plugin))) for plugin in (_divide, _none_attribute)}
    assert len(keys) == 2


def test_funnel_keeps_one_bug_whole_when_only_a_value_changes() -> None:
    """The same plug-in failure with other values in its text stays one group."""
    keys = {
        _key(formatted(lambda value=value: _dispatch(lambda: _bad_int(value)))) for value in ("x1", "y22")
    }
    assert len(keys) == 1


def _rejected(skus: list[str]) -> object:
    raise ValueError(f"upstream rejected the order: {skus!r} are out of stock and cannot be reserved")


@pytest.mark.parametrize("width", [3, 5, 8], ids=lambda width: f"{width}-digit-items")
def test_funnel_with_a_long_message_keeps_one_bug_whole(width: int) -> None:
    """A funnel re-raising a failure whose text lists values beyond the key's 1,000 characters stays
    one group whatever the values' widths (the key's cut no longer falls inside an item)."""
    keys = set()
    for count in (200, 260):
        skus = [f"sku-{index:0{width}d}" for index in range(count)]
        keys.add(_key(formatted(lambda skus=skus: _dispatch(lambda: _rejected(skus)))))
    keys.add(_key(formatted(lambda: _dispatch(lambda: _rejected([f"sku-{7:03d}"] * 300)))))
    assert len(keys) == 1


class ServiceError(RuntimeError):
    """A program's own error, raised by a helper with the text its caller wrote."""


def _fail(message: str) -> None:
    raise ServiceError(message)


def _find_user(name: str) -> None:
    _fail(f"user {name} was not found in the directory")


def _ship_order(state: str) -> None:
    _fail(f"order is {state} and cannot be shipped today")


def _check_quantity(quantity: str) -> None:
    message = f"quantity {quantity} is not a whole number of boxes"
    raise ServiceError(message)


def test_a_helper_raising_its_callers_text_is_keyed_by_each_caller() -> None:
    """A helper that raises the message it is given (`raise ServiceError(msg)`) raises its callers'
    failures: each caller that wrote the text is a group of its own, whatever bare words fill it."""
    users = {_key(formatted(lambda name=name: _find_user(name))) for name in ("alice", "bob", "carol")}
    orders = {_key(formatted(lambda state=state: _ship_order(state))) for state in ("pending", "on_hold")}
    assert len(users) == 1 and len(orders) == 1 and users != orders


class _DirectoryError(LookupError):
    """A program's failure to find an entry of its directory."""


def _fail_lookup(message: str) -> None:
    raise _DirectoryError(message)


def _find_user(name: str) -> None:
    _fail_lookup(f"user {name} not found in directory")


def _find_group(name: str) -> None:
    _fail_lookup(f"group {name} not found in directory")


def _drawn_by_rich(function: Callable[[], object], width: int) -> str:
    """The traceback `function` raises as rich draws it on a console `width` columns wide."""
    rich_console = pytest.importorskip("rich.console")
    rich_traceback = pytest.importorskip("rich.traceback")
    try:
        function()
    except Exception as exc:  # the point is to draw what it raises
        console = rich_console.Console(file=io.StringIO(), width=width, color_system=None)
        console.print(rich_traceback.Traceback.from_exception(type(exc), exc, exc.__traceback__))
        output: str = console.file.getvalue()
        return output
    raise AssertionError("did not raise")


@pytest.mark.parametrize("width", [100, 140])
def test_a_helpers_raise_read_past_the_fast_path_is_keyed_by_the_caller_that_wrote_its_message(
    width: int,
) -> None:
    """A helper raising the message its caller wrote (`_fail_lookup(f"user {name} not found ...")`), in a
    rendering the fast path does not read (rich's), is keyed by that caller as the traceback `traceback`
    prints is, and as the parser keys it: read past the fast path, the helper's raise was the key (the
    helper's callers one group, apart from their plain tracebacks)."""
    plain = checked_key(formatted(lambda: _find_user("alice")))
    drawn = [_drawn_by_rich(lambda name=name: _find_user(name), width) for name in ("alice", "bob")]
    assert fingerprint_plain(drawn[0]) is None  # (read past the fast path)
    assert {checked_key(text).key for text in drawn} == {plain.key}
    assert checked_key(_drawn_by_rich(lambda: _find_group("alice"), width)).key != plain.key
    assert plain.name.endswith("(test_grouping_rules._find_user)")


def test_a_text_built_in_the_raising_function_keeps_its_callers_in_one_group() -> None:
    """A message built in the raising function itself (then `raise ServiceError(message)`) is one group
    whichever outer code called that function."""

    def from_import() -> None:
        _check_quantity("x1")

    def from_api() -> None:
        _check_quantity("y22")

    assert _key(formatted(from_import)) == _key(formatted(from_api))


def test_a_helper_passing_on_plugin_failures_tells_them_apart_by_their_text() -> None:
    """A helper's caller that reports another failure's text (`_fail(f"Error: {failure}")`) stays a
    funnel: its plug-ins' failures are apart, by their text."""

    def dispatch(plugin: Callable[[], object]) -> None:
        try:
            plugin()
        except Exception as exc:
            failure = exc
        _fail(f"Error: {failure}")

    keys = {_key(formatted(lambda plugin=plugin: dispatch(plugin))) for plugin in (_divide, _none_attribute)}
    assert len(keys) == 2


def _lookup_wrapped(name: str) -> None:
    raise LookupError(
        f"user {name} is not in the directory of this site, and no account can be made for them from here"
    )


def _as_printed_from_3_13(text: str, function: Callable[..., object]) -> str:
    """`text` as Python 3.13 prints it: the raise statement's lines below its first shown too."""
    lines, _ = inspect.getsourcelines(function)
    statement = [line for line in lines if line.strip().startswith(("raise ", "_fail("))]
    first = lines.index(statement[0])
    rest = lines[first + 1 : first + 3]
    shown = statement[0].strip()
    assert f"    {shown}\n" in text
    return text.replace(f"    {shown}\n", f"    {shown}\n" + "".join("    " + line[4:] for line in rest), 1)


def test_a_raise_whose_text_goes_on_below_its_line_is_one_group_whatever_bare_words_fill_it() -> None:
    """A raise a formatter wrapped (`raise LookupError(` with the f-string on the next line) shows none of
    its text's words: it is one group for every bare-word value, printed as 3.11 or as 3.13 prints it."""
    texts = [formatted(lambda name=name: _lookup_wrapped(name)) for name in ("alice", "bob", "carol")]
    keys = {_key(text) for text in texts} | {
        _key(_as_printed_from_3_13(text, _lookup_wrapped)) for text in texts
    }
    assert len(keys) == 1


def _find_user_wrapped(name: str) -> None:
    _fail(
        f"user {name} was not found in the directory of this site, and no account can be made for them here"
    )


def _ship_order_wrapped(state: str) -> None:
    _fail(f"order is {state} and cannot be shipped today, nor on any day until its payment has been cleared")


def test_a_helpers_caller_wrapped_over_lines_is_keyed_by_that_caller() -> None:
    """A helper's caller that a formatter wrapped (`_fail(` with its text below) wrote the message: each
    such caller is one group whatever bare words fill its text, and two callers are two."""
    users = {
        _key(formatted(lambda name=name: _find_user_wrapped(name))) for name in ("alice", "bob", "carol")
    }
    orders = {
        _key(formatted(lambda state=state: _ship_order_wrapped(state))) for state in ("pending", "on_hold")
    }
    assert len(users) == 1 and len(orders) == 1 and users != orders


def _refuse_job(queue: str) -> None:
    message = f"queue {queue} refused the job because its workers are draining"
    raise ServiceError(message)


def _refuse_retry(queue: str) -> None:
    message = f"queue {queue} refused the job because its workers are draining"
    raise ServiceError(message)


def test_a_text_built_above_a_raise_of_its_name_is_one_group_whatever_bare_words_fill_it() -> None:
    """A message built into a variable and raised by name (`msg = f"..."; raise ServiceError(msg)`, as
    flake8-errmsg has code write it) is one group for every bare-word value; the same text raised from
    another function is another group."""
    names = ("billing", "mail", "cron")  # (called through `partial`: no calling line holds the words)
    jobs = {_key(formatted(functools.partial(_refuse_job, name))) for name in names}
    retries = {_key(formatted(functools.partial(_refuse_retry, name))) for name in names}
    assert len(jobs) == 1 and len(retries) == 1 and jobs != retries


def test_raise_with_a_value_in_its_message_is_not_a_funnel() -> None:
    """A raise whose built message only adds a value (a bare word) keys by its statement alone."""

    def fail(name: str) -> None:
        raise LookupError(f"no queue named {name}")

    assert _key(formatted(lambda: fail("emails"))) == _key(formatted(lambda: fail("invoices")))


def _depth(node: dict[str, Any]) -> int:
    return 1 + max([_depth(child) for child in node["children"]], default=0)


def _cycle() -> dict[str, Any]:
    node: dict[str, Any] = {"children": []}
    node["children"].append({"children": [node]})
    return node


def _at_depth(extra: int, function: Callable[[], object]) -> object:
    return function() if extra == 0 else _at_depth(extra - 1, function)


def test_recursion_through_a_comprehension_is_one_group_wherever_the_limit_strikes() -> None:
    """A RecursionError alternating a list comprehension's frame with the function's is one group at
    any starting depth (the limit strikes in either frame)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(150)
    try:
        texts = [
            formatted(lambda extra=extra: _at_depth(extra, lambda: _depth(_cycle()))) for extra in range(4)
        ]
    finally:
        sys.setrecursionlimit(limit)
    assert any("<listcomp>" in text for text in texts)
    assert len({_key(text) for text in texts}) == 1


def _nested(depth: int) -> list[Any]:
    nested: list[Any] = []
    for _ in range(depth):
        nested = [nested]
    return nested


def _snapshot(tree: list[Any]) -> object:
    return copy.deepcopy(tree)


def _backup(tree: list[Any]) -> object:
    return copy.deepcopy(tree)


def _export(tree: list[Any]) -> object:
    return pprint.pformat(tree)


def test_a_recursion_inside_the_standard_library_is_keyed_by_the_statement_that_entered_it() -> None:
    """A RecursionError whose repeating frames are all the standard library's (deepcopy, pprint of a
    structure too deep) is one group per statement of the program that entered it, wherever the limit
    strikes: two functions that deep-copy are two groups (they were one), titled after each."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        texts = {
            (function.__name__, depth, extra): formatted(
                lambda function=function, depth=depth, extra=extra: _at_depth(
                    extra, lambda: function(_nested(depth))
                )
            )
            for function in (_snapshot, _backup, _export)
            for depth in (400, 900)
            for extra in (0, 3)
        }
    finally:
        sys.setrecursionlimit(limit)
    assert all("RecursionError" in text for text in texts.values())
    keys: dict[str, set[str]] = {}
    for (name, _, _), text in texts.items():
        keys.setdefault(name, set()).add(_key(text))
    assert all(len(found) == 1 for found in keys.values()), keys
    assert len(set().union(*keys.values())) == 3
    named = fingerprint_event({"error": {"stack_trace": texts[("_backup", 400, 0)]}})
    assert named is not None and named.name.endswith("(test_grouping_rules._backup)"), named


def test_exception_group_members_never_raised_group_by_type_not_data() -> None:
    """A group of constructed members is one group whatever the members' messages say."""

    def reject(values: list[str]) -> None:
        raise ExceptionGroup("rejected", [ValueError(f"bad line {value}") for value in values])

    assert _key(formatted(lambda: reject(["cron"]))) == _key(formatted(lambda: reject(["alice", "bob"])))


# pex installs each distribution as an unpacked wheel of its own (the program's too), no site-packages.
_PEX = (
    "/home/ci/.pex/installed_wheels/5e1f07/shop-1.4-py3-none-any.whl",
    "/home/ci/.pex/installed_wheels/a9c3d2/requests-2.31.0-py3-none-any.whl",
)
LIBRARY_TRACE = """Traceback (most recent call last):
  File "{app}/shop/{module}.py", line 12, in {function}
    response.raise_for_status()
  File "{packages}/requests/models.py", line 1024, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 404 Client Error: Not Found for url: http://partner/x
"""


@pytest.mark.parametrize(
    ("app", "packages"),
    [
        pytest.param("/srv/app", "/srv/app/.venv/lib/python3.11/site-packages", id="checkout"),
        pytest.param("/usr/lib/python3/dist-packages", "/usr/lib/python3/dist-packages", id="debian"),
        pytest.param(*_PEX, id="pex"),
    ],
)
def test_library_raise_is_one_group_by_default_and_one_per_caller_with_in_app(
    app: str, packages: str
) -> None:
    """By default a library's raising statement is the key (two features: one group); with the
    program's package in `in_app`, each calling statement is a group, wherever the program is installed."""
    fetch = LIBRARY_TRACE.format(app=app, packages=packages, module="rates", function="fetch_rates")
    push = LIBRARY_TRACE.format(app=app, packages=packages, module="orders", function="push_order")
    assert _key(fetch) == _key(push)
    in_app = GroupingOptions(in_app=("shop",))
    assert _key(fetch, in_app) != _key(push, in_app)
    other_install = LIBRARY_TRACE.format(
        app="C:\\\\fleet",
        packages="C:\\\\fleet\\\\Lib\\\\site-packages",
        module="rates",
        function="fetch_rates",
    )
    assert _key(fetch, in_app) == _key(other_install, in_app)


def _logged_key(text: str, logger: str) -> str:
    found = fingerprint_event({"log": {"logger": logger, "level": "error"}, "error": {"stack_trace": text}})
    assert found is not None
    return found.key


@pytest.mark.parametrize(
    ("app", "packages"),
    [
        pytest.param("/srv/app", "/srv/app/.venv/lib/python3.11/site-packages", id="checkout"),
        pytest.param("/usr/lib/python3/dist-packages", "/usr/lib/python3/dist-packages", id="debian"),
        pytest.param(
            "/usr/lib/python3.11/site-packages/shop-1.4-py3.11.egg",
            "/usr/lib/python3.11/site-packages",
            id="egg",
        ),
        pytest.param(*_PEX, id="pex"),
    ],
)
def test_logger_package_keys_a_library_raise_by_the_calling_statement(app: str, packages: str) -> None:
    """With no `in_app`, the package the logger is named after (`shop.rates`) is the program's: two
    features failing in one library call are two groups, the same feature is one group on any install."""
    fetch = LIBRARY_TRACE.format(app=app, packages=packages, module="rates", function="fetch_rates")
    push = LIBRARY_TRACE.format(app=app, packages=packages, module="orders", function="push_order")
    assert _logged_key(fetch, "shop.rates") != _logged_key(push, "shop.orders")
    windows = LIBRARY_TRACE.format(
        app="C:\\fleet", packages="C:\\fleet\\Lib\\site-packages", module="rates", function="fetch_rates"
    )
    assert _logged_key(fetch, "shop.rates") == _logged_key(windows, "shop")


@pytest.mark.parametrize("logger", ["root", "__main__", "", "not a package"])
def test_a_logger_that_names_no_program_package_keeps_the_library_statement(logger: str) -> None:
    """The root logger, `__main__` or a name that is no identifier mark no frame as the program's: a
    library's raising statement stays the key, as without a logger. (A standard-library module's logger
    reads the package from the frames: tests/test_grouping_stdlib_loggers.py.)"""
    app, packages = "/srv/app", "/srv/app/.venv/lib/python3.11/site-packages"
    fetch = LIBRARY_TRACE.format(app=app, packages=packages, module="rates", function="fetch_rates")
    push = LIBRARY_TRACE.format(app=app, packages=packages, module="orders", function="push_order")
    assert _logged_key(fetch, logger) == _logged_key(push, logger) == _key(fetch)


FRAMEWORK_TRACE = """Traceback (most recent call last):
  File "{packages}/uvicorn/protocols/http/h11_impl.py", line 403, in run_asgi
    result = await app(self.scope, self.receive, self.send)
  File "{app}/shop/{module}.py", line 12, in {function}
    response.raise_for_status()
  File "{packages}/requests/models.py", line 1024, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 404 Client Error: Not Found for url: http://partner/x
"""


def test_a_framework_logger_around_the_program_keys_its_library_raises_by_the_programs_call() -> None:
    """When the logger names a framework whose frames call the program's own code (uvicorn logging a
    request's failure), the program is read from the frames: a library raise is keyed by the program's
    calling statement as under the program's own logger (two functions, two groups; another library
    statement under one call, one group), never by the framework's dispatching frame."""
    app, packages = "/srv/app", "/srv/app/.venv/lib/python3.11/site-packages"
    fetch = FRAMEWORK_TRACE.format(app=app, packages=packages, module="rates", function="fetch_rates")
    push = FRAMEWORK_TRACE.format(app=app, packages=packages, module="orders", function="push_order")
    other_raise = fetch.replace("raise HTTPError(http_error_msg, response=self)", "raise HTTPError(reason)")
    assert _logged_key(fetch, "uvicorn.error") == _logged_key(fetch, "shop.rates")
    assert _logged_key(push, "uvicorn.error") == _logged_key(push, "shop.orders")
    assert _logged_key(fetch, "uvicorn.error") != _logged_key(push, "uvicorn.error")
    assert _logged_key(fetch, "uvicorn.error") == _logged_key(other_raise, "uvicorn.error")
    assert _logged_key(fetch, "uvicorn.error") != _key(fetch)  # (no logger: the library's statement)


LIBRARY_TWO_SITES = """Traceback (most recent call last):
  File "/srv/app/shop/jobs.py", line 40, in schedule_job
    return CronTrigger.from_crontab(spec)
  File "/venv/site-packages/apscheduler/triggers/cron/__init__.py", line 9, in from_crontab
    {inner}
{exception}
"""


def test_one_calling_statement_is_one_group_whichever_library_statement_raised() -> None:
    """Which library statement raises varies with the input (like a standard-library one): with the
    program's frames known, one calling statement and one exception type are one group."""
    wrong_count = LIBRARY_TWO_SITES.format(
        inner='raise ValueError(f"Wrong number of fields; got {len(values)}, expected 5")',
        exception="ValueError: Wrong number of fields; got 3, expected 5",
    )
    bad_field = LIBRARY_TWO_SITES.replace(
        "line 9, in from_crontab\n    {inner}",
        "line 9, in from_crontab\n    return cls(minute=values[0])\n"
        '  File "/venv/site-packages/apscheduler/triggers/cron/fields.py", '
        "line 50, in compile_expression\n    {inner}",
    ).format(
        inner='raise ValueError(f\'Unrecognized expression "{expr}" for field "{self.name}"\')',
        exception='ValueError: Unrecognized expression "x" for field "minute"',
    )
    assert _logged_key(wrong_count, "shop.jobs") == _logged_key(bad_field, "shop.jobs")
    assert _key(wrong_count) != _key(bad_field)  # without the program's frames: the library's statements


TEMPLATE_TRACE = """Traceback (most recent call last):
  File "/srv/app/shop/views.py", line 7, in {function}
    return env.from_string(text)
  File "/srv/app/.venv/lib/python3.11/site-packages/jinja2/environment.py", line 1105, in from_string
    return cls.from_code(self, self.compile(source), gs, None)
  File "<unknown>", line 1, in template
jinja2.exceptions.TemplateSyntaxError: {message}
"""


def test_a_frame_shown_without_source_is_keyed_by_the_program_statement_that_reached_it() -> None:
    """A raise in code shown without source (a template, Cython) keys by the program's calling
    statement when the program's frames are known, not by its input-dependent message; another
    calling function stays another group."""
    unexpected = TEMPLATE_TRACE.format(function="render_inline", message="unexpected '}'")
    expected = TEMPLATE_TRACE.format(function="render_inline", message="expected token 'end', got 'x'")
    sibling = TEMPLATE_TRACE.format(function="render_footer", message="unexpected '}'")
    assert _logged_key(unexpected, "shop") == _logged_key(expected, "shop") != _logged_key(sibling, "shop")
    assert _key(unexpected) != _key(expected)  # without the program's frames: the message says which


def _dispatch_chained(plugin: Callable[[], object]) -> None:
    try:
        plugin()
    except Exception as exc:
        raise PluginError(f"plugin failed: {exc}") from exc


def _parse_manifest(text: str) -> object:
    return json.loads(text)


def test_a_chained_funnel_is_keyed_by_its_cause_not_by_its_text() -> None:
    """A funnel raise that chains the failure it reports is keyed by that cause: one plug-in's failure
    with other texts is one group, another plug-in's failure another group."""
    keys = {
        _key(formatted(lambda text=text: _dispatch_chained(lambda: _parse_manifest(text))))
        for text in ("[1,", "[1] x", "")
    }
    assert len(keys) == 1
    assert _key(formatted(lambda: _dispatch_chained(_divide))) not in keys


def _bad_int_x() -> object:
    return _bad_int("x")


def _dispatch_suppressed(plugin: Callable[[], object]) -> None:
    try:
        plugin()
    except Exception as exc:
        raise PluginError(f"Error: {exc}") from None


def test_a_funnel_that_suppresses_the_failure_it_reports_still_tells_plugin_bugs_apart() -> None:
    """A funnel raising every plug-in's failure `from None` shows no cause, so its text keys it: two
    plug-ins' failures are two groups, one failure with other values one, on the fast path as on the
    general parser's (a wrapper of one call is then a group per wording its library gives)."""
    traces = [
        formatted(lambda plugin=plugin: _dispatch_suppressed(plugin)) for plugin in (_divide, _bad_int_x)
    ]
    again = formatted(lambda: _dispatch_suppressed(lambda: _bad_int("twelve")))
    for trace in (*traces, again):
        assert fingerprint_plain(trace) == fingerprint_traceback(parse_traceback(trace))
    assert len({_key(trace) for trace in traces}) == 2
    assert _key(again) == _key(traces[1])


def _old_rate(value: str) -> str:
    warnings.warn(f"old_rate({value!r}) is deprecated, use rate()", DeprecationWarning, stacklevel=2)
    return value


def _quote(value: str) -> str:
    return _old_rate(value)


def _invoice(value: str) -> str:
    return _old_rate(value)


def _as_error(function: Callable[[], object]) -> str:
    """The traceback of `function` with every warning raised as an error (`-W error`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return formatted(function)


# One deprecated helper called in a list comprehension, as Python 3.11 prints it (the `<listcomp>` frame,
# which `stacklevel=2` blames) and as 3.12 prints it (inlined: the function's frame); printed by them.
_WARNED_IN_A_COMPREHENSION = """Traceback (most recent call last):
  File "/srv/app/dep.py", line 15, in <module>
    totals(["a"])
  File "/srv/app/dep.py", line 10, in totals
    return [old_rate(item) for item in items]
{caret}  File "/srv/app/dep.py", line 10, in <listcomp>
    return [old_rate(item) for item in items]
            ^^^^^^^^^^^^^^
  File "/srv/app/dep.py", line 5, in old_rate
    warnings.warn(f"old_rate({{v!r}}) is deprecated", DeprecationWarning, stacklevel=2)
DeprecationWarning: old_rate('a') is deprecated
"""


def test_a_warning_raised_as_an_error_is_keyed_by_the_statement_its_stack_level_blames() -> None:
    """A warning raised as an error by a helper that blames its caller (`stacklevel=2`) is keyed by
    that caller's statement, as its location line names it when logged: two callers of one deprecated
    helper are two groups, one caller with other values one, on the fast path as on the general
    parser's; a comprehension's caller is one group as Python 3.11 and 3.12 print it."""
    quotes = [_as_error(lambda value=value: _quote(value)) for value in ("a", "b")]
    invoice = _as_error(lambda: _invoice("a"))
    for trace in (*quotes, invoice):
        assert fingerprint_plain(trace) == fingerprint_traceback(parse_traceback(trace))
    assert _key(quotes[0]) == _key(quotes[1])
    assert _key(quotes[0]) != _key(invoice)
    assert fingerprint_traceback(parse_traceback(invoice)).name.endswith("(test_grouping_rules._invoice)")
    old = _WARNED_IN_A_COMPREHENSION.format(caret="           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n")
    new = _WARNED_IN_A_COMPREHENSION.format(caret="").replace(
        '  File "/srv/app/dep.py", line 10, in <listcomp>\n    return [old_rate(item) for item in items]\n',
        "",
    )
    assert fingerprint_plain(new) == fingerprint_traceback(parse_traceback(new))
    assert _key(old) == _key(new) != _key(new.replace("in totals", "in averages"))


def test_in_app_by_path_pattern() -> None:
    """An fnmatch pattern of file paths marks the program's frames as a package name does."""
    fetch = LIBRARY_TRACE.format(app="/opt/x", packages="/opt/x/site-packages", module="a", function="f")
    push = LIBRARY_TRACE.format(app="/opt/x", packages="/opt/x/site-packages", module="b", function="g")
    assert _key(fetch, GroupingOptions(in_app=("*/shop/*",))) != _key(
        push, GroupingOptions(in_app=("*/shop/*",))
    )


def test_miner_learns_bare_word_values_that_fill_slots_of_several_statements() -> None:
    """Bare words that fill a slot of several statements are variables: one template per statement,
    while a constant word that differs (backup/restore) still makes two statements."""
    who = ("cron", "api", "ops")
    messages = [f"backup of orders requested by {w} failed" for w in who]
    messages += [f"restore of users requested by {w} failed" for w in who]
    messages += [f"user {w} exceeded quota on emails" for w in who]
    messages += [f"job exports requested by {w} was cancelled" for w in who]
    result = mine(messages)
    assignments = result.assignments
    assert len({assignments[i] for i in range(3)}) == 1
    assert len({assignments[i] for i in range(3, 6)}) == 1
    assert assignments[0] != assignments[3]
    assert len(set(assignments)) == 4


@pytest.mark.parametrize(
    ("type_name", "message", "expected"),
    [
        pytest.param(
            "AttributeError",
            "'NoneType' object has no attribute 'items'",
            "AttributeError: 'NoneType' object has no attribute 'items'",
            id="attribute",
        ),
        pytest.param(
            "ModuleNotFoundError",
            "No module named 'yaml'",
            "ModuleNotFoundError: No module named 'yaml'",
            id="module",
        ),
        pytest.param("KeyError", "'alice'", "KeyError: '<STR>'", id="whole-message-value"),
        pytest.param(
            "CalledProcessError",
            "Command '['sh', '-c', 'exit 2']' returned non-zero exit status 2.",
            "CalledProcessError: Command '<STR>' returned non-zero exit status <NUM>.",
            id="command-not-garbled",
        ),
        pytest.param(
            "ValueError",
            "invalid literal for int() with base 10: 'x12'",
            "ValueError: invalid literal for int() with base <NUM>: '<STR>'",
            id="value-with-digits",
        ),
    ],
)
def test_titles_keep_identifiers_and_mask_values(type_name: str, message: str, expected: str) -> None:
    """Titles keep short quoted identifiers, mask values and never garble nested quotes."""
    assert title(type_name, message) == expected


def test_template_title_writes_specifiers_as_placeholders() -> None:
    """A logging template's title has placeholders, never a raw `%d%%`, and the value's kind for `%s`."""
    assert template_title("", "disk usage at %d%% on %s", "disk usage at 93% on /var/lib/x") == (
        "disk usage at <NUM>% on <PATH>"
    )


@pytest.mark.parametrize(
    ("logger", "file_name", "function", "expected"),
    [
        ("billing.jobs.sync", "sync.py", "run", "billing.jobs.sync.run"),  # getLogger(__name__)
        ("billing.jobs", "__init__.py", "setup", "billing.jobs.setup"),  # a package's own logger
        ("sync", "sync.py", "run", "sync.run"),
        ("app", "sync.py", "run", "sync.run"),  # a logger named for the application
        ("__main__", "backup_db.py", "main", "backup_db.main"),
        ("root", "cron.py", "<module>", "cron"),  # logged at module level
        ("app", "C:\\svc\\jobs\\sync.py", "run", "sync.run"),
        ("app", "/srv/app/jobs/sync.py", "run", "sync.run"),
        ("app", "__init__.py", "setup", "app.setup"),  # (a package's file: its logger's is the best name)
        ("root", "__init__.py", "setup", "setup"),
        ("not a module!", "sync.py", "run", "sync.run"),
        ("app", None, "run", "run"),
        (None, None, None, ""),
        ("app", "", "", ""),
    ],
)
def test_logged_culprit_names_the_logging_call(
    logger: object, file_name: object, function: object, expected: str
) -> None:
    """A logged line's culprit is `module.function` of its logging call: the logger's name where it is
    the module's, else the file's stem; nothing when the event names neither file nor function."""
    assert logged_culprit(logger, file_name, function) == expected


def check_disk(log: logging.Logger, percent: int, path: str) -> None:
    log.error("disk usage at %d%% on %s", percent, path)


def sync_feed(log: logging.Logger, feed: str) -> None:
    log.error(f"feed {feed} could not be fetched")  # an f-string: no template, the message is keyed


@pytest.mark.parametrize("logger_name", ["test_grouping_rules", "app", "__main__"])
def test_logged_error_titles_name_the_logging_call(logger_name: str) -> None:
    """An error logged without a traceback, from a template or an f-string, is titled with its message's
    placeholders and the module.function that logged it, like a traceback group's culprit."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.Logger(logger_name)  # (not registered: no other test's handlers)
    log.addHandler(Keep())
    check_disk(log, 93, "/var/lib/web")
    sync_feed(log, "orders-eu")
    names = []
    for record in records:
        found = fingerprint_event(EcsFormatter(service_name="svc").to_document(record))
        assert found is not None
        names.append(found.name)
    assert names == [
        "disk usage at <NUM>% on <PATH> (test_grouping_rules.check_disk)",
        "feed orders-eu could not be fetched (test_grouping_rules.sync_feed)",
    ]


def test_traceback_title_names_the_culprit() -> None:
    """A traceback group's title ends with the culprit: the module and function of its raise site."""
    found = fingerprint_event({"error": {"stack_trace": formatted(_none_attribute)}})
    assert found is not None
    assert (
        found.name
        == "AttributeError: 'NoneType' object has no attribute 'name' (test_grouping_rules._none_attribute)"
    )
    assert json.dumps(found.name)


def _payment_failure() -> object:
    raise ValueError("card declined")


def test_event_fingerprint_replaces_the_key_and_keeps_the_title() -> None:
    """`extra={"fingerprint": [...]}` with `{{ default }}` gives its own key, apart per value, same title."""
    text = formatted(_payment_failure)
    plain = fingerprint_event({"error": {"stack_trace": text}})
    payment = fingerprint_event(
        {"error": {"stack_trace": text}, "extra": {"fingerprint": ["payment", "{{ default }}"]}}
    )
    refund = fingerprint_event(
        {"error": {"stack_trace": text}, "extra": {"fingerprint": ["refund", "{{ default }}"]}}
    )
    assert plain is not None and payment is not None and refund is not None
    assert len({plain.key, payment.key, refund.key}) == 3
    assert payment.name == plain.name


def test_event_fingerprint_without_default_merges_different_errors() -> None:
    """A fingerprint without `{{ default }}` puts different errors in one group, as the program asked."""
    first = fingerprint_event(
        {"error": {"stack_trace": formatted(_payment_failure)}, "extra": {"fingerprint": ["billing"]}}
    )
    second = fingerprint_event(
        {"error": {"stack_trace": formatted(_divide)}, "extra": {"fingerprint": ["billing"]}}
    )
    assert first is not None and second is not None and first.key == second.key


def test_rule_group_by_message_splits_one_raise_site_by_its_masked_message() -> None:
    """A `group_by = "message"` rule for a type keys its events by type and masked message."""
    from shipper.grouping.options import options_from_table

    def fail(text: str) -> None:
        raise LookupError(text)

    options = options_from_table({"rules": [{"type": "LookupError", "group_by": "message"}]})
    one, other, again = (formatted(lambda t=t: fail(t)) for t in ("no user 1", "no order 2", "no user 3"))
    assert _key(one) == _key(other)  # by default: one raise statement, one group
    assert _key(one, options) != _key(other, options)
    assert _key(one, options) == _key(again, options)


def _helper_raise(text: str) -> None:
    raise RuntimeError(text)


def _first_caller() -> None:
    _helper_raise("failed")


def _second_caller() -> None:
    _helper_raise("failed")


def test_rule_group_by_caller_and_ignore_frame() -> None:
    """`group_by = "caller"` splits a helper's raise by its callers; `ignore_frame` moves the site to
    the caller (the helper's frame no longer keys)."""
    from shipper.grouping.options import options_from_table

    first, second = formatted(_first_caller), formatted(_second_caller)
    assert _key(first) == _key(second)
    by_caller = options_from_table({"rules": [{"type": "RuntimeError", "group_by": "caller"}]})
    assert _key(first, by_caller) != _key(second, by_caller)
    ignore = options_from_table({"rules": [{"module": "test_grouping_rules", "ignore_frame": True}]})
    assert _key(first, ignore) != _key(first)


@pytest.mark.parametrize(
    "table",
    [
        pytest.param({"colour": 1}, id="unknown-key"),
        pytest.param({"in_app": "myapp"}, id="in-app-not-a-list"),
        pytest.param({"rules": [{"group_by": "message"}]}, id="rule-without-condition"),
        pytest.param({"rules": [{"type": "X", "group_by": "hash"}]}, id="bad-group-by"),
        pytest.param({"rules": [{"message": "(", "group_by": "message"}]}, id="bad-regex"),
        pytest.param({"rules": [{"type": "X", "ignore_frame": True}]}, id="ignore-without-module"),
    ],
)
def test_bad_grouping_table_names_the_problem(table: dict[str, Any]) -> None:
    """A bad `[grouping]` table is refused with an error that names the key."""
    from shipper.grouping.options import GroupingConfigError, options_from_table

    with pytest.raises(GroupingConfigError, match=r"grouping"):
        options_from_table(table)


_TRACE_EVENT = (
    '{"error": {"type": "ValueError", "message": "x", "stack_trace": "Traceback (most recent call last):\\n'
    '  File \\"/srv/app/jobs.py\\", line 1, in run\\n    step()\\nValueError: x\\n"}}\n'
)


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        pytest.param('message = "a{1,99999999999}"\ngroup_by = "message"', ["message", "regular expression"],
                     id="regex-repeat-too-large"),
        pytest.param('message = "(unclosed"\ngroup_by = "message"', ["message", "regular expression"],
                     id="regex-unclosed"),
        pytest.param('typ = "X"\ngroup_by = "message"', ["typ", "unknown"], id="unknown-field"),
        pytest.param('type = 5\ngroup_by = "message"', ["type", "string"], id="type-not-a-string"),
        pytest.param('type = ["A", "B"]\ngroup_by = "message"', ["type", "string"], id="type-a-list"),
        pytest.param('type = "X"\ngroup_by = 1', ["group_by", "string"], id="group-by-not-a-string"),
        pytest.param('type = "X"\ngroup_by = "messages"', ["group_by", "messages"], id="group-by-unknown"),
        pytest.param('module = "x"\nignore_frame = "yes"', ["ignore_frame", "true or false"],
                     id="ignore-frame-not-a-flag"),
        pytest.param('module = "x"\nignore_frame = 1', ["ignore_frame", "true or false"],
                     id="ignore-frame-a-number"),
        pytest.param('module = "x"\nignore_frame = true\ngroup_by = "message"', ["ignore_frame", "group_by"],
                     id="two-actions"),
        pytest.param('type = "ValueError"', ["group_by", "ignore_frame"], id="no-action"),
        pytest.param('group_by = "message"', ["condition"], id="no-condition"),
    ],
)  # fmt: skip
def test_bad_rule_in_the_toml_is_one_line_naming_it(tmp_path: Path, rules: str, words: list[str]) -> None:
    """`logloop cluster --config` with a bad `[[grouping.rules]]` exits non-zero with one stderr line
    naming the rule and the problem: before, a regex Python refuses with OverflowError was a traceback,
    `ignore_frame = "yes"` was blamed on a missing module, and a second action or none was accepted
    (the rule silently did nothing, or shadowed the rules after it)."""
    config = tmp_path / "logloop.toml"
    config.write_text(f"[grouping]\n[[grouping.rules]]\n{rules}\n")
    events = tmp_path / "events.jsonl"
    events.write_text(_TRACE_EVENT)
    environ = {name: value for name, value in os.environ.items() if not name.startswith("LOGLOOP_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "logloop.cli",
            "cluster",
            str(events),
            "--config",
            str(config),
            "-o",
            os.devnull,
        ],
        env={**environ, "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = done.stderr.strip()
    assert done.returncode != 0 and "Traceback" not in done.stderr and "\n" not in line, done.stderr
    assert "[[grouping.rules]] number 1" in line, line
    for word in words:
        assert word in line, line


_FINGERPRINT_PROGRAM = """
import logging, sys, shipper
shipper.install("fp", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], close_timeout=30)
log = logging.getLogger("shop.billing")
CASES = {CASES}

def charge(kind):
    if kind == "a":
        raise ValueError("card 4242 declined")
    raise KeyError("user-17")

def refund(kind):
    raise ValueError("refund 99 failed")

for name, fingerprint in CASES.items():
    for kind, call in (("a", charge), ("b", charge), ("c", refund)):
        try:
            call(kind)
        except Exception:
            log.exception("failed", extra={"fingerprint": fingerprint, "case": name, "kind": kind})
    log.error("no stock for item %s", 7, extra={"fingerprint": fingerprint, "case": name, "kind": "d"})
shipper.install("fp").close()
"""

# Fingerprint -> which of four events share a group: a (ValueError in charge), b (KeyError in charge),
# c (ValueError in refund), d (an error line logged without exception): "aabc" puts a and b together.
_FINGERPRINTS = {
    "default-no-spaces": (["{{default}}"], "abcd"),
    "default-odd-spacing": (["{{  Default }}", "x"], "abcd"),
    "type": (["{{ type }}"], "abad"),
    "error-type": (["{{error.type}}"], "abad"),
    "message": (["{{ message }}"], "abcd"),
    "function": (["{{ function }}"], "aacd"),
    "stack-function": (["{{ stack.function }}"], "aacd"),
    "module-and-type": (["{{ module }}", "{{ type }}"], "abad"),
    "logger": (["{{ logger }}"], "aaaa"),
    "level": (["{{ level }}"], "aaaa"),
    "unknown-kept-as-text": (["{{ transaction }}"], "aaaa"),
    "constant": (["payment"], "aaaa"),
    "numbers-as-text": ([1, 2], "aaaa"),
    "none-left-out": (["payment", None], "aaaa"),
    "empty-list-is-the-default": ([], "abcd"),
    "a-mapping-is-the-default": ({"a": 1}, "abcd"),
}


@pytest.mark.es
def test_fingerprint_variables_as_sentry_users_write_them(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A real program's `extra={"fingerprint": [...]}` groups its events on the node as Sentry's would:
    `{{default}}` without spaces is the default key (it was text, so every error of the program one
    group), `{{ message }}`, `{{ function }}`, `{{ module }}`, `{{ error.type }}`... stand for the event's
    values; an unknown variable, a constant, numbers are text; an empty list or a mapping is ignored."""
    import time

    from helpers import programs
    from helpers.delivered import documents

    from kibana.setup import install_template

    install_template(es, index_prefix)
    cases = {name: fingerprint for name, (fingerprint, _) in _FINGERPRINTS.items()}
    program = _FINGERPRINT_PROGRAM.replace("{CASES}", repr(cases))
    done = programs.run(program, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")])
    assert done.returncode == 0, done.stderr
    expected = 4 * len(cases)
    deadline = time.monotonic() + 60
    while len(found := documents(es, index_prefix)) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    keys: dict[str, dict[str, str]] = {}
    for doc in found:
        keys.setdefault(doc["extra"]["case"], {})[doc["extra"]["kind"]] = doc["error"]["grouping_key"]
    for name, (_, shape) in _FINGERPRINTS.items():
        assert _shape([keys[name][kind] for kind in "abcd"]) == _shape(list(shape)), (name, keys[name])


def _shape(values: list[str]) -> str:
    """Which values are equal, as letters in order of first appearance (`x y x z` -> "abac")."""
    letters: dict[str, str] = {}
    return "".join(letters.setdefault(value, "abcd"[len(letters)]) for value in values)


@pytest.mark.parametrize(
    ("pattern", "app"),
    [
        pytest.param("*/src/shop/*", "/srv/src", id="linux-path-linux-pattern"),
        pytest.param("*/src/shop/*", "C:\\srv\\src", id="windows-path-linux-pattern"),
        pytest.param("*\\src\\shop\\*", "C:\\srv\\src", id="windows-path-windows-pattern"),
        pytest.param("*\\src\\shop\\*", "/srv/src", id="linux-path-windows-pattern"),
        pytest.param("*/shop/*.py", "D:/work/src", id="forward-slashes-on-windows"),
    ],
)
def test_in_app_path_pattern_matches_paths_of_either_system(pattern: str, app: str) -> None:
    """An `in_app` path pattern marks the program's frames whichever separator the traceback's paths
    and the pattern use (a Windows host's `C:\\srv\\src\\shop\\rates.py` against `*/src/shop/*` was not
    the program's: two callers of a library were one group there, two on Linux)."""
    packages = "/usr/lib/python3/dist-packages"
    fetch = LIBRARY_TRACE.format(app=app, packages=packages, module="rates", function="fetch_rates")
    push = LIBRARY_TRACE.format(app=app, packages=packages, module="orders", function="push_order")
    in_app = GroupingOptions(in_app=(pattern,))
    assert _key(fetch, in_app) != _key(push, in_app)


VENV_PACKAGES = "/srv/app/.venv/lib/python3.11/site-packages"
STDLIB_TRACE = """Traceback (most recent call last):
  File "{app}/shop/{module}.py", line 40, in {function}
    return json.loads(body)
  File "{stdlib}/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
  File "{stdlib}/json/decoder.py", line 337, in decode
    obj, end = self.raw_decode(s, idx=_w(s, 0).end())
  File "{stdlib}/json/decoder.py", line 355, in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
"""


@pytest.mark.parametrize(
    ("name", "trace", "code"),
    [
        # a directory of the interpreter's or the libraries' install paths
        pytest.param("lib", LIBRARY_TRACE, VENV_PACKAGES, id="lib-venv"),
        pytest.param("usr", LIBRARY_TRACE, "/usr/lib/python3/dist-packages", id="usr-debian"),
        pytest.param("local", LIBRARY_TRACE, "/usr/local/lib/python3.12/site-packages", id="local"),
        pytest.param("Lib", LIBRARY_TRACE, "C:\\fleet\\Lib\\site-packages", id="Lib-windows"),
        pytest.param("Users", LIBRARY_TRACE, "C:\\Users\\ana\\venv\\Lib\\site-packages", id="Users"),
        pytest.param("opt", LIBRARY_TRACE, "/opt/conda/lib/python3.11/site-packages", id="opt-conda"),
        # a library's own subpackage of the program's package's name
        pytest.param("models", LIBRARY_TRACE, VENV_PACKAGES, id="library-module"),
        # standard library code under a directory of that name, or a module of that name
        pytest.param("lib", STDLIB_TRACE, "/usr/lib/python3.11", id="lib-stdlib"),
        pytest.param("python3.11", STDLIB_TRACE, "/usr/lib/python3.11", id="python-version-dir"),
        pytest.param("json", STDLIB_TRACE, "/usr/local/lib/python3.12", id="stdlib-module-name"),
        pytest.param("decoder", STDLIB_TRACE, "/usr/lib/python3.11", id="stdlib-file-name"),
        pytest.param("Lib", STDLIB_TRACE, "C:\\Python311\\Lib", id="Lib-stdlib-windows"),
    ],
)
def test_an_in_app_name_marks_no_library_or_standard_library_frame(name: str, trace: str, code: str) -> None:
    """An `in_app` package name (a project's own `lib`, `models` or `json` package) marks only the
    program's frames: never a standard library file, nor a library installed under site-/dist-packages
    other than the package of that name itself, so two program functions failing in one library call
    stay two groups (such a frame was taken for the program's innermost one: one group)."""
    app = "/srv/app"
    fields = {"packages": code, "stdlib": code, "app": app}
    fetch = trace.format(**fields, module="rates", function="fetch_rates")
    push = trace.format(**fields, module="orders", function="push_order")
    assert _key(fetch, GroupingOptions(in_app=("shop",))) != _key(push, GroupingOptions(in_app=("shop",)))
    both = GroupingOptions(in_app=("shop", name))
    assert _key(fetch, both) != _key(push, both)
    assert _key(fetch, both) == _key(fetch, GroupingOptions(in_app=("shop",)))


@pytest.mark.parametrize(
    ("name", "app", "packages"),
    [
        pytest.param("acme.shop", "/srv/app/acme", VENV_PACKAGES, id="checkout"),
        pytest.param("acme.shop", f"{VENV_PACKAGES}/acme", VENV_PACKAGES, id="installed"),
        pytest.param("acme.shop", "C:\\srv\\acme", "C:\\srv\\venv\\Lib\\site-packages", id="windows"),
    ],
)
def test_a_dotted_in_app_name_marks_the_subpackage(name: str, app: str, packages: str) -> None:
    """A dotted `in_app` name (a namespace package's part, `acme.shop`) marks the frames of that
    subpackage, as its top-level name would (it matched no frame: the library's raise stayed the key)."""
    fetch = LIBRARY_TRACE.format(app=app, packages=packages, module="rates", function="fetch_rates")
    push = LIBRARY_TRACE.format(app=app, packages=packages, module="orders", function="push_order")
    dotted = GroupingOptions(in_app=(name,))
    assert _key(fetch, dotted) != _key(push, dotted)
    assert _key(fetch, dotted) == _key(fetch, GroupingOptions(in_app=(name.partition(".")[0],)))


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # the message cut short (an event past max_event_bytes), so it no longer fits the template
        pytest.param(" ".join(["%s"] * 24) + " done", " ".join(["a b"] * 24) + " don", id="cut-message"),
        pytest.param("%s=%s;" * 30, "k=v;" * 29 + "k=v", id="separators-in-values"),
        pytest.param("%s, %r: %d" * 12, "x, y: 1" * 11 + "x, y: z", id="mixed-specifiers"),
        # a template of many specifiers (a generated one, a format string logged as the template)
        pytest.param("%s " * 50_000, "v " * 50_000, id="fifty-thousand-specifiers"),
        pytest.param("{} " * 50_000 + "%s", "v " * 50_000, id="fields-and-a-specifier"),
    ],
)
def test_a_template_title_takes_linear_time_whatever_the_template_and_message(
    template: str, message: str
) -> None:
    """The title of a template-keyed event is written in a bounded time for any template and message: the
    values of its specifiers were found by a regular expression of one lazy group per specifier, which
    backtracked exponentially on a message that does not fit (14 specifiers took 11 s, about 16 times
    more for each two more), and each specifier's index was counted from the template's start (quadratic
    in the specifiers). A child process must finish every case within the timeout."""
    script = (
        "import json, sys\n"
        "from shipper.grouping.titles import template_title\n"
        "template, message = json.load(sys.stdin)\n"
        "print(template_title('ValueError', template, message)[:40])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([template, message]),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stdout.startswith("ValueError: "), done.stderr


def _regex_values(template: str, message: str) -> list[str]:
    """The values as the regular expression found them (the reference, for small templates only)."""
    pattern, last = "", 0
    for match in _SPECIFIER_RE.finditer(template):
        pattern += re.escape(template[last : match.start()]) + ("%" if match[1] == "%" else "(.*?)")
        last = match.end()
    found = re.fullmatch(pattern + re.escape(template[last:]), message, re.DOTALL)
    return list(found.groups()) if found else []


def test_the_values_of_a_template_are_those_the_lazy_expression_found() -> None:
    """On small templates the linear reading gives exactly the values the lazy regular expression gave
    (the leftmost fit), for messages that fit and messages that do not."""
    import random

    from shipper.grouping.titles import template_values

    rnd = random.Random(7)
    pieces = ["%s", "%d", "%r", "%%", "%(name)s", "%-5s", ": ", " ", "=", ";", "a", "ab", "/", "%5.2f"]
    values = ["", "x", "a", "a b", ": ", "=", "12", "a=b;", "/x/y", "%"]
    for _ in range(3000):
        template = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 7)))
        message = _SPECIFIER_RE.sub(lambda match: "%" if match[1] == "%" else rnd.choice(values), template)
        if rnd.random() < 0.3:  # some that do not fit
            message = message[: rnd.randint(0, len(message))] + rnd.choice(["", "z", ";"])
        assert template_values(template, message) == _regex_values(template, message), (template, message)


def _batch(summary: str, rows: int) -> None:
    raise ExceptionGroup(summary, [ValueError(f"bad row {row}") for row in range(rows)])


@pytest.mark.parametrize("summary", ["could not process the nightly batch", "batch"])
def test_an_exception_groups_member_count_is_no_part_of_its_key(summary: str) -> None:
    """An exception group raised by a funnel (its message brings words of its own) is one group whatever
    the number of its members: the "(N sub-exceptions)" its text ends with (singular for one) is the
    count, not the message."""
    keys = {_key(formatted(lambda rows=rows: _batch(summary, rows))) for rows in (1, 2, 5)}
    assert len(keys) == 1


def test_a_logged_exception_groups_member_count_is_no_part_of_its_key() -> None:
    """A message-only error that prints an exception group (`log.error("%s", group)`) is one group
    whatever the number of its members."""
    keys = {
        fingerprint_event(
            {"log": {"level": "error", "logger": "shop"}, "message": f"batch failed: nightly run ({count})"}
        )
        for count in ("1 sub-exception", "2 sub-exceptions", "12 sub-exceptions")
    }
    assert len({found.key for found in keys if found is not None}) == 1


class Flaky(ConnectionError):
    """A failure a retry handles by trying again."""


def _fetch(attempts: int) -> None:
    try:
        raise Flaky("connection reset by peer")
    except Flaky:
        if attempts <= 1:
            raise
        _fetch(attempts - 1)  # the next attempt, while this one's failure is handled


def _fetch_then_parse() -> None:
    try:
        raise Flaky("connection reset by peer")
    except Flaky:
        _bad_int("x")


def test_a_retry_chaining_one_link_per_attempt_is_one_group_whatever_the_number_of_attempts() -> None:
    """A retry that tries again while handling its failure chains one link per attempt: two, three or
    five attempts are one group (on the fast path and the general one alike), and a chain whose links
    differ stays another group."""
    texts = [formatted(lambda attempts=attempts: _fetch(attempts)) for attempts in (2, 3, 5)]
    assert texts[2].count("During handling") == 4
    general = {fingerprint_traceback(parse_traceback(text)).key for text in texts}
    fast = {plain.key for plain in map(fingerprint_plain, texts) if plain is not None}
    assert len(general) == 1 and fast == general
    assert _key(formatted(_fetch_then_parse)) not in general
