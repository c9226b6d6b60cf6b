"""Root-cause material from hand-made aggregation results (analyzers.rootcause), and its links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from analyzers import links
from analyzers.digest_window import Window
from analyzers.exceptions import ConfigurationError
from analyzers.group_report import resolve_request
from analyzers.render import ms, ms_change, relative
from analyzers.rootcause import (
    Onset,
    breadcrumbs,
    cascades,
    distributions,
    link_feedback,
    onset,
    onsets,
    root_causes,
)
from analyzers.rootcause_config import RootCauseConfig, rootcause_config
from analyzers.rootcause_queries import (
    ANCHORS_PER_REQUEST,
    Anchor,
    AnchorFindings,
    Facets,
    FeedbackDoc,
    RootCauseData,
    anchors_requests,
    facets_request,
    parse_anchors,
)
from analyzers.suspects import SuspectTest
from shipper.schema import FIELDS

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
WINDOW = Window.ending(datetime(2026, 11, 23, tzinfo=UTC), timedelta(days=7))


def _data(**facets: object) -> RootCauseData:
    base: dict[str, object] = {
        "group_values": [], "population": [], "first": {},
        "crumb_anchors": [], "cascade_anchors": [], "feedback": [],
    }  # fmt: skip
    anchors = facets.pop("anchors", AnchorFindings())
    assert isinstance(anchors, AnchorFindings)
    return RootCauseData(facets=Facets(**{**base, **facets}), anchors=anchors)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first_seen", "last_without", "release_time", "expected"),
    [
        pytest.param(T0, "1.9.0", T0 - timedelta(hours=3), "2.0.0", id="three-hours-after-2.0.0"),
        pytest.param(T0 + timedelta(days=2), "1.9.0", T0 - timedelta(hours=3), None, id="two-days-after"),
        pytest.param(T0, None, T0 - timedelta(hours=3), None, id="no-version-before-without-it"),
        pytest.param(T0, "1.9.0", None, None, id="its-version-never-ran"),
    ],
)
def test_onset_says_a_release_started_it_when_close_to_its_version_s_first_run(
    first_seen: datetime, last_without: str | None, release_time: datetime | None, expected: str | None
) -> None:
    """A release started a group when a version ran before without it and its own version first ran
    within `release_gap` before its first occurrence (the node's answers, `Facets.onsets`)."""
    data = _data(
        first={"k": {"time": first_seen, "host": "web-1", "service": "shop", "version": "2.0.0"}},
        onsets={"k": {"last_without": last_without, "release_time": release_time}},
    )
    found = onset("k", data, timedelta(days=1))
    assert (found.last_version_without, found.release) == (last_without, expected)
    assert found.first_host == "web-1" and found.first_version == "2.0.0"


@pytest.mark.parametrize(
    ("service", "version", "said"),
    [
        pytest.param(None, "2.0.0", "no service.name, so no earlier version", id="no-service"),
        pytest.param("shop", None, "no service.version", id="no-version"),
        pytest.param(None, None, "no service.version", id="neither"),
        pytest.param("shop", "2.0.0", "no earlier version of its service was seen", id="both"),
    ],
)
def test_an_onset_says_why_it_names_no_version_before(
    service: str | None, version: str | None, said: str
) -> None:
    """Events without service.name get no "no earlier version of its service was seen" (none was asked)."""
    first = {"k": {"time": T0, "host": "web-1", "service": service, "version": version}}
    sentence = onset("k", _data(first=first), timedelta(days=1)).sentence()
    assert said in sentence, sentence
    if service is None:
        assert "no earlier version of its service was seen" not in sentence


def test_onsets_of_several_groups() -> None:
    """Each key reads its own answer: k1 started with 2.0.0, k2 has no version without it, k3 has no
    first occurrence at all."""
    data = _data(
        first={
            "k1": {"time": T0, "host": "web-1", "service": "shop", "version": "2.0.0"},
            "k2": {"time": T0 - timedelta(hours=2), "host": "db-1", "service": "other", "version": None},
        },
        onsets={
            "k1": {"last_without": "1.9.0", "release_time": T0 - timedelta(hours=3)},
            "k2": {"last_without": None, "release_time": None},
        },
    )
    found = onsets(["k1", "k2", "k3"], data, timedelta(days=1))
    assert (found["k1"].release, found["k2"].release, found["k3"].first_seen) == ("2.0.0", None, None)
    assert found["k1"].last_version_without == "1.9.0" and found["k2"].last_version_without is None


def _anchor(key: str, minutes: int, host: str = "web-1") -> Anchor:
    return Anchor(key=key, time=T0 + timedelta(minutes=minutes), host=host, pid=7)


def test_a_cascade_needs_most_occurrences_and_more_than_chance() -> None:
    """B after 4 of 5 A's is a symptom; C after 4 of 5 is chance, C being everywhere all the time."""
    anchors = [_anchor("A", m) for m in range(5)]
    after = {0: ["B", "C"], 1: ["B", "C"], 2: ["B", "C"], 3: ["B", "C"], 4: []}
    data = _data(cascade_anchors=anchors, anchors=AnchorFindings(after=after))
    # C: 200,000 events a week -> ~1.7 per 5 s: following A by chance is certain.
    counts = {"A": 5, "B": 5, "C": 200_000}
    causes = root_causes(data, ["A"], counts=counts, window=WINDOW, config=RootCauseConfig())
    assert [(r.key, r.hits, r.anchors) for r in causes["A"].drags] == [("B", 4, 5)]
    assert causes["A"].role == "root"


def test_cascades_of_every_group_in_one_frame_by_hand() -> None:
    """A (4 sampled): B after 3 (share 3/4), C after 1 (1/4, below the 0.6 asked); D (3): A after all
    3 (share 1, chance 3 x 5 s / 7 d, negligible); E has 2 occurrences, too few for any cascade."""
    anchors = [_anchor("A", m) for m in range(4)] + [_anchor("D", 10 + m) for m in range(3)]
    anchors += [_anchor("E", 20), _anchor("E", 21)]
    after = {0: ["B"], 1: ["B", "C", "B"], 2: ["B", "A"], 3: [], **{index: ["A"] for index in range(4, 9)}}
    data = _data(cascade_anchors=anchors, anchors=AnchorFindings(after=after))
    frame = cascades(data, "after", {"A": 4, "B": 3, "C": 1}, WINDOW, RootCauseConfig())
    assert frame[["key", "other", "hits", "anchors"]].values.tolist() == [["A", "B", 3, 4], ["D", "A", 3, 3]]
    assert frame["share"].tolist() == [0.75, 1.0]
    assert frame["chance"].tolist() == pytest.approx([3 * 5 / (7 * 86_400), 4 * 5 / (7 * 86_400)])


def test_too_few_occurrences_prove_no_cascade() -> None:
    """Two occurrences both followed by B are not 'most cases' yet (at least three are needed)."""
    data = _data(
        cascade_anchors=[_anchor("A", 0), _anchor("A", 9)], anchors=AnchorFindings(after={0: ["B"], 1: ["B"]})
    )
    causes = root_causes(data, ["A"], counts={"B": 2}, window=WINDOW, config=RootCauseConfig())
    assert causes["A"].drags == () and causes["A"].role is None


def test_breadcrumbs_drop_the_occurrence_itself_and_read_oldest_first() -> None:
    """The anchor's own event (same key and time) is not its own breadcrumb; lines come oldest first."""
    anchor = _anchor("A", 0)
    info = {"level": "info", "logger": "app"}
    lines = [
        {"@timestamp": "2026-11-20T12:00:00+00:00", "message": "boom", "error": {"grouping_key": "A"},
         "log": {"level": "error", "logger": "app"}},
        {"@timestamp": "2026-11-20T11:59:59+00:00", "message": "second", "log": info},
        {"@timestamp": "2026-11-20T11:59:58+00:00", "message": "first", "log": info},
    ]  # fmt: skip
    data = _data(crumb_anchors=[anchor], anchors=AnchorFindings(crumbs={0: lines}))
    [found] = breadcrumbs("A", data, lines=5)
    assert [line.message for line in found.lines] == ["first", "second"]
    assert found.text().splitlines()[0] == "11:59:58 INFO     app: first"


def test_feedback_links_to_the_latest_error_before_it_on_its_host() -> None:
    """Feedback with an error group found before it is linked with the delay; without one it is not;
    a feature wish is never linked, even with an error found before it."""
    feedback = [
        FeedbackDoc(time=T0 + timedelta(seconds=45), host="web-2", kind="bug", message="it broke"),
        FeedbackDoc(time=T0, host="web-1", kind="usability", message="unclear"),
        FeedbackDoc(time=T0 + timedelta(seconds=5), host="web-2", kind="feature", message="dark mode"),
    ]
    found = AnchorFindings(
        feedback={
            0: {"key": "H", "time": T0, "same_process": True},
            2: {"key": "H", "time": T0, "same_process": False},
        }
    )
    [link] = link_feedback(_data(feedback=feedback, anchors=found))
    assert (link.kind, link.key, link.after, link.same_process) == ("bug", "H", timedelta(seconds=45), True)
    assert link.since == "45 s after, same process"


def _feedback_bucket(*groups: tuple[str, str]) -> dict[str, object]:
    """An anchors `filters` bucket whose `groups` terms found each (key, latest time)."""
    return {
        "lines": {"hits": {"hits": []}},
        "groups": {
            "buckets": [
                {
                    "key": key,
                    "last": {"value": datetime.fromisoformat(at).timestamp() * 1000, "value_as_string": at},
                }
                for key, at in groups
            ]
        },
    }


@pytest.mark.parametrize("process_first", [True, False], ids=["process-bucket-first", "host-bucket-first"])
def test_feedback_prefers_the_error_of_its_own_process(process_first: bool) -> None:
    """Whatever order the buckets come in, the sender's own latest error wins over a later one of
    another process on its host; with none of its own, the host's latest error is taken."""
    own = ("feedbackprocess|0", _feedback_bucket(("OWN", "2026-11-20T12:00:00+00:00")))
    host = (
        "feedback|0",
        _feedback_bucket(("OWN", "2026-11-20T12:00:00+00:00"), ("CRON", "2026-11-20T12:00:20+00:00")),
    )
    other = ("feedback|1", _feedback_bucket(("CRON", "2026-11-20T12:00:20+00:00")))
    pairs = [own, host, other] if process_first else [other, host, own]
    found = parse_anchors([{"aggregations": {"anchors": {"buckets": dict(pairs)}}}])
    assert found.feedback[0] == {"key": "OWN", "time": T0, "same_process": True}
    assert found.feedback[1]["key"] == "CRON" and found.feedback[1]["same_process"] is False


def test_feedback_anchors_ask_for_its_process_and_host_and_skip_wishes() -> None:
    """A bug report with a pid gets a same-process and a same-host bucket, one without a pid the host
    bucket only, a feature wish (or feedback without a host) none."""
    feedback = [
        FeedbackDoc(time=T0, host="web-2", kind="bug", message="x", pid=4242),
        FeedbackDoc(time=T0, host="web-3", kind="usability", message="y"),
        FeedbackDoc(time=T0, host="web-1", kind="feature", message="z", pid=7),
        FeedbackDoc(time=T0, host=None, kind="bug", message="w", pid=8),
    ]
    [body] = anchors_requests(_data(feedback=feedback).facets, RootCauseConfig())
    filters = body["aggs"]["anchors"]["filters"]["filters"]
    assert set(filters) == {"feedback|0", "feedback|1", "feedbackprocess|0"}
    assert {"term": {"process.pid": 4242}} in filters["feedbackprocess|0"]["bool"]["filter"]


def test_feedback_with_an_entity_id_asks_for_its_process_by_it() -> None:
    """A bug report that carries `process.entity_id` asks for the errors of that process instance, not
    of every process its pid had (an earlier run's error is not "the same process")."""
    feedback = [FeedbackDoc(time=T0, host="web-2", kind="bug", message="x", pid=1, entity="c" * 32)]
    [body] = anchors_requests(_data(feedback=feedback).facets, RootCauseConfig())
    same = body["aggs"]["anchors"]["filters"]["filters"]["feedbackprocess|0"]["bool"]["filter"]
    assert {"term": {"process.entity_id": "c" * 32}} in same
    assert not any("process.pid" in str(clause) for clause in same)


def test_discover_link_filters_on_the_group_and_the_window() -> None:
    """The Discover URL carries the window as _g, the key as a KQL query and the data view as _a."""
    url = links.discover_url(
        "https://kibana.example:5601/",
        key="abc'd",
        start=WINDOW.start,
        end=WINDOW.end,
        data_view="v1",
        space="ops",
    )
    assert url.startswith("https://kibana.example:5601/s/ops/app/discover#/?_g=")
    decoded = unquote(url)
    assert "time:(from:'2026-11-16T00:00:00.000Z',to:'2026-11-23T00:00:00.000Z')" in decoded
    assert "dataViewId:'v1'" in decoded and "query:'error.grouping_key:\"abc!'d\"'" in decoded
    assert " " not in url and '"' not in url


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.4, "0.4 ms"), (12.3, "12 ms"), (1003.0, "1.0 s"), (12_500.0, "12.5 s"), (150_000.0, "2.5 min")],
)
def test_durations_read_in_their_unit(value: float, text: str) -> None:
    """Milliseconds become seconds from one second on, minutes from one minute on."""
    assert ms(value) == text


