"""Secrets that left the process before the twenty-second sweep: credentials passed by position to the
stored procedures and functions that take them, values an API echoes in brackets or quotes after
`provided`, URL passwords holding a `/` or an `@` beside a blank; and SQL's words of password policy
(`PASSWORD EXPIRE`), which are no secret. Beside each, the ordinary texts that must stay as they are."""

from __future__ import annotations

import pytest
from helpers.redacted import assert_hidden, assert_linear_time

from shipper.redaction import redact_text

# --- credentials passed by position to procedures and functions ---------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "EXEC sp_addlogin 'bob', 'Tr0ub4dor'", ["Tr0ub4dor"], ["sp_addlogin 'bob'"], id="sp-addlogin"
        ),
        pytest.param(
            "EXEC master.dbo.sp_addlogin N'bob', N'it''s mine', 'master'",
            ["s mine"],
            ["N'bob'", "'master'"],
            id="sp-addlogin-qualified-national",
        ),
        pytest.param(
            "EXEC sp_password 'oldpass1', 'newpass2', 'bob'",
            ["oldpass1", "newpass2"],
            ["'bob'"],
            id="sp-password-old-and-new",
        ),
        pytest.param(
            "EXEC sp_addlinkedsrvlogin 'REMOTE', 'false', NULL, 'rmtuser', 'rmtpass9'",
            ["rmtpass9"],
            ["'REMOTE', 'false', NULL, 'rmtuser'"],
            id="sp-addlinkedsrvlogin",
        ),
        pytest.param("exec sp_setapprole 'app', 'ApPr0le'", ["ApPr0le"], ["'app'"], id="sp-setapprole"),
        pytest.param(
            "EXEC sp_adddistributor 'dist01', 10, 'D1stPass'",
            ["D1stPass"],
            ["'dist01', 10"],
            id="distributor",
        ),
        pytest.param(
            "SELECT ENCRYPTBYPASSPHRASE('my pass phrase', 'card 4111')",
            ["my pass phrase"],
            ["'card 4111'"],
            id="encryptbypassphrase",
        ),
        pytest.param(
            "UPDATE users SET pswhash = crypt('new password', gen_salt('bf', 8))",
            ["new password"],
            ["gen_salt('bf', 8)"],
            id="pgcrypto-crypt",
        ),
        pytest.param(
            "SELECT pgp_sym_encrypt('card data', 'sym key 42', 'cipher-algo=aes256')",
            ["sym key 42"],
            ["'card data'", "'cipher-algo=aes256'"],
            id="pgp-sym-encrypt",
        ),
        pytest.param(
            "SELECT pgp_pub_decrypt(msg, dearmor(keytext), 'k3y pass') FROM t",
            ["k3y pass"],
            ["dearmor(keytext)"],
            id="pgp-pub-decrypt",
        ),
        pytest.param(
            "SELECT hmac('payload', 'hm4c-key', 'sha256')", ["hm4c-key"], ["'payload'", "'sha256'"], id="hmac"
        ),
        pytest.param(
            'SELECT AES_ENCRYPT("4111 1111", "aes-k3y")',
            ["aes-k3y"],
            ['"4111 1111"'],
            id="mysql-aes-double-quoted",
        ),
        pytest.param(
            "v := DBMS_CRYPTO.ENCRYPT(src, 4353, 'raw-k3y-0001');",
            ["raw-k3y-0001"],
            ["DBMS_CRYPTO.ENCRYPT(src, 4353"],
            id="oracle-dbms-crypto",
        ),
        pytest.param(
            "utl_smtp.auth(c, 'mailer', 'smtpPw1', utl_smtp.all_schemes);",
            ["smtpPw1"],
            ["utl_smtp.all_schemes"],
            id="oracle-utl-smtp-auth",
        ),
        pytest.param(
            "    cursor.execute(\"EXEC sp_addlogin 'svc', 'Svc#2024'\")",
            ["Svc#2024"],
            ["cursor.execute(\"EXEC sp_addlogin 'svc'"],
            id="in-a-source-line",
        ),
    ],
)
def test_secrets_passed_by_position_are_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """The literal a procedure or function takes by position as a password or key is hidden, the rest kept."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("EXEC sp_addlogin 'bob'", id="login-only"),
        pytest.param("EXEC sp_addlogin @login, @pw", id="variables"),
        pytest.param("SELECT crypt(:pw, gen_salt('bf'))", id="bind-parameter"),
        pytest.param("SELECT pgp_sym_decrypt(col, %s) FROM t", id="format-parameter"),
        pytest.param("SELECT crypt(password, pswhash) = pswhash FROM users", id="column-names"),
        pytest.param("SELECT encode(digest('x', 'sha1'), 'hex')", id="encode-hex"),
        pytest.param("hashed = bcrypt('abc')", id="bcrypt-not-crypt"),
        pytest.param("sp_addlogin is deprecated; use CREATE LOGIN", id="procedure-in-prose"),
        pytest.param("EXEC sp_helplogins 'bob'", id="other-procedure"),
    ],
)
def test_calls_without_a_secret_literal_stay(text: str) -> None:
    """A call whose secret is a name, a parameter or absent, and a call of another function, stay."""
    assert redact_text(text) == text


# --- a value an API echoes in brackets or quotes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param("The API key provided (sk-abc123) is invalid", "sk-abc123", "is invalid", id="brackets"),
        pytest.param('Password supplied "x" was rejected', "x", "was rejected", id="double-quotes"),
        pytest.param("client secret given 'abc def' is wrong", "abc def", "is wrong", id="single-quotes"),
        pytest.param(
            "Invalid token received (eyJhbGciOi.x.y) from client 7",
            "eyJhbGciOi.x.y",
            "from client 7",
            id="received",
        ),
        pytest.param("access token used `Zq9x-Lm2w` expired", "Zq9x-Lm2w", "expired", id="backticks"),
    ],
)
def test_values_echoed_after_a_participle_are_hidden(text: str, secret: str, kept: str) -> None:
    """A secret's name, a participle (`provided`, `supplied`), then a value in brackets or quotes: hidden."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The API key provided (see docs) is invalid", id="words-in-brackets"),
        pytest.param("The file provided (data.csv) is invalid", id="not-a-secret-name"),
        pytest.param("token received (expired)", id="status"),
        pytest.param("The API key provided (null) is invalid", id="null"),
        pytest.param("API key used (%s)", id="placeholder"),
        pytest.param('password supplied "" was empty', id="empty"),
        pytest.param("the password used (hunter) was wrong", id="plain-word"),
    ],
)
def test_echoes_without_a_secret_stay(text: str) -> None:
    """Brackets or quotes after the participle that hold prose, a status, a placeholder or nothing stay."""
    assert redact_text(text) == text


