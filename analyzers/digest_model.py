"""The digest as data: a pure function from query results (and the registry) to a report model.

The arithmetic (changes against the previous window, the trend's buckets, status, priority and
order of the groups, the operations' percentiles) is DataFrame operations in `analyzers.digest_frames`;
this module turns their rows into frozen dataclasses that every renderer (html, text, markdown, json)
reads the same way.

Status and order:
- A group the registry knows keeps the registry's status, its dates and versions, and its priority
  (see analyzers.lifecycle and analyzers.priority for the rules), as the last `logloop analyze` left
  them: the digest never derives a status of its own from the window's counts (a resolved group with
  events in the window is still resolved when those events predate the fix or its version).
- A group the registry does not know (`logloop analyze` never ran, or the group appeared since) is
  `new` when its first occurrence ever falls in the window, else `ongoing`; its priority is
  `log10(1 + count)`, plus 1 when it is new, so it sorts among the registry's groups by volume.

A digest is *empty* when nothing in it needs a reader: no error, no warning, no feedback, no group
changed status and the shippers lost nothing. A week of warnings only is not empty: every format
counts them (the "Warnings" measure, the trend, a line where the error groups would be). Empty
digests are not mailed unless `send_empty = true`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

from analyzers import digest_frames, queries
from analyzers.digest_data import DigestData
from analyzers.digest_window import Window
from analyzers.escaping import source_text
from analyzers.registry import Group
from analyzers.rootcause import Insights
from analyzers.wording import counted

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
TOP_GROUPS: Final = 10
LIST_LIMIT: Final = 10  # rows of the new/regressed/resolved lists every format shows (JSON: `left_out`)
HIGHLIGHT_STATUSES: Final = ("new", "escalating", "regressed", "resolved")
TRACE_HEAD_LINES: Final = 1  # "Traceback (most recent call last):"
TRACE_TAIL_LINES: Final = 9  # the innermost frames and the exception line: where the bug usually is
TRACE_LINE_CHARS: Final = 240
FULL_TRACES: Final = 5  # top groups whose sample keeps TRACE_TAIL_LINES; the rest keep SHORT_TRACE_LINES
SHORT_TRACE_LINES: Final = 3
TITLE_CHARS: Final = 160


@dataclass(frozen=True, kw_only=True)
class Measure:
    name: str
    label: str
    current: int
    previous: int
    change_pct: float | None  # against the previous window, in percent; None when it had none


@dataclass(frozen=True, kw_only=True)
class Bucket:
    start: datetime
    events: int
    errors: int
    warnings: int


@dataclass(frozen=True, kw_only=True)
class GroupRow:
    key: str
    title: str
    status: str
    category: str
    error_type: str | None
    count: int
    previous_count: int
    first_seen: datetime | None
    last_seen: datetime | None
    versions: tuple[str, ...]
    hosts: tuple[str, ...]
    host_count: int
    services: tuple[str, ...]
    sample_trace: str | None
    sample_message: str | None
    priority: float
    daily: tuple[int, ...]
    status_since: datetime | None = None  # when the registry's status last changed
    resolved_in_version: str | None = None
    resolved_at: datetime | None = None
    regressed_at: datetime | None = None  # when it came back (its first occurrence that counted)
    regressed_in_version: str | None = None  # the version it came back on


@dataclass(frozen=True, kw_only=True)
class ErrorLine:
    template: str
    count: int
    previous_count: int
    last_seen: datetime | None
    hosts: int
    sample: str | None


@dataclass(frozen=True, kw_only=True)
class WarningRow:
    """A recurring warning: its shape (template or masked message, `analyzers.digest_warnings`), its
    counts in this window and the previous one, when it was last seen and its most frequent text."""

    shape: str
    count: int
    previous_count: int
    last_seen: datetime | None
    sample: str | None


@dataclass(frozen=True, kw_only=True)
class Operation:
    action: str
    count: int
    p50_ms: float | None
    p95_ms: float | None
    previous_p50_ms: float | None
    previous_p95_ms: float | None
    p95_change_pct: float | None  # None without a p95 in both windows


@dataclass(frozen=True, kw_only=True)
class FeedbackSample:
    time: datetime | None
    message: str
    service: str | None


@dataclass(frozen=True, kw_only=True)
class FeedbackKind:
    kind: str
    count: int
    previous_count: int
    samples: tuple[FeedbackSample, ...]


@dataclass(frozen=True, kw_only=True)
class ShipperProcess:
    host: str
    pid: int | None  # None: the shipper's reports carry no process.pid
    dropped: int
    dead_lettered: int
    retried: int | None  # None (sent, retried, backlog): its only reports were written at its exit,
    sent: int | None  # before its agent had delivered
    spool_backlog: int | None
    last_report: datetime | None
    shard_limit_retries: int = 0  # retried because the cluster refused to create an index (shard limit)
    # Deleted (drop_oldest) while a killed delivery agent's request for them had no answer: they may or
    # may not have arrived, so `dropped` is a floor of what was lost and `dropped + unconfirmed` a ceiling.
    unconfirmed: int = 0


@dataclass(frozen=True, kw_only=True)
class Report:
    title: str
    window: Window
    generated_at: datetime
    measures: tuple[Measure, ...]
    buckets: tuple[Bucket, ...]
    status_counts: Mapping[str, int]
    top_groups: tuple[GroupRow, ...]
    new_groups: tuple[GroupRow, ...]  # every new group, first seen first
    error_lines: tuple[ErrorLine, ...]
    operations: tuple[Operation, ...]
    feedback: tuple[FeedbackKind, ...]
    shipper: tuple[ShipperProcess, ...]
    registry_used: bool
    notes: tuple[str, ...] = field(default=())
    partial: tuple[str, ...] = ()  # what the cluster answered only in part (`store.PartialAnswers`)
    unplaced: bool = False  # events no window holds (no @timestamp, dated ahead) are said in `notes`
    error_line_events: int = 0  # every error line without traceback in the window (listed or not)
    error_line_groups: int = 0  # their groups (the list shows the largest; approximate past ~3,000)
    regressed_groups: tuple[GroupRow, ...] = ()  # every regressed group, most recent comeback first
    resolved_groups: tuple[GroupRow, ...] = ()  # every group resolved in the window or still seen
    list_limit: int = LIST_LIMIT
    active_groups: int = 0  # groups with an event in the window (ignored ones left out), all counted
    warnings: tuple[WarningRow, ...] = ()  # the most frequent warning shapes (`digest_warnings`)
    warning_shapes: int = 0  # the shapes with a warning in the window (a lower bound when capped)
    warning_shapes_capped: bool = False
    ignored_events: int = 0  # the window's events of groups marked ignored: in no figure (lifecycle)
    ignored_groups: int = 0  # the ignored groups they belong to
    ignored_previous_events: int = 0  # the same in the previous window (out of its figures too)

    @property
    def ignored_sentence(self) -> str:
        """What every format says of the ignored groups' events ("" when there were none), next to the
        groups: the totals above it are the listed groups' plus the errors in no group, never those."""
        if not self.ignored_events:
            return ""
        groups = counted(self.ignored_groups, "group") if self.ignored_groups else "groups"
        return (
            f"Not counted: {counted(self.ignored_events, 'event')} of {groups} marked ignored "
            "(`logloop ignore`), left out of every total, chart and list of this digest."
        )

    @property
    def more_warnings(self) -> int:
        """Warnings of the window in no listed row (other shapes, or none that could be read)."""
        return max(self.measure("warnings").current - sum(w.count for w in self.warnings), 0)

    @property
    def more_groups(self) -> int:
        """Active groups beyond the top ones shown: the digest says they exist and how many."""
        return max(self.active_groups - len(self.top_groups), 0)

    insights: Insights = Insights()  # root-cause material, links (analyzers.digest_insights)

    def measure(self, name: str) -> Measure:
        return next(m for m in self.measures if m.name == name)

    @property
    def shipper_losses(self) -> int:
        return sum(p.dropped + p.dead_lettered for p in self.shipper)

    @property
    def shipper_unconfirmed(self) -> int:
        """Records that may or may not have arrived (see `ShipperProcess.unconfirmed`)."""
        return sum(p.unconfirmed for p in self.shipper)

    @property
    def shard_limit_retries(self) -> int:
        return sum(p.shard_limit_retries for p in self.shipper)

    @property
    def healthy_shippers(self) -> int:
        return sum(
            1
            for p in self.shipper
            if not (p.dropped or p.dead_lettered or p.unconfirmed or p.spool_backlog or p.shard_limit_retries)
        )

    @property
    def spool_backlog(self) -> int:
        return sum(p.spool_backlog or 0 for p in self.shipper)

    @property
    def troubled_shippers(self) -> tuple[ShipperProcess, ...]:
        """The processes that lost events or have a backlog, those that lost the most first, at most
        LIST_LIMIT: a script run by cron reports from a process of its own each time it loses records."""
        return tuple(itertools.islice(self._troubled(), LIST_LIMIT))

    @property
    def troubled_shippers_left_out(self) -> int:
        """How many more processes lost events or have a backlog than `troubled_shippers` lists."""
        return sum(1 for _ in self._troubled()) - len(self.troubled_shippers)

    def _troubled(self) -> Iterator[ShipperProcess]:
        """The processes that lost events (or may have: unconfirmed) or have a backlog, in the order of
        `shipper`."""
        return (p for p in self.shipper if p.dropped or p.dead_lettered or p.unconfirmed or p.spool_backlog)

    @property
    def is_empty(self) -> bool:
        """Nothing to report: a digest that could not read everything (`partial`) is not empty."""
        return (
            not self.partial
            and not self.unplaced
            and self.measure("errors").current == 0
            and self.measure("warnings").current == 0
            and self.measure("feedback").current == 0
            and not any(self.status_counts.values())
            and self.shipper_losses == 0
            and self.shard_limit_retries == 0
        )


