"""Secrets are redacted from keys, free text and argv; ordinary values are left alone."""

from __future__ import annotations

import pytest

from shipper.redaction import REDACTED, is_secret_key, redact_argv, redact_mapping, redact_text


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
    ],
)
def test_pathological_text_is_redacted_in_linear_time(text: str) -> None:
    """256 KiB of regex-hostile text comes back unchanged (a quadratic pattern would hit the test timeout)."""
    assert redact_text(text) == text