# --- URL passwords holding `/` or `@` and a blank ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("postgresql://bob:pa /ss@db/app", ["pa /ss", "pa ", "/ss"], "@db/app", id="slash"),
        pytest.param("redis://:p@ss word@host", ["p@ss", "word"], "@host", id="at-sign"),
        pytest.param(
            "redis://:p@ss word@cache:6379/0 connected", ["p@ss", "word"], "@cache:6379/0", id="at-port"
        ),
        pytest.param("postgresql://bob:pa ss/x@db/app", ["pa ss", "ss/x"], "@db/app", id="slash-after-blank"),
        pytest.param(
            "mongodb://admin:my/pa ss@mongo1:27017/?replicaSet=rs0",
            ["my/pa", "pa ss"],
            "@mongo1:27017",
            id="mongodb",
        ),
        pytest.param(
            "Could not parse SQLAlchemy URL from string 'postgresql://bob:pa /ss@db/app'",
            ["pa /ss", "pa ", "/ss"],
            "@db/app'",
            id="repr",
        ),
    ],
)
def test_url_passwords_with_slashes_or_ats_and_blanks_are_hidden(
    text: str, secrets: list[str], kept: str
) -> None:
    """A URL's password holding a blank and a `/` or an `@` is hidden to the `@` whose host ends the URL."""
    assert_hidden(text, secrets, [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("see http://a:b/c and mail bob@x.io", id="named-port-then-address"),
        pytest.param("http://host:8080/x and bob@x.io", id="port-path-then-address"),
        pytest.param("git+ssh://git@host/repo.git by a b@c.io", id="user-only"),
    ],
)
def test_urls_then_prose_with_an_address_stay(text: str) -> None:
    """A URL without a password, then prose holding an e-mail address, comes back unchanged."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param("redis://:pw@host for admin@x.io", "@host for admin@x.io", id="prose-after-host"),
        pytest.param("ftp://u:pw@h/a b@c.d", "@h/a b@c.d", id="path-then-address"),
    ],
)
def test_prose_after_a_url_password_is_kept(text: str, kept: str) -> None:
    """A plain URL password is hidden alone: the host and the prose after it are not read as the password."""
    assert_hidden(text, ["pw"], [kept])


# --- SQL's words of password policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ALTER USER bob PASSWORD EXPIRE", id="oracle-expire"),
        pytest.param("alter user bob password expire", id="lower-case"),
        pytest.param("ALTER USER bob ACCOUNT LOCK PASSWORD EXPIRE", id="after-account-lock"),
        pytest.param("ALTER USER 'bob'@'%' PASSWORD EXPIRE INTERVAL 90 DAY", id="mysql-expire-interval"),
        pytest.param("ALTER USER bob PASSWORD EXPIRE NEVER", id="expire-never"),
        pytest.param("ALTER USER bob PASSWORD HISTORY 5", id="history"),
        pytest.param("CREATE USER bob PASSWORD REUSE INTERVAL 365 DAY", id="reuse-interval"),
        pytest.param("ALTER USER bob PASSWORD REQUIRE CURRENT OPTIONAL", id="require-current"),
        pytest.param(
            "ALTER USER bob FAILED_LOGIN_ATTEMPTS 3 PASSWORD_LOCK_TIME 2", id="failed-login-attempts"
        ),
        pytest.param("ALTER ROLE bob PASSWORD NULL", id="postgres-null"),
    ],
)
def test_password_policy_words_stay(text: str) -> None:
    """A word after PASSWORD that sets the password's policy (EXPIRE, HISTORY, REQUIRE) is not hidden."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "ALTER USER bob IDENTIFIED BY Tig3r PASSWORD EXPIRE",
            ["Tig3r"],
            ["PASSWORD EXPIRE"],
            id="oracle-password-then-policy",
        ),
        pytest.param(
            "CREATE USER 'u'@'h' IDENTIFIED BY 'pw1x' PASSWORD HISTORY 5 PASSWORD REUSE INTERVAL 365 DAY",
            ["pw1x"],
            ["PASSWORD HISTORY 5", "PASSWORD REUSE INTERVAL 365 DAY"],
            id="mysql-password-then-policy",
        ),
        pytest.param(
            "ALTER ROLE bob PASSWORD 'expire'", ["expire"], ["ALTER ROLE bob PASSWORD"], id="quoted-word"
        ),
        pytest.param(
            "ALTER ROLE bob PASSWORD Hunt3r2", ["Hunt3r2"], ["ALTER ROLE bob PASSWORD"], id="bare-password"
        ),
    ],
)
def test_passwords_beside_policy_words_are_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """The password a statement gives is still hidden, and the policy after it kept."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("EXEC sp_addlogin 'a', " * 2048, id="procedure-calls"),
        pytest.param("crypt(" * 4096, id="open-calls"),
        pytest.param("sp_password '', " * 2048, id="empty-literals"),
        pytest.param("key provided (" * 2048, id="open-brackets"),
        pytest.param("a://b:c /d " * 4096, id="url-heads-with-slashes"),
        pytest.param("a://b:c@d e@" * 4096, id="url-heads-with-ats"),
    ],
)
def test_new_shapes_cost_linear_time(text: str) -> None:
    """Text dense with this sweep's shapes costs about 4x for 4x the length (a quadratic rule costs 16x)."""
    assert_linear_time(text, text * 4)