def parse_time(value: Any) -> datetime | None:
    """An ES date (ISO string, epoch ms, datetime) -> aware UTC datetime; None stays None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = queries.source_time(value)  # (epoch milliseconds, ISO 8601 to nanoseconds; else None)
    return parsed.astimezone(UTC) if parsed is not None else None


def printable(text: str) -> str:
    """Control characters from logs (ANSI escapes, NUL, ...) become U+FFFD: they must not reach a terminal."""
    return _CONTROL.sub("\ufffd", text)


def one_line(text: Any, limit: int = TITLE_CHARS) -> str:
    """Collapse whitespace (including CR/LF) into single spaces and cut at `limit` characters; a
    value of another JSON kind (a list, a number) is read as `source_text` reads it."""
    flat = printable(" ".join(source_text(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def truncate_trace(value: Any, tail: int = TRACE_TAIL_LINES) -> str | None:
    """Keep the head (where it started) and the tail (innermost frames and the exception) of a traceback."""
    trace = source_text(value, separator="\n")
    if not trace:
        return None
    lines = [
        line if len(line) <= TRACE_LINE_CHARS else line[: TRACE_LINE_CHARS - 1] + "…"
        for line in printable(trace.rstrip("\n").replace("\r\n", "\n")).splitlines()
    ]
    if len(lines) <= TRACE_HEAD_LINES + tail + 1:
        return "\n".join(lines)
    omitted = len(lines) - TRACE_HEAD_LINES - tail
    return "\n".join([*lines[:TRACE_HEAD_LINES], f"  … {omitted} lines omitted …", *lines[-tail:]])


def _title(sample: Mapping[str, Any]) -> str:
    for candidate in (
        sample.get("error.grouping_name"),
        ": ".join(filter(None, (source_text(sample.get(name)) for name in ("error.type", "error.message")))),
        sample.get("logloop.template"),
        sample.get("message"),
    ):
        if candidate:
            return one_line(candidate)
    return "(untitled group)"


def _measures(totals: Mapping[str, Mapping[str, int]]) -> tuple[Measure, ...]:
    return tuple(
        Measure(
            name=str(name),
            label=str(r["label"]),
            current=int(r["current"]),
            previous=int(r["previous"]),
            change_pct=_number(r["change_pct"]),
        )
        for name, r in digest_frames.measures(totals).to_dict("index").items()
    )


def _number(value: Any) -> float | None:
    """A frame's float as the model holds it: NaN (nothing to compare, nothing measured) is None."""
    return None if value is None or math.isnan(value) else float(value)


