"""Secrets in shapes the sixth sweep's probe found leaking: tokens of providers known by their prefix,
copies of a secret split over lines, protocol transcripts that libraries print in debug mode, the
errors of command-line parsers, SQL and database errors, base64 private keys and key tails, a `-p`
given beside a user; and the ordinary texts of the same shapes that must stay as they are."""

from __future__ import annotations

import random
import string

import pytest
from helpers.redacted import assert_linear_time

from shipper.redaction import findings, redact_text


def _assert_hidden(text: str, secret: str, kept: list[str]) -> None:
    redacted = redact_text(text)
    assert secret not in redacted, redacted
    for start in range(0, max(len(secret) - 9, 1), 3):  # no part of it left either (but in what stays)
        part = secret[start : start + 10]
        assert part not in redacted or any(part in word for word in kept), redacted
    assert [word for word in kept if word not in redacted] == [], redacted
    assert redact_text(redacted) == redacted  # idempotent


def _token(seed: int, size: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(size))


_URLSAFE = string.ascii_letters + string.digits + "-_"
_HEX = "0123456789abcdef"


def _provider_tokens() -> list[object]:
    """Fake tokens of each provider format (prefix and body as the provider documents them)."""
    tokens = {
        "google-oauth-client-secret": "GOCSPX-" + _token(1, 28, _URLSAFE),
        "atlassian": "ATATT3xFfGF0" + _token(2, 170, _URLSAFE) + "=" + _token(3, 8, "0123456789ABCDEF"),
        "groq": "gsk_" + _token(4, 52),
        "xai": "xai-" + _token(5, 80),
        "replicate": "r8_" + _token(6, 37),
        "perplexity": "pplx-" + _token(7, 48),
        "doppler": "dp.st.prd." + _token(8, 43),
        "new-relic": "NRAK-" + _token(9, 27, string.ascii_uppercase + string.digits),
        "supabase": "sbp_" + _token(10, 40, _HEX),
        "figma": "figd_" + _token(11, 40, _URLSAFE),
        "notion": "ntn_" + _token(12, 46),
        "notion-legacy": "secret_" + _token(13, 43),
        "fly": "fo1_" + _token(14, 43, _URLSAFE),
        "square-secret": "sq0csp-" + _token(15, 43, _URLSAFE),
        "square-token": "EAAA" + _token(16, 60, _URLSAFE),
        "mailchimp": _token(17, 32, _HEX) + "-us14",
        "tencent": "AKID" + _token(18, 32),
        "sentry-user": "sntryu_" + _token(19, 64, _HEX),
        "sentry-org": "sntrys_eyJpYXQiOjE3MDAwMDAwMDAuMCwidXJsIjoiaHR0cHM6Ly9zZW50cnkuaW8ifQ_"
        + _token(20, 43),
        "google-refresh": "1//0" + _token(21, 100, _URLSAFE),
        "1password": "ops_eyJzaWduSW5BZGRyZXNzIjoibXkuMXBhc3N3b3JkLmNvbSJ9" + _token(22, 40),
        "azure-ad-client-secret": _token(23, 3) + "8Q~" + _token(24, 34, _URLSAFE + "~."),
        "jwe": "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
        + _token(25, 120, _URLSAFE)
        + "."
        + _token(26, 16, _URLSAFE)
        + "."
        + _token(27, 90, _URLSAFE)
        + "."
        + _token(28, 22, _URLSAFE),
        "jwe-direct": "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0.."
        + ".".join((_token(29, 16, _URLSAFE), _token(30, 60, _URLSAFE), _token(31, 22, _URLSAFE))),
    }  # fmt: skip
    shapes = [
        "upstream rejected {t} (status 401)",
        "client = Client('{t}')",
        '{{"value": "{t}", "note": "rotated"}}',
        "curl https://api.example.com/v1 --data-urlencode k={t}",
    ]
    return [
        pytest.param(shape.format(t=token), token, id=f"{name}-{n}")
        for name, token in tokens.items()
        for n, shape in enumerate(shapes)
        if not (name == "google-refresh" and n == 0)  # (found where another trigger word stands: below)
    ] + [
        pytest.param(
            f"refresh failed for {tokens['google-refresh']}", tokens["google-refresh"], id="google-refresh-0"
        )
    ]


