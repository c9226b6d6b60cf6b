"""Exact counts at many groups on the real node: analyzers.group_pages and every caller of it.

One seeded data set of 10,500 groups in ~24,000 events over 15 daily indices (one shard each) crosses
every cut-off the analyzers used to have: 100 new groups in `check`, 500 groups in `analyze`, 1,000
in the digest, 10,000 in `registry.load_groups`. Every count is compared with the truth the seed
defines, exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events
from helpers.prefixes import delete_prefix

from analyzers import analyze, check, digest, group_pages, registry
from analyzers.config import AnalyzeConfig, CheckConfig
from analyzers.digest_window import Window
from analyzers.store import Store
from kibana.setup import install_template
from shipper.schema import index_pattern

pytestmark = pytest.mark.es

GROUPS = 10_500
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Truth:
    window: dict[str, int]  # key -> events in [NOW - 7d, NOW)
    previous: dict[str, int]  # key -> events in [NOW - 14d, NOW - 7d)
    total: dict[str, int]
    new: set[str]  # first event ever inside the window
    new_today: set[str]  # first event ever in the last day (the check window below)
    errors_today: int


def key_of(g: int) -> str:
    return f"grp-{g:05d}"


def _events_of(g: int) -> list[datetime]:
    """Each group's event times: a few in the window, some in the week before, some long before."""
    times = []
    if g % 5 != 0:
        times += [NOW - (1 + g % 6) * DAY + timedelta(minutes=n + 1) for n in range(1 + g % 3)]
    if g % 4 == 0:
        times += [NOW - (8 + g % 6) * DAY, NOW - (8 + g % 5) * DAY + timedelta(hours=1)]
    if g % 6 == 1:
        times.append(NOW - 20 * DAY)
    if g % 7 == 3:  # the check window: first seen in the last day, or back after a while
        times.append(NOW - timedelta(hours=2 + g % 5))
    return times or [NOW - (9 + g % 4) * DAY]  # quiet in the window, seen the week before


def _truth() -> Truth:
    window, previous, total, new, new_today, errors_today = {}, {}, {}, set(), set(), 0
    for g in range(GROUPS):
        times = _events_of(g)
        if not times:
            continue
        key = key_of(g)
        total[key] = len(times)
        window[key] = sum(NOW - WEEK <= t < NOW for t in times)
        previous[key] = sum(NOW - 2 * WEEK <= t < NOW - WEEK for t in times)
        if min(times) >= NOW - WEEK:
            new.add(key)
        if min(times) >= NOW - DAY:
            new_today.add(key)
        errors_today += sum(t >= NOW - DAY for t in times)
    return Truth(window, previous, total, new, new_today, errors_today)