def _count(value: Any) -> int | None:
    """A frame's count as the model holds it: None (or NaN, as pandas holds a missing one) is None."""
    number = _number(value)
    return None if number is None else int(number)


def _registered(record: Mapping[str, Any]) -> bool:
    return isinstance(record.get("reg_status"), str)


def lifecycle_fields(group: Group | None) -> dict[str, Any]:
    """The registry's dates and versions of a group's status, as GroupRow fields (empty when unknown)."""
    if group is None:
        return {}
    return {
        "status_since": group.status_changed_at,
        "resolved_in_version": group.resolved_in_version,
        "resolved_at": group.resolved_at,
        "regressed_at": group.regressed_at,
        "regressed_in_version": group.regressed_in_version,
    }


StatusLists = tuple[tuple[GroupRow, ...], tuple[GroupRow, ...], tuple[GroupRow, ...]]


def status_lists(rows: Sequence[GroupRow]) -> StatusLists:
    """Every (new, regressed, resolved) row: new by first seen (unknown last), the others most recent
    first."""
    never, unknown = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)

    def of(status: str) -> list[GroupRow]:
        return [r for r in rows if r.status == status]

    new = sorted(of("new"), key=lambda r: (r.first_seen or unknown, r.key))
    regressed = sorted(of("regressed"), key=lambda r: (-(r.regressed_at or never).timestamp(), r.key))
    resolved = sorted(
        of("resolved"), key=lambda r: (-(r.resolved_at or r.status_since or never).timestamp(), r.key)
    )
    return tuple(new), tuple(regressed), tuple(resolved)