@pytest.mark.parametrize(("text", "token"), _provider_tokens())
def test_tokens_of_providers_known_by_their_prefix(text: str, token: str) -> None:
    """A provider token whose format names it (its prefix and body) is hidden whole wherever it stands,
    with no key beside it; the words around it stay."""
    _assert_hidden(text, token, [word for word in text.split() if token not in word][:1])


@pytest.mark.parametrize(
    "text",
    [
        "task_runner gsk_default queue empty",
        "xai-explainer module loaded",
        "ops_eyJ is not a token",
        "job 7bfb4b86-166c-1d02-2363-fa5e607a6940 done",
        "locale en-us, region us-east-1",
        "secret_key_base is required",
        "figd_ prefix is reserved",
        "dp.st is a Doppler service token prefix",
        "AKIDs are listed in the console",
        "image data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
        "hwGA60e6kgAAAABJRU5ErkJggg==",
        "path /srv/app/1//0/cache",
        "eyJhbGciOiJIUzI1NiJ9 is a JWT header",
        "version 8Q~ is odd",
    ],
)
def test_words_that_only_begin_like_a_provider_token_stay(text: str) -> None:
    """A prefix without a token's body after it (a name, a queue, a locale, a UUID) stays."""
    assert redact_text(text) == text, findings(text)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "Authorization: Bearer Qw12Er34Ty56Ui78Op90\nretrying with token Qw12Er34Ty56\n  Ui78Op90",
            "Ui78Op90",
            id="told-again-split",
        ),
        pytest.param(
            "password=Zx98Cv76Bn54Ml32Kj10 rejected; the server echoed password Zx98Cv76Bn54\\n    Ml32Kj10",
            "Ml32Kj10",
            id="escaped-break",
        ),
        pytest.param(
            "api_key: Hg45Jk67Lm89Np01Qr23\n  retry 2 with api_key Hg45Jk67Lm89Np\n    01Qr23 failed",
            "01Qr23",
            id="split-later",
        ),
    ],
)
def test_a_copy_split_over_lines_where_a_rule_found_its_first_half(text: str, secret: str) -> None:
    """A secret found once, and told again with its copy split by a line break where another rule already
    found the copy's first half (`token X` before the break): the half after the break is hidden too."""
    redacted = redact_text(text)
    assert secret not in redacted, redacted
    assert redact_text(redacted) == redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param(
            "machine api.example.com\n  login bob\n  password Nr4herokuTok\nmachine git.example.com\n"
            "  login bob\n  password Nr5herokuTok2",
            "machine git.example.com",
            id="netrc-entries",
        ),
        pytest.param(
            "token=Ab12Cd34Ef56 sent\nAb12Cd34Ef56\n  continued on the next line",
            "continued on the next line",
            id="words-after-a-copy",
        ),
    ],
)
def test_the_line_after_a_copy_of_a_short_secret_stays(text: str, kept: str) -> None:
    """The words that follow a secret's copy on the next line are not read as the rest of that copy when
    the secret found is no longer than the copy."""
    assert kept in redact_text(text), redact_text(text)


# --- protocol transcripts -------------------------------------------------------------------------------

_TRANSCRIPTS = [
    # smtplib with set_debuglevel(1): AUTH PLAIN's argument is base64 of "\0user\0password"
    ("send: 'AUTH PLAIN {b}\\r\\n'\nreply: b'535 5.7.8 Authentication failed\\r\\n'", "plain"),
    ("smtplib.SMTPAuthenticationError: (535, b'5.7.8 no') after AUTH PLAIN {b}", "plain"),
    ("C: AUTH XOAUTH2 {b}\nS: 235 2.7.0 Accepted", "plain"),
    # AUTH LOGIN: the server asks `Password:` in base64 (UGFzc3dvcmQ6), the client answers on its own line
    (
        "send: 'AUTH LOGIN Ym9i\\r\\n'\nreply: b'334 UGFzc3dvcmQ6\\r\\n'\nreply: retcode (334); Msg: "
        "b'UGFzc3dvcmQ6'\nsend: '{b}\\r\\n'\nreply: b'235 2.7.0 ok\\r\\n'",
        "plain",
    ),
    # poplib with set_debuglevel(2), an FTP or POP3 session's log
    ("*cmd* 'USER bob'\n*cmd* 'PASS {p}'\n*put* b'PASS {p}'\n*get* b'-ERR no\\r\\n'", "password"),
    ("> USER bob\\r\\n\n> PASS {p}\\r\\n\n< 230 Login successful.", "password"),
    # imaplib with Debug = 4: the tagged LOGIN command, its password quoted or not
    ("  12:00.00 > b'KPGJ1 LOGIN bob \"{p}\"'", "password"),
    ("A0001 LOGIN bob@example.com {p}\nA0001 NO [AUTHENTICATIONFAILED] Invalid credentials", "password"),
    # a Redis prompt typed in lower case
    ("127.0.0.1:6379> auth {p}\nOK", "password"),
    ("redis> auth default {p}", "password"),
]