@pytest.mark.parametrize(
    ("current", "previous", "text"),
    [
        (12, 10, "+20%"),
        (5, 10, "-50%"),
        (20, 10, "+100%"),
        (35, 10, "×3.5"),
        (1003.0, 0.45, "×2,229"),
        (3, 0, "–"),
    ],
)
def test_changes_are_percentages_up_to_doubling_and_factors_beyond(
    current: float, previous: float, text: str
) -> None:
    """'+222826%' becomes a factor (2,229 times); small changes stay percentages."""
    assert relative(current, previous) == text


def test_duration_change_shows_both_ends() -> None:
    """A p95 going from 0.4 ms to 1.0 s reads '0.4 ms -> 1.0 s'."""
    assert ms_change(0.4, 1003.0) == "0.4 ms -> 1.0 s"


def _fields(node: object, used: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                used.add(value)
            elif key in ("term", "terms", "range", "prefix") and isinstance(value, dict):
                if "field" not in value:  # a query clause (not an aggregation): its keys are fields
                    used.update(value)
            elif key == "includes":
                used.update(value)
            _fields(value, used)
    elif isinstance(node, list):
        for item in node:
            _fields(item, used)
    return used


def test_root_cause_queries_only_use_mapped_fields() -> None:
    """Every field the root-cause requests touch is in the index template (env vars: its flattened field)."""
    config = RootCauseConfig(env_vars=("REGION",))
    anchor = _anchor("A", 0)
    facets = _data(
        crumb_anchors=[anchor],
        cascade_anchors=[anchor],
        feedback=[FeedbackDoc(time=T0, host="web-1", kind="bug", message="x")],
    ).facets
    bodies = [
        facets_request(WINDOW, ["A"], config),
        *anchors_requests(facets, config),
        resolve_request("ab", T0),
    ]
    used = _fields(bodies, set())
    flattened = {name for name, mapping in FIELDS.items() if mapping.get("type") == "flattened"}
    unmapped = {f for f in used if f not in FIELDS and not any(f.startswith(p + ".") for p in flattened)}
    assert "logloop.env.vars.REGION" in used and not unmapped


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param({"enabled": "no"}, "must be true or false", id="enabled-not-bool"),
        pytest.param({"alpha": 1.5}, "alpha must be in (0, 1)", id="alpha"),
        pytest.param({"top_groups": 0}, "at least 1", id="top-groups"),
        pytest.param({"webhook_url": "ftp://x"}, "must be an http(s) URL", id="webhook"),
        pytest.param({"cascade_window": "soon"}, "is not a duration", id="duration"),
        pytest.param({"env_vars": "REGION"}, "must be a list of strings", id="env-vars-string"),
        pytest.param({"colour": "red"}, "unknown key(s) in [rootcause]", id="unknown-key"),
    ],
)
def test_bad_rootcause_settings_name_the_problem(table: dict[str, object], message: str) -> None:
    """Each unusable [rootcause] setting is a ConfigurationError naming the key and the fix."""
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        rootcause_config(table)