def _row(key: str, record: Mapping[str, Any], data: DigestData, group: Group | None = None) -> GroupRow:
    detail = data.details.get(key, {})
    sample = detail.get("sample", {})
    known = _registered(record)

    def registry(name: str) -> Any:
        # A registry column of the merged frame holds NaN where that group has no registry value.
        value = record.get(name) if known else None
        return None if isinstance(value, float) and math.isnan(value) else value

    trace = sample.get("error.stack_trace") or registry("reg_trace")
    hosts = tuple(detail.get("hosts") or registry("reg_hosts") or ())
    return GroupRow(
        key=key,
        title=one_line(str(registry("reg_title"))) if registry("reg_title") else _title(sample),
        status=str(record["status"]),
        category=str(registry("reg_category") or ("traceback" if trace else "error_line")),
        error_type=sample.get("error.type") or registry("reg_error_type"),
        count=int(record["count"]),
        previous_count=int(record["previous_count"]),
        first_seen=parse_time(record.get("first_seen")) or parse_time(registry("reg_first_seen")),
        last_seen=parse_time(record.get("last_seen")) or parse_time(registry("reg_last_seen")),
        versions=tuple(detail.get("versions") or registry("reg_versions") or ()),
        hosts=hosts,
        host_count=int(detail.get("host_count") or len(hosts)),  # else the hosts the registry lists
        services=tuple(detail.get("services") or registry("reg_services") or ()),
        sample_trace=truncate_trace(trace),
        sample_message=one_line(sample.get("message") or sample.get("error.message"), 500) or None,
        priority=float(record["priority"]),
        daily=tuple(detail.get("daily") or ()),
        **lifecycle_fields(group if known else None),
    )


def rank_groups(data: DigestData) -> list[tuple[str, dict[str, Any]]]:
    """Groups worth showing, highest priority first (ties: higher count, then key), as (key, record)
    with the record's `status` and `priority` (analyzers.digest_frames.ranked).

    Ignored groups are left out: a maintainer silenced them with `logloop ignore`."""
    frame = digest_frames.groups(data.groups, data.first_seen, data.groups_registry)
    # to_dict, not iterrows: a Series per row costs seconds at 20,000 groups
    records = cast(dict[Any, dict[str, Any]], digest_frames.ranked(frame, data.window).to_dict("index"))
    return [(str(key), record) for key, record in records.items()]


