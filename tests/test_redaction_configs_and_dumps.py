"""The eighth redaction sweep's classes: payloads escaped as HTML or XML, armoured and bare secret keys of
more kinds, URLs and DSNs that hold their credential (bots, webhooks, Go's and Oracle's forms), JSON Web
Keys, more tools' password flags and arguments, other languages' dumps, keyword arguments split over
lines, daemons' and network devices' configuration lines, keys in more languages; the ordinary texts
beside them (session numbers, public key members, prose) that must stay; then the probe's eighth batch
(`bench/probe_redaction.py`) run as a regression check."""

# ruff: noqa: E501  (tables of cases: each text stays on its line, as written)
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from helpers.redacted import assert_hidden, assert_linear_time

from shipper.redaction import REDACTED, Redactor, redact_document, redact_text

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            "body: {&quot;password&quot;: &quot;Ht5mlEscPw&quot;, &quot;user&quot;: &quot;bob&quot;}",
            "Ht5mlEscPw",
            "&quot;user&quot;",
            id="quot",
        ),
        pytest.param(
            "payload=&lt;password&gt;X5mlEscPw&lt;/password&gt;", "X5mlEscPw", "&lt;/password&gt;", id="lt-gt"
        ),
        pytest.param(
            "value=&#34;password&#34;&#58; &#34;HtmlNum9Pw&#34;", "HtmlNum9Pw", "value=", id="decimal"
        ),
        pytest.param("q=api_key&#x3D;HtmlHex9Key", "HtmlHex9Key", "q=api_key", id="hex"),
        pytest.param(
            "locals: {&#39;password&#39;: &#39;Apos9HtmlPw&#39;, &#39;retries&#39;: 3}",
            "Apos9HtmlPw",
            "&#39;retries&#39;: 3",
            id="apos",
        ),
        pytest.param(
            "&lt;add key=&quot;Password&quot; value=&quot;XmlAttr9Pw&quot;/&gt;",
            "XmlAttr9Pw",
            "&lt;add",
            id="attribute",
        ),
        pytest.param(
            "&lt;password&gt;&lt;![CDATA[Cd4taPw9]]&gt;&lt;/password&gt;",
            "Cd4taPw9",
            "&lt;/password&gt;",
            id="cdata",
        ),
    ],
)
def test_payloads_escaped_as_html_or_xml(text: str, secret: str, kept: str) -> None:
    """A secret's key, separator or quotes written as character references (`&quot;`, `&lt;`, `&#34;`,
    `&#x3D;`, `&amp;`: a payload echoed into a page or an XML document) hide the secret as plain text does."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "<tls-auth>\n-----BEGIN OpenVPN Static key V1-----\ne5f0a8d2c4b6a1f3e7d9c2b4a6f8e0d1\n3c5b7a9f1e2d4c6b8a0f9e7d5c3b1a2f\n-----END OpenVPN Static key V1-----\n</tls-auth>",
            "3c5b7a9f1e2d4c6b8a0f9e7d5c3b1a2f",
            id="openvpn-static",
        ),
        pytest.param(
            "5f3c1a2b4d6e8f0a1b2c3d4e5f6a7b8c\n9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a\n-----END OpenVPN Static key V1-----",
            "9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a",
            id="openvpn-static-head-cut",
        ),
        pytest.param(
            '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key"\nP2/56wAAAi4AAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfQ==\n---- END SSH2 ENCRYPTED PRIVATE KEY ----',
            "P2/56wAAAi4AAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfQ==",
            id="ssh2-rfc4716",
        ),
        pytest.param(
            "-----BEGIN PGP SECRET KEY BLOCK-----\n\nlQOYBGXabc0BCADPgpSecBody9\n=abcd\n-----END PGP SECRET KEY BLOCK-----",
            "lQOYBGXabc0BCADPgpSecBody9",
            id="pgp-secret-key-block",
        ),
        pytest.param(
            "untrusted comment: minisign encrypted secret key\nRWRTY0IyMinis1gnS3cretKeyBodyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "RWRTY0IyMinis1gnS3cretKeyBodyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            id="minisign",
        ),
        pytest.param(
            "untrusted comment: signify secret key\nRWRCSwAAAAD5Sig9nifySecretKeyBodyAbCdEfGhIjKlMnOpQrStUvWx0123456789",
            "RWRCSwAAAAD5Sig9nifySecretKeyBodyAbCdEfGhIjKlMnOpQrStUvWx0123456789",
            id="signify",
        ),
        pytest.param(
            "HiddenServiceKey ED25519-V3:0H/jnBeWzMoU1MGNRQPnmd8JqlpTNS3UeTiDOMyPTGGXXpLd0KinCtQbcgZ2NVAzm8aO2ptKG3hxx1q1ZtUAqHY=",
            "0H/jnBeWzMoU1MGNRQPnmd8JqlpTNS3UeTiDOMyPTGGXXpLd0KinCtQbcgZ2NVAzm8aO2ptKG3hxx1q1ZtUAqHY=",
            id="tor-torrc",
        ),
        pytest.param(
            "250-ServiceID=abcdefghijklmnop\n250-PrivateKey=ED25519-V3:yLSDc8b11PaIHTtNtvi9lNW99IME2mdrO4k381zDkHv//WRUGrkBALBQ9MbHy2SLA/NmfS7YxmcR/FY8ppRfIA==",
            "yLSDc8b11PaIHTtNtvi9lNW99IME2mdrO4k381zDkHv",
            id="tor-add-onion",
        ),
        pytest.param(
            "wallet restored from xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
            "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
            id="bip32-xprv",
        ),
        pytest.param(
            "imported tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF",
            "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF",
            id="bip32-tprv",
        ),
    ],
)
def test_secret_keys_of_more_kinds(text: str, secret: str) -> None:
    """Secret keys armoured otherwise than a PEM private key (OpenVPN's static keys, RFC 4716's `---- `
    SSH2 keys, a PGP `SECRET KEY BLOCK`, minisign's and signify's key files, also with the head cut), and
    formats known by their prefix (Tor's `ED25519-V3:` onion keys, BIP32 extended private keys)."""
    assert_hidden(text, [secret], [])


@pytest.mark.parametrize(
    "text",
    [
        '---- BEGIN SSH2 PUBLIC KEY ----\nComment: "bob"\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n---- END SSH2 PUBLIC KEY ----',
        "OpenVPN 2.6.8 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4]",
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
        "untrusted comment: minisign public key 1A2B3C4D\nRWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3",
    ],
)
def test_public_keys_and_prose_about_keys_stay(text: str) -> None:
    """Public keys in the same armours and formats (SSH2, BIP32 `xpub`, minisign's public key) stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            "HTTPError: 401 for url: https://api.telegram.org/bot7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "sendMessage",
            id="telegram-bot",
        ),
        pytest.param(
            "GET https://api.telegram.org/file/bot5566778899:AAF3xQ9zKpLmNoPqRsTuVwXyZ0123456789/photos/file_1.jpg",
            "AAF3xQ9zKpLmNoPqRsTuVwXyZ0123456789",
            "api.telegram.org/file/bot",
            id="telegram-file",
        ),
        pytest.param(
            "webhook failed: https://acme.webhook.office.com/webhookb2/1b2c3d4e-aaaa-bbbb-cccc-123456789abc@9f8e7d6c-aaaa-bbbb-cccc-123456789abc/IncomingWebhook/5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b/1a2b3c4d-aaaa",
            "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
            "webhook failed:",
            id="teams",
        ),
        pytest.param(
            "POST https://chat.x.io/hooks/xi5ngd8s7jbdfpd3ykuqrb1i4w failed: 500",
            "xi5ngd8s7jbdfpd3ykuqrb1i4w",
            "failed: 500",
            id="mattermost",
        ),
        pytest.param(
            "dial tcp: app:GoMy5qlPw@tcp(db:3306)/app?parseTime=true",
            "GoMy5qlPw",
            "parseTime=true",
            id="go-mysql-tcp",
        ),
        pytest.param(
            "Error 1045: dsn=app:GoUn1xPw@unix(/var/run/mysqld/mysqld.sock)/app",
            "GoUn1xPw",
            "dsn=app:",
            id="go-mysql-unix",
        ),
        pytest.param(
            "cx_Oracle.connect('scott/T1gerOra9@db.internal:1521/ORCLPDB1')",
            "T1gerOra9",
            "db.internal:1521",
            id="cx-oracle",
        ),
        pytest.param(
            'pool = oracledb.create_pool("scott/Tg9Pool@db/orcl", min=1)',
            "Tg9Pool",
            "min=1",
            id="oracledb-pool",
        ),
        pytest.param(
            "sqlldr userid=scott/Ld9rPw@orcl control=load.ctl log=load.log",
            "Ld9rPw",
            "control=load.ctl",
            id="sqlldr",
        ),
        pytest.param("expdp scott/Ex9Pw@orcl schemas=app directory=dp", "Ex9Pw", "schemas=app", id="expdp"),
        pytest.param(
            "rman target sys/Rm4nSysPw@prod catalog rco/Rc9CatPw@rcat",
            "Rm4nSysPw",
            "rman target sys/",
            id="rman",
        ),
        pytest.param(
            "rman target sys/Rm4nSysPw@prod catalog rco/Rc9CatPw@rcat",
            "Rc9CatPw",
            "catalog rco/",
            id="rman-catalog",
        ),
        pytest.param(
            "https://hooks.slack.com/triggers/T0123ABCD/4567890123/abcdef0123456789abcdef0123456789",
            "abcdef0123456789abcdef0123456789",
            "hooks.slack.com/triggers/",
            id="slack-workflow-trigger",
        ),
        pytest.param(
            "SQL> connect scott/Sqlp9Conn@orcl", "Sqlp9Conn", "SQL> connect scott/", id="sqlplus-connect"
        ),
        pytest.param(
            "cx_Oracle.connect('system/Sys9TnsPw@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521)))')",
            "Sys9TnsPw",
            "(PROTOCOL=TCP)",
            id="oracle-tns-descriptor",
        ),
    ],
)
def test_urls_and_connect_strings_that_hold_their_credential(text: str, secret: str, kept: str) -> None:
    """A bot's token in its API URL's path, Teams' and Mattermost's webhook URLs, Go's MySQL DSN
    (`user:pw@tcp(host)`) and Oracle's `user/password@connect` in drivers' calls and in the tools that
    take it hide the credential and keep the rest."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        "GET https://gitlab.x.io/admin/hooks/12/edit 200",
        "POST https://api.telegram.org/file/ 404",
        "German permanent rman backup completed",
        "oracledb.connect(user='scott', dsn='db/orcl')",
        "docker login registry.x.io:5000",
    ],
)
def test_urls_and_tool_lines_without_a_credential_stay(text: str) -> None:
    """Paths and lines of the same services and tools that hold no credential stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            '{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg","alg":"HS256"}',
            "GawgguFyGrWKav7AX4VKUg",
            '"alg":"HS256"',
            id="oct-k",
        ),
        pytest.param(
            "{'kty': 'EC', 'crv': 'P-256', 'x': 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', 'd': 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI'}",
            "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
            "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            id="ec-d",
        ),
        pytest.param(
            '{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}',
            "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            id="okp-in-set",
        ),
        pytest.param(
            '{"kty":"RSA","e":"AQAB","n":"0vx7ago","d":"X4cTteJY_gn4FYPs","p":"83i-7IvMGXoM","q":"3dfOR9cuYq-0S-mk","dp":"G4sPXkc6Ya9y8oJW","dq":"s9lAH9fggBsoFR8O","qi":"GyM_p6JrXySiz1to"}',
            "X4cTteJY_gn4FYPs",
            '"e":"AQAB"',
            id="rsa-d",
        ),
        pytest.param(
            '{"kty":"RSA","e":"AQAB","n":"0vx7ago","d":"X4cTteJY_gn4FYPs","p":"83i-7IvMGXoM","q":"3dfOR9cuYq-0S-mk","dp":"G4sPXkc6Ya9y8oJW","dq":"s9lAH9fggBsoFR8O","qi":"GyM_p6JrXySiz1to"}',
            "GyM_p6JrXySiz1to",
            '"n":"0vx7ago"',
            id="rsa-qi",
        ),
        pytest.param(
            '{\\"kty\\":\\"oct\\",\\"k\\":\\"GawgguFyGrWKav7AX4VKUg\\"}',
            "GawgguFyGrWKav7AX4VKUg",
            "kty",
            id="escaped-json",
        ),
    ],
)
def test_json_web_keys_private_members(text: str, secret: str, kept: str) -> None:
    """A JSON Web Key's private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, a symmetric key's `k`) are hidden
    whatever their length; its public ones (`n`, `e`, `x`, `crv`) stay."""
    assert_hidden(text, [secret], [kept])


def test_json_web_keys_in_a_documents_extras() -> None:
    """A JWK passed as a mapping in a document's extras loses its private members (and `oth`'s primes)
    and keeps its public ones; a key named `p` or `d` elsewhere keeps its value."""
    redacted = redact_document(
        {
            "message": "loaded key",
            "extra": {
                "jwk": {
                    "kty": "RSA",
                    "n": "0vx7ago",
                    "e": "AQAB",
                    "d": "X4cTteJY",
                    "oth": [{"r": "1", "d": "D2"}],
                },
                "page": {"p": "2", "d": "desc"},
            },
        }
    )
    assert redacted["extra"]["jwk"] == {
        "kty": "RSA",
        "n": "0vx7ago",
        "e": "AQAB",
        "d": REDACTED,
        "oth": REDACTED,
    }
    assert redacted["extra"]["page"] == {"p": "2", "d": "desc"}


def test_json_web_keys_public_members_stay() -> None:
    """A public JWK's curve point and modulus stay, though they read like generated values."""
    for text in (
        '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}',
        '{"kty":"RSA","e":"AQAB","kid":"k1","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64t"}',
    ):
        assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "mosquitto_pub -h broker -u bob -P Mq7tPw9 -t x -m hi",
            ["Mq7tPw9"],
            ["-t x -m hi"],
            id="mosquitto",
        ),
        pytest.param(
            "ipmitool -I lanplus -H 10.0.0.9 -U admin -P Ipm1Pw9 chassis status",
            ["Ipm1Pw9"],
            ["chassis status"],
            id="ipmitool",
        ),
        pytest.param(
            "snmpwalk -v3 -l authPriv -u admin -a SHA -A Snmp3AuthPw -x AES -X Snmp3PrivPw 10.0.0.1",
            ["Snmp3AuthPw", "Snmp3PrivPw"],
            ["10.0.0.1"],
            id="snmpv3",
        ),
        pytest.param(
            'snmpget -v3 -u admin -l authNoPriv -a MD5 -A "two words" h sysName.0',
            ["two words"],
            ["sysName.0"],
            id="snmpv3-quoted",
        ),
        pytest.param("unrar x -pUnr4rPw9 archive.rar", ["Unr4rPw9"], ["archive.rar"], id="unrar"),
        pytest.param(
            "rar a -hpR4rHead9 -m5 backup.rar /srv/data", ["R4rHead9"], ["backup.rar"], id="rar-headers"
        ),
        pytest.param(
            "wpa_passphrase HomeWifi Wp4PassPhr9", ["Wp4PassPhr9"], ["HomeWifi"], id="wpa-passphrase"
        ),
        pytest.param(
            "wpa_passphrase 'Cafe Guest' 'Wp4 Quoted9'",
            ["Wp4 Quoted9"],
            ["Cafe Guest"],
            id="wpa-passphrase-quoted",
        ),
        pytest.param(
            "pdftk in.pdf output out.pdf user_pw Pdf9UserPw owner_pw Pdf9OwnerPw",
            ["Pdf9UserPw", "Pdf9OwnerPw"],
            ["output out.pdf"],
            id="pdftk",
        ),
        pytest.param('rar x -p"Rar9 Quoted" a.rar', ["Rar9 Quoted"], ["a.rar"], id="rar-quoted"),
        pytest.param(
            "mosquitto_passwd -b /etc/mosquitto/passwd bob Mq9PwdB",
            ["Mq9PwdB"],
            ["/etc/mosquitto/passwd bob"],
            id="mosquitto-passwd",
        ),
    ],
)
def test_more_tools_password_flags_and_arguments(text: str, secrets: list[str], kept: list[str]) -> None:
    """The password flags of more tools (ipmitool's and Mosquitto's `-P`, Net-SNMP's SNMPv3 `-A`/`-X`,
    RAR's glued `-p`/`-hp`) and the passwords they take by position (`wpa_passphrase`, pdftk's `user_pw`)."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        "snmpwalk -v2c -Cc -On 10.0.0.1 .1.3.6.1",
        "unrar l archive.rar",
        "mosquitto_sub -h broker -t 'a/#' -v -q 1",
        "ipmitool -I lanplus -H 10.0.0.9 sensor list",
        "set user_pw policy to strict",
        "library rar support: unrar 7.0",
    ],
)
def test_the_same_tools_without_a_password_stay(text: str) -> None:
    """The same tools' lines with no password flag stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            'array(2) {\n  ["user"]=>\n  string(3) "bob"\n  ["password"]=>\n  string(9) "PhpV4rDmp"\n}',
            "PhpV4rDmp",
            'string(3) "bob"',
            id="php-var-dump",
        ),
        pytest.param(
            'array(1) {\n  ["api_token"]=>\n  string(20) "PhpT0kenValue9xyzAbc"\n}',
            "PhpT0kenValue9xyzAbc",
            "array(1)",
            id="php-var-dump-token",
        ),
        pytest.param(
            "array(1) { 'password' => string 'XdbgPw9' (length=7) }", "XdbgPw9", "(length=7)", id="xdebug"
        ),
        pytest.param(
            '[{host,"db"},{password,"Erl4ngPw"},{port,5432}]', "Erl4ngPw", "{port,5432}", id="erlang-proplist"
        ),
        pytest.param(
            '{ok,[{client_id,"app"},{client_secret,"Erl4ngCs9"}]}',
            "Erl4ngCs9",
            '{client_id,"app"}',
            id="erlang-nested",
        ),
        pytest.param(
            '[{host,"db"},{password,<<"E9pwBin">>}]', "E9pwBin", '{host,"db"}', id="erlang-binary-tuple"
        ),
        pytest.param(
            '#{password => <<"Erl4ngBinPw">>, user => <<"bob">>}',
            "Erl4ngBinPw",
            'user => <<"bob">>',
            id="erlang-map",
        ),
        pytest.param(
            '%{"password" => <<"Ex1rMapPw">>, "user" => <<"bob">>}',
            "Ex1rMapPw",
            '"user" => <<"bob">>',
            id="elixir-string-keys",
        ),
    ],
)
def test_other_languages_dumps(text: str, secret: str, kept: str) -> None:
    """PHP's `var_dump` (the value on the line after its name) and Xdebug's, Erlang's and Elixir's
    tuples, maps and binaries hide a value under a secret's name and keep the others."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        'array(1) {\n  ["user_id"]=>\n  int(42)\n}',
        '{ok,"connected"} {error,"timeout"}',
        '[{host,"db"},{port,5432}]',
    ],
)
def test_other_languages_dumps_without_a_secret_stay(text: str) -> None:
    """The same dumps with no secret's name stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "    conn = connect(\n        host='db',\n        password=\n            'Spl1tL1nePw',\n    )",
            "Spl1tL1nePw",
            id="single-quotes",
        ),
        pytest.param(
            "    client = Minio(\n        'play.min.io',\n        secret_key=\n            \"M1nioSplitKey9\",\n    )",
            "M1nioSplitKey9",
            id="double-quotes",
        ),
        pytest.param('    token = \\\n        "Bk9SlashTok"', "Bk9SlashTok", id="backslash-continuation"),
    ],
)
def test_keyword_argument_values_on_the_next_line(text: str, secret: str) -> None:
    """A secret keyword argument or assignment whose literal stands on the next line of a traceback's
    multi-line source (`password=` then `'x'` below, or a backslash continuation) is hidden."""
    assert_hidden(text, [secret], [])


