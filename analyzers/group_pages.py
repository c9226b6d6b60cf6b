"""Every group of a query, exactly, a page at a time: `terms` partitions that prove themselves complete.

The rule a reader must not break: a page is used only when Elasticsearch shows it is complete, that
is `sum_other_doc_count == 0` and `doc_count_error_upper_bound == 0` on the partition's `terms`
aggregation. Every shard then returned every term of the partition (a shard that cut its list
reports the cut documents as "other"), so each bucket's `doc_count` and sub-aggregations are
exact. A partition that is not complete, or whose buckets exceed `search.max_buckets`, is split in
two and asked again: partition p of n holds exactly the terms of partitions p and p + n of 2n,
because Elasticsearch assigns a term to `floorMod(hash(term), n)`.

Core APIs only (no composite aggregation, which the embedded node lacks): the first request asks
for partition 0 of 1 with a `cardinality` beside it, so a small set costs one request; a large one
is then split into enough partitions for the estimate (which only sizes the pages and is never
reported). Memory is one page of buckets at a time.

A partition's request visits every matching event, whatever its share of the keys. When the
sub-aggregations are what costs (analyze), `keyed_pages` first lists the keys (partitions without
sub-aggregations: cheap) and then aggregates each page of keys with a `terms` query on them, so
all pages together visit each event once; each such page proves itself complete the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from analyzers.exceptions import ElasticsearchUnavailable, TooManyBuckets
from analyzers.queries import GROUP_KEY
from analyzers.store import Store

# Terms per page when each carries a few numbers (one bucket each): big pages cost fewer requests, and
# a page stays a few megabytes. Callers whose terms carry lists (many buckets each) ask for fewer.
PAGE_SIZE: Final = 10_000
# Keys per listing page (no sub-aggregations: one bucket per key, under `search.max_buckets`, 65,536).
LIST_SIZE: Final = 50_000
# Partitions are filled unevenly (hashing) and the estimate is approximate: aim at 80% full pages.
_FILL: Final = 0.8
# 2**20 partitions of PAGE_SIZE is two billion terms: past that a page that never completes is a bug.
_MAX_PARTITIONS: Final = 1 << 20

Bucket = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Partition:
    """`include: {partition: number, num_partitions: of}` of a `terms` aggregation."""

    number: int
    of: int

    def halves(self) -> tuple[Partition, Partition]:
        """The two partitions of twice as many whose union is this one."""
        return Partition(number=self.number, of=2 * self.of), Partition(
            number=self.number + self.of, of=2 * self.of
        )


def partitions_for(estimate: int, page_size: int) -> int:
    """How many partitions make pages of about `page_size * _FILL` terms (at least 1)."""
    return max(1, math.ceil(estimate / (page_size * _FILL)))


def page_request(
    *,
    query: Mapping[str, Any],
    field: str,
    aggs: Mapping[str, Any],
    partition: Partition,
    page_size: int,
    estimate: bool = False,
) -> dict[str, Any]:
    """A size-0 search for the terms of `field` in one partition, each with `aggs`, in key order."""
    terms: dict[str, Any] = {
        "field": field,
        "size": page_size,
        "shard_size": page_size,
        "order": {"_key": "asc"},
        "include": {"partition": partition.number, "num_partitions": partition.of},
    }
    body_aggs: dict[str, Any] = {"page": {"terms": terms, "aggs": dict(aggs)} if aggs else {"terms": terms}}
    if estimate:
        body_aggs["estimate"] = {"cardinality": {"field": field}}
    # A shard that fails must fail the page, never leave its counts out of it.
    return {
        "size": 0,
        "track_total_hits": False,
        "allow_partial_search_results": False,
        "query": dict(query),
        "aggs": body_aggs,
    }


_AS_STRINGS: Final = ",".join(
    f"-**.{name}" for name in ("key_as_string", "value_as_string", "from_as_string", "to_as_string")
)


def keys_request(
    *,
    query: Mapping[str, Any],
    field: str,
    aggs: Mapping[str, Any],
    keys: Sequence[str],
    unread: Sequence[str] = (),
) -> dict[str, Any]:
    """A size-0 search for these terms of `field` only (a `terms` query, so only their events are
    visited), each with `aggs`, in key order. Every shard holds at most these terms, so the page is
    complete unless a shard fails to return them all (still checked: `is_complete`). `unread`: paths
    within a bucket the caller never reads, left out of the answer (`filter_path`)."""
    terms: dict[str, Any] = {
        "field": field,
        "size": len(keys),
        "shard_size": len(keys),
        "order": {"_key": "asc"},
        "include": list(keys),  # a multi-valued field's other terms stay out of the page
    }
    return {
        "size": 0,
        "track_total_hits": False,
        "allow_partial_search_results": False,
        # Each run asks with its own `until`: caching a page's large answer per shard costs, never pays.
        "request_cache": False,
        # Dates as strings double the answer (thousands of buckets a page) and are never read.
        "filter_path": ",".join([_AS_STRINGS, *(f"-aggregations.page.buckets.{path}" for path in unread)]),
        "query": {"bool": {"filter": [dict(query), {"terms": {field: list(keys)}}]}},
        "aggs": {"page": {"terms": terms, "aggs": dict(aggs)} if aggs else {"terms": terms}},
    }


def is_complete(terms: Mapping[str, Any]) -> bool:
    """True when no shard left a term of this partition out (so every count in it is exact)."""
    return (
        int(terms.get("sum_other_doc_count", 0)) == 0
        and int(terms.get("doc_count_error_upper_bound", 0)) == 0
    )


@dataclass(frozen=True, kw_only=True)
class _Answer:
    """One partition's answer: its buckets when complete, else None; the estimate when asked for."""

    buckets: list[Bucket] | None
    estimate: int | None = None