def test_the_service_of_a_single_service_group_is_no_suspect() -> None:
    """A group on one of two services is compared with that service only: its service is no suspect;
    a group on both services that keeps to one of them (20 of 21; 30% of the events) is."""
    population = [
        {"service": "shop", "dimension": "service", "value": "shop", "count": 300},
        {"service": "api", "dimension": "service", "value": "api", "count": 700},
        {"service": "shop", "dimension": "host", "value": "web-1", "count": 300},
        {"service": "api", "dimension": "host", "value": "web-1", "count": 700},
    ]
    values = [
        {"key": "one", "dimension": "service", "value": "shop", "count": 30},
        {"key": "one", "dimension": "host", "value": "web-1", "count": 30},
        {"key": "both", "dimension": "service", "value": "shop", "count": 20},
        {"key": "both", "dimension": "service", "value": "api", "count": 1},
        {"key": "both", "dimension": "host", "value": "web-1", "count": 21},
    ]
    found = distributions(values, population, SuspectTest())
    assert not any(v.suspect for v in found["one"])
    assert [(v.dimension, v.value) for v in found["both"] if v.suspect] == [("service", "shop")]
    [shop] = [v for v in found["one"] if v.dimension == "service"]
    assert (shop.share, shop.population_share) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("onset_fields", "expected"),
    [
        pytest.param(
            {"first_version": "2.0.0", "last_version_without": "1.9.0", "release": "2.0.0"},
            "first seen 2026-11-20 12:00 UTC on web-1 in 2.0.0; 1.9.0 ran before without it; "
            "started with release 2.0.0",
            id="release",
        ),
        pytest.param(
            {"first_version": None, "last_version_without": None, "release": None},
            "first seen 2026-11-20 12:00 UTC on web-1; its events carry no service.version "
            "(set service_version in the shipper)",
            id="no-versions",
        ),
        pytest.param(
            {"first_version": "1.8.0", "last_version_without": None, "release": None},
            "first seen 2026-11-20 12:00 UTC on web-1 in 1.8.0; no earlier version of its service was seen",
            id="oldest-version",
        ),
    ],
)
def test_onset_sentence(onset_fields: dict[str, str | None], expected: str) -> None:
    """The onset reads as one sentence whatever is known about versions."""
    found = Onset(first_seen=T0, first_host="web-1", release_time=None, **onset_fields)
    assert found.sentence() == expected


def test_many_anchors_are_split_into_bounded_requests() -> None:
    """Hundreds of groups' anchors never make one request with more than ANCHORS_PER_REQUEST buckets."""
    anchors = [_anchor(f"g{i}", i % 50, host=f"web-{i % 7}") for i in range(900)]
    facets = _data(crumb_anchors=anchors[:300], cascade_anchors=anchors).facets
    bodies = anchors_requests(facets, RootCauseConfig())
    sizes = [len(b["aggs"]["anchors"]["filters"]["filters"]) for b in bodies]
    assert sum(sizes) == 300 + 2 * 900 and max(sizes) <= ANCHORS_PER_REQUEST
    assert all(len(b["query"]["bool"]["should"]) == n for b, n in zip(bodies, sizes, strict=True))
    assert anchors_requests(_data().facets, RootCauseConfig()) == []