def _transcript_cases() -> list[object]:
    import base64

    cases = []
    for n, (shape, kind) in enumerate(_TRANSCRIPTS):
        password = "Tr" + _token(40 + n, 10, string.ascii_letters + string.digits + "!#%")
        secret = base64.b64encode(f"\0bob\0{password}".encode()).decode() if kind == "plain" else password
        text = shape.replace("{b}", secret).replace("{p}", password)
        cases.append(pytest.param(text, secret, id=f"{n}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _transcript_cases())
def test_credentials_in_protocol_transcripts(text: str, secret: str) -> None:
    """What smtplib, poplib and imaplib print in debug mode, and SMTP, POP3, FTP, IMAP and Redis sessions'
    logs, sending a login (AUTH PLAIN/XOAUTH2's argument, AUTH LOGIN's answer to `Password:`, PASS,
    a tagged LOGIN's password, `auth` at a Redis prompt): the credential is hidden, the replies stay."""
    _assert_hidden(text, secret, [])


@pytest.mark.parametrize(
    "text",
    [
        "PASS  src/components/App.test.js (2.1 s)",
        "--- PASS: TestLogin (0.00s)\nPASS\nok  example.com/auth 0.012s",
        "PASS tests/test_login.py::test_password_reset",
        "reply: b'250-AUTH PLAIN LOGIN\\r\\n'",
        "250-AUTH LOGIN PLAIN CRAM-MD5",
        "auth plain mechanism disabled by policy",
        "INFO LOGIN bob succeeded",
        "A0001 OK LOGIN completed",
        "redis> auth\n(error) ERR wrong number of arguments for 'auth' command",
        "127.0.0.1:6379> AUTH failed",
    ],
)
def test_lines_that_only_name_a_protocol_command_stay(text: str) -> None:
    """Test runners' PASS lines, a server's list of AUTH mechanisms, a LOGIN's outcome and an `auth` without
    an argument stay."""
    assert redact_text(text) == text, findings(text)


# --- command-line parsers' errors -----------------------------------------------------------------------


def _argparse_error(flags: list[str], value: str, **options: object) -> str:
    """The message argparse itself gives for a bad value of an option."""
    import argparse

    parser = argparse.ArgumentParser(prog="app", exit_on_error=False)
    parser.add_argument(*flags, **options)  # type: ignore[arg-type]
    try:
        parser.parse_args([flags[0], value])
    except argparse.ArgumentError as exc:
        return f"app: error: {exc}"
    raise AssertionError("no error")


def _click_error(names: list[str], value: str, envvar: str | None = None) -> str:
    """The message click itself gives for a bad value of an option."""
    import click

    @click.command()
    @click.option(*names, type=int, envvar=envvar, show_envvar=envvar is not None)
    def command(**_: object) -> None:
        pass

    try:
        command.main([names[0], value], standalone_mode=False)
    except click.ClickException as exc:
        return f"Error: {exc.format_message()}"
    raise AssertionError("no error")


def _parser_cases() -> list[object]:
    value = "Pe" + _token(60, 12, string.ascii_letters + string.digits + "!%")
    return [
        pytest.param(_argparse_error(["--token"], value, type=int), value, id="argparse-type"),
        pytest.param(_argparse_error(["--api-key", "-k"], value, choices=["a"]), value, id="argparse-choice"),
        pytest.param(
            _argparse_error(["-p", "--db-password"], value, type=float), value, id="argparse-short-first"
        ),
        pytest.param(_click_error(["--password", "-p"], value), value, id="click"),
        pytest.param(_click_error(["--api-key"], value, envvar="APP_API_KEY"), value, id="click-envvar"),
        pytest.param(_click_error(["-s", "--client-secret"], value), value, id="click-short-first"),
    ]


@pytest.mark.parametrize(("text", "secret"), _parser_cases())
def test_a_parser_error_quoting_the_value_of_a_secret_option(text: str, secret: str) -> None:
    """argparse's and click's own message for a bad value of an option that names a secret (`argument
    --token: invalid int value: 'x'`, `Invalid value for '--password' / '-p': 'x'`) hides the value."""
    _assert_hidden(text, secret, [])


@pytest.mark.parametrize(
    "text",
    [
        _argparse_error(["--port"], "eighty", type=int),
        _argparse_error(["--token-count"], "many", type=int),
        _click_error(["--count", "-c"], "many"),
        _click_error(["--passes"], "three"),
    ],
)
def test_a_parser_error_for_another_option_stays(text: str) -> None:
    """The same messages for options that name no secret keep their value."""
    assert redact_text(text) == text, findings(text)


# --- a user and a password without a scheme, in errors of real libraries ---------------------------------


def _error_of(call: object) -> str:
    """The traceback's last line (the exception and its message) of a call that raises."""
    import traceback

    try:
        call()  # type: ignore[operator]
    except Exception as exc:  # (any error: its message is what is checked)
        return traceback.format_exception_only(exc)[-1].strip()
    raise AssertionError("no error")


def _schemeless_cases() -> list[object]:
    import http.client
    import ipaddress

    import requests

    password = "Ui" + _token(70, 10, string.ascii_letters + string.digits + "!~")
    return [
        pytest.param(
            _error_of(lambda: requests.get(f"bob:{password}@example.com/path", timeout=1)),
            password,
            id="requests-no-adapter",
        ),
        pytest.param(
            _error_of(lambda: http.client.HTTPConnection(f"bob:{password}@127.0.0.1")),
            password,
            id="nonnumeric-port",
        ),
        pytest.param(
            _error_of(lambda: ipaddress.ip_address(f"bob:{password}@10.0.0.1")), password, id="ipaddress"
        ),
        pytest.param(
            f"ValueError: invalid literal for int() with base 10: '{password}@db.internal'",
            password,
            id="int",
        ),
        pytest.param(
            f'    socket.create_connection(("bob:{password}@proxy.internal", 3128))', password, id="literal"
        ),
        pytest.param(
            f"Invalid URL 'deploy:{password}@registry.example.com:5000/v2/': No scheme",
            password,
            id="port-path",
        ),
    ]


@pytest.mark.parametrize(("text", "secret"), _schemeless_cases())
def test_a_user_and_password_without_a_scheme(text: str, secret: str) -> None:
    """`user:password@host` given without its scheme, as requests, http.client and ipaddress quote it in
    their errors (or only `password@host`, where http.client took `user:` for a host and the rest for a
    port), hides the password; the host stays."""
    _assert_hidden(text, secret, [])
    assert "@" in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "sending 'mailto:bob@example.com' link",
        "image 'ghcr.io/org/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'",
        "remote 'git@github.com:org/repo.git' added",
        "calling 'sip:alice@example.com'",
        "ValueError: invalid literal for int() with base 10: 'abc'",
        "'bob@example.com' is not a valid address",
    ],
)
def test_addresses_that_only_look_like_a_user_and_password_stay(text: str) -> None:
    """A mailto or sip address, an image digest, an scp-like git remote and an e-mail address stay."""
    assert redact_text(text) == text, findings(text)


