"""shipper.grouping.message_only: which events the miner groups, and templates learned across runs."""

from __future__ import annotations

import pytest

from shipper.grouping.message_only import (
    LearnedTemplates,
    generalizes,
    has_key_of_its_own,
    message_of,
    template_from_text,
    title_of,
)
from shipper.grouping.templates import mine

NAMES = ("alice", "bruno", "chen", "dana", "emeka", "farah", "goran", "hana")


@pytest.mark.parametrize(
    ("doc", "own"),
    [
        pytest.param({"message": "boom", "logloop.template": "boom %s"}, True, id="logging-template"),
        pytest.param(
            {
                "error": {
                    "stack_trace": 'Traceback (most recent call last):\n  File "a.py", line 1, in f\nE: x'
                }
            },
            True,
            id="python-traceback",
        ),
        pytest.param(
            {"error.stack_trace": "java.lang.NullPointerException\n\tat A.b(A.java:1)"}, True, id="java"
        ),
        pytest.param({"error.stack_trace": "java.lang.NullPointerException: x"}, False, id="java-no-frames"),
        pytest.param({"message": "disk full"}, False, id="bare-message"),
    ],
)
def test_which_events_the_miner_groups(doc: dict[str, object], own: bool) -> None:
    """Python tracebacks, Java and Go traces with frames and logging templates have keys of their own;
    anything else is mined."""
    assert has_key_of_its_own(doc) is own


def test_the_line_the_miner_sees_is_the_first_with_the_short_type() -> None:
    """The miner sees `Type: first line`; detail lines and the module path of the type are left out."""
    doc = {"message": "cannot open\nrow 1\nrow 2", "error": {"type": "java.io.IOException"}}
    assert message_of(doc) == "IOException: cannot open"
    assert message_of({"error.message": "x failed"}) == "x failed"


def test_templates_survive_the_store_as_text() -> None:
    """A template written as its text reads back as the same tokens, the empty one included."""
    for messages in (["user 12 gone", "user 13 gone"], [""]):
        template = mine(messages).template_of(0)
        assert template_from_text(template.text) == template


def test_a_first_run_mines_as_cluster_does() -> None:
    """Without known templates the assignment is exactly the miner's over the same input."""
    messages = [f"payment {n} failed for {name}" for n, name in enumerate(NAMES)] + ["cache cold"]
    assignment = LearnedTemplates().assign(messages)
    mined = mine(messages)
    assert [t.text for t in assignment.templates] == [mined.template_of(i).text for i in range(len(messages))]
    assert {t.text for t in assignment.learned} == {"payment <*> failed for <*>", "cache cold"}


def test_known_templates_are_matched_first_and_keep_their_keys() -> None:
    """A later run gives lines of a known template that template (same key) and learns nothing new."""
    first = LearnedTemplates().assign([f"session expired for {name}" for name in NAMES])
    known = LearnedTemplates(first.learned)
    later = known.assign(["session expired for zoe", "session expired for yuki"])
    assert {t.cluster_id for t in later.templates} == {first.templates[0].cluster_id}
    assert later.learned == () and later.merged == ()


def test_the_most_specific_known_template_wins() -> None:
    """When two known templates fit a line, the one with fewer variables is chosen."""
    general, specific = template_from_text("job <*> <*>"), template_from_text("job <*> started")
    known = LearnedTemplates((general, specific))
    assert known.match("job 7 started") == specific
    assert known.match("job 7 stopped") == general


def test_templates_learned_from_too_few_values_merge_into_the_general_one() -> None:
    """Three names on day one make three templates; five more names later show the word is a variable:
    the general template is learned and the three are reported merged into it."""
    day_one = LearnedTemplates().assign([f"session expired for {name}" for name in NAMES[:3]])
    assert len(day_one.learned) == 3  # the miner takes 2-4 values for different statements
    known = LearnedTemplates(day_one.learned)
    day_two = known.assign([f"session expired for {name}" for name in NAMES[3:]])
    general = "session expired for <*>"
    assert {t.text for t in day_two.templates} == {general}
    assert sorted(old.text for old, _ in day_two.merged) == sorted(t.text for t in day_one.learned)
    assert {new.text for _, new in day_two.merged} == {general}
    after = known.with_learned(day_two.learned, day_two.merged)
    assert [t.text for t in after.known] == [general]


def test_different_statements_do_not_merge() -> None:
    """Starting/Ending are two statements (two values): known templates of each stay apart."""
    known = LearnedTemplates(LearnedTemplates().assign(["Starting job 1", "Ending job 2"]).learned)
    assert {t.text for t in known.known} == {"Starting job <*>", "Ending job <*>"}
    later = known.assign(["Pausing job 3"])
    assert later.merged == ()
    assert generalizes(template_from_text("<*> job <*>"), template_from_text("Ending job <*>"))
    assert not generalizes(template_from_text("Ending job <*>"), template_from_text("<*> job <*>"))


def test_titles_come_from_real_lines_and_are_kept_by_stored_templates() -> None:
    """A learned template is titled by its first real line (a general one learned from known templates
    too, never by the stand-in lines they are mined as); a stored title is kept on later runs, and a
    template stored without one is titled by its tokens."""
    day_one = LearnedTemplates().assign([f"session expired for {name} (idle 30 min)" for name in NAMES[:3]])
    assert {t.title for t in day_one.learned} == {
        f"session expired for {n} (idle <NUM> min)" for n in NAMES[:3]
    }
    stored = LearnedTemplates(tuple(template_from_text(t.text, t.title) for t in day_one.learned))
    day_two = stored.assign([f"session expired for {name} (idle 45 min)" for name in NAMES[3:]])
    [general] = day_two.learned
    assert title_of(general) == "session expired for <*> (idle <NUM> min)"
    again = LearnedTemplates((general,)).assign(["session expired for zoe (idle 5 min)"])
    assert [title_of(t) for t in again.templates] == ["session expired for <*> (idle <NUM> min)"]
    untitled = LearnedTemplates((template_from_text(general.text),)).assign(
        ["session expired for zoe (idle 5 min)"]
    )
    assert [title_of(t) for t in untitled.templates] == [general.text]
