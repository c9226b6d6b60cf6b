"""Reports: formatting, text, importing report plug-ins (standard library)."""

from __future__ import annotations

import argparse
import collections
import copy
import dataclasses
import email.utils
import functools
import heapq
import importlib
import itertools
import locale
import math
import operator
import string
import textwrap
import tomllib
import unicodedata
from typing import Any

from fleetapp.registry import bug


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    total: int


@bug("string")
def render_header(v: str) -> str:
    return string.Template("Report for $customer ($period)").substitute(customer=v)


@bug("string")
def render_footer(v: str) -> str:
    return "Total: {total:d} for {name}".format(total=v, name=v)


@bug("builtins")
def render_percent(v: str) -> str:
    return "%d%% of %s" % (v, v)  # type: ignore[str-format]


@bug("textwrap")
def wrap_comment(v: str) -> list[str]:
    return textwrap.wrap(v, width=0)


@bug("math")
def growth_rate(v: str) -> float:
    return math.log(-len(v))


@bug("math")
def chart_scale(v: str) -> float:
    return math.sqrt(-1 - len(v))


@bug("itertools")
def pair_rows(v: str) -> list[Any]:
    return list(itertools.zip_longest(v, strict=True))  # type: ignore[call-overload]


@bug("heapq")
def top_customers(v: str) -> list[Any]:
    rows = [{"name": v, "total": 1}, {"name": "x", "total": 1}]
    return heapq.nlargest(1, [(r["total"], r) for r in rows])


@bug("functools")
def total_of_rows(v: str) -> Any:
    return functools.reduce(operator.add, [])


@bug("collections")
def counter_of(v: str) -> Any:
    return collections.Counter(v) + [1]  # type: ignore[operator]


@bug("copy")
def clone_report(v: str) -> Any:
    return copy.deepcopy({"gen": (c for c in v)})


@bug("dataclasses")
def adjust_row(v: str) -> None:
    row = Row(v, 1)
    row.total = 2  # type: ignore[misc]


@bug("dataclasses")
def row_from(v: str) -> Row:
    return Row(**{"name": v, "count": 1})  # type: ignore[call-arg]


@bug("importlib")
def load_report_plugin(v: str) -> Any:
    return importlib.import_module(f"fleetapp_reports_{v.replace('-', '_').replace(' ', '_')}")


@bug("importlib")
def load_exporter(v: str) -> Any:
    import fleetapp_exporter  # type: ignore[import-not-found]  # noqa: F401

    return None


@bug("locale")
def report_locale(v: str) -> Any:
    return locale.setlocale(locale.LC_ALL, f"{v}_XX.UTF-8")


@bug("email")
def report_sent_at(v: str) -> Any:
    return email.utils.parsedate_to_datetime(v)


@bug("unicodedata")
def glyph_name(v: str) -> str:
    return unicodedata.name("\x00")


@bug("unicodedata")
def glyph_lookup(v: str) -> str:
    return unicodedata.lookup(f"LATIN LETTER {v.upper()}")


@bug("tomllib")
def read_report_config(v: str) -> Any:
    return tomllib.loads(f"[report]\nname = {v}\n")


@bug("tomllib")
def report_columns(v: str) -> Any:
    return tomllib.loads("[report]\ncolumns = 3\n")["report"]["columns"][0]


@bug("argparse")
def report_options(v: str) -> Any:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--weeks", type=int)
    return parser.parse_args(["--weeks", v])


@bug("builtins")
def report_title(v: str) -> str:
    return v.capitalise()  # type: ignore[attr-defined,no-any-return]


@bug("builtins")
def report_rows(v: str) -> Any:
    return sorted([v, 1, None])  # type: ignore[type-var]
