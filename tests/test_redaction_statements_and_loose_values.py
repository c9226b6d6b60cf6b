"""Secrets that left the process before the twenty-first sweep: credentials in SQL statements as drivers
echo them, values an API names in a phrase without `=` or `:` after the name, URL passwords holding a
blank or a quote, and JSON keys written with `\\u` escapes of any script; and the ordinary texts beside
them that must stay as they are."""

from __future__ import annotations

import pytest
from helpers.redacted import assert_hidden, assert_linear_time

from shipper.redaction import redact_text

# --- SQL statements that carry credentials ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "ORA-01935: missing user or role name\nCREATE USER scott IDENTIFIED BY tiger",
            ["tiger"],
            ["CREATE USER scott IDENTIFIED BY"],
            id="oracle-unquoted",
        ),
        pytest.param(
            "ALTER USER scott IDENTIFIED BY lion2024 REPLACE tiger2023 ACCOUNT UNLOCK",
            ["lion2024", "tiger2023"],
            ["REPLACE", "ACCOUNT UNLOCK"],
            id="oracle-replace-old",
        ),
        pytest.param(
            "ORA-02019: connection description for remote database not found\n"
            "CREATE DATABASE LINK sales CONNECT TO scott IDENTIFIED BY tiger USING 'salesdb'",
            ["tiger"],
            ["CONNECT TO scott IDENTIFIED BY", "USING 'salesdb'"],
            id="oracle-database-link",
        ),
        pytest.param(
            "sqlalchemy.exc.ProgrammingError: (psycopg2.errors.SyntaxError) syntax error\n"
            "[SQL: ALTER ROLE app WITH LOGIN PASSWORD 'it''s a secret']",
            ["it", "s a secret"],
            ["ALTER ROLE app WITH LOGIN PASSWORD '"],
            id="postgres-doubled-quote",
        ),
        pytest.param(
            'MySQLdb.OperationalError: (1396, "Operation CREATE USER failed")\n'
            "CREATE USER 'bob'@'%' IDENTIFIED BY 'o''brien pass'",
            ["brien pass"],
            ["'bob'@'%'"],
            id="mysql-doubled-quote",
        ),
        pytest.param(
            "SET PASSWORD FOR 'bob'@'localhost' = PASSWORD('it''s mine')",
            ["s mine"],
            ["'bob'@'localhost'"],
            id="mysql-set-password-doubled",
        ),
        pytest.param(
            "pyodbc.ProgrammingError: CREATE LOGIN app WITH PASSWORD = N'pa''ss word', CHECK_POLICY = OFF",
            ["ss word"],
            ["CHECK_POLICY = OFF"],
            id="sqlserver-n-string-doubled",
        ),
        pytest.param(
            "LINE 1: CREATE ROLE app LOGIN PASSWORD $$pa'ss word$$",
            ["pa'ss", "word"],
            ["CREATE ROLE app LOGIN PASSWORD"],
            id="postgres-dollar-quoted",
        ),
        pytest.param(
            "ALTER ROLE app PASSWORD $pw$s3cr3t value$pw$ VALID UNTIL 'infinity'",
            ["s3cr3t", "value"],
            ["VALID UNTIL 'infinity'"],
            id="postgres-tagged-dollar-quoted",
        ),
        pytest.param(
            "psycopg2.errors.InternalError_: S3ServiceException\n"
            "COPY sales FROM 's3://bucket/data' ACCESS_KEY_ID 'AKIAIOSFODNN7EXAMPLE' "
            "SECRET_ACCESS_KEY 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' SESSION_TOKEN 'IQoJb3JpZ2luX2VjEJr'",
            ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY", "IQoJb3JpZ2luX2VjEJr"],
            ["COPY sales FROM 's3://bucket/data'", "SECRET_ACCESS_KEY", "SESSION_TOKEN"],
            id="redshift-copy-key-pair",
        ),
    ],
)
def test_credentials_in_sql_statements_are_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """A password or key in SQL (unquoted, quote doubled, dollar-quoted, COPY's keys) is hidden."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[SQL: CREATE USER bob IDENTIFIED BY %(pw)s]", id="named-parameter"),
        pytest.param("CREATE USER bob IDENTIFIED BY :pw", id="colon-parameter"),
        pytest.param("ALTER USER bob IDENTIFIED BY ?", id="question-parameter"),
        pytest.param("CREATE ROLE app PASSWORD $1", id="dollar-parameter"),
        pytest.param("CREATE USER bob IDENTIFIED EXTERNALLY", id="externally"),
        pytest.param("CREATE USER bob IDENTIFIED GLOBALLY AS 'CN=bob,O=corp'", id="globally"),
        pytest.param("CREATE USER 'bob'@'%' IDENTIFIED WITH auth_socket", id="auth-socket"),
        pytest.param("SELECT id FROM users WHERE password_hash = %s AND name = 'bob'", id="hash-column"),
        pytest.param("SELECT name FROM users WHERE note = 'it''s fine'", id="doubled-quote-no-key"),
        pytest.param("secret access key for user bob rotated", id="key-in-prose"),
        pytest.param("the row identified by id 42 was deleted", id="identified-in-prose"),
        pytest.param("user identified by email bob@example.com logged in", id="user-identified-in-prose"),
        pytest.param("echo $HOME; cost is $5 per secret $$", id="shell-dollars"),
    ],
)
def test_sql_without_credentials_stays(text: str) -> None:
    """Bind parameters, external authentication and statements without a credential come back unchanged."""
    assert redact_text(text) == text


# --- a secret named in a phrase, its value after a participle --------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            "openai.AuthenticationError: Error code: 401 - Incorrect API key provided: abcd1234efgh5678. "
            "You can find your API key at https://platform.openai.com/account/api-keys.",
            "abcd1234efgh5678",
            "You can find your API key at",
            id="openai-project-key",
        ),
        pytest.param(
            "invalid_client: Invalid client secret provided: Abc8~defGhiJkl.MnoPqrStuVwx_yz12345",
            "Abc8~defGhiJkl.MnoPqrStuVwx_yz12345",
            "Invalid client secret provided:",
            id="client-secret-provided",
        ),
        pytest.param(
            "401 Unauthorized: Invalid API token provided: Ab3dEf6hIj9kLm2nOp5q",
            "Ab3dEf6hIj9kLm2nOp5q",
            "Invalid API token provided:",
            id="api-token-provided",
        ),
        pytest.param(
            "Invalid password supplied: hunter2", "hunter2", "Invalid password supplied:", id="supplied"
        ),
        pytest.param(
            "AuthError: invalid auth token received: Zm9vYmFyYmF6cXV4MTIz",
            "Zm9vYmFyYmF6cXV4MTIz",
            "invalid auth token received:",
            id="received",
        ),
        pytest.param(
            "Invalid key provided: Xq7ZpL2mWv9RtY4kAb3d",
            "Xq7ZpL2mWv9RtY4kAb3d",
            "Invalid key provided:",
            id="bare-key",
        ),
        pytest.param(
            "secret key Xq7ZpL2mWv9RtY4k is invalid", "Xq7ZpL2mWv9RtY4k", "is invalid", id="secret-key-space"
        ),
    ],
)
def test_values_named_in_a_phrase_are_hidden(text: str, secret: str, kept: str) -> None:
    """A secret's name, a participle (`provided`, `given`, `supplied`) and a colon, then the value: hidden."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The security token included in the request is invalid", id="aws-no-value"),
        pytest.param("The API key provided is invalid", id="provided-no-colon"),
        pytest.param("No API key provided.", id="none-provided"),
        pytest.param("Invalid API key provided: None", id="none-value"),
        pytest.param("token provided: false", id="boolean"),
        pytest.param("Bearer token provided: ********", id="masked"),
        pytest.param("Invalid key provided: user_42", id="key-name"),
        pytest.param("session token not found", id="session-token-prose"),
        pytest.param("security token expired", id="security-token-prose"),
    ],
)
def test_phrases_without_a_value_stay(text: str) -> None:
    """A phrase that names a secret but gives no value, or a value that is not one, comes back unchanged."""
    assert redact_text(text) == text


