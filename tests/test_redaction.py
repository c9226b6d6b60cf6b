"""Secrets are redacted from keys, free text and argv; ordinary values are left alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.redacted import assert_linear_time

from shipper import redaction
from shipper.exceptions import ConfigurationError
from shipper.redaction import (
    REDACTED,
    Redactor,
    findings,
    is_secret_key,
    redact_argv,
    redact_mapping,
    redact_text,
)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        pytest.param("password", True, id="password"),
        pytest.param("db_passwd", True, id="passwd-word"),
        pytest.param("PGPASSWORD", True, id="password-suffix-of-one-word"),
        pytest.param("client_secret", True, id="secret"),
        pytest.param("GITHUB_TOKEN", True, id="env-token"),
        pytest.param("accessToken", True, id="camel-token"),
        pytest.param("api_key", True, id="api_key"),
        pytest.param("X-Api-Key", True, id="header-api-key"),
        pytest.param("APIKEY", True, id="apikey-upper"),
        pytest.param("AWS_SECRET_ACCESS_KEY", True, id="aws-secret"),
        pytest.param("credentials", True, id="credentials"),
        pytest.param("Authorization", True, id="authorization"),
        pytest.param("auth", True, id="auth"),
        pytest.param("private_key", True, id="private-key"),
        pytest.param("sessionId", True, id="session-camel"),
        pytest.param("Cookie", True, id="cookie"),
        pytest.param("keyboard", False, id="keyboard-is-not-a-key"),
        pytest.param("monkey", False, id="monkey"),
        pytest.param("author", False, id="author-is-not-auth"),
        pytest.param("max_tokens", False, id="max-tokens-count"),
        pytest.param("tokenizer", False, id="tokenizer"),
        pytest.param("HOME", False, id="home"),
        pytest.param("PATH", False, id="path"),
        pytest.param("service", False, id="service"),
    ],
)
def test_is_secret_key(key: str, secret: bool) -> None:
    """Keys are judged by their words, so secret names match and look-alikes do not."""
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "connect postgres://app:hunter2@db:5432/orders failed",
            "connect postgres://app:[REDACTED]@db:5432/orders failed",
            id="url-credentials",
        ),
        pytest.param(
            "GET https://example.org/a?b=c ok",
            "GET https://example.org/a?b=c ok",
            id="url-without-credentials",
        ),
        pytest.param("ssh://git@github.com/x.git", "ssh://git@github.com/x.git", id="url-user-only"),
        pytest.param(
            "Authorization: Bearer abc.DEF-123_x",
            "Authorization: Bearer [REDACTED]",
            id="authorization-bearer",
        ),
        pytest.param("sent Bearer eyJhbGciOiJIUzI1NiJ9", "sent Bearer [REDACTED]", id="bare-bearer"),
        pytest.param(
            "login password=hunter2 user=bob", "login password=[REDACTED] user=bob", id="password-eq"
        ),
        pytest.param('{"token": "s3cr3t", "n": 1}', '{"token": "[REDACTED]", "n": 1}', id="json-token"),
        pytest.param("api_key: 'abc'", "api_key: '[REDACTED]'", id="quoted-api-key"),
        pytest.param(
            "run --password hunter2 --verbose", "run --password [REDACTED] --verbose", id="flag-space"
        ),
        pytest.param("run --token=abc --n 3", "run --token=[REDACTED] --n 3", id="flag-equals"),
        pytest.param("cache miss for key=user:42", "cache miss for key=user:42", id="key-in-text-kept"),
        pytest.param("keyboard=qwerty layout", "keyboard=qwerty layout", id="keyboard-kept"),
        pytest.param("author: Tolkien", "author: Tolkien", id="author-kept"),
        pytest.param("password=%s token=%(t)s", "password=%s token=%(t)s", id="template-placeholders-kept"),
        pytest.param("pushed with ghp_" + "a" * 36, f"pushed with {REDACTED}", id="github-token"),
        pytest.param("key AKIAABCDEFGHIJKLMNOP used", f"key {REDACTED} used", id="aws-access-key-id"),
        pytest.param(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            f"-----BEGIN RSA PRIVATE KEY-----{REDACTED}-----END RSA PRIVATE KEY-----",
            id="private-key-block",
        ),
        pytest.param("3 services running", "3 services running", id="plain-text"),
        pytest.param("running basic health checks", "running basic health checks", id="basic-prose"),
        pytest.param("bearer bonds matured", "bearer bonds matured", id="bearer-prose"),
        pytest.param(
            "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED]", id="authorization-basic"
        ),
        pytest.param("Cookie: session=abc123", "Cookie: session=[REDACTED]", id="cookie-header"),
        pytest.param("", "", id="empty"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    """Free text loses exactly the secret parts."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["prog", "--password", "x", "-v"], ["prog", "--password", REDACTED, "-v"], id="flag-space"
        ),
        pytest.param(["prog", "--token=abc"], ["prog", f"--token={REDACTED}"], id="flag-equals"),
        pytest.param(["prog", "--api-key", "k"], ["prog", "--api-key", REDACTED], id="api-key-flag"),
        pytest.param(["prog", "--key", "k"], ["prog", "--key", REDACTED], id="key-flag"),
        pytest.param(
            ["prog", "https://u:p@host/x"], ["prog", f"https://u:{REDACTED}@host/x"], id="url-argument"
        ),
        pytest.param(
            ["prog", "--password", "--verbose"], ["prog", "--password", "--verbose"], id="flag-no-value"
        ),
        pytest.param(
            ["prog", "start", "web", "--port", "80"], ["prog", "start", "web", "--port", "80"], id="plain"
        ),
    ],
)
def test_redact_argv(argv: list[str], expected: list[str]) -> None:
    """Secret flags lose their value in both `--flag value` and `--flag=value` forms."""
    assert redact_argv(argv) == expected