# --- a password given beside a user's `-u` ----------------------------------------------------------------


def _dash_p_cases() -> list[object]:
    import subprocess

    password = "Dp" + _token(80, 10, string.ascii_letters + string.digits + "!%")
    argv = ["twine", "upload", "-u", "bob", "-p", password, "dist/app.whl"]
    return [
        pytest.param(f"twine upload -u bob -p {password} dist/*", password, id="twine"),
        pytest.param(str(subprocess.CalledProcessError(1, argv)), password, id="called-process-error"),
        pytest.param(f"psexec \\\\host -u DOMAIN\\bob -p {password} cmd", password, id="psexec"),
        pytest.param(f"rabbitmqadmin -H mq -u admin -p '{password}' list queues", password, id="quoted"),
        pytest.param(f"influx -host db -p {password} -u admin -execute 'SHOW USERS'", password, id="p-first"),
    ]


@pytest.mark.parametrize(("text", "secret"), _dash_p_cases())
def test_a_dash_p_beside_a_users_dash_u(text: str, secret: str) -> None:
    """A `-p` value given beside `-u <user>` in one command line (twine, psexec, rabbitmqadmin, influx, and
    a CalledProcessError's argv) is a password whatever the command."""
    _assert_hidden(text, secret, ["-u"])


@pytest.mark.parametrize(
    "text",
    [
        "docker run -u 1000 -p 8080:80 nginx",
        "docker run -u app -p 127.0.0.1:5432:5432 postgres",
        "podman run --rm -u root -p 9000 minio",
        "pytest -u -p no:cacheprovider tests",
        "ssh -p 2222 -u bob host",
    ],
)
def test_a_dash_p_that_is_a_port_or_plugin_stays(text: str) -> None:
    """Ports, port mappings and plugin names after `-p` next to a `-u` stay."""
    assert redact_text(text) == text, findings(text)


