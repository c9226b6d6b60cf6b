"""How a count reads in a sentence: "1 event", "2 events", "1,204 events" (pure).

Every output of the analyzers (the digest's templates, the root-cause and slowdown sentences, alert
subjects, command summaries) words a count through `counted`, so none says "1 events".
"""

from __future__ import annotations

from typing import Final

# Nouns whose plural is not the singular + "s" (the rest take "s").
_IRREGULAR: Final = {"process": "processes", "index": "indices", "this": "these", "is": "are", "was": "were"}


def plural(noun: str, count: float) -> str:
    """`noun` as it agrees with `count`: the singular for exactly one, else its plural (pure).
    A phrase ("sampled occurrence", "error line") takes the plural on its last word."""
    if count == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    many = _IRREGULAR.get(last, last + "s")
    return f"{head} {many}" if head else many


def counted(count: float | None, noun: str) -> str:
    """ "1 event", "2 events", "1,204 events", "2.5 hours"; a missing count is a dash with the plural."""
    if count is None or count != count:  # None, or a NaN (pandas' missing value)
        return f"– {plural(noun, 2)}"
    shown = f"{count:,.0f}" if float(count).is_integer() else f"{count:,.1f}"
    return f"{shown} {plural(noun, count)}"