def keys_to_detail(data: DigestData) -> list[str]:
    """Which groups the details query must cover: the rows the report shows with a sample, hosts and
    daily counts, chosen as `build_report` chooses them (the top groups, then the new ones by first seen
    and the regressed ones by return, not by priority: a row listed without its details read
    "(untitled group)" with no host)."""
    rows = group_rows(data)
    new, regressed, _ = status_lists(rows)
    top = [row for row in rows if row.count > 0][:TOP_GROUPS]
    return list(dict.fromkeys(row.key for row in (*top, *new[:LIST_LIMIT], *regressed[:LIST_LIMIT])))


def _error_lines(data: DigestData) -> tuple[ErrorLine, ...]:
    return tuple(
        ErrorLine(
            template=one_line(r["template"], 300),
            count=int(r["count"]),
            previous_count=int(r["previous_count"]),
            last_seen=parse_time(r["last_seen"]),
            hosts=int(r["hosts"]),
            # a missing sample is NaN in a column of strings: only a string is a sample
            sample=one_line(r["sample"], 300) if isinstance(r["sample"], str) and r["sample"] else None,
        )
        for r in digest_frames.error_lines(data.error_lines).to_dict("records")
    )


def ungrouped_notes(count: int) -> tuple[str, ...]:
    """A note when errors of the window have no grouping key: no group or list of the digest holds
    them (another shipper's events, or events no `logloop analyze` reached), only the Errors total."""
    if not count:
        return ()
    return (
        f"{counted(count, 'error')} of this window {'has' if count == 1 else 'have'} no grouping key and "
        f"{'is' if count == 1 else 'are'} in no group above (another shipper's events, or events no "
        "`logloop analyze` reached): run `logloop regroup` to group them",
    )


def _warnings(data: DigestData) -> tuple[WarningRow, ...]:
    rows = []
    for r in data.warnings.rows:
        shape = one_line(r["shape"], 300)
        sample = one_line(r["sample"], 300) if r.get("sample") else ""
        rows.append(
            WarningRow(
                shape=shape,
                count=int(r["count"]),
                previous_count=int(r["previous_count"]),
                last_seen=parse_time(r.get("last_seen")),
                sample=sample if sample and sample != shape else None,
            )
        )
    return tuple(rows)


def _operations(data: DigestData, limit: int = 10) -> tuple[Operation, ...]:
    return tuple(
        Operation(
            action=one_line(r["action"], 120),
            count=int(r["count"]),
            p50_ms=_number(r["p50_ms"]),
            p95_ms=_number(r["p95_ms"]),
            previous_p50_ms=_number(r["previous_p50_ms"]),
            previous_p95_ms=_number(r["previous_p95_ms"]),
            p95_change_pct=_number(r["p95_change_pct"]),
        )
        for r in digest_frames.operations(data.operations, limit).to_dict("records")
    )


def _feedback(data: DigestData) -> tuple[FeedbackKind, ...]:
    samples = {entry["kind"]: entry.get("samples", []) for entry in data.feedback}
    kinds = digest_frames.feedback_kinds(data.feedback, data.totals["previous"])
    return tuple(
        FeedbackKind(
            kind=str(kind),
            count=int(r["count"]),
            previous_count=int(r["previous_count"]),
            samples=tuple(
                FeedbackSample(
                    time=parse_time(s.get("@timestamp")),
                    message=one_line(s.get("message"), 400),
                    service=s.get("service.name"),
                )
                for s in samples.get(kind, [])
            ),
        )
        for kind, r in kinds.to_dict("index").items()
    )


