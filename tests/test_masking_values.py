"""Values whose kind varies with the data mask alike: a digest a word names (a short SHA of digits only),
a MAC address with or without digits, a number in scientific notation, a duration in several units, a
size whatever its unit, a mapping (a dict's repr, a JSON object) whatever keys and kinds of values it
holds."""

from __future__ import annotations

import pytest

from shipper.grouping.fingerprint import clear_caches, fingerprint_event
from shipper.grouping.masking import mask
from shipper.grouping.titles import masked_message

SAME = [
    pytest.param(
        ["commit 1234567 not found", "commit a1b2c3d not found", "commit 3f9a7c2e1b4d not found"],
        "commit <HEX> not found",
        id="short-sha-of-digits-only",
    ),
    pytest.param(
        ["deploy of revision 12345678.", "deploy of revision 0a1b2c3d.", "deploy of revision 9999999."],
        "deploy of revision <HEX>.",
        id="revision-at-a-sentences-end",
    ),
    pytest.param(
        ["checksum: 20231204 mismatch", "checksum: 9f86d081 mismatch"],
        "checksum: <HEX> mismatch",
        id="checksum-after-a-colon",
    ),
    pytest.param(
        ["Changeset #1234567 rejected", "Changeset #abc1234 rejected"],
        "Changeset #<HEX> rejected",
        id="changeset-after-a-hash-sign",
    ),
    pytest.param(
        ["no device 00:1a:2b:3c:4d:5e", "no device aa:bb:cc:dd:ee:ff", "no device AA-BB-CC-00-11-22"],
        "no device <MAC>",
        id="mac-address",
    ),
    pytest.param(
        ["value 1.5e+308 too big", "value 2E-7 too big", "value 3.25 too big", "value 7 too big"],
        "value <NUM> too big",
        id="scientific-notation",
    ),
    pytest.param(
        ["due at 10:00:01 AM", "due at 9:05 PM", "due at 11:59PM", "due at 23:59:59"],
        "due at <TIME>",
        id="time-on-a-12-hour-clock",
    ),
    pytest.param(
        ["timed out after 1h30m", "timed out after 45s", "timed out after 2m30.5s", "timed out after 150ms"],
        "timed out after <DURATION>",
        id="duration-in-several-units",
    ),
    pytest.param(
        [
            "cannot allocate 10KB",
            "cannot allocate 1.5 GiB",
            "cannot allocate 512 MB",
            "cannot allocate 2,5GB",
        ],
        "cannot allocate <SIZE>",
        id="size-in-multiples-of-bytes",
    ),
    pytest.param(
        [
            "bad config {'a': 1, 'b': [1, 2]}",
            "bad config {'x': 'y'}",
            'bad config {"id": 5, "name": "x", "tags": null}',
            'bad config {"a": {"b": {"c": [1, 2.5]}}, "d": true}',
            "bad config {'when': '2026-12-04', 'who': None}",
        ],
        "bad config {<VAL>}",
        id="mapping-of-values",
    ),
    pytest.param(
        [
            "got ((1, 2), (3, 4)) expected ((5, 6),)",
            "got ((1, 2), (3, 4), (7, 8)) expected ((5, 6), (9, 9))",
            "got ((1.5, 2),) expected ((5, 6),)",
        ],
        "got ((<NUM>)) expected ((<NUM>))",
        id="tuple-of-tuples",
    ),
    pytest.param(
        ["rows [[1, 2], [3, 4]] left", "rows [[1, 2, 3]] left", "rows [[7], [8], [9]] left"],
        "rows [[<NUM>]] left",
        id="list-of-lists",
    ),
    pytest.param(
        ["boxes [((0, 0), (4, 4)), ((1, 1), (2, 2))]", "boxes [((3, 3), (5, 5))]"],
        "boxes [((<NUM>))]",
        id="list-of-tuples-of-tuples",
    ),
    pytest.param(
        ["rejected [#3, #5, #7] by stock", "rejected [#1234, #9] by stock", "rejected [#42] by stock"],
        "rejected [#<NUM>] by stock",
        id="list-of-numbered-items",
    ),
    pytest.param(
        ["closes #12, #13 and more", "closes #7 and more"], "closes #<NUM> and more", id="numbered-run"
    ),
]