# --- SQL statements and database errors -------------------------------------------------------------------

_SQL = [
    "ALTER LOGIN sa WITH PASSWORD = N'{s}', CHECK_POLICY = OFF",
    "CREATE LOGIN app WITH PASSWORD = N'{s}' MUST_CHANGE, CHECK_EXPIRATION = ON",
    "ALTER USER app WITH PASSWORD E'{s}';",
    "ALTER ROLE app PASSWORD E'{s}' VALID UNTIL 'infinity'",
    "SET PASSWORD FOR 'bob'@'localhost' = '{s}';",
    "SET PASSWORD FOR bob = '{s}'",
    'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "users_api_token_key"\n'
    "DETAIL:  Key (api_token)=({s}) already exists.",
    "DETAIL:  Key (user_id, session_token)=(42, {s}) already exists.",
    'DETAIL:  Key (refresh_token)=({s}) is not present in table "tokens".',
    "pymysql.err.IntegrityError: (1062, \"Duplicate entry '{s}' for key 'users.api_token'\")",
    "Duplicate entry '{s}' for key 'uniq_password_reset_token'",
    "INSERT INTO users (name, password_hash, api_key) VALUES ('bob', '{s}', '{s}')",
    "INSERT INTO credentials (host, username, secret) VALUES ('db', 'app', '{s}'), ('cache', 'app', '{s}');",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.replace("{s}", secret), secret, id=f"{n}")
        for n, shape in enumerate(_SQL)
        for secret in ["Sq" + _token(90 + n, 10, string.ascii_letters + string.digits + "!#$%&*")]
    ],
)
def test_sql_that_names_a_column_apart_from_its_value(text: str, secret: str) -> None:
    """SQL Server's `N'...'` and PostgreSQL's `E'...'` passwords, MySQL's `SET PASSWORD FOR user = '...'`,
    PostgreSQL's `Key (column)=(value)` details and MySQL's `Duplicate entry '...' for key '...'` of a
    secret column, and an INSERT's literal values under secret columns are hidden; the rest stays."""
    kept = [
        word
        for word in ("CHECK_POLICY", "VALID UNTIL", "already exists", "bob", "'db'", "users")
        if word in text
    ]
    _assert_hidden(text, secret, kept)


@pytest.mark.parametrize(
    "text",
    [
        "DETAIL:  Key (email)=(bob@example.com) already exists.",
        'DETAIL:  Key (user_id)=(42) is not present in table "users".',
        "Duplicate entry 'bob@example.com' for key 'users.email'",
        "Duplicate entry '42-7' for key 'PRIMARY'",
        "INSERT INTO users (name, email) VALUES ('bob', 'bob@example.com')",
        "INSERT INTO users (name, password_hash) VALUES (%s, %s)",
        "INSERT INTO sessions (user_id, token) VALUES (?, ?)",
        "SET PASSWORD FOR 'bob'@'localhost' = ?",
        "the column N'name' is not nullable",
    ],
)
def test_sql_of_other_columns_or_with_placeholders_stays(text: str) -> None:
    """The same statements and errors for columns that name no secret, or with placeholders, stay."""
    assert redact_text(text) == text, findings(text)


# --- private keys in base64, and a key's tail without its head -------------------------------------------


def _pem(kind: str, seed: int, lines: int = 3) -> str:
    body = "\n".join(_token(seed + i, 64, string.ascii_letters + string.digits + "+/") for i in range(lines))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def _base64_pem_cases() -> list[object]:
    import base64

    cases = []
    for n, kind in enumerate(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]):
        encoded = base64.b64encode(_pem(kind, 100 + 10 * n).encode()).decode()
        for m, shape in enumerate(
            [
                "    client-key-data: {e}",
                "SSH_DEPLOY_KEY_B64={e}",
                '{{"tls.key": "{e}", "tls.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"}}',
                "loaded key {e} from vault",
            ]
        ):
            cases.append(pytest.param(shape.format(e=encoded), encoded, id=f"{kind}-{m}"))
    return cases


