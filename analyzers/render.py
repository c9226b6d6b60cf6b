"""Render a digest Report as html, text, markdown or json.

The templates live in `analyzers/templates/` (data, not code). Log content is untrusted: the HTML
environment autoescapes everything, Markdown goes through the `md` and `fence` filters and text
through `line` (`analyzers.escaping`), and every output loses control characters. Images are
referenced by name; the caller decides whether a name becomes a `cid:` reference (email) or a
`data:` URI (a file).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

import jinja2

from analyzers.digest_model import GroupRow, Report
from analyzers.digest_window import Window
from analyzers.escaping import (
    json_text,
    markdown_code,
    markdown_code_span,
    markdown_inline,
    terminal_safe,
    text_line,
)
from analyzers.exceptions import ConfigurationError
from analyzers.links import show_command, ticket_command
from analyzers.wording import counted, plural

FORMATS: Final = ("html", "text", "markdown", "json")
TEMPLATES: Final = {"html": "digest.html.j2", "text": "digest.txt.j2", "markdown": "digest.md.j2"}
STATUS_COLOURS: Final = {
    "new": "#2471a3",
    "escalating": "#c0392b",
    "regressed": "#8e44ad",
    "resolved": "#1e8449",
    "ongoing": "#6b7280",
    "ignored": "#9ca3af",
}
_SPARK_BLOCKS: Final = " ▁▂▃▄▅▆▇█"


# What an output shows for a value the events did not carry (None, NaN): never "None" or "nan".
MISSING: Final = "–"


def missing(value: Any) -> bool:
    """True for a value an event did not carry: None, or a float NaN (pandas' missing value)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _or_missing(escape: Callable[[Any], str]) -> Callable[[Any], str]:
    """`escape`, but MISSING for a missing value (the escaping rules would write "None")."""
    return lambda value: MISSING if missing(value) else escape(value)


def num(value: int | float | None) -> str:
    if missing(value):
        return MISSING
    assert value is not None
    return f"{value:,.0f}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.1f}"


def ts(value: datetime | None) -> str:
    return (
        MISSING if value is None or missing(value) else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )


def ms(value: float | None) -> str:
    """A duration in milliseconds in the unit a reader expects: 0.4 ms, 12 ms, 1.0 s, 2.5 min."""
    if value is None or missing(value):
        return MISSING
    if value >= 60_000:
        return f"{value / 60_000:,.1f} min"
    if value >= 1000:
        return f"{value / 1000:,.1f} s"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def change_pct(current: float, previous: float) -> float | None:
    return None if previous == 0 else (current - previous) * 100.0 / previous


def signed_pct(value: float) -> str:
    return f"{value:+.0f}%"


def relative(current: float | None, previous: float | None) -> str:
    """A change as a reader takes it in: a percentage up to doubling, a factor beyond ("x24")."""
    if current is None or previous is None or previous == 0:
        return "–"
    ratio = current / previous
    if ratio <= 2:
        return signed_pct((ratio - 1) * 100)
    return f"×{ratio:,.0f}" if ratio >= 10 else f"×{ratio:.1f}"


def ms_change(previous: float | None, current: float | None) -> str:
    """Both ends of a duration change ("0.4 ms -> 1.0 s"), each in its own unit."""
    if previous is None:
        return ms(current)
    return f"{ms(previous)} -> {ms(current)}"


def change_text(current: int, previous: int) -> str:
    if current == previous:  # ("+0% vs previous" beside a count that did not move read as a change)
        return "no change"
    if previous == 0:
        return "new"
    return f"{relative(current, previous)} vs previous"


def group_change(row: GroupRow) -> str:
    """A group's change against the previous window; "new" only for a group the registry calls new."""
    if row.previous_count == 0 and row.count > 0 and row.status != "new":
        return "none in the previous window"
    return change_text(row.count, row.previous_count)


def status_note(row: GroupRow) -> str:
    """When and in which version a regressed group came back, or a resolved group was resolved."""
    if row.status == "regressed":
        note = f"came back {ts(row.regressed_at)}" if row.regressed_at else "came back"
        if row.regressed_in_version:
            note += f" on version {row.regressed_in_version}"
        if row.resolved_in_version and row.resolved_in_version == row.regressed_in_version:
            note += " (resolved in that version: its fix did not hold)"
        elif row.resolved_in_version:
            note += f" (had been resolved in version {row.resolved_in_version})"
        elif row.resolved_at:
            note += f" (had been resolved {ts(row.resolved_at)})"
        return note
    if row.status == "resolved":
        version = f" in version {row.resolved_in_version}" if row.resolved_in_version else ""
        return f"resolved{version} on {ts(row.resolved_at or row.status_since)}"
    return ""


def spark(values: Sequence[int]) -> str:
    """Unicode block sparkline, for text and markdown."""
    top = max([*values, 0])
    if top == 0:
        return _SPARK_BLOCKS[1] * len(values)
    return "".join(_SPARK_BLOCKS[max(1, round(v * 8 / top))] if v else _SPARK_BLOCKS[1] for v in values)


def bar(value: int, top: int | None, width: int = 40) -> str:
    return "#" * (round(value * width / top) if top else 0)


def bucket_label(start: datetime, window: Window) -> str:
    local = start.astimezone(window.zone)
    return f"{local:%H:%M}" if window.bucket < timedelta(days=1) else f"{local:%a %Y-%m-%d}"


md = markdown_inline  # the templates' names for the escaping functions
fence = markdown_code


def _finalize(value: Any) -> Any:
    """Every output: no control character or direction override in any format (Markup, already
    escaped by Jinja, holds none the templates did not write), and MISSING for a missing value."""
    if missing(value):
        return MISSING
    return terminal_safe(value) if type(value) is str else value


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=lambda name: not (name or "").endswith((".txt.j2", ".md.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(
        num=num,
        ts=ts,
        ms=ms,
        ms_change=ms_change,
        signed_pct=signed_pct,
        md=_or_missing(md),
        fence=fence,
        code=_or_missing(markdown_code_span),
        line=_or_missing(text_line),
        bucket_label=bucket_label,
        why=lambda slowdown: slowdown.sentence(ms),
        counted=counted,
        plural=lambda count, noun: plural(noun, count),
        status_colour=lambda status: STATUS_COLOURS.get(str(status), "#6b7280"),
    )
    env.globals.update(
        change_pct=change_pct,
        change_text=change_text,
        group_change=group_change,
        status_note=status_note,
        relative=relative,
        spark=spark,
        bar=bar,
        show_command=show_command,
        ticket_command=ticket_command,
    )
    return env


def data_uris(images: Mapping[str, bytes]) -> dict[str, str]:
    """Image name -> `data:image/png;base64,...` (for a standalone HTML file)."""
    return {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in images.items()
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# The JSON digest's lists, bound as the HTML and text digests bind them: the first `Report.list_limit`
# rows in full, the rest counted in `left_out` (and every list's length in `list_totals`).
BOUNDED_LISTS: Final = ("new_groups", "regressed_groups", "resolved_groups")


def to_json(report: Report) -> str:
    """The report as one JSON document, bounded whatever the number of groups: `top_groups` (the
    highest-priority groups with events), `new_groups`, `regressed_groups`, `resolved_groups`,
    `error_lines` and `warnings` hold the rows the other formats show; `left_out` says how many rows
    each left out (`top_groups`: the other active groups; `error_lines`: the other error-line groups;
    `warnings`: the other warning shapes, their events in `more_warnings`) and `list_totals` how many
    there are in all."""
    limit = max(report.list_limit, 0)
    totals = {name: len(getattr(report, name)) for name in BOUNDED_LISTS}
    cut = {name: getattr(report, name)[:limit] for name in BOUNDED_LISTS}
    document = dataclasses.asdict(dataclasses.replace(report, **cut))
    document["list_totals"] = {
        "top_groups": report.active_groups,
        **totals,
        "error_lines": max(report.error_line_groups, len(report.error_lines)),
        "warnings": report.warning_shapes,
    }
    document["left_out"] = {
        "top_groups": report.more_groups,
        **{name: total - len(cut[name]) for name, total in totals.items()},
        "error_lines": max(report.error_line_groups - len(report.error_lines), 0),
        "warnings": max(report.warning_shapes - len(report.warnings), 0),
    }
    document["more_warnings"] = report.more_warnings
    document["window"] = {"start": report.window.start, "end": report.window.end}
    document["is_empty"] = report.is_empty
    document["shipper_losses"] = report.shipper_losses
    document["shipper_unconfirmed"] = report.shipper_unconfirmed  # (may or may not have arrived)
    document["shard_limit_retries"] = report.shard_limit_retries
    for key, cause in report.insights.root_causes.items():  # derived facts a JSON reader should not recompute
        suspects = [s.sentence() for s in cause.suspects]
        document["insights"]["root_causes"][key].update(role=cause.role, suspects=suspects)
    for action, slowdown in report.insights.slowdowns.items():
        document["insights"]["slowdowns"][action]["why"] = slowdown.sentence(ms)
    return json_text(json.dumps(document, default=_jsonable, indent=2, ensure_ascii=False)) + "\n"


def render(report: Report, fmt: str, *, images: Mapping[str, str] | None = None) -> str:
    """The report in `fmt`; `images` maps image names ("trend", "spark-0", ...) to `src` values."""
    if fmt == "json":
        return to_json(report)
    if fmt not in TEMPLATES:
        raise ConfigurationError(f"unknown digest format {fmt!r}: choose one of {', '.join(FORMATS)}")
    template = environment().get_template(TEMPLATES[fmt])
    return template.render(report=report, images=_Images(images or {}))


class _Images(dict[str, str]):
    """Image sources by name; a missing image is an empty string (the template then leaves it out)."""

    def __missing__(self, key: str) -> str:
        return ""

    def __getattr__(self, key: str) -> str:
        return self[key]
