"""Learned message templates: index `<prefix>-templates`, one document per template, `_id` = its key.

`logloop regroup` (and `analyze`, which regroups first) mine message-only events into templates
(`shipper.grouping.message_only`); the templates are stored here so the next run matches new events
against them and gives them the same keys. A template is never changed or removed once stored: the
keys already written into events stay valid. The index name does not match the daily event pattern
`<prefix>-20*`, so event queries never see it.

A template is stored once and never edited, with one exception: when a later run's evidence shows it
was one value of a variable (see `LearnedTemplates.assign`), it gets `merged_into` = the key of the
general template, is no longer matched, and `analyzers.regroup` moves its events to that key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

from analyzers.store import Store
from shipper.grouping.message_only import LearnedTemplates, template_from_text
from shipper.grouping.templates import Template

_PAGE: Final = 1000
MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "key": {"type": "keyword"},
        "template": {"type": "keyword", "index": False, "doc_values": False},
        "title": {"type": "keyword", "index": False, "doc_values": False},
        "learned_at": {"type": "date"},
        "merged_into": {"type": "keyword"},
    },
}


def ensure(store: Store) -> bool:
    """Create the templates index if missing; True when created now. An existing index gets the fields
    this version added (the mapping is strict: a document with a field it does not know is refused)."""
    created = store.ensure_bookkeeping_index(index=store.templates, mappings=MAPPING)
    if not created:
        store.put_mapping(
            index=store.templates, properties=MAPPING["properties"], action="update the templates mapping"
        )
    return created


def _pages(store: Store) -> Iterator[list[dict[str, Any]]]:
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": _PAGE,
            "query": {"match_all": {}},
            "sort": [{"learned_at": "asc"}, {"key": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        response = store.search(index=store.templates, body=body, action="read learned templates")
        hits = response.get("hits", {}).get("hits", [])
        yield [hit["_source"] for hit in hits]
        if len(hits) < _PAGE:
            return
        after = hits[-1]["sort"]


def load(store: Store) -> LearnedTemplates:
    """Every stored template still in use, in the order they were learned (none without the index)."""
    return LearnedTemplates(
        tuple(
            template_from_text(str(source["template"]), str(source.get("title") or ""))
            for page in _pages(store)
            for source in page
            if not source.get("merged_into")
        )
    )


def mark_merged(store: Store, merged: Iterable[tuple[Template, Template]]) -> int:
    """Record that each old template's lines belong to the new one (the old one is no longer matched)."""
    operations: list[dict[str, Any]] = []
    for old, new in merged:
        operations.append({"update": {"_index": store.templates, "_id": old.cluster_id}})
        operations.append({"doc": {"merged_into": new.cluster_id}})
    return store.bulk(operations=operations, action="record merged templates", refresh=True)


def save(store: Store, templates: Iterable[Template], *, now: datetime) -> int:
    """Store newly learned templates. The id is the template's key (a hash of its text), so a template two
    runs learned at once is written twice with the same content, never changed."""
    learned_at = now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    operations: list[dict[str, Any]] = []
    for template in templates:
        operations.append({"index": {"_index": store.templates, "_id": template.cluster_id}})
        operations.append(
            {
                "key": template.cluster_id,
                "template": template.text,
                "title": template.title,
                "learned_at": learned_at,
            }
        )
    if not operations:
        return 0
    ensure(store)
    return store.bulk(operations=operations, action="store learned templates", refresh=True)
