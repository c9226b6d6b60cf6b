"""The message template miner: tokenization, grouping and determinism."""

from __future__ import annotations

import random

import pytest

from shipper.grouping.templates import WILDCARD, MinerConfig, Template, mine, tokenize

W = WILDCARD


@pytest.mark.parametrize(
    ("message", "tokens"),
    [
        pytest.param("worker 17 started", ("worker", W, "started"), id="number"),
        pytest.param("sent 1104 bytes (1.07 KB) in 3 ms", ("sent", W, "in", W), id="units-belong-to-values"),
        pytest.param("lock=233, flags=0x1, tag=Foo", ("lock", W, "flags", W, "tag", W), id="key-value-pairs"),
        pytest.param("open /var/log/app.log failed", ("open", W, "failed"), id="path"),
        pytest.param("ids [1, 2, 3] done", ("ids", W, "done"), id="lists-collapse"),
        pytest.param("at Fri Jul 22 09:27:24 2005", ("at", W), id="dates"),
        pytest.param("(root) CMD (run-parts)", ("root", "CMD", "run-parts"), id="edge-punctuation"),
    ],
)
def test_tokenize(message: str, tokens: tuple[str, ...]) -> None:
    """Value-like tokens become wildcards, runs of them collapse, keys and words stay."""
    assert tokenize(message) == tokens


def test_groups_one_statement_and_separates_others() -> None:
    """Messages of one logging statement group together; another statement is another group."""
    users = ("root", "admin", "guest", "oracle", "test", "ubuntu")
    failed = [
        f"Failed password for {user} from 10.0.0.{n} port {2200 + n} ssh2" for n, user in enumerate(users)
    ]
    closed = ["Connection closed by 10.0.0.5 [preauth]", "Connection closed by 10.0.0.6 [preauth]"]
    messages = ["Accepted password for alice from 10.0.0.1 port 2201 ssh2", *failed, *closed]
    result = mine(messages)
    labels = result.assignments
    assert len(set(labels[1:7])) == 1 and labels[7] == labels[8]
    assert len({labels[0], labels[1], labels[7]}) == 3
    assert result.template_of(1).text == f"Failed password for {W} from {W} port {W}"


def test_variable_length_values_do_not_split() -> None:
    """A value spanning a varying number of tokens (dates, lists) keeps one group."""
    messages = ["retry in 3 s for [1, 2, 3]", "retry in 10 s for [4]", "retry in 1 s for []"]
    assert len(set(mine(messages).assignments)) == 1


def test_deterministic_for_a_given_order() -> None:
    """The same input in the same order gives the same assignments and template ids."""
    messages = [f"user {n} logged {'in' if n % 2 else 'out'} from host-{n % 3}" for n in range(50)]
    first, second = mine(messages), mine(list(messages))
    assert first == second
    assert [t.cluster_id for t in first.templates] == [t.cluster_id for t in second.templates]


def test_few_distinct_words_split_many_are_variables() -> None:
    """A position with few distinct words splits groups; above split_max_values it is a variable."""
    few = ["Starting the service loop", "Ending the service loop"] * 3
    assert len(set(mine(few).assignments)) == 2
    many = [f"user {name} logged in" for name in ("ann", "bob", "cid", "dan", "eve", "fay")]
    assert len(set(mine(many, MinerConfig(split_max_values=4)).assignments)) == 1


def test_template_matches_is_read_only() -> None:
    """Template.matches compares a message with a mined template without learning."""
    template = Template(("worker", W, "started"))
    assert template.matches("worker 99 started")
    assert not template.matches("worker 99 stopped")
    assert not template.matches("worker started")


def test_empty_input() -> None:
    """No messages, no templates."""
    result = mine([])
    assert result.assignments == () and result.templates == ()


