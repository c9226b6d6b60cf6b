"""Secrets a command's grammar places after a verb or a flag that names them (`setx DB_PASSWORD X`,
`AUTH default X` inside a logged line, `-p X -h db`, `echo X | passwd`), and Basic credentials in base64
without padding, in base64url or as a URL's user name; and the ordinary lines with the same verbs and
flags (`set the level to debug`, `-p 8080`, `export PATH=...`) that must stay as they are."""

from __future__ import annotations

import base64

import pytest
from helpers.redacted import assert_hidden, assert_linear_time

from shipper.redaction import redact_text

SECRETS = ("hunter2", "Fk4s3cr3tPw", "P@ss_w0rd!~", "correcthorse")
# Leads a logged command line comes after: none, a shell prompt, a shell trace, a log line's label.
LEADS = ("", "$ ", "+ ", "2026-12-06 01:02:03 INFO exec: ", "cmd=[")

# {s}: where the secret goes. One shape per grammar.
SHAPES = {
    "set-name": "set db_password {s}",
    "SET-upper": "SET DB_PASSWORD {s}",
    "setx": "setx DB_PASSWORD {s}",
    "setx-machine": "setx /M API_TOKEN {s}",
    "setx-quoted-flag-after": 'setx API_TOKEN "{s}" /M',
    "export-space": "export API_TOKEN {s}",
    "export-quoted-space": "export DB_PASSWORD '{s}'",
    "powershell-set-item": 'Set-Item -Path Env:DB_PASSWORD -Value "{s}"',
    "powershell-new-item-positional": "New-Item Env:API_SECRET '{s}'",
    "redis-auth-after-lead": "AUTH {s}",
    "redis-auth-user-after-lead": "AUTH default {s}",
    "redis-auth2": "MIGRATE 10.0.0.2 6379 key 0 5000 AUTH2 bob {s}",
    "redis-migrate-auth": "MIGRATE 10.0.0.2 6379 key 0 5000 AUTH {s} KEYS a b",
    "redis-hello": "HELLO 3 AUTH default {s} SETNAME worker",
    "p-beside-host": "mytool -p {s} -h db",
    "p-beside-long-host": "mytool --host=db -p '{s}'",
    "echo-to-passwd": "echo -e '{s}\\n{s}' | passwd bob",
    "echo-to-sudo-passwd": "echo {s} | sudo passwd --stdin bob",
}


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            lead + shape.replace("{s}", secret) + ("]" if lead == "cmd=[" else ""),
            secret,
            id=f"{name}-secret{n}-lead{m}",
        )
        for name, shape in SHAPES.items()
        for n, secret in enumerate(SECRETS)
        for m, lead in enumerate(LEADS)
    ],
)
def test_secret_placed_by_a_command_grammar_is_hidden(text: str, secret: str) -> None:
    """The argument a verb or a flag of a logged command line gives a secret is hidden, the command kept."""
    assert_hidden(text, [secret], [text.split()[0]])


def _encodings(user: str, password: str) -> list[str]:
    raw = f"{user}:{password}".encode()
    return [
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
    ]


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        pytest.param(shape.format(b=encoded), encoded, id=f"{name}-{n}")
        for name, shape in {
            "url-userinfo": "GET https://{b}@api.example.com/v1",
            "url-userinfo-git": "cloning https://{b}@git.example.com/org/repo.git",
            "header-odd-case": "AUTHORIZATION:   BASIC   {b}",
        }.items()
        # passwords whose base64 holds `+`, `/`, `-` or `_` (`?~`, `?>`), and one that holds none
        for n, encoded in enumerate(
            e for password in ("Fk4pw?~", "hunter2?>", "Tr0ub4dor&3") for e in _encodings("bob", password)
        )
    ],
)
def test_basic_credentials_in_base64_without_padding_are_hidden(text: str, encoded: str) -> None:
    """`user:password` in base64 or base64url, padded or not, as a header's value or a URL's user name,
    is hidden whole."""
    redacted = redact_text(text)
    assert encoded[:12] not in redacted and encoded[-6:] not in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("set the level to debug", id="set-prose"),
        pytest.param("set password policy to strict", id="set-password-prose"),
        pytest.param("SET search_path TO public", id="sql-set"),
        pytest.param("set -euo pipefail", id="set-shell-options"),
        pytest.param("export PATH=/usr/local/bin:/usr/bin", id="export-path"),
        pytest.param("export LANG C.UTF-8", id="export-lang-space"),
        pytest.param("setx PATH %PATH%;C:\\tools", id="setx-path"),
        pytest.param("SET DB_PASSWORD %DB_PASSWORD%", id="set-reference"),
        pytest.param("export DB_PASSWORD $VAULT_PASSWORD", id="export-reference"),
        pytest.param("Set-Item -Path Env:PATH -Value C:\\tools", id="powershell-path"),
        pytest.param("auth succeeded for bob", id="auth-prose"),
        pytest.param("error: AUTH failed", id="auth-outcome"),
        pytest.param("(AUTH required)", id="auth-required"),
        pytest.param("[AUTH] user bob logged in", id="auth-label"),
        pytest.param("HELLO 3", id="hello-without-auth"),
        pytest.param("docker run -p 8080:80 nginx", id="docker-port"),
        pytest.param("pg_dump -h db -p 5432 -U app app", id="host-and-port"),
        pytest.param("ls -h -p /tmp", id="p-flag-and-path"),
        pytest.param("ssh -p 2222 bob@host", id="ssh-port"),
        pytest.param("echo done | passwd -S bob", id="passwd-status"),
        pytest.param("GET https://api.example.com/v1/users@latest", id="url-with-at"),
    ],
)
def test_ordinary_line_with_a_command_verb_is_kept(text: str) -> None:
    """A line with the verbs and flags of those commands but no secret comes out unchanged."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("setx A_PASSWORD x " * 12000, id="setx-not-ending"),
        pytest.param("set A_TOKEN " * 12000, id="set-without-value"),
        pytest.param("Set-Item Env:A_TOKEN " * 12000, id="env-item"),
        pytest.param("$ AUTH a b c " * 12000, id="auth-not-ending"),
        pytest.param("MIGRATE a AUTH2 " * 12000, id="migrate"),
        pytest.param("-p x -h y " * 12000, id="p-and-host"),
        pytest.param("echo x | passwd -S " * 12000, id="echo-passwd"),
        pytest.param("https://" + "Ym9i+" * 12000, id="url-encoded-run"),
    ],
)
def test_command_verb_rules_cost_linear_time(text: str) -> None:
    """The rules of command verbs read an adversarial text in time linear in its length (a quarter of it
    costs a quarter, with room)."""
    assert_linear_time(text[: len(text) // 4], text)
