"""What the program and its users tell grouping: `in_app` packages, grouping rules, the fingerprint an
event carries. Pure, standard library only; read from the `[grouping]` TOML table in one place
(`options_from_table`), applied by `shipper.grouping.fingerprint`.

The rule a reader must not break: with no options and no `extra.fingerprint`, every key is the default
one (options only ever refine or replace a key the user asked to change).

    [grouping]
    in_app = ["myapp", "*/src/myapp/*"]   # packages (or fnmatch path patterns) that are the program's

    [[grouping.rules]]                    # first match wins; every condition given must hold
    type = "PluginError"                  # exception type (short or dotted name)
    module = "myapp.plugins.*"            # fnmatch on the raising frame's dotted module
    message = "^Error: "                  # regular expression searched in the message's first line
    group_by = "message"                  # "message" (type + masked message), "caller" (add the
                                          # raising function's caller), "default"
    [[grouping.rules]]
    module = "myapp.retry"
    ignore_frame = true                   # frames of this module never key a group (the site moves out)

Each rule has one action, `group_by` or `ignore_frame = true`. Of the `group_by` rules the first an
event meets wins (put the narrow ones first); every `ignore_frame` rule applies, in any order, before.

An event's own fingerprint (`log.error(..., extra={"fingerprint": ["payment", "{{ default }}"]})`):
a list of strings (other values as their text; None left out), which replaces the key; the title stays
the default one. A part that is a variable, written as Sentry's (`{{ default }}`, `{{default}}`, any
case), stands for a value of the event (`VARIABLES`): `default` the key grouping would give, `type`
(`error.type`) the exception type, `message` (`error.value`) its masked first line, `function`
(`stack.function`) and `module` (`stack.module`) the raising frame's (a logged line's call), `logger`,
`level`. Another `{{ name }}` is kept as text, as Sentry keeps it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shipper.lazy_regex import compile_cached

GROUP_BY: Final = ("default", "message", "caller")
DEFAULT_PART: Final = "{{ default }}"
TYPE_PART: Final = "{{ type }}"
# The fingerprint variables by the names Sentry users write them, and the value each stands for.
VARIABLES: Final = {
    "default": "default",
    "type": "type",
    "error.type": "type",
    "message": "message",
    "error.value": "message",
    "function": "function",
    "stack.function": "function",
    "module": "module",
    "stack.module": "module",
    "logger": "logger",
    "level": "level",
}
_VARIABLE_RE: Final = compile_cached(r"\{\{\s*([A-Za-z_.]+)\s*\}\}")


class GroupingConfigError(ValueError):
    """A `[grouping]` table that cannot be used; the message names the key and what to write."""


@dataclass(frozen=True, slots=True)
class GroupingRule:
    """One rule of the `[grouping]` table: conditions (all given ones must hold) and an action."""

    type: str = ""
    module: str = ""
    message: str = ""
    group_by: str = "default"
    ignore_frame: bool = False

    def matches(self, type_name: str, module: str, message: str) -> bool:
        """Whether an event of this exception type, raising module and message meets every condition."""
        if self.type and self.type not in (type_name, type_name.rsplit(".", 1)[-1]):
            return False
        if self.module and not fnmatch.fnmatchcase(module, self.module):
            return False
        return not (self.message and re.search(self.message, message) is None)


@dataclass(frozen=True, slots=True)
class GroupingOptions:
    """`in_app`: packages (`myapp`, or dotted, `acme.billing`) or fnmatch patterns of file paths that
    are the program's own code, wherever it is installed (`fingerprint.with_program_frames` says where
    a name is looked for); `rules`: see the module docstring."""

    in_app: tuple[str, ...] = ()
    rules: tuple[GroupingRule, ...] = ()

    @property
    def ignored_modules(self) -> tuple[str, ...]:
        return tuple(rule.module for rule in self.rules if rule.ignore_frame and rule.module)

    def rule_for(self, type_name: str, module: str, message: str) -> GroupingRule | None:
        """The first `group_by` rule the event meets; None if none does."""
        for rule in self.rules:
            if not rule.ignore_frame and rule.matches(type_name, module, message):
                return rule
        return None


DEFAULT_OPTIONS: Final = GroupingOptions()


def in_app_problem(item: str) -> str | None:
    """What makes `item` no `in_app` package name or path pattern, or None (pure). An empty name
    matches the empty first part of every absolute path, and a pattern of wildcards alone every
    path: each would tell every frame, the libraries' too, as the program's."""
    if not item.strip():
        return "is empty: give a package name (myapp) or a path pattern (*/src/myapp/*)"
    if item != item.strip():
        return "has spaces around it, so it matches no frame: write the name alone"
    if any(ord(char) < 32 or ord(char) == 127 for char in item):
        return "holds a control character: give a package name or a path pattern"
    if not item.strip("*?/\\"):
        return "matches every file, the libraries' too: give a package name or a narrower pattern"
    return None


def options_from_table(table: Mapping[str, Any]) -> GroupingOptions:
    """GroupingOptions from a `[grouping]` TOML table; GroupingConfigError naming the bad key."""
    unknown = set(table) - {"in_app", "rules"}
    if unknown:
        raise GroupingConfigError(
            f"unknown key(s) in [grouping]: {', '.join(sorted(unknown))}; known: in_app, rules"
        )
    in_app = table.get("in_app", [])
    if not isinstance(in_app, list) or not all(isinstance(item, str) for item in in_app):
        raise GroupingConfigError("[grouping] in_app must be a list of package names or path patterns")
    for index, item in enumerate(in_app):
        problem = in_app_problem(item)
        if problem is not None:
            raise GroupingConfigError(f"[grouping] in_app[{index}] = {item!r} {problem}")
    rules = table.get("rules", [])
    if not isinstance(rules, list):
        raise GroupingConfigError("[grouping] rules must be an array of tables ([[grouping.rules]])")
    return GroupingOptions(
        in_app=tuple(in_app), rules=tuple(_rule(index, rule) for index, rule in enumerate(rules))
    )


def _rule(index: int, table: Any) -> GroupingRule:
    where = f"[[grouping.rules]] number {index + 1}"
    if not isinstance(table, Mapping):
        raise GroupingConfigError(f"{where} must be a table")
    known = {"type", "module", "message", "group_by", "ignore_frame"}
    unknown = set(table) - known
    if unknown:
        raise GroupingConfigError(
            f"unknown key(s) in {where}: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    for key in ("type", "module", "message", "group_by"):
        if key in table and not isinstance(table[key], str):
            raise GroupingConfigError(f"{where}: {key} must be a string")
    if not any(table.get(key) for key in ("type", "module", "message")):
        raise GroupingConfigError(f"{where} needs a condition: type, module or message")
    group_by = table.get("group_by", "default")
    if group_by not in GROUP_BY:
        raise GroupingConfigError(f"{where}: group_by must be one of {', '.join(GROUP_BY)}, not {group_by!r}")
    ignore_frame = table.get("ignore_frame", False)
    if not isinstance(ignore_frame, bool):
        raise GroupingConfigError(f"{where}: ignore_frame must be true or false, not {ignore_frame!r}")
    if ignore_frame and not table.get("module"):
        raise GroupingConfigError(f"{where}: ignore_frame = true needs a module pattern")
    if ignore_frame and "group_by" in table:
        raise GroupingConfigError(
            f"{where}: ignore_frame = true and group_by are two actions: give each its own rule"
        )
    if not ignore_frame and "group_by" not in table:
        raise GroupingConfigError(
            f'{where} needs an action: group_by = "message", "caller" or "default", or ignore_frame = true'
        )
    if table.get("message"):
        try:
            re.compile(table["message"])
        except (re.error, OverflowError, RecursionError, ValueError) as exc:
            raise GroupingConfigError(f"{where}: message is not a regular expression ({exc})") from None
    return GroupingRule(
        type=table.get("type", ""),
        module=table.get("module", ""),
        message=table.get("message", ""),
        group_by=group_by,
        ignore_frame=ignore_frame,
    )


def user_fingerprint(value: Any) -> tuple[str, ...] | None:
    """An event's own fingerprint as parts; None unless it is a non-empty list of strings (or one)."""
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes) and value:
        parts = tuple(str(part) for part in value if part is not None)
        return parts or None
    return None


def fingerprint_variable(part: str) -> str | None:
    """The value a fingerprint part stands for (a `VARIABLES` value) when it is a known variable."""
    if "{{" not in part:
        return None
    match = _VARIABLE_RE.fullmatch(part.strip())
    return VARIABLES.get(match[1].lower()) if match else None
