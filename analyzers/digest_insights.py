"""Root-cause material and links for a digest: which groups get it, and the `Insights` the report carries.

The groups: the report's top groups, the new groups its lists show, then the next ranked groups with
events in the window, `[rootcause] top_groups` at most (`chosen_keys`). Three more searches whatever
the volume (analyzers.rootcause_queries), and one for the operations shown that got slow
(analyzers.slowdowns).
"""

from __future__ import annotations

from collections.abc import Sequence

from analyzers import links, rootcause, rootcause_queries, slowdowns
from analyzers.digest_data import DigestData
from analyzers.digest_model import GroupRow, Report
from analyzers.digest_options import DigestOptions
from analyzers.digest_window import Window
from analyzers.rootcause import Insights
from analyzers.store import Store


def chosen_keys(report: Report, rows: Sequence[GroupRow], limit: int) -> list[str]:
    """The groups that get root-cause material, at most `limit` of them: the top groups (their cards
    show it), then the new groups the digest lists, then the next groups of the ranking with events in
    the window. The searches cost per group asked for, so the new groups past the listed ones (there
    can be thousands) get none: `logloop group show KEY` computes it for any one group."""
    top = (g.key for g in report.top_groups)
    listed_new = (g.key for g in report.new_groups[: report.list_limit])
    ranked = (row.key for row in rows if row.count > 0)
    return list(dict.fromkeys([*top, *listed_new, *ranked]))[:limit]


def kibana_links(keys: Sequence[str], window: Window, options: DigestOptions) -> dict[str, str]:
    if not options.kibana_url:
        return {}
    return {
        key: links.discover_url(
            options.kibana_url,
            key=key,
            start=window.start,
            end=window.end,
            data_view=options.data_view,
            space=options.kibana_space,
        )
        for key in keys
    }


def gather(
    store: Store,
    data: DigestData,
    report: Report,
    rows: Sequence[GroupRow],
    options: DigestOptions,
) -> Insights:
    keys = chosen_keys(report, rows, options.rootcause.top_groups)
    found = rootcause_queries.fetch(store, data.window, keys, options.rootcause)
    counts = {str(g["key"]): int(g["count"]) for g in data.groups}
    first = {row.key: row.first_seen for row in rows}  # the registry's where it knows an earlier one
    causes = rootcause.root_causes(
        found, keys, counts=counts, window=data.window, config=options.rootcause, known_first=first
    )
    feedback = rootcause.link_feedback(found)
    titles = {row.key: row.title for row in rows}
    linked = {
        *keys,
        *(f.key for f in feedback),
        *(r.key for c in causes.values() for r in (*c.drags, *c.follows)),
    }
    return Insights(
        root_causes=causes,
        feedback_links=feedback,
        feedback_daily={kind: tuple(daily) for kind, daily in found.facets.feedback_daily.items()},
        titles={key: title for key, title in titles.items() if key in linked},
        kibana=kibana_links(sorted(linked), data.window, options),
        slowdowns=slowed_operations(store, report, options),
    )


def slowed_operations(store: Store, report: Report, options: DigestOptions) -> dict[str, slowdowns.Slowdown]:
    """Why each operation the report shows got slow, if any did (one search)."""
    slowed = slowdowns.got_slow(
        slowdowns.Operation(action=o.action, p95_ms=o.p95_ms, previous_p95_ms=o.previous_p95_ms)
        for o in report.operations
    )
    body = slowdowns.request(report.window, slowed)
    if body is None:
        return {}
    response = store.search(index=store.events, body=body, action="explain the slower operations")
    return slowdowns.slowdowns(slowed, response, options.rootcause.test)
