"""The named masking rules that parameterize variable tokens before grouping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipper.grouping import fingerprint
from shipper.grouping.fingerprint import clear_caches, fingerprint_event
from shipper.grouping.masking import RULES, mask

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("job 123e4567-e89b-12d3-a456-426614174000 done", "job <UUID> done", id="uuid"),
        pytest.param("GET https://api.example.com/v1/items?id=7 failed", "GET <URL> failed", id="url"),
        pytest.param("mail to bob.smith@example.org bounced", "mail to <EMAIL> bounced", id="email"),
        pytest.param("at 2024-05-01T10:00:00.123+02:00 ok", "at <DATETIME> ok", id="datetime"),
        pytest.param("at 23:59:01 ok", "at <TIME> ok", id="time"),
        pytest.param("peer 192.168.10.7:8080 reset", "peer <IP> reset", id="ipv4-port"),
        pytest.param("peer fe80::1ff:fe23:4567:890a reset", "peer <IP> reset", id="ipv6"),
        pytest.param("<Order object at 0x7f3a2b9c0d10>", "<Order object at <HEX>>", id="hex-address"),
        pytest.param("open C:\\Users\\ann\\data.csv failed", "open <PATH> failed", id="windows-path"),
        pytest.param("open /var/lib/app/data.csv failed", "open <PATH> failed", id="unix-path"),
        pytest.param("connect db-7.internal.example:5432 refused", "connect <HOST> refused", id="host-port"),
        pytest.param("commit 3f9a7c2e1b4d failed", "commit <HEX> failed", id="hex-id"),
        pytest.param("timed out after 1.5s", "timed out after <DURATION>", id="duration"),
        pytest.param('unknown key "colour"', 'unknown key "<STR>"', id="double-quoted"),
        pytest.param("unknown key 'colour'", "unknown key '<STR>'", id="single-quoted"),
        pytest.param("retried -3 times, 4.5 left", "retried <NUM> times, <NUM> left", id="number"),
        pytest.param("block blk_-1608 lost", "block <ID> lost", id="word-with-digits-and-dashes"),
        pytest.param("session user=root rhost=h1.example", "session user=<VAL> rhost=<VAL>", id="key-value"),
        pytest.param("at Fri Jul 22 09:27:24 2005 ok", "at <DATETIME> ok", id="month-day-date"),
        pytest.param("user u1234 missing", "user <ID> missing", id="word-with-digits"),
        pytest.param("ids [1, 2, 3] and (4; 5)", "ids [<NUM>] and (<NUM>)", id="variable-length-list"),
    ],
)
def test_rule_masks_its_token(text: str, expected: str) -> None:
    """Each named rule replaces its kind of variable token and nothing around it."""
    assert mask(text) == expected


def test_rules_are_named_and_unique() -> None:
    """Every rule has a unique name (they are referred to by name in docs and tests)."""
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("maximum recursion depth exceeded", id="plain-words"),
        pytest.param("can't compare str and int", id="apostrophe-in-word"),
        pytest.param("division by zero", id="short"),
    ],
)
def test_constant_text_is_left_alone(text: str) -> None:
    """Text without variable tokens comes out unchanged."""
    assert mask(text) == text


SAME_SHAPE = [
    pytest.param(["user 2387 not in 5 rows", "user 9100 not in 7 rows"], id="numbers"),
    pytest.param(["at 0x7f3a2b9c0d10 died", "at 1x7f3a2b9c0d10 died", "at 0x1f died"], id="hex-or-not"),
    pytest.param(["peer 10.0.0.1:80 reset", "peer 19.9.9.2:81 reset", "peer 10.0.0.1:8 reset"], id="ip-port"),
    pytest.param(["code é5 left", "code é7 left", "code é0 left"], id="digit-no-rule-masks"),
    pytest.param(["Jan 5 2024 ok", "Jan 9 2024 ok", "Jan 10 2024 ok"], id="month-day"),
    pytest.param(["id=0 v1.2", "id=0x1 v1.2", "id=1 v3.4"], id="zero-and-x"),
    pytest.param(
        [
            "<Foo object at 0x7f3a2b9c0d10>",
            "<Foo object at 0xdeadbeef1234>",
            "<Foo object at 0xABCDEF123456>",
        ],
        id="hex-address-letters",
    ),
    pytest.param(["at 0x1fgh", "at 0x11gh", "at 0xabgh"], id="hex-run-inside-a-word"),
    pytest.param(["see http://h/0xab now", "see http://h/0x12 now"], id="hex-address-in-a-url"),
    pytest.param(["mail 0xab@x.io", "mail 0x12@x.io"], id="hex-address-in-an-email"),
    pytest.param(["t 0x1f:12:34 ok", "t 0xff:12:34 ok", "t 0x11:12:34 ok"], id="hex-address-before-a-time"),
    pytest.param(["0xDec 5 2024", "0x111 5 2024"], id="hex-letters-like-a-month"),
]


@pytest.mark.parametrize("lines", SAME_SHAPE)
def test_titles_of_lines_of_one_shape_are_masked_each_as_mask_masks_it(lines: list[str]) -> None:
    """Message lines that differ in digits only share a memo, yet each title is exactly mask(line)."""
    clear_caches()
    for line in lines:
        fingerprint = fingerprint_event({"log": {"level": "error"}, "message": line})
        assert fingerprint is not None and fingerprint.name == mask(line)


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        pytest.param("user 2387 not in 5 rows", "user 1111 not in 1 rows", id="ascii-digits"),
        pytest.param("at 0x7f3a2b9c0d10 died, 0 left", "at 0x111111111111 died, 1 left", id="hex-address"),
        pytest.param("at 0X7F, 10 of 20", "at 0X11, 11 of 11", id="upper-hex"),
        pytest.param("at 0x1fgh or x0x1f 2", "at 0x1fgh or x0x1f 1", id="not-addresses"),
        pytest.param("code é5 left, 0 of 90", "code é1 left, 1 of 11", id="non-ascii"),
        pytest.param("max 0 x 9", "max 1 x 1", id="zero-space-x"),
        pytest.param("no digits at all", "no digits at all", id="no-digits"),
        pytest.param("", "", id="empty"),
    ],
)
def test_a_line_shape_writes_digits_and_hex_address_letters_as_one(line: str, shape: str) -> None:
    """A line's shape writes "1" for every digit but the "0" of "0x", and for every letter of a whole hex
    address (the byte translation and the substitutions agree)."""
    assert fingerprint._shape(line) == shape


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(("abc123def", "zz91x", "7"), id="hex-looking-id"),
        pytest.param(("5m", "5x", "300"), id="duration-looking-id"),
        pytest.param(("3f2b1c9e-8a7d-4e2f-9b1a-0c2d3e4f5a6b", "anonymous"), id="uuid-or-word"),
        pytest.param(("10.0.0.12:5432", "db-7.internal:5432", "localhost"), id="address-or-host"),
        pytest.param(("2024-05-01T10:00:00Z", "never"), id="date-or-word"),
        pytest.param(("/srv/a.csv", "a.csv"), id="path-or-name"),
    ],
)
def test_a_key_values_shape_does_not_split_a_message(values: tuple[str, ...]) -> None:
    """A `key=value` whose values take other shapes (an id that happens to be all hex digits, a uuid or
    a word, an address or a host name) masks to one `key=<VAL>`: one message-only group, not one per
    shape of the value (the value rule used to leave a placeholder an earlier rule had made)."""
    masked = {mask(f"row id={value} rejected by peer") for value in values}
    assert masked == {"row id=<VAL> rejected by peer"}
    keys = set()
    for value in values:
        clear_caches()
        found = fingerprint_event({"log": {"level": "error"}, "message": f"row id={value} rejected by peer"})
        assert found is not None
        keys.add((found.key, found.name))
    assert len(keys) == 1
    assert mask("x=<b> and a=<NUM>x") == "x=<b> and a=<NUM>x"  # no placeholder of its own: text kept


def _message_key(message: str) -> tuple[str, str]:
    clear_caches()
    found = fingerprint_event({"log": {"level": "error", "logger": "feeds"}, "message": message})
    assert found is not None
    return found.key, found.name


# One message with a value written in a shape the rules did not know, three times with other values;
# and a sibling message (other words around the same kind of value).
_UNKNOWN_SHAPES = [
    pytest.param(
        "upstream said retry after {}",
        ["Fri, 05 Jan 2024 10:00:00 GMT", "Mon, 11 Dec 2023 23:59:59 GMT", "Sun, 1 Sep 2024 07:00:00 GMT"],
        id="http-date",
    ),
    pytest.param(
        "mail dated {} bounced",
        [
            "Tue, 1 Oct 2024 09:05:00 +0200",
            "Wed, 30 Apr 2025 18:00:01 -0700",
            "Thu, 04 Dec 2026 00:00:00 +0000",
        ],
        id="rfc-2822-date",
    ),
    pytest.param(
        "certificate expired on {}",
        ["5 January 2024", "31 December 2023", "17 Mar 2025"],
        id="day-month-year",
    ),
    pytest.param(
        "report of {} is late",
        ["Thursday, 4 December 2026", "Monday, 22 June 2026", "Sat, 3 Jan 2026"],
        id="weekday-day-month-year",
    ),
    pytest.param(
        "batch from the {} failed",
        ["4th December", "21st Jan", "2nd March 2024"],
        id="ordinal-day",
    ),
    pytest.param(
        "request [{}] timed out",
        ["05/Jan/2024:10:00:00 +0000", "31/Dec/2023:23:59:59 -0500", "17/Mar/2025:08:30:12 +0100"],
        id="common-log-format",
    ),
    pytest.param("cannot read {}", ["C:/data/in.csv", "d:/feeds/eu/x.json", "E:/y"], id="drive-with-slashes"),
    pytest.param(
        "cannot read {}",
        ["\\\\fileserver\\share\\in.csv", "\\\\nas-02\\feeds$\\eu\\x.json", "\\\\10.0.0.7\\d\\y"],
        id="unc-path",
    ),
    pytest.param(
        "invalid literal for int() with base 10: {}",
        ["b'abc'", "b'\\x00\\x01'", "b'12a'"],
        id="bytes-literal",
    ),
    pytest.param(
        "Protocol error, got {} as reply type byte",
        ["b'x'", "b'\\n'", "b'HTTP/1.1 500 Internal Server Error\\r\\n'"],
        id="bytes-literal-of-a-reply",
    ),
]


@pytest.mark.parametrize(("template", "values"), _UNKNOWN_SHAPES)
def test_a_value_in_a_shape_of_its_own_masks_alike_whatever_it_is(template: str, values: list[str]) -> None:
    """A value written in a shape of its own (a date written day first, with its weekday and month
    named; a Windows path with a drive and slashes, or a UNC path; a bytes literal) masks to one
    placeholder whatever its value: a message-only error is one group whatever the date, file or bytes
    (they were one per weekday and month, per drive, per value), another message another."""
    masked = {mask(template.format(value)) for value in values}
    assert len(masked) == 1, masked
    keys = {_message_key(template.format(value))[0] for value in values}
    assert len(keys) == 1
    assert _message_key("while closing: " + template.format(values[0]))[0] not in keys


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("team 5 Marketing is over quota", id="month-prefix-word"),
        pytest.param("3 may fail, 2 Mayday calls", id="modal-and-word"),
        pytest.param("Bob's verb 'x' and Rob'", id="apostrophes"),
        pytest.param("a:/b and x:\\", id="one-letter-keys"),
    ],
)
def test_words_that_only_look_like_those_shapes_keep_their_words(text: str) -> None:
    """Words that only start like a month, or a quote after a word, are not taken for a date or bytes."""
    masked = mask(text)
    for word in ("Marketing", "may", "Mayday", "Bob's", "verb"):
        assert (word in masked) == (word in text)


def test_importing_the_grouping_compiles_no_pattern_of_a_rare_shape() -> None:
    """The patterns of rare shapes (a date with its month named, a UNC path, a drive's path with slashes,
    a bytes literal, a task group's library) are compiled when a text first needs them, not at a
    program's start."""
    script = (
        "from shipper.grouping import fingerprint, masking\n"
        "rare = ('unc_path', 'month_day', 'drive_path', 'bytes_quoted')\n"
        "lazy = [rule.pattern for rule in masking.RULES if rule.name in rare]\n"
        "lazy += [fingerprint._TASK_GROUP_LIBRARY_RE]\n"
        "before = [pattern._compiled is None for pattern in lazy]\n"
        "masking.mask('seen 5 Jan 2024 at \\\\\\\\nas\\\\d\\\\x.csv, C:/y and b\\'z\\'')\n"
        "print(len(lazy), all(before), [pattern._compiled is None for pattern in lazy])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=60
    )
    expected = "5 True [False, False, False, False, True]"
    assert done.stdout.strip() == expected, done.stdout + done.stderr


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(("[1, 'a', None]", "[22, 'bb', None, 3.5]", "['zz', 7]", "[None, 9]"), id="list"),
        pytest.param(("(3, 'x')", "('y', 4, True)", "(None, 2.5)"), id="tuple"),
        pytest.param(('[1, "a"]', '["b", 2, null]', "[null, false, 3]"), id="json-array"),
        pytest.param(("[0x1f, 'k']", "['k', 0xff, None]"), id="hex-and-string"),
    ],
)
def test_a_list_of_values_of_mixed_kinds_masks_alike_whatever_its_order(values: tuple[str, ...]) -> None:
    """A written-out list whose items are values of several kinds (None and other literals among them)
    masks to one value whatever the kinds' order, the items' number or where a None stands."""
    masked = {mask(f"rejected ids {value} for batch") for value in values}
    assert masked == {"rejected ids [<VAL>] for batch"} or masked == {"rejected ids (<VAL>) for batch"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ids [1, 2, 3]", "ids [<NUM>]"),
        ("ids ['a', 'b']", "ids ['<STR>']"),
        ("flags [None, True]", "flags [None, True]"),
        ("shape (3, 4)", "shape (<NUM>)"),
        ("returned None, 5 times", "returned None, <NUM> times"),
        ("expected 3 or None", "expected <NUM> or None"),
        ("ids ['None', 'x']", "ids ['<STR>']"),
    ],
)
def test_a_list_of_one_kind_or_of_literals_only_keeps_its_mask(text: str, expected: str) -> None:
    """Lists of one kind of value keep their kind, a list of literals only its words, and a literal
    outside a list is left as it is: only mixed lists are `<VAL>`."""
    assert mask(text) == expected


def test_tracebacks_raising_mixed_lists_are_one_group() -> None:
    """Errors raised where no source is shown (keyed with their masked message) with lists of mixed
    kinds in their message are one group."""
    keys = set()
    for value in ([1, "a", None], [22, "bb", None, 3.5], ["zz", 7], [None, 9]):
        text = (
            "Traceback (most recent call last):\n"
            '  File "/srv/shop/orders.py", line 12, in check\n'
            f"ValueError: rejected ids {value!r}\n"
        )
        found = fingerprint_event({"message": "m", "log": {"level": "error"}, "error": {"stack_trace": text}})
        assert found is not None
        keys.add(found.key)
    assert len(keys) == 1
