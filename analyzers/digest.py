"""The digest, end to end: query, model, charts, render, and (optionally) send.

`build_digest` is the pure-ish core the CLI and the scheduler share: Elasticsearch and the clock
are passed in. `run_digest` adds the output: a file or stdout in one format, and/or email.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from analyzers import charts, digest_data, digest_insights, digest_warnings, files
from analyzers.digest_data import DigestData
from analyzers.digest_model import REGISTRY_EMPTY, Report, build_report, group_rows, keys_to_detail
from analyzers.digest_options import DEFAULT_OPTIONS, DigestOptions
from analyzers.digest_window import Window
from analyzers.exceptions import OutputError
from analyzers.mailer import BAD_STATES, SendOutcome, send_digest
from analyzers.render import data_uris, render
from analyzers.smtp_config import SmtpSettings
from analyzers.store import Store


@dataclass(frozen=True, kw_only=True)
class Digest:
    """A report and its images (PNG bytes by name: "trend", "spark-0", "spark-1", ...)."""

    report: Report
    images: dict[str, bytes]

    def render(self, fmt: str, *, image_src: dict[str, str] | None = None) -> str:
        """Render; without `image_src` the HTML embeds images as data: URIs (a standalone file)."""
        return render(self.report, fmt, images=image_src if image_src is not None else data_uris(self.images))


def fetch(store: Store, window: Window) -> DigestData:
    """Run the digest's queries (a few requests, plus one per page of groups: see digest_data)."""
    known = digest_data.fetch_registry(store)
    counted = digest_data.counted_events(store, known)  # the lifecycle's rule, in every query below
    overview = digest_data.fetch_overview(store, window, counted)
    groups = digest_data.fetch_groups(store, window, counted)
    hosts = digest_data.fetch_host_counts(store, window, counted)
    data = DigestData(
        window=window,
        totals=digest_data.with_exact_counts(overview["totals"], groups, hosts),
        daily=overview["daily"],
        groups=groups,
        details={},
        groups_registry=known,
        error_lines=digest_data.fetch_error_lines(store, window, counted),
        operations=overview["operations"],
        feedback=overview["feedback"],
        shipper=overview["shipper"],
        first_seen=digest_data.fetch_first_seen(store, window, groups, known),
        warnings=digest_warnings.fetch_warnings(store, window),
        ignored=digest_data.fetch_ignored(store, window, counted),
    )
    details = digest_data.fetch_details(store, window, keys_to_detail(data))
    return dataclasses.replace(data, details=details)


def draw(report: Report) -> dict[str, bytes]:
    images: dict[str, bytes] = {}
    if report.buckets:
        images["trend"] = charts.trend_chart(
            [b.start.astimezone(report.window.zone) for b in report.buckets],
            [b.errors for b in report.buckets],
            [b.warnings for b in report.buckets],
            hourly=report.window.bucket < timedelta(days=1),
        )
    for index, group in enumerate(report.top_groups):
        if group.daily:
            images[f"spark-{index}"] = charts.sparkline(group.daily)
    return images


def build_digest(
    store: Store,
    window: timedelta,
    until: datetime,
    now: datetime,
    *,
    title: str | None = None,
    options: DigestOptions = DEFAULT_OPTIONS,
) -> Digest:
    """The digest of `[until - window, until)` for the indices of `store`."""
    span = Window.ending(until, window, options.timezone)
    mark = store.partial.mark()
    store.note_unreadable_indices(action="list the event and registry indices")
    data = fetch(store, span)
    rows = group_rows(data)
    report = build_report(data, title=title or f"{store.prefix} errors", generated_at=now, rows=rows)
    unplaced = digest_data.fetch_unplaced_notes(store, span, now)
    if unplaced:  # said, and a week of nothing else is not an empty digest
        report = dataclasses.replace(report, notes=report.notes + unplaced, unplaced=True)
    stored_from = digest_data.fetch_stored_from_notes(store, span)  # a note, not a reason to send
    report = dataclasses.replace(report, notes=report.notes + stored_from)
    if options.root_causes:
        insights = digest_insights.gather(store, data, report, rows, options)
        report = dataclasses.replace(report, insights=insights)
    partial = store.partial.lines(mark)
    if any(store.registry in line for line in partial):  # it is unreadable, not empty: the line says why
        report = dataclasses.replace(report, notes=tuple(n for n in report.notes if n != REGISTRY_EMPTY))
    report = dataclasses.replace(report, partial=partial)
    return Digest(report=report, images=draw(report))


def write_output(digest: Digest, fmt: str, output: Path | None, stdout: TextIO = sys.stdout) -> None:
    text = digest.render(fmt)
    if output is None:
        stdout.write(text)
    else:
        files.write_text(output, text, what="digest")


@dataclass(frozen=True, kw_only=True)
class DigestRun:
    digest: Digest
    outcomes: list[SendOutcome]
    kept: Path | None = None  # where an unsent digest was saved (sending failed and no -o was given)


def unsent_directory() -> Path:
    """Where a digest that could not be mailed is kept: `$XDG_STATE_HOME/logloop/unsent`, else
    `~/.local/state/logloop/unsent`, else (no home) `<temporary directory>/logloop-<uid>/unsent`."""
    state = os.environ.get("XDG_STATE_HOME")
    if state:
        return Path(state) / "logloop" / "unsent"
    try:
        return Path.home() / ".local" / "state" / "logloop" / "unsent"
    except RuntimeError:  # no HOME and no passwd entry
        return Path(tempfile.gettempdir()) / f"logloop-{os.getuid()}" / "unsent"


def keep_unsent(digest: Digest, prefix: str) -> Path:
    """Save the HTML digest under `unsent_directory()`, one file per window end; its path."""
    directory = unsent_directory()
    end = digest.report.window.end.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    path = directory / f"{prefix}-digest-{end}.html"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise OutputError(
            f"the digest was not sent and cannot be kept in {directory} ({exc.strerror}): "
            "run it again with -o FILE"
        ) from None
    files.write_text(path, digest.render("html"), what="unsent digest")
    return path


def default_title(prefix: str, window: timedelta) -> str:
    days = window.total_seconds() / 86400
    span = f"{days:g}-day" if days >= 1 else f"{window.total_seconds() / 3600:g}-hour"
    return f"{prefix}: {span} digest"


def run_digest(
    store: Store,
    *,
    window: timedelta,
    until: datetime,
    now: datetime,
    fmt: str = "html",
    output: Path | None = None,
    smtp: SmtpSettings | None = None,
    title: str | None = None,
    stdout: TextIO | None = None,
    options: DigestOptions = DEFAULT_OPTIONS,
) -> DigestRun:
    """Build the digest; write it to `output` (or `stdout` if given); email it when `smtp` is given.

    Raises DeliveryError (after writing the output) when a recipient failed or is in doubt.
    """
    digest = build_digest(
        store, window, until, now, title=title or default_title(store.prefix, window), options=options
    )
    if output is not None or stdout is not None:
        write_output(digest, fmt, output, stdout or sys.stdout)
    outcomes: list[SendOutcome] = []
    kept = None
    if smtp is not None:
        outcomes = send_digest(store, digest.report, digest.images, smtp, now=now)
        if output is None and any(outcome.state in BAD_STATES for outcome in outcomes):
            kept = keep_unsent(digest, store.prefix)  # never lost: the user can send it by hand
    return DigestRun(digest=digest, outcomes=outcomes, kept=kept)