@pytest.fixture(scope="module")
def many(es: Any) -> Iterator[tuple[str, Truth]]:
    """A prefix of its own holding the seeded groups (deleted by name afterwards)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    docs = [
        event(key_of(g), at, host=f"host-{g % 3}", trace=g % 2 == 0)
        for g in range(GROUPS)
        for at in _events_of(g)
    ]
    patient = es.options(request_timeout=300)  # the shared node may be busy: loading must not time out
    for start in range(0, len(docs), 2000):
        index_events(patient, prefix, docs[start : start + 2000])
    yield prefix, _truth()
    delete_prefix(es, prefix)


def _window_query() -> dict[str, Any]:
    bounds = {"gte": (NOW - WEEK).isoformat(), "lt": NOW.isoformat()}
    return {"range": {"@timestamp": bounds}}


def test_truth_crosses_every_old_cut_off(many: tuple[str, Truth]) -> None:
    """The seed passes every bound the analyzers had (check 100, digest 1,000, registry 10,000)."""
    _, truth = many
    assert len(truth.total) > 10_000 and len(truth.new) > 1_000 and len(truth.new_today) > 100


def test_small_pages_count_every_group_exactly(es: Any, many: tuple[str, Truth]) -> None:
    """Pages of 300 (so partitions overflow and split) give every group once, with its exact count."""
    prefix, truth = many
    pages = list(
        group_pages.pages(
            Store(es),
            index=index_pattern(prefix),
            query=_window_query(),
            page_size=300,
            action="page the test groups",
        )
    )
    counts = [(bucket["key"], bucket["doc_count"]) for page in pages for bucket in page]
    assert len(pages) > len(counts) // 300
    assert all(len(page) <= 300 for page in pages)
    assert len(counts) == len(dict(counts))
    assert dict(counts) == {key: count for key, count in truth.window.items() if count}


def test_halves_hold_exactly_the_partition(es: Any, many: tuple[str, Truth]) -> None:
    """Partition p of n holds the same terms as partitions p and p + n of 2n (what splitting relies on)."""
    prefix, _ = many

    def keys(partition: group_pages.Partition) -> set[str]:
        body = group_pages.page_request(
            query={"match_all": {}},
            field=group_pages.GROUP_KEY,
            aggs={},
            partition=partition,
            page_size=10_000,
        )
        response = es.search(index=index_pattern(prefix), **body)
        assert group_pages.is_complete(response["aggregations"]["page"])
        return {bucket["key"] for bucket in response["aggregations"]["page"]["buckets"]}

    whole = group_pages.Partition(number=2, of=3)
    low, high = whole.halves()
    assert (low.number, low.of, high.number, high.of) == (2, 6, 5, 6)
    assert keys(low) | keys(high) == keys(whole) and not keys(low) & keys(high)


def test_too_many_buckets_splits_the_page(es: Any, many: tuple[str, Truth]) -> None:
    """A page whose sub-buckets pass search.max_buckets (65,536) is split until it fits, counts exact."""
    prefix, truth = many
    hourly = {
        "hours": {
            "date_histogram": {
                "field": "@timestamp",
                "fixed_interval": "1h",
                "min_doc_count": 0,
                "extended_bounds": {"min": (NOW - WEEK).isoformat(), "max": NOW.isoformat()},
            }
        }
    }  # 169 buckets per group: 10,000 groups in one page would be 1.7 million
    found = {
        bucket["key"]: sum(hour["doc_count"] for hour in bucket["hours"]["buckets"])
        for bucket in group_pages.buckets(
            Store(es),
            index=index_pattern(prefix),
            query=_window_query(),
            aggs=hourly,
            action="page the test groups by hour",
        )
    }
    assert found == {key: count for key, count in truth.window.items() if count}


def test_keyed_pages_count_every_group_exactly(es: Any, many: tuple[str, Truth]) -> None:
    """Keys listed first, then pages of 300 keys with hourly buckets (split past search.max_buckets):
    every group once, in pages of at most 300, with its exact count."""
    prefix, truth = many
    hourly = {
        "hours": {
            "date_histogram": {
                "field": "@timestamp",
                "fixed_interval": "1h",
                "min_doc_count": 0,
                "extended_bounds": {"min": (NOW - WEEK).isoformat(), "max": NOW.isoformat()},
            }
        }
    }  # 169 buckets per group: 300 groups are 50,700, so with the page's own buckets some pages split
    pages = list(
        group_pages.keyed_pages(
            Store(es),
            index=index_pattern(prefix),
            query=_window_query(),
            aggs=hourly,
            page_size=400,
            action="page the test groups by their keys",
        )
    )
    counts = [
        (b["key"], sum(hour["doc_count"] for hour in b["hours"]["buckets"])) for page in pages for b in page
    ]
    assert all(len(page) <= 400 for page in pages) and len(counts) == len(dict(counts))
    assert dict(counts) == {key: count for key, count in truth.window.items() if count}


def test_digest_counts_every_group(es: Any, many: tuple[str, Truth]) -> None:
    """Without a registry the digest counts all groups, new ones included, and says how many it hides."""
    prefix, truth = many
    report = digest.build_digest(Store(es, prefix), WEEK, NOW, NOW).report
    active = sum(1 for count in truth.window.values() if count)
    assert report.measure("groups").current == active
    assert report.measure("groups").previous == sum(1 for count in truth.previous.values() if count)
    assert report.measure("errors").current == sum(truth.window.values())
    assert report.status_counts["new"] == len(truth.new)
    assert report.active_groups == active and report.more_groups == active - len(report.top_groups)
    assert all(row.count == truth.window[row.key] for row in report.top_groups)
    text = digest.build_digest(Store(es, prefix), WEEK, NOW, NOW).render("text")
    assert f"The top {len(report.top_groups)} of {active:,} groups" in text


def test_digest_groups_are_exact_per_group(es: Any, many: tuple[str, Truth]) -> None:
    """Every group's count in both windows, as the digest reads them, equals the seeded truth."""
    prefix, truth = many
    window = Window.ending(NOW, WEEK)
    groups = digest.digest_data.fetch_groups(Store(es, prefix), window)
    assert {g["key"]: (g["count"], g["previous_count"]) for g in groups} == {
        key: (truth.window[key], truth.previous[key])
        for key in truth.total
        if truth.window[key] or truth.previous[key]
    }
    first = digest.digest_data.fetch_first_seen(Store(es, prefix), window, groups)
    new = {key for key, moment in first.items() if datetime.fromisoformat(moment) >= NOW - WEEK}
    assert new == truth.new


