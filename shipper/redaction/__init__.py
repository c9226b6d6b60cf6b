"""Secrets never leave the process: named rules that find secrets in text, keys, argv and documents.

A `Redactor` (frozen: the default rules plus a user's key names and patterns) answers two questions:
where the secrets in a text are (`findings`, each a span and the name of the rule that found it) and
what the text, argv list, mapping or whole ECS document looks like with them hidden (`redact_*`).
`redact_document` is the one pass over a finished document: every string at any depth goes through
the text rules, and in the free-form parts (`extra`, `logloop.context`, `logloop.env.vars`) a key
that names a secret hides its whole value, as does a `[name, value]` pair or a `{"name": ...,
"value": ...}` object whose name does; a secret found in one field (or one place of a text) is then
hidden wherever else it stands, where nothing names it (a traceback's locals, then the message).

The rule that must not be broken: a secret is replaced by `[REDACTED]` whatever its value, so two
events that differ only by a secret read the same (and group the same) after redaction. Keys,
schemes and quotes around a secret stay, so the text stays readable. Over-redaction is the safe
failure: a value that only looks secret is hidden too.

Every pattern is anchored at a word start and every repetition bounded, so the cost stays linear in
a text's length (a 256 KiB word must not cost quadratic time); a text without any trigger word
(`might_contain_secret`) costs one search of a pattern of the trigger words, laid out as a trie.
Every pattern compiles on its first use (`shipper.lazy_regex`), and the modules load on the first use
of a public name (`__getattr__`): a program that logs through the shipper redacts nothing itself
unless it is asked to (its delivery agent redacts the records), and loading the rules cost a short
script about 30 M instructions, a tenth of its run. For the same reason the modules are not many: each
costs some 0.5 M instructions to find and load.

The modules, each importing only those above it in this list (`.importlinter` holds the order):

- `model`: `Finding`, `Rule`, `RuleRunner`, the trie of words, a text's other forms, the patterns' pieces;
- `keys`: which keys name a secret, words of prose, which values are and are not secrets;
- the rules, by family: `tokens` (shapes known wherever they stand), `web` (URLs, headers, cookies,
  query strings), `pairs` (key=value and flags, prose and other languages), `commands` (command lines,
  session and protocol transcripts), `formats` (XML, tables, dumps, configuration files), `code` (calls
  and exceptions, values printed apart from their names);
- `rules`: the default rules in their order, and the trigger words;
- `redactor`: the `Redactor` (copies of a found secret, a log call's %-template), the `[redaction]`
  section, `DEFAULT` and its methods as functions;
- `announced` (beside them, on `model` only): a value one record announces and the next record of its
  stream holds, read with the rules a `Redactor` runs (the formatter keeps each stream's line).

A new rule goes in its family's module and into `rules.DEFAULT_RULES` (its trigger words into
`rules._TRIGGERS`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from shipper.redaction.keys import key_words
    from shipper.redaction.model import REDACTED, Finding, Rule
    from shipper.redaction.redactor import (
        DEFAULT,
        FREE_FORM_FIELDS,
        Redactor,
        findings,
        is_secret_key,
        might_contain_secret,
        options_from_config,
        redact_argv,
        redact_document,
        redact_mapping,
        redact_message,
        redact_text,
        redact_value,
    )
    from shipper.redaction.rules import DEFAULT_RULES, RULE_NAMES

# Where each public name is defined.
_HOMES: Final = {
    "key_words": "keys",
    **dict.fromkeys(("REDACTED", "Finding", "Rule"), "model"),
    **dict.fromkeys(("DEFAULT_RULES", "RULE_NAMES"), "rules"),
    **dict.fromkeys(
        (
            "DEFAULT", "FREE_FORM_FIELDS", "Redactor", "findings", "is_secret_key", "might_contain_secret",
            "options_from_config", "redact_argv", "redact_document", "redact_mapping", "redact_message",
            "redact_text", "redact_value",
        ),
        "redactor",
    ),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # asked once
    return value


def load() -> None:
    """Load the rules now (where the first use must not pay for it: a logging call)."""
    importlib.import_module(f"{__name__}.redactor")  # which imports every other module


__all__ = [
    "DEFAULT",
    "DEFAULT_RULES",
    "FREE_FORM_FIELDS",
    "REDACTED",
    "RULE_NAMES",
    "Finding",
    "Redactor",
    "Rule",
    "findings",
    "is_secret_key",
    "key_words",
    "load",
    "might_contain_secret",
    "options_from_config",
    "redact_argv",
    "redact_document",
    "redact_mapping",
    "redact_message",
    "redact_text",
    "redact_value",
]