def test_redact_mapping_hides_nested_secret_keys_and_keeps_the_rest() -> None:
    """Secret keys are hidden at any depth (whole values, even dicts); other strings go through text rules."""
    mapping = {
        "user": "bob",
        "keyboard": "qwerty",
        "db": {"url": "mysql://root:pw@db/x", "password": "pw", "port": 3306},
        "credentials": {"user": "x", "pass": "y"},
        "items": [{"token": "t"}, "plain"],
    }
    assert redact_mapping(mapping) == {
        "user": "bob",
        "keyboard": "qwerty",
        "db": {"url": f"mysql://root:{REDACTED}@db/x", "password": REDACTED, "port": 3306},
        "credentials": REDACTED,
        "items": [{"token": REDACTED}, "plain"],
    }


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x" * 262144, id="one-long-word"),
        pytest.param("a-" * 131072, id="hyphenated"),
        pytest.param("a." * 131072, id="dotted"),
        pytest.param("a:" * 131072, id="colons"),
        pytest.param("https://" * 32768, id="schemes"),
        pytest.param("--a " * 65536, id="flags"),
        pytest.param("$1$" * 87381, id="crypt-prefixes"),
        pytest.param("$2b$12$" + "a" * 262144, id="bcrypt-run-on"),
    ],
)
def test_pathological_text_is_redacted_in_linear_time(text: str) -> None:
    """256 KiB of regex-hostile text comes back unchanged (a quadratic pattern would hit the test timeout)."""
    assert redact_text(text) == text


# --- the corpus: named rules on the shapes secrets take, and ordinary text that must stay -------------

# corpus.json: the shapes the rules were built for; heldout.json: cases written afterwards, before
# running them (bench/bench_redaction.py scores the two apart).
CORPUS_DIR = Path(__file__).parent / "data" / "redaction"
CORPUS: list[dict[str, Any]] = [
    case for name in ("corpus.json", "heldout.json") for case in json.loads((CORPUS_DIR / name).read_text())
]


def test_corpus_has_enough_positive_and_negative_cases() -> None:
    """The corpus holds at least 60 cases, with both secrets to find and ordinary text to keep."""
    positives = [case for case in CORPUS if case["secrets"]]
    negatives = [case for case in CORPUS if not case["secrets"]]
    assert len(CORPUS) >= 60 and len(positives) >= 40 and len(negatives) >= 20


@pytest.mark.parametrize("case", [pytest.param(case, id=case["id"]) for case in CORPUS])
def test_corpus_case(case: dict[str, Any]) -> None:
    """Every planted secret is hidden by the named rule, and the text around it (or all of an
    ordinary text) stays as it was."""
    redacted = redact_text(case["text"])
    assert [secret for secret in case["secrets"] if secret in redacted] == []
    assert [kept for kept in case["keep"] if kept not in redacted] == []
    if case["rule"] is not None:
        assert case["rule"] in {finding.rule for finding in findings(case["text"])}
    if not case["secrets"]:
        assert redacted == case["text"]