def test_a_split_keyword_argument_is_hidden_in_a_whole_document() -> None:
    """Through the document pass, a secret split over a traceback's source lines is hidden in the stack
    trace and in the message that repeats it."""
    trace = 'Traceback (most recent call last):\n  File "app.py", line 9, in <module>\n    conn = connect(\n        password=\n            "Spl1tD0cPw",\n    )\nValueError: authentication failed'
    redacted = redact_document({"message": "connect failed", "error": {"stack_trace": trace}})
    assert "Spl1tD0cPw" not in str(redacted)


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "vrrp_instance VI_1 {\n    authentication {\n        auth_type PASS\n        auth_pass K33pAl1v\n    }\n}",
            ["K33pAl1v"],
            ["auth_type PASS"],
            id="keepalived",
        ),
        pytest.param(
            'database mdb\nsuffix "dc=example,dc=org"\nrootpw Sl4pdR00t',
            ["Sl4pdR00t"],
            ["database mdb"],
            id="slapd-rootpw",
        ),
        pytest.param(
            "uri ldap://ldap.x.io\nbinddn cn=svc,dc=x\nbindpw Nsl4cdBind9",
            ["Nsl4cdBind9"],
            ["binddn cn=svc,dc=x"],
            id="nslcd-bindpw",
        ),
        pytest.param(
            "[domain/default]\nldap_default_bind_dn = cn=svc,dc=x\nldap_default_authtok = Sss4dAuthTok",
            ["Sss4dAuthTok"],
            ["cn=svc,dc=x"],
            id="sssd-authtok",
        ),
        pytest.param(
            "userlist admins\n  user bob insecure-password H4proxyPw",
            ["H4proxyPw"],
            ["userlist admins"],
            id="haproxy-userlist",
        ),
        pytest.param(
            "listen stats\n  stats auth admin:H4Stat5Pw",
            ["H4Stat5Pw"],
            ["stats auth admin:"],
            id="haproxy-stats",
        ),
        pytest.param(
            "cache_peer upstream.x 3128 0 no-query login=proxyuser:Sq9uidProxy",
            ["Sq9uidProxy"],
            ["no-query"],
            id="squid-login",
        ),
        pytest.param("basic_auth admin:B4sicPw9", ["B4sicPw9"], ["basic_auth"], id="basic-auth-pair"),
        pytest.param(
            "username netops privilege 15 secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
            ["nhEmQVczB7dqsO"],
            ["username netops privilege 15"],
            id="cisco-secret-9",
        ),
        pytest.param(
            "username admin privilege 15 password 0 Cisc0Pw9",
            ["Cisc0Pw9"],
            ["privilege 15"],
            id="cisco-password-0",
        ),
        pytest.param(
            "tacacs server ISE\n address ipv4 10.0.0.9\n key 7 094F471A1A0A",
            ["094F471A1A0A"],
            ["address ipv4 10.0.0.9"],
            id="cisco-key-7",
        ),
        pytest.param(
            "neighbor 192.0.2.1 password 7 02050D480809",
            ["02050D480809"],
            ["neighbor 192.0.2.1"],
            id="bgp-neighbor",
        ),
        pytest.param(" key-string Cisc0KeyStr9", ["Cisc0KeyStr9"], ["key-string"], id="key-string"),
        pytest.param(" pre-shared-key Cisc0Psk9", ["Cisc0Psk9"], ["pre-shared-key"], id="pre-shared-key"),
        pytest.param(
            "crypto isakmp key Cisc0Isak9 address 10.0.0.1",
            ["Cisc0Isak9"],
            ["address 10.0.0.1"],
            id="isakmp-key",
        ),
        pytest.param(
            "radius-server host 10.0.0.5 key Rad9Key",
            ["Rad9Key"],
            ["radius-server host 10.0.0.5"],
            id="radius-key",
        ),
        pytest.param(" wpa-psk ascii 0 Cisc0Wpa9", ["Cisc0Wpa9"], ["wpa-psk ascii 0"], id="wpa-psk"),
        pytest.param(
            "ntp authentication-key 1 md5 Ntp9Key",
            ["Ntp9Key"],
            ["ntp authentication-key 1 md5"],
            id="ntp-key",
        ),
        pytest.param(
            "ip ospf message-digest-key 1 md5 Osp9Key",
            ["Osp9Key"],
            ["message-digest-key 1 md5"],
            id="ospf-key",
        ),
        pytest.param(
            "snmp-server user admin grp v3 auth sha Snmp9Auth priv aes 128 Snmp9Priv",
            ["Snmp9Auth", "Snmp9Priv"],
            ["snmp-server user admin grp v3"],
            id="snmp-server-user",
        ),
        pytest.param(
            "config system admin\n    edit ops\n    set password ENC Fgt9EncValueAbCd==",
            ["Fgt9EncValueAbCd"],
            ["edit ops"],
            id="fortigate-enc",
        ),
        pytest.param(
            'set protocols bgp group ext authentication-key "$9$Jun9SecretKeyX"',
            ["Jun9SecretKeyX"],
            ["group ext authentication-key"],
            id="juniper-9",
        ),
        pytest.param(
            "conn home\n    authby=secret\n    leftpsk=Ips9LeftPsk",
            ["Ips9LeftPsk"],
            ["authby=secret"],
            id="strongswan-leftpsk",
        ),
    ],
)
def test_daemons_and_network_devices_configuration_lines(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """A directive that names a secret, its value apart by blanks (keepalived, slapd, nslcd, SSSD,
    HAProxy), a `user:password` given to a word of signing in (HAProxy's `stats auth`, Squid's `login=`),
    and network devices' secrets with a type or key number between (`password 7 X`, `key 1 md5 X`)."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        "    auth_type PASS",
        "    password_file /etc/mosquitto/passwd",
        "no service password-encryption\nservice password-encryption",
        "wrong password 3 times, account locked",
        "login failed: wrong password (attempt 3 of 5)",
        "missing key user_id in payload; KeyError for key order42",
        "last login 10:42 from 10.0.0.5; login at 12:05:33",
        "auth required for /admin; login page served",
        "Enter PEM pass phrase:",
        "app --token-file /run/secrets/token 2",
    ],
)
def test_configuration_and_prose_without_a_secret_stay(text: str) -> None:
    """Directives and sentences near those words that hold no secret stay: a type, a file, a count, a
    time, a key's name, a prompt."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param("parola_d_ordine=It4lParola9", "It4lParola9", "parola_d_ordine=", id="italian"),
        pytest.param("kullanici=bob parola=Tr4Parola9", "Tr4Parola9", "kullanici=bob", id="turkish"),
        pytest.param(
            '{"kullanici": "bob", "parola": "Tr9ParolaJ"}',
            "Tr9ParolaJ",
            '"kullanici": "bob"',
            id="turkish-json",
        ),
        pytest.param("contrasenya=Ca4Contra9", "Ca4Contra9", "contrasenya=", id="catalan"),
        pytest.param("usuari: bob\ncontrasenya: Ca9ContraY", "Ca9ContraY", "usuari: bob", id="catalan-yaml"),
    ],
)
def test_password_named_in_more_languages(text: str, secret: str, kept: str) -> None:
    """`parola` (Italian's and Turkish's password) and `contrasenya` (Catalan's) name a secret as a key."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        "la parola chiave è stata trovata nel testo",
        "Parola hatalı, tekrar deneyin",
        "XDG_SESSION_ID=3 XDG_SESSION_TYPE=wayland XDG_SESSION_CLASS=user",
        "session_id=42 closed",
        "passwd: password expiry information changed.",
        "vault kv get -field=password secret/data/app/db",
        "title=&quot;Orders &amp; Returns&quot; &lt;b&gt;bold&lt;/b&gt;",
    ],
)
def test_ordinary_texts_of_the_same_places_stay(text: str) -> None:
    """Prose in those languages, a login session's number, `passwd`'s report, a flag naming a field and
    escaped text without a secret stay."""
    assert redact_text(text) == text


def test_session_numbers_stay_in_environment_dumps_and_session_tokens_do_not() -> None:
    """In a document's environment variables a login session's number stays (`XDG_SESSION_ID`), while a
    session's token, a long session id and a cookie's session id are hidden."""
    redacted = redact_document(
        {
            "message": "started; Cookie: sessionid=42",
            "logloop": {
                "env": {
                    "vars": {"XDG_SESSION_ID": "3", "SESSION_TOKEN": "12", "PHPSESSID": "9f8e7d6c5b4a3928"}
                }
            },
        }
    )
    assert redacted["logloop"]["env"]["vars"] == {
        "XDG_SESSION_ID": "3",
        "SESSION_TOKEN": REDACTED,
        "PHPSESSID": REDACTED,
    }
    assert redacted["message"] == f"started; Cookie: sessionid={REDACTED}"
    assert Redactor().redact_text("sessionid=8f9a2b7c4d1e8f6a5b0c") == f"sessionid={REDACTED}"


def _probe() -> object:
    spec = importlib.util.spec_from_file_location("probe_redaction", REPO / "bench" / "probe_redaction.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_eighth_batch_leaks_only_the_known_shapes_and_changes_no_ordinary_text() -> None:
    """Of the eighth sweep's probe batch only the shapes named as left alone leak, and none of its
    ordinary texts changes."""
    probe = _probe()
    leaks, over = probe.score(redact_text, "eighth")  # type: ignore[attr-defined]
    assert leaks == list(probe.KNOWN_LEAKS_8)  # type: ignore[attr-defined]
    assert over == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("&quot;" * 16384 + "password", id="entities"),
        pytest.param("&#34;password&#34;:" * 4096, id="numeric-entities"),
        pytest.param("---- BEGIN SSH2 PRIVATE KEY ----\n" + "AAAA\n" * 8192, id="ssh2-unterminated"),
        pytest.param("untrusted comment: secret key " * 4096, id="signify-comments"),
        pytest.param("https://x.io/hooks/" * 4096, id="hooks"),
        pytest.param("https://api.telegram.org/bot1234567:" * 2048, id="telegram"),
        pytest.param("a:bc9d@tcp( " * 8192, id="go-dsn"),
        pytest.param("oracle.connect('a/" * 4096, id="oracle"),
        pytest.param('{"kty":"oct","k":"' * 4096, id="jwk"),
        pytest.param('["password"]=> ' * 4096, id="php"),
        pytest.param('{password,"' * 4096 + "x", id="erlang"),
        pytest.param('password: <<"' * 4096, id="erlang-binary"),
        pytest.param("password=\n" * 8192, id="split-keyword"),
        pytest.param("a_b_c_d_password 0 md5 " * 4096, id="directive-marks"),
        pytest.param("stats auth a:" * 8192, id="auth-pair"),
        pytest.param("mosquitto_pub -P " * 4096, id="capital-p"),
        pytest.param("snmpwalk -A " * 4096, id="snmpv3"),
        pytest.param("wpa_passphrase 'a " * 4096, id="wpa"),
        pytest.param("a=password" * 8192, id="flag-value-field"),
        pytest.param("x password " * 8192, id="directive-long-line"),
    ],
)
def test_the_new_rules_cost_linear_time(text: str) -> None:
    """The character-reference decoding and the new readings (armours, webhooks, DSNs, JWKs, dumps,
    split arguments, directives, `user:pw` pairs, tools' flags) cost about 4x for 4x the text."""
    assert_linear_time(text, text * 4)