@pytest.mark.parametrize(("text", "encoded"), _base64_pem_cases())
def test_a_private_key_in_base64_under_any_name(text: str, encoded: str) -> None:
    """A PEM private key encoded in base64 whole (kubeconfig's `client-key-data`, a Secret's `tls.key`, an
    environment variable) is hidden under any name or none; a certificate's beside it stays."""
    _assert_hidden(text, encoded, [word for word in ["LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"] if word in text])


@pytest.mark.parametrize(
    "text",
    [
        "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJB"
        "Z0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwK",
        "pubkey: LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUlJQklqQU5CZ2txaGtpRzl3MEJBUUVGQUFPQ0FR"
        "OEFNSUlCQ2dLQ0FRRUE=",
        '"integrity": "sha512-Dh/YCnBdJRB6zvqnR+LdjvUdsZiPqE9RkOhVZpcGHyMMZI0Pi6kPQnu+LgcxHFg8oHR'
        'd6nqFnNIeuwu6xL6Vtw=="',
        '<script src="x.js" integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQ'
        'ho1wx4JwY8wC">',
        "Engine(postgresql+psycopg2://app:***@db:5432/shop)",
        "Connected to amqp://guest:**@127.0.0.1:5672//",
    ],
)
def test_public_keys_digests_and_masked_passwords_stay(text: str) -> None:
    """A certificate or public key in base64, a subresource integrity digest, and a URL whose password a
    library already masked (`***`) stay as they are."""
    assert redact_text(text) == text, findings(text)


def _key_tails() -> list[object]:
    tail = [_token(200 + i, 64, string.ascii_letters + string.digits + "+/") for i in range(3)] + ["Qk9wZA=="]
    cases = []
    for n, (head, sep) in enumerate(
        [("...(truncated)\n", "\n"), ("...[cut 2,048 chars]", "\\n"), ("", "\n")]
    ):
        text = head + sep.join(tail) + sep + "-----END PRIVATE KEY-----" + sep + "next line stays"
        cases.append(pytest.param(text, tail, id=f"{n}"))
    return cases


@pytest.mark.parametrize(("text", "lines"), _key_tails())
def test_a_private_keys_tail_whose_head_was_cut(text: str, lines: list[str]) -> None:
    """The base64 lines before a private key's END line, where its BEGIN line and first lines were cut off
    (a truncated message keeps its tail), are hidden; the END line and what follows stay."""
    redacted = redact_text(text)
    assert [line for line in lines if line in redacted] == [], redacted
    assert "-----END PRIVATE KEY-----" in redacted
    assert "next line stays" in redacted


# --- words for a secret in other languages, pre-shared keys, Windows tools ----------------------------------

_NAMED_ELSEWHERE = [
    "APIキー：{s} を設定しました",
    "シークレット: {s}",
    "秘钥：{s}",
    "API 키: {s}",
    "토큰: {s}",
    "비번: {s}",
    "la password è {s}",
    "ключ API: {s}",
    "Client-Geheimnis: {s}",
    "jeton d'accès : {s}",
    "clave: {s}",
    "chave de API: {s}",
    'network={{\n    ssid="HomeNet"\n    psk="{s}"\n}}',
    ': PSK "{s}"',
    "SSHPASS={s} sshpass -e ssh bob@host",
    "$pw = ConvertTo-SecureString '{s}' -AsPlainText -Force",
    "New-Object PSCredential('bob', (ConvertTo-SecureString -String \"{s}\" -AsPlainText -Force))",
    "xfreerdp /v:host /u:bob /p:{s} /cert:ignore",
    "mc alias set local http://localhost:9000 minioadmin {s}",
    "mc config host add s3 https://s3.amazonaws.com AKIAIOSFODNN7EXAMPLE {s} --api S3v4",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(s=secret), secret, id=f"{n}")
        for n, shape in enumerate(_NAMED_ELSEWHERE)
        for secret in ["Wn" + _token(300 + n, 10, string.ascii_letters + string.digits + "!%")]
    ],
)
def test_secrets_named_in_other_languages_or_by_their_tools(text: str, secret: str) -> None:
    """A secret named `secret`, `token` or `API key` in Japanese, Chinese, Korean, Russian, German, French,
    Spanish or Portuguese, a password told with Italian's `è`, a Wi-Fi or IPsec pre-shared key, sshpass's
    variable, PowerShell's `ConvertTo-SecureString 'x'`, xfreerdp's `/p:` and the MinIO client's secret
    key by position are hidden."""
    _assert_hidden(text, secret, [])