@pytest.mark.parametrize("case", [pytest.param(case, id=case["id"]) for case in CORPUS])
def test_redaction_is_idempotent(case: dict[str, Any]) -> None:
    """Redacting a redacted text changes nothing (the packed spool path redacts twice)."""
    once = redact_text(case["text"])
    assert redact_text(once) == once


def test_findings_name_their_rule_and_cover_the_secret_only() -> None:
    """A finding is the secret's span and the rule's name; keys, schemes and quotes are outside it."""
    text = "GET /?page=2&access_token=abc123 with Authorization: Bearer xyz"
    spans = [(text[f.start : f.end], f.rule) for f in findings(text)]
    assert spans == [("abc123", "url_query_param"), ("xyz", "authorization_header")]


# --- user rules --------------------------------------------------------------------------------------


def test_user_keys_and_patterns_are_applied() -> None:
    """Key names given by the user match by words; their patterns hide the match or its `secret` group."""
    redactor = Redactor.build(
        keys=["badge", "X-Internal-Sig"], patterns=[r"EMP-\d{6}", r"acct:(?P<secret>\d+)"]
    )
    text = "customer_badge=1234 x_internal_sig: abc employee EMP-123456 acct:987 badges=yes"
    assert redactor.redact_text(text) == (
        f"customer_badge={REDACTED} x_internal_sig: {REDACTED} employee {REDACTED} acct:{REDACTED} badges=yes"
    )
    assert redactor.redact_mapping({"badge": 1, "badges": 2}) == {"badge": REDACTED, "badges": 2}
    assert "1234" in redaction.DEFAULT.redact_text(text) and "EMP-123456" in redaction.DEFAULT.redact_text(
        text
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"patterns": ["("]}, "is not a regular expression", id="bad-regex"),
        pytest.param({"patterns": ["a*"]}, "matches the empty string", id="empty-match"),
        pytest.param({"keys": "password"}, "give a list of non-empty strings", id="keys-one-string"),
        pytest.param({"keys": ["--"]}, "has no letters or digits", id="key-without-words"),
    ],
)
def test_bad_user_rules_fail_at_construction(options: dict[str, Any], message: str) -> None:
    """A user rule that cannot work is refused when the handler is built, naming the rule."""
    with pytest.raises(ConfigurationError, match=message):
        Redactor.build(**options)


def test_toml_section_becomes_handler_options() -> None:
    """`[redaction] keys/patterns` become the handler's `redact_keys`/`redact_patterns`; unknown keys fail."""
    assert redaction.options_from_config({"keys": ["pin"], "patterns": [r"EMP-\d+"]}) == {
        "redact_keys": ["pin"],
        "redact_patterns": [r"EMP-\d+"],
    }
    with pytest.raises(ConfigurationError, match="unknown key"):
        redaction.options_from_config({"key": ["pin"]})


# --- the document pass -------------------------------------------------------------------------------


def test_redact_document_reaches_every_text_field() -> None:
    """One pass hides secrets in every string of a document at any depth: message, error, grouping
    name, template, extras (pairs, HAR objects, argv lists), context and environment."""
    doc = {
        "@timestamp": "2026-01-01T00:00:00.000000Z",
        "message": "login password=hunter2 failed",
        "error": {
            "message": "Authorization: Bearer abc.def.ghi rejected",
            "stack_trace": 'File "a.py", line 1, in f\n    db_pass = "s3cret"\nValueError: token=t0k3n-x',
            "grouping_name": "PermissionError: Authorization: Bearer abc.def.ghi rejected",
            "grouping_key": "0123456789abcdef",
        },
        "logloop": {
            "template": "login password=hunter2 failed",
            "context": {"db": {"dsn": "postgres://app:pgpass1@db/x"}, "api_token": "tk"},
            "env": {"argv": ["prog", "--password", "argvpw"], "vars": {"DB_PASSWORD": "envpw"}},
        },
        "extra": {
            "headers": [["Authorization", "Bearer pairsecret"], ["Accept", "json"]],
            "har": [{"name": "Cookie", "value": "sid=harsecret"}, {"name": "Host", "value": "x.org"}],
            "cmd": ["mysql", "--password", "cmdsecret", "-h", "db"],
        },
    }
    redacted = redaction.redact_document(doc)
    text = json.dumps(redacted)
    planted = ["hunter2", "abc.def.ghi", "s3cret", "t0k3n-x", "pgpass1", '"tk"', "argvpw", "envpw"]
    assert [s for s in [*planted, "pairsecret", "harsecret", "cmdsecret"] if s in text] == []
    assert redacted["error"]["grouping_key"] == "0123456789abcdef"
    assert redacted["extra"]["headers"][1] == ["Accept", "json"]
    assert redacted["extra"]["har"][1] == {"name": "Host", "value": "x.org"}
    assert redacted["extra"]["cmd"] == ["mysql", "--password", REDACTED, "-h", "db"]
    assert redacted["error"]["grouping_name"] == f"PermissionError: Authorization: Bearer {REDACTED} rejected"
    assert doc["message"] == "login password=hunter2 failed"  # the input is not changed