@pytest.mark.parametrize(("texts", "expected"), SAME)
def test_values_of_one_kind_mask_alike(texts: list[str], expected: str) -> None:
    """Every text of the list masks to the one expected text."""
    assert [mask(text) for text in texts] == [expected] * len(texts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("tag 1234567 not found", "tag <NUM> not found", id="a-number-no-word-names-a-digest"),
        pytest.param("rev 12 missing", "rev <NUM> missing", id="a-short-revision-number"),
        pytest.param("ids #12 and #13", "ids #<NUM> and #<NUM>", id="numbered-items-apart"),
        pytest.param("prefix {name} unknown", "prefix {name} unknown", id="a-format-field"),
        pytest.param("set {1, 2} has no key", "set {<NUM>} has no key", id="a-set"),
        pytest.param("keys {'mode': fast}", "keys {'<STR>': fast}", id="a-mapping-with-a-word"),
        pytest.param("at 12:34:56 ok", "at <TIME> ok", id="a-time-is-no-mac"),
        pytest.param("read 10 bytes of 4 B", "read <NUM> bytes of <NUM> B", id="bytes-are-numbers"),
        pytest.param("model GPT4B failed", "model <ID> failed", id="a-word-ending-in-a-unit"),
        pytest.param("peer fe80::1ff:fe23:4567:890a reset", "peer <IP> reset", id="ipv6-is-no-mac"),
        pytest.param(
            "pair ((1, 2), ('a', 'b'))", "pair ((<NUM>), ('<STR>'))", id="a-tuple-of-two-kinds-of-tuples"
        ),
    ],
)
def test_what_is_no_such_value_is_left_as_it_was(text: str, expected: str) -> None:
    """Numbers no word names as a digest, format fields, sets, mappings with words, times and IPv6
    addresses mask as before."""
    assert mask(text) == expected


def test_message_only_events_of_one_failure_are_one_group() -> None:
    """Error events without traceback that differ only in such values get one key, the digest a
    placeholder in its title."""
    clear_caches()
    keys = set()
    for message in (
        "deploy failed at commit 1234567: {'n': 1.5}",
        'deploy failed at commit abcdef9: {"n": null}',
    ):
        fingerprint = fingerprint_event({"message": message, "log": {"level": "error", "logger": "ops"}})
        assert fingerprint is not None
        keys.add(fingerprint.key)
        assert fingerprint.name.startswith("deploy failed at commit <HEX>: {")
    assert len(keys) == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            "(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint",
            "(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint",
            id="sqlalchemy-wrapping-psycopg2",
        ),
        pytest.param(
            "(sqlite3.OperationalError) no such column: total",
            "(sqlite3.OperationalError) no such column: total",
            id="sqlalchemy-wrapping-sqlite3",
        ),
        pytest.param(
            "boto3.exceptions.S3UploadFailedError: Failed to upload /tmp/x1 to b2",
            "boto3.exceptions.S3UploadFailedError: Failed to upload <PATH> to <ID>",
            id="boto3-with-values",
        ),
        pytest.param(
            "worker host12.internal died after 3 tries", "worker <ID> died after <NUM> tries", id="no-class"
        ),
    ],
)
def test_an_exception_class_named_in_a_message_is_kept_in_the_title(message: str, expected: str) -> None:
    """An exception class's dotted name whose module holds a digit (psycopg2, sqlite3, boto3) is a name
    in the title, not `<ID>`; values around it are still placeholders, and other words with digits too."""
    assert masked_message(message) == expected