# --- URL passwords with a blank or a quote ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param("postgresql://bob:pa ss@db/app", "pa ss", "postgresql://bob:", id="blank"),
        pytest.param("mysql://u:it's@h/db", "it's", "@h/db", id="apostrophe"),
        pytest.param('redis://:p"w@h:6379/0', 'p"w', "@h:6379/0", id="double-quote"),
        pytest.param(
            "sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string "
            "'postgresql://bob:pa ss@db/app'",
            "pa ss",
            "@db/app'",
            id="repr",
        ),
        pytest.param(
            '  File "app.py", line 3, in <module>\n'
            '    engine = create_engine("postgresql://bob:pa ss@db/app")',
            "pa ss",
            'create_engine("postgresql://bob:',
            id="source-line",
        ),
        pytest.param(
            "mongodb://admin:my pass@mongo1:27017,mongo2:27017/?replicaSet=rs0",
            "my pass",
            "@mongo1:27017,mongo2",
            id="mongodb-hosts",
        ),
        pytest.param(
            "postgresql://bob:pa ss@/app?host=/var/run/postgresql",
            "pa ss",
            "@/app?host=",
            id="socket-no-host",
        ),
    ],
)
def test_url_passwords_with_blanks_or_quotes_are_hidden(text: str, secret: str, kept: str) -> None:
    """A URL's password holding a blank or a quote is hidden to its `@`, the host after it kept."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("see http://host:8080 and mail bob@x.io", id="port-then-address"),
        pytest.param('{"url": "http://localhost:5000", "owner": "ops@example.com"}', id="json-port"),
        pytest.param('{"url": "http://h:x", "owner": "ops@example.com"}', id="json-strings-apart"),
        pytest.param("visit https://example.com:443/docs or write to a@b.org", id="path-then-address"),
        pytest.param("URL http://x.org:80 (mirror) maintained by bob@x.org", id="port-in-prose"),
        pytest.param("ssh://git@github.com:org/repo.git and bob@x.io", id="scp-like"),
    ],
)
def test_urls_beside_an_address_stay(text: str) -> None:
    """A URL with a port or a path, then an e-mail address later on its line, comes back unchanged."""
    assert redact_text(text) == text


# --- JSON keys written with `\u` escapes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param('{"\\u043f\\u0430\\u0440\\u043e\\u043b\\u044c": "hunter2x"}', "hunter2x", id="russian"),
        pytest.param('{"\\u5bc6\\u7801": "hunter2x"}', "hunter2x", id="chinese"),
        pytest.param('{"\\u30d1\\u30b9\\u30ef\\u30fc\\u30c9": "hunter2x"}', "hunter2x", id="japanese"),
        pytest.param('{"\\u043a\\u043b\\u044e\\u0447": "Xq7ZpL2mWv9R"}', "Xq7ZpL2mWv9R", id="russian-key"),
        pytest.param('{"cl\\u00e9": "Xq7ZpL2mWv9R"}', "Xq7ZpL2mWv9R", id="french-accent"),
        pytest.param('{"contrase\\u00f1a": "hunter2x"}', "hunter2x", id="spanish-accent"),
        pytest.param(
            'b\'{"\\\\u043f\\\\u0430\\\\u0440\\\\u043e\\\\u043b\\\\u044c": "hunter2x"}\'',
            "hunter2x",
            id="bytes-repr-escaped-twice",
        ),
    ],
)
def test_json_keys_escaped_in_any_script_name_their_secret(text: str, secret: str) -> None:
    """A key written as `\\u` escapes (`json.dumps`' ensure_ascii) is read unescaped, its value hidden."""
    assert_hidden(text, [secret], [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '{"\\u0444\\u0438\\u043b\\u044c\\u043c": "\\u041c\\u0430\\u0442\\u0440\\u0438\\u0446\\u0430"}',
            id="film",
        ),
        pytest.param('{"name": "caf\\u00e9", "city": "M\\u00fcnchen"}', id="accents"),
        pytest.param('{"msg": "\\ud83d\\ude00 done"}', id="surrogates"),
    ],
)
def test_escaped_ordinary_json_stays(text: str) -> None:
    """JSON with escaped letters of other scripts and no secret's key comes back unchanged."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a://b:c d " * 4096, id="url-heads-with-blanks"),
        pytest.param("IDENTIFIED BY " * 2048, id="identified-by"),
        pytest.param("PASSWORD $x$ " * 2048, id="dollar-tags"),
        pytest.param("password 'a''" * 2048, id="doubled-quotes"),
        pytest.param("\\u043f" * 8192, id="escaped-letters"),
        pytest.param("key provided: " * 2048, id="provided"),
    ],
)
def test_new_shapes_cost_linear_time(text: str) -> None:
    """Text dense with this sweep's shapes costs about 4x for 4x the length (a quadratic rule costs 16x)."""
    assert_linear_time(text, text * 4)