def test_analyze_registers_every_group_exactly(es: Any, many: tuple[str, Truth]) -> None:
    """analyze writes every group (more than 10,000) with exact counts; the registry reads them all back."""
    prefix, truth = many
    result = analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW)
    assert result.statuses.get("new") == len(truth.new)
    stored = registry.load_groups(Store(es, prefix))
    assert len(stored) == len(truth.total) > 10_000
    assert {g.group_id: (g.count_window, g.count_previous_window, g.count_total) for g in stored} == {
        key: (truth.window[key], truth.previous[key], truth.total[key]) for key in truth.total
    }
    lean = registry.load_groups(Store(es, prefix), lean=True)
    assert [g.group_id for g in lean] == [g.group_id for g in stored]
    assert all(g.sample_stack_trace is None for g in lean)
    report = digest.build_digest(Store(es, prefix), WEEK, NOW, NOW).report
    assert report.status_counts["new"] == len(truth.new) and report.registry_used


def test_check_counts_every_new_group(es: Any, many: tuple[str, Truth]) -> None:
    """check counts the errors and every new group of its window (more than 100), none seen before it."""
    prefix, truth = many
    result = check.run_check(Store(es, prefix), config=CheckConfig(window=DAY), until=NOW)
    assert result.errors == truth.errors_today
    assert {group.group_id for group in result.new_groups} == truth.new_today
    firsts = [group.first_seen for group in result.new_groups]
    assert firsts == sorted(firsts, reverse=True) and all(moment.tzinfo == UTC for moment in firsts)
    assert f"new_groups={len(truth.new_today)};" in result.line


def test_partitions_for_sizes_pages_with_headroom() -> None:
    """The estimate sizes partitions at ~80% of a page, at least one."""
    assert group_pages.partitions_for(0, 1000) == 1
    assert group_pages.partitions_for(800, 1000) == 1
    assert group_pages.partitions_for(801, 1000) == 2
    assert group_pages.partitions_for(20_000, 10_000) == 3


def test_incomplete_page_is_detected() -> None:
    """A page with documents left out by a shard, or a possible count error, is not complete."""
    assert group_pages.is_complete(
        {"sum_other_doc_count": 0, "doc_count_error_upper_bound": 0, "buckets": []}
    )
    assert not group_pages.is_complete({"sum_other_doc_count": 3, "doc_count_error_upper_bound": 0})
    assert not group_pages.is_complete({"sum_other_doc_count": 0, "doc_count_error_upper_bound": 2})


def test_error_lines_are_the_exact_top_templates(es: Any, index_prefix: str) -> None:
    """The digest's error lines are the groups with the most events, each counted exactly and titled
    as the shipper titles the group: its type, then its template with specifiers as placeholders."""
    install_template(es, index_prefix)
    docs = []
    for t in range(40):  # 40 templates with close counts, spread over 12 daily indices
        # a word the title keeps (digits would be masked): its digits spelled as letters, so titles sort as
        # the grouping keys "t0", "t1", "t10"... do (the digest breaks ties in count by key)
        item = "item" + str(t).translate(str.maketrans("0123456789", "abcdefghij"))
        for n in range(20 + t % 7):
            doc = event(None, NOW - (1 + (n + t) % 12) * DAY + timedelta(minutes=t), trace=False)
            # keyed as the shipper keys a templated error line
            doc["error"] = {"type": "builtins.ValueError", "message": f"line {t}", "grouping_key": f"t{t}"}
            doc["logloop"] = {"template": f"could not refresh {item} %s"}
            docs.append(doc)
    index_events(es, index_prefix, docs)
    counts: dict[str, list[int]] = {}
    for doc in docs:
        at = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
        side = 0 if at >= NOW - WEEK else 1
        # the message does not fit the template, so its `%s` has no value to name a placeholder after
        title = "ValueError: " + doc["logloop"]["template"].replace("%s", "<VAR>")
        counts.setdefault(title, [0, 0])[side] += 1
    expected = sorted(((-c[0], key, c[1]) for key, c in counts.items()))[: digest.digest_data.MAX_TEMPLATES]
    lines = digest.digest_data.fetch_error_lines(Store(es, index_prefix), Window.ending(NOW, WEEK))
    assert [(-line["count"], line["template"], line["previous_count"]) for line in lines] == expected
    assert all(line["sample"] and line["last_seen"] for line in lines)


def test_read_ahead_keeps_order_and_raises_where_the_source_did() -> None:
    """read_ahead yields the items in order and raises the source's error at the item it failed on."""

    def source() -> Iterator[list[int]]:
        yield [1]
        yield [2]
        raise RuntimeError("page 3 failed")

    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for item in group_pages.read_ahead(source()):
            seen.append(item)
    assert seen == [[1], [2]]