def test_redacting_documents_again_gives_the_same_result_and_fresh_lists() -> None:
    """The document pass remembers short texts and argv lists: a second and third document with the
    same texts are redacted exactly as the first, each gets its own lists, and what is remembered
    stays bounded."""
    redactor = Redactor()

    def doc(n: int) -> dict[str, Any]:
        return {
            "message": f"retry {n}: password=hunter2",
            "host": {"name": "db-1"},
            "process": {"args": ["app", "--token", "tk-secret", str(n)]},
            "error": {"stack_trace": 'File "a.py", line 1\n    db_pass = "s3cret"'},
        }

    first = [redactor.redact_document(doc(n)) for n in range(3)]
    again = [redactor.redact_document(doc(n)) for n in range(3)]
    assert first == again
    assert first[2]["message"] == f"retry 2: password={REDACTED}"
    assert first[2]["process"]["args"] == ["app", "--token", REDACTED, "2"]
    assert "s3cret" not in json.dumps(first)
    first[0]["process"]["args"].append("changed")
    assert redactor.redact_document(doc(0))["process"]["args"] == ["app", "--token", REDACTED, "0"]
    for n in range(5000):
        redactor.redact_document({"message": f"m{n}", "host": {"name": f"h{n}"}})
    assert len(redactor._remembered) <= 2048


def test_keys_that_hold_a_secret_are_redacted_too() -> None:
    """A mapping key made of a secret (a URL with credentials, a token) is shown redacted."""
    assert redaction.redact_mapping({"https://u:pw1@h/x": 1}) == {f"https://u:{REDACTED}@h/x": 1}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Authorization: " * 2048, id="headers"),
        pytest.param("Cookie: a=b; " * 2048, id="cookies"),
        pytest.param("secret=" * 4096, id="secret-keys"),
        pytest.param("'password': '" * 2048, id="quoted-keys"),
        pytest.param("'--password', '" * 2048, id="flag-list"),
        pytest.param("login -p " * 2048, id="login-flags"),
        pytest.param("a://b:" * 4096, id="url-heads"),
        pytest.param("?token=" * 4096, id="query"),
        pytest.param("<password>x</password>" * 1024, id="xml-elements"),
        pytest.param("name: password value: " * 2048, id="named-values"),
        pytest.param("AKIAQ3EGRTZ7FAKE0001 " * 2048, id="public-ids"),
        pytest.param("MIIEvQIBADAN\n" * 2048, id="key-bodies"),
        pytest.param("password:\n  " * 2048, id="values-below"),
        pytest.param("password:\\n  " * 2048, id="escaped-values-below"),
        pytest.param("(b'cookie', b'" * 2048, id="bytes-literals"),
        pytest.param("a:\\/\\/b:" * 4096, id="escaped-url-heads"),
        pytest.param("'password: '\n '" * 2048, id="split-literals"),
        pytest.param("'password': (" * 2048, id="open-tuples"),
        pytest.param("password=[(" * 2048, id="open-lists"),
    ],
)
def test_secret_dense_text_costs_linear_time(text: str) -> None:
    """Text dense with secret shapes costs about 4x for 4x the length (a quadratic rule would cost 16x)."""
    assert_linear_time(text, text * 4, runs=5)