@pytest.mark.parametrize(
    ("messages", "title"),
    [
        pytest.param(
            ["cache miss for key=abc, retrying (attempt 3)", "cache miss for key=xyz, retrying (attempt 4)"],
            "cache miss for key=<*>, retrying (attempt <NUM>)",
            id="punctuation-and-pairs-kept",
        ),
        pytest.param(
            ["disk usage at 91% on /var/lib/web", "disk usage at 97% on /srv/db"],
            "disk usage at <NUM>% on <PATH>",
            id="typed-placeholders-as-a-logging-template-title",
        ),
        pytest.param(
            [f"request from {name} denied" for name in ("cron", "api", "ui", "batch")]
            + ["job cron started", "job api started"],
            "request from <*> denied",
            id="a-learnt-bare-word-variable",
        ),
        pytest.param(
            ["ValueError: size 1.07 KB too big [id=7]", "ValueError: size 3 KB too big [id=8]"],
            "ValueError: size <NUM> KB too big [id=<NUM>]",
            id="type-prefix-unit-and-brackets",
        ),
        pytest.param(
            ["took 3 ms  -  retrying", "took 5 ms  -  retrying"],
            "took <NUM> ms - retrying",
            id="punctuation-words-and-blank-runs",
        ),
        pytest.param(
            ["Größe 12 überschritten: ключ 7", "Größe 13 überschritten: ключ 9"],
            "Größe <NUM> überschritten: ключ <NUM>",
            id="non-ascii-words",
        ),
    ],
)
def test_a_title_is_the_first_message_with_placeholders(messages: list[str], title: str) -> None:
    """A template's title is its first message as written, each variable word a placeholder (typed
    where masking knows its shape): punctuation, `key=` and units stay."""
    mined = mine(messages)
    assert mined.template_of(0).title == title


def test_titles_keep_every_constant_word_and_never_change_keys() -> None:
    """Over many statements with random values, each title fits its first message (never empty) and
    holds the template's constant words in order; the key is the tokens' alone."""
    rng = random.Random(11)
    shapes = [
        "user {w} logged in from {ip} after {n} tries",
        "queue {w}: {n} messages pending, oldest {n}s",
        "[{w}] upload of {path} failed (HTTP {n})",
        "retry {n}/{n} for job={w}; backoff {n} ms",
        "cannot open '{path}': permission denied",
    ]
    values = {
        "{w}": lambda: rng.choice(["alpha", "beta", "cron", "api", "gamma", "delta"]),
        "{n}": lambda: str(rng.randrange(1, 5000)),
        "{ip}": lambda: ".".join(str(rng.randrange(256)) for _ in range(4)),
        "{path}": lambda: "/srv/" + rng.choice(["a", "b", "c"]) + f"/f{rng.randrange(99)}.txt",
    }
    messages = []
    for _ in range(300):
        message = rng.choice(shapes)
        while "{" in message:
            slot = message[message.index("{") : message.index("}") + 1]
            message = message.replace(slot, values[slot](), 1)
        messages.append(message)
    mined = mine(messages)
    for template in mined.templates:
        assert template.title
        rest = template.title
        for word in (token for token in template.tokens if token != WILDCARD):
            assert word in rest, (word, template.title)
            rest = rest[rest.index(word) + len(word) :]
        assert (
            template == Template(template.tokens)
            and template.cluster_id == Template(template.tokens).cluster_id
        )


@pytest.mark.parametrize(
    "lists",
    [
        pytest.param(("['price', 'qty']", "['sku']", "['a', 'b', 'c']"), id="strings"),
        pytest.param(("[1, 'a', None]", "[22, 'bb', None, 3.5]", "['zz', 7]", "[None, 9]"), id="mixed"),
        pytest.param(("[True, None]", "[False]", "[null, true]"), id="literals"),
        pytest.param(('("eu", 3)', "('us', 4, 'x')", "('ap', 5)"), id="tuples"),
        pytest.param(('["a b", "c"]', "['d, e']", "[]"), id="blanks-and-commas-inside"),
    ],
)
def test_a_written_out_list_of_values_is_one_variable(lists: tuple[str, ...]) -> None:
    """One statement logging lists of values (strings, mixed kinds, literals; any length) is one template,
    titled with the list as one placeholder; another statement's lines stay apart."""
    from shipper.grouping.templates import title_in

    messages = [f"missing columns {value} in upload" for value in lists] + ["disk full on sda"] * 2
    result = mine(messages)
    assert len({result.assignments[index] for index in range(len(lists))}) == 1
    assert result.assignments[0] != result.assignments[-1]
    tokens = result.template_of(0).tokens
    assert title_in(tokens, messages[1]) == "missing columns [<LIST>] in upload"


@pytest.mark.parametrize(
    "message",
    ["lookup d['sku'] failed", "call f('x', 2) failed", "got xs[0] and ys[1]", "see (most recent call last)"],
)
def test_an_index_or_a_call_is_no_list(message: str) -> None:
    """Brackets after a word (an index, a call's arguments) or around words are not read as a list."""
    from shipper.grouping.templates import _with_lists_marked

    assert _with_lists_marked(message) == message