def _shipper(data: DigestData) -> tuple[ShipperProcess, ...]:
    return tuple(
        ShipperProcess(
            host=str(p["host"]),
            pid=int(p["pid"]) if int(p["pid"]) >= 0 else None,  # -1: the aggregation's `missing`
            dropped=int(p["dropped"]),
            dead_lettered=int(p["dead_lettered"]),
            retried=_count(p["retried"]),
            sent=_count(p["sent"]),
            spool_backlog=_count(p["spool_backlog"]),
            last_report=parse_time(p.get("last_report")),
            shard_limit_retries=int(_number(p.get("shard_limit_retries")) or 0),
            unconfirmed=int(_number(p.get("unconfirmed")) or 0),
        )
        for p in digest_frames.shipper_processes(data.shipper).to_dict("records")
    )


REGISTRY_EMPTY: Final = (
    "The group registry is empty (`logloop analyze` has not run): statuses are computed from first "
    "occurrences only."
)


def shard_limit_notes(retries: int) -> tuple[str, ...]:
    """The digest's note when shippers had to retry because the cluster refused to create an index."""
    if not retries:
        return ()
    return (
        f"Shippers retried {retries:,} documents because the cluster refused to create an index (its shard "
        "limit, cluster.max_shards_per_node x data nodes, was reached): nothing is lost while they retry, "
        "but those events arrive late. Delete old indices (`logloop prune`, [retention] events), add data "
        "nodes or raise the limit; `logloop check` warns before the limit is reached.",
    )


def _shorter_traces(rows: list[GroupRow]) -> list[GroupRow]:
    """Below the first FULL_TRACES groups only the innermost frame and the exception line are kept."""
    return [
        row
        if index < FULL_TRACES or not row.sample_trace
        else dataclasses.replace(row, sample_trace=truncate_trace(row.sample_trace, tail=SHORT_TRACE_LINES))
        for index, row in enumerate(rows)
    ]


def group_rows(data: DigestData) -> list[GroupRow]:
    """Every group worth showing, highest priority first."""
    known = {group.group_id: group for group in data.groups_registry}
    return [_row(key, record, data, known.get(key)) for key, record in rank_groups(data)]


def build_report(
    data: DigestData, *, title: str, generated_at: datetime, rows: list[GroupRow] | None = None
) -> Report:
    """The report model for `data` (pure); `rows`: `group_rows(data)` when the caller has them."""
    rows = group_rows(data) if rows is None else rows
    counts = {status: sum(1 for r in rows if r.status == status) for status in HIGHLIGHT_STATUSES}
    active = [r for r in rows if r.count > 0]
    new, regressed, resolved = status_lists(rows)
    buckets = tuple(
        Bucket(
            start=b["start"].to_pydatetime(),
            events=int(b["events"]),
            errors=int(b["errors"]),
            warnings=int(b["warnings"]),
        )
        for b in digest_frames.buckets(data.daily, data.window).to_dict("records")
    )
    notes: tuple[str, ...] = () if data.groups_registry else (REGISTRY_EMPTY,)
    shipper = _shipper(data)
    notes += shard_limit_notes(sum(p.shard_limit_retries for p in shipper))
    notes += ungrouped_notes(int(data.totals["current"].get("ungrouped_errors", 0)))
    return Report(
        title=one_line(title, 120),
        window=data.window,
        generated_at=generated_at,
        measures=_measures(data.totals),
        buckets=buckets,
        status_counts=counts,
        top_groups=tuple(_shorter_traces(active[:TOP_GROUPS])),
        new_groups=new,
        error_lines=_error_lines(data),
        error_line_events=int(data.totals["current"].get("error_lines", 0)),
        error_line_groups=int(data.totals["current"].get("error_line_groups", 0)),
        operations=_operations(data),
        feedback=_feedback(data),
        shipper=shipper,
        registry_used=bool(data.groups_registry),
        notes=notes,
        regressed_groups=regressed,
        resolved_groups=resolved,
        active_groups=len(active),
        warnings=_warnings(data),
        warning_shapes=max(data.warnings.shapes, len(data.warnings.rows)),
        warning_shapes_capped=data.warnings.capped,
        ignored_events=data.ignored.get("events", 0),
        ignored_groups=data.ignored.get("groups", 0),
        ignored_previous_events=data.ignored.get("previous_events", 0),
    )