def _ask(store: Store, *, index: str, body: Mapping[str, Any], action: str) -> _Answer | None:
    """Run one page request; None when no index matches (a fresh deployment)."""
    try:
        aggregations = store.search(index=index, body=body, action=action).get("aggregations")
    except TooManyBuckets:
        return _Answer(buckets=None)
    if aggregations is None:
        return None
    page = aggregations["page"]
    estimate = int(aggregations["estimate"]["value"]) if "estimate" in aggregations else None
    return _Answer(buckets=page["buckets"] if is_complete(page) else None, estimate=estimate)


def _split(partition: Partition, estimate: int | None, page_size: int) -> list[Partition]:
    """What to ask instead of an incomplete partition: enough partitions for the estimate the first
    time (partition 0 of 1), else its two halves."""
    count = partitions_for(estimate, page_size) if partition.of == 1 and estimate is not None else 1
    if count > 1:
        return [Partition(number=n, of=count) for n in range(count)]
    return list(partition.halves())


def pages(
    store: Store,
    *,
    index: str,
    query: Mapping[str, Any],
    aggs: Mapping[str, Any] | None = None,
    field: str = GROUP_KEY,
    page_size: int = PAGE_SIZE,
    action: str,
) -> Iterator[list[Bucket]]:
    """Every term of `field` among the documents `query` matches, as complete pages of buckets.

    Each term comes exactly once, in exactly one page; pages come in no particular order (keys are
    ascending within a page). Nothing when no index matches.
    """
    pending = [Partition(number=0, of=1)]
    while pending:
        partition = pending.pop()
        body = page_request(
            query=query,
            field=field,
            aggs=aggs or {},
            partition=partition,
            page_size=page_size,
            estimate=partition.of == 1,
        )
        answer = _ask(store, index=index, body=body, action=action)
        if answer is None:
            return
        if answer.buckets is not None:
            yield answer.buckets
            continue
        if partition.of >= _MAX_PARTITIONS:
            raise ElasticsearchUnavailable(f"could not {action}: a page of {field} never came back complete")
        pending.extend(reversed(_split(partition, answer.estimate, page_size)))


def keyed_pages(
    store: Store,
    *,
    index: str,
    query: Mapping[str, Any],
    aggs: Mapping[str, Any],
    field: str = GROUP_KEY,
    page_size: int,
    action: str,
    unread: Sequence[str] = (),
) -> Iterator[list[Bucket]]:
    """What `pages` yields (every term exactly once, complete pages), for a fraction of its cost when
    `aggs` are costly: the keys are listed first (`pages` without sub-aggregations, LIST_SIZE at a
    time), then each chunk of `page_size` keys is aggregated with a `terms` query on it (`keys_request`),
    so each event is visited by one page's request instead of by every page's."""
    for listed in pages(store, index=index, query=query, field=field, page_size=LIST_SIZE, action=action):
        for chunk in key_chunks([str(bucket["key"]) for bucket in listed], page_size):
            yield from _keyed_page(
                store,
                index=index,
                query=query,
                aggs=aggs,
                field=field,
                keys=chunk,
                action=action,
                unread=unread,
            )


def _keyed_page(
    store: Store,
    *,
    index: str,
    query: Mapping[str, Any],
    aggs: Mapping[str, Any],
    field: str,
    keys: list[str],
    action: str,
    unread: Sequence[str],
) -> Iterator[list[Bucket]]:
    """The buckets of these keys, complete; halves of them when a page passes `search.max_buckets`."""
    pending = [keys]
    while pending:
        chunk = pending.pop()
        body = keys_request(query=query, field=field, aggs=aggs, keys=chunk, unread=unread)
        answer = _ask(store, index=index, body=body, action=action)
        if answer is None:
            return
        if answer.buckets is not None:
            if answer.buckets:
                yield answer.buckets
            continue
        if len(chunk) == 1:
            raise ElasticsearchUnavailable(
                f"could not {action}: the page of {field} {chunk[0]!r} never came back complete"
            )
        half = len(chunk) // 2
        pending.extend([chunk[half:], chunk[:half]])


def buckets(
    store: Store,
    *,
    index: str,
    query: Mapping[str, Any],
    aggs: Mapping[str, Any] | None = None,
    field: str = GROUP_KEY,
    page_size: int = PAGE_SIZE,
    action: str,
) -> Iterator[Bucket]:
    """The buckets of `pages`, one at a time."""
    for page in pages(
        store, index=index, query=query, aggs=aggs, field=field, page_size=page_size, action=action
    ):
        yield from page


def key_chunks(keys: list[str], size: int = PAGE_SIZE) -> Iterator[list[str]]:
    """`keys` in chunks a `terms` query accepts (`index.max_terms_count` is 65,536 by default) and, at
    PAGE_SIZE, that one page holds (so a chunk's terms usually come back in one request)."""
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The same items, the next one fetched on a worker thread while the caller works on this one.

    For a caller that spends as long on a page as Elasticsearch does aggregating the next (analyze):
    the two overlap. The iterator is only ever advanced by the one worker, in order; an exception
    it raises reaches the caller at that item."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="logloop-read-ahead") as worker:
        upcoming = worker.submit(next, items, None)
        while (item := upcoming.result()) is not None:
            upcoming = worker.submit(next, items, None)
            yield item
