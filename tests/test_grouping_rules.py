"""Grouping rules of GROUPING_VERSION 3 on real raised exceptions: funnels, recursion through
comprehensions, group members, library frames with and without `in_app`, bare-word variables in
message-only lines, and titles."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from shipper.grouping.fingerprint import fingerprint_event
from shipper.grouping.options import GroupingOptions
from shipper.grouping.templates import mine
from shipper.grouping.titles import template_title, title


class PluginError(RuntimeError):
    """A host application's report of a plug-in failure."""


def _dispatch(plugin: Callable[[], object]) -> None:
    failure = None
    try:
        plugin()
    except Exception as exc:
        failure = exc
    raise PluginError(f"Error: {failure}")


def _trace(function: Callable[[], object]) -> str:
    try:
        function()
    except BaseException as exc:
        return "".join(traceback.format_exception(exc))
    raise AssertionError("did not raise")


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
    keys = {_key(_trace(lambda plugin=plugin: _dispatch(plugin))) for plugin in (_divide, _none_attribute)}
    assert len(keys) == 2


def test_funnel_keeps_one_bug_whole_when_only_a_value_changes() -> None:
    """The same plug-in failure with other values in its text stays one group."""
    keys = {_key(_trace(lambda value=value: _dispatch(lambda: _bad_int(value)))) for value in ("x1", "y22")}
    assert len(keys) == 1


def test_raise_with_a_value_in_its_message_is_not_a_funnel() -> None:
    """A raise whose built message only adds a value (a bare word) keys by its statement alone."""

    def fail(name: str) -> None:
        raise LookupError(f"no queue named {name}")

    assert _key(_trace(lambda: fail("emails"))) == _key(_trace(lambda: fail("invoices")))


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
        texts = [_trace(lambda extra=extra: _at_depth(extra, lambda: _depth(_cycle()))) for extra in range(4)]
    finally:
        sys.setrecursionlimit(limit)
    assert any("<listcomp>" in text for text in texts)
    assert len({_key(text) for text in texts}) == 1


def test_exception_group_members_never_raised_group_by_type_not_data() -> None:
    """A group of constructed members is one group whatever the members' messages say."""

    def reject(values: list[str]) -> None:
        raise ExceptionGroup("rejected", [ValueError(f"bad line {value}") for value in values])

    assert _key(_trace(lambda: reject(["cron"]))) == _key(_trace(lambda: reject(["alice", "bob"])))


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


def test_traceback_title_names_the_culprit() -> None:
    """A traceback group's title ends with the culprit: the module and function of its raise site."""
    found = fingerprint_event({"error": {"stack_trace": _trace(_none_attribute)}})
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
    text = _trace(_payment_failure)
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
        {"error": {"stack_trace": _trace(_payment_failure)}, "extra": {"fingerprint": ["billing"]}}
    )
    second = fingerprint_event(
        {"error": {"stack_trace": _trace(_divide)}, "extra": {"fingerprint": ["billing"]}}
    )
    assert first is not None and second is not None and first.key == second.key


def test_rule_group_by_message_splits_one_raise_site_by_its_masked_message() -> None:
    """A `group_by = "message"` rule for a type keys its events by type and masked message."""
    from shipper.grouping.options import options_from_table

    def fail(text: str) -> None:
        raise LookupError(text)

    options = options_from_table({"rules": [{"type": "LookupError", "group_by": "message"}]})
    one, other, again = (_trace(lambda t=t: fail(t)) for t in ("no user 1", "no order 2", "no user 3"))
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

    first, second = _trace(_first_caller), _trace(_second_caller)
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