@pytest.mark.parametrize(
    "text",
    [
        "パスワードを変更しました",
        "キーボードの設定: 日本語",
        "la password è scaduta",
        "clave: usuario_id",
        "WPA2-PSK network HomeNet found",
        "PSK mode enabled",
        "msbuild app.sln /p:Configuration=Release /v:minimal",
        "ConvertTo-SecureString $env:PW -AsPlainText -Force",
        "mc alias list local",
        "jeton expiré",
    ],
)
def test_ordinary_lines_with_the_same_words_stay(text: str) -> None:
    """Prose with the same words, a PSK mode, msbuild's `/p:` properties and a SecureString of a variable
    stay."""
    assert redact_text(text) == text, findings(text)


@pytest.mark.parametrize(
    "text",
    [
        "nonce_data=Kq9Zr2Lm4Xv7Bn1Pw8Ty3Ui6Oa5Sd0",
        "kdf salt_data=Sa9Zr2Lm4Xv7Bn1Pw8Ty3Ui6Oa5Sd1 rounds=100000",
        '{"key_data": "Kd4Zr2Lm4Xv7Bn1Pw8Ty3Ui6Oa5Sd2"}',
    ],
)
def test_a_generated_value_under_a_data_key_of_key_size(text: str) -> None:
    """A generated value of a key's size (at most 64 characters) under a `*_data` key that names nothing
    else is hidden like one under any key that names nothing; a longer one is a payload (kept, below)."""
    redacted = redact_text(text)
    assert "Zr2Lm4Xv7Bn1Pw8Ty3Ui6Oa5" not in redacted, redacted


def test_a_payload_under_a_data_key_stays() -> None:
    """A long base64 payload under `*_data` (an image, a message body) is not taken for a key."""
    text = "image_data=" + _token(400, 200, string.ascii_letters + string.digits + "+/")
    assert redact_text(text) == text, findings(text)


def test_json_inside_json_inside_json() -> None:
    """A secret's pair written two JSON strings deep (`\\\\\\"api_key\\\\\\": ...`) is read as a pair."""
    import json

    inner = json.dumps({"api_key": "Jd2doubleNested9"})
    text = json.dumps({"msg": json.dumps({"payload": inner})})
    _assert_hidden(text, "Jd2doubleNested9", ["payload"])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("'a:b@c' 'bob:pw@h'x " * 12000, id="schemeless"),
        pytest.param("-u bob -p " * 20000, id="user-and-p"),
        pytest.param("-p x -a b " * 20000, id="p-first"),
        pytest.param("Key (api_token)=(" * 12000, id="key-detail"),
        pytest.param("Duplicate entry '" * 12000, id="duplicate-entry"),
        pytest.param("INSERT INTO t (password) VALUES (" * 6000, id="insert"),
        pytest.param("-----END PRIVATE KEY-----\\nQk9w\\n" * 6000, id="key-tails-escaped"),
        pytest.param("QUJD\n-----END PRIVATE KEY-----\n" * 6000, id="key-tails"),
        pytest.param("LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg" * 6000, id="base64-armour-run"),
        pytest.param("'PASS x'A0 LOGIN a b " * 12000, id="protocol"),
        pytest.param("argument --token: invalid int value: '" * 6000, id="option-error"),
        pytest.param("ConvertTo-SecureString -a -b -c -d '" * 6000, id="secure-string"),
        pytest.param("mc alias set a b c " * 12000, id="mc"),
        pytest.param("clave de API: " * 12000, id="other-languages"),
        pytest.param("token=Ab12Cd34Ef56Gh78 Ab12Cd34Ef56\n  Gh" * 6000, id="split-copies"),
    ],
)
def test_the_sixth_sweep_rules_cost_linear_time(text: str) -> None:
    """The rules of this sweep read an adversarial text in time linear in its length (a quarter of it
    costs a quarter, with room)."""
    assert_linear_time(text[: len(text) // 4], text)
