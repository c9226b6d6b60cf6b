"""Secret shapes the corpus did not hold, one test per class, each with its own fake secrets; and the
ordinary values next to them (ids, paths, hashes) that redaction must leave readable."""

from __future__ import annotations

import enum
import http.client
import ipaddress
import json
import math
import os
import random
import re
import string
import time
import traceback
from collections.abc import Callable

import pytest
from helpers.redacted import assert_hidden, assert_linear_time

from shipper.redaction import REDACTED, Redactor, redact_argv, redact_document, redact_mapping, redact_text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param('{:password => "Rb9secret"}', ["Rb9secret"], [":password =>"], id="ruby-hash-rocket"),
        pytest.param("'db_password' => 'Php9secret',", ["Php9secret"], ["'db_password' =>"], id="php-array"),
        pytest.param("my %cfg = (token => 'Perl9tok');", ["Perl9tok"], ["token =>"], id="perl-fat-comma"),
        pytest.param(
            "<password>Xml9secret</password>", ["Xml9secret"], ["<password>", "</password>"], id="xml-element"
        ),
        pytest.param(
            '<add key="ApiKey" value="Cfg9ApiKey77" />',
            ["Cfg9ApiKey77"],
            ["<add key="],
            id="dotnet-appsettings",
        ),
        pytest.param(
            "<ns:ClientSecret>Soap9secret</ns:ClientSecret>",
            ["Soap9secret"],
            ["ClientSecret>"],
            id="xml-namespaced",
        ),
        pytest.param(
            "Your new password is: Tmp9pass!",
            ["Tmp9pass!"],
            ["Your new password is: "],
            id="password-is-colon",
        ),
    ],
)
def test_key_value_syntaxes_of_other_languages(text: str, secrets: list[str], kept: list[str]) -> None:
    """A secret key's value is hidden in the pair syntaxes of other languages and formats: Ruby, PHP and
    Perl `=>`, XML elements and `key/value` attributes, and `is:`."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("Passwort=Geheim9x", ["Geheim9x"], ["Passwort="], id="german"),
        pytest.param("kennwort: Geheim9y", ["Geheim9y"], ["kennwort:"], id="german-kennwort"),
        pytest.param("contraseña=Secreto9x", ["Secreto9x"], ["contraseña="], id="spanish"),
        pytest.param("mot_de_passe=Secret9fr", ["Secret9fr"], ["mot_de_passe="], id="french"),
        pytest.param("mdp: Secret9mdp", ["Secret9mdp"], ["mdp:"], id="french-abbreviation"),
        pytest.param("senha=Segredo9x", ["Segredo9x"], ["senha="], id="portuguese"),
        pytest.param("wachtwoord=Geheim9nl", ["Geheim9nl"], ["wachtwoord="], id="dutch"),
        pytest.param("lösenord=Hemlig9x", ["Hemlig9x"], ["lösenord="], id="swedish"),
        pytest.param("hasło=Tajne9x", ["Tajne9x"], ["hasło="], id="polish"),
        pytest.param("пароль: Sekret9ru", ["Sekret9ru"], ["пароль:"], id="russian"),
        pytest.param("密码=Mima9secret", ["Mima9secret"], ["密码="], id="chinese"),
        pytest.param("pw=Short9pw", ["Short9pw"], ["pw="], id="pw"),
        pytest.param("pswd: Short9ps", ["Short9ps"], ["pswd:"], id="pswd"),
        pytest.param("passcode=913377", ["913377"], ["passcode="], id="passcode"),
        pytest.param("{'userPassWord': 'Camel9pw'}", ["Camel9pw"], ["userPassWord"], id="camel-mixed-case"),
    ],
)
def test_password_in_other_spellings_and_languages(text: str, secrets: list[str], kept: list[str]) -> None:
    """`password` spelt in other languages and abbreviations names a secret like the English word."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "postgresql://app:ab/cd9x@db:5432/shop", ["ab/cd9x", "cd9x"], ["@db:5432/shop"], id="slash"
        ),
        pytest.param("mysql://root:q?w9e@db/x", ["q?w9e", "w9e"], ["@db/x"], id="question-mark"),
        pytest.param("amqp://guest:h#sh9@rabbit:5672/", ["h#sh9", "sh9"], ["@rabbit:5672/"], id="hash"),
        pytest.param(
            '{"dsn": "postgres:\\/\\/u:Js9pw@db\\/x"}', ["Js9pw"], ["@db\\/x"], id="json-escaped-slashes"
        ),
        pytest.param(
            "https://example.org:8443/users/@bob/x@y",
            [],
            ["https://example.org:8443/users/@bob/x@y"],
            id="port-kept",
        ),
        pytest.param(
            "postgres://u:pw9@db/x?email=a@b.org", ["pw9"], ["@db/x?email=a@b.org"], id="at-in-query-kept"
        ),
    ],
)
def test_url_passwords_with_reserved_characters(text: str, secrets: list[str], kept: list[str]) -> None:
    """A URL password holding a raw `/`, `?` or `#` (which SQLAlchemy-style DSNs accept), or in a URL
    whose slashes are JSON-escaped, is hidden whole; ports, paths and later `@`s stay."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "[(b'host', b'api'), (b'cookie', b'sid=By9cookie'), (b'x-api-key', b'By9apikey')]",
            ["By9cookie", "By9apikey"],
            ["(b'host', b'api')", "b'cookie'", "b'x-api-key'"],
            id="asgi-header-tuples",
        ),
        pytest.param("{b'password': b'By9pw'}", ["By9pw"], ["b'password'"], id="bytes-dict"),
        pytest.param('body=b\'{"token": "By9tok"}\'', ["By9tok"], ['"token"'], id="bytes-json"),
    ],
)
def test_bytes_literals(text: str, secrets: list[str], kept: list[str]) -> None:
    """Keys and values written as bytes literals (`b'...'`, as in ASGI and h11 header lists) are read
    like strings."""
    assert_hidden(text, secrets, kept)


PKCS8 = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7fAkE9xYz"
RSA1 = "MIIEowIBAAKCAQEAo5bX8Kl4Ukpo9RzByBAQ16hPfAkEfAkE"
EC1 = "MHcCAQEEID6IwrErEMZr+F0C/pUGZTxLc/GgOWTkfAkE"
OPENSSH = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABfAkE"


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        pytest.param(
            f"key body {PKCS8}\nQz8fAkEbOdYlInE2", [PKCS8, "Qz8fAkEbOdYlInE2"], id="pkcs8-two-lines"
        ),
        pytest.param(f'"{RSA1}\\nZm9vYmFy"', [RSA1, "Zm9vYmFy"], id="pkcs1-escaped-newline"),
        pytest.param(f"ec={EC1}", [EC1], id="sec1-ec"),
        pytest.param(f"…[truncated by logloop]…\n{OPENSSH}", [OPENSSH], id="openssh-after-a-cut"),
    ],
)
def test_private_key_bodies_without_their_armour(text: str, secrets: list[str]) -> None:
    """The base64 of a private key is hidden without its `-----BEGIN` line (a PEM split over log lines
    or cut by truncation): PKCS#8, PKCS#1, SEC1 and OpenSSH bodies are known by their first bytes."""
    assert_hidden(text, secrets, [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC\n", id="public-key"
        ),
        pytest.param("cert MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa", id="certificate"),
        pytest.param(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9ok bob@h", id="ssh-public"
        ),
    ],
)
def test_public_keys_and_certificates_stay(text: str) -> None:
    """Public keys and certificates are not secrets: their base64 stays."""
    assert redact_text(text) == text


AWS_ID, AWS_SECRET = "AKIAQ3EGRTZ7FAKE0001", "Zk9sF4pQ2rT8vW1xY3bN6mC5dE7gH0jK2lM4nP6q"


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        pytest.param(f"using {AWS_ID} / {AWS_SECRET} for upload", [AWS_ID, AWS_SECRET], id="aws-slash"),
        pytest.param(f"creds=('{AWS_ID}', '{AWS_SECRET}')", [AWS_ID, AWS_SECRET], id="aws-tuple"),
        pytest.param(f"{AWS_ID}:{AWS_SECRET}", [AWS_ID, AWS_SECRET], id="aws-colon"),
        pytest.param(
            "Client('AC0123456789abcdef0123456789abcdef', 'f0e1d2c3b4a5968778695a4b3c2d1e0f') auth failed",
            ["f0e1d2c3b4a5968778695a4b3c2d1e0f"],
            id="twilio-sid-and-token",
        ),
    ],
)
def test_secret_beside_its_public_id(text: str, secrets: list[str]) -> None:
    """A provider secret with no prefix of its own is hidden when it stands beside its public id (an
    AWS access key id and its 40-character secret key, a Twilio account SID and its auth token)."""
    assert_hidden(text, secrets, [])


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("whsec_9fJ2kL4mN6pQ8rS0tU2vW4xY6zA8bC0d", id="stripe-webhook-secret"),
        pytest.param("hvs.CAESIFakeFakeFakeFakeFakeFakeFakeFake0123", id="vault"),
        pytest.param("dapi0123456789abcdef0123456789abcdef", id="databricks"),
        pytest.param("shpat_0123456789abcdef0123456789abcdef", id="shopify"),
        pytest.param("dop_v1_" + "0123456789abcdef" * 4, id="digitalocean"),
        pytest.param("glsa_FakeFakeFakeFakeFakeFakeFake0123_0a1b2c3d", id="grafana-service-account"),
        pytest.param("PMAK-0123456789abcdef01234567-0123456789abcdef0123456789abcdef01", id="postman"),
        pytest.param("AGE-SECRET-KEY-1" + ("QQPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2)[:58], id="age"),
        pytest.param("lin_api_" + "FakeFake01" * 4, id="linear"),
        pytest.param("xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MA", id="slack-refresh"),
        pytest.param("key-0123456789abcdef0123456789abcdef", id="mailgun"),
    ],
)
def test_more_provider_token_formats(token: str) -> None:
    """Tokens of published provider formats are hidden wherever they stand."""
    assert_hidden(f"request failed with {token} (401)", [token[8:]], ["request failed with", "(401)"])


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "password: |\n  Multi9line\n  Block9two\nuser: bob",
            ["Multi9line", "Block9two"],
            ["user: bob"],
            id="block",
        ),
        pytest.param("token: >-\n    Folded9tok\nregion: eu", ["Folded9tok"], ["region: eu"], id="folded"),
        pytest.param("password:\n  Next9line\nuser: bob", ["Next9line"], ["user: bob"], id="next-line"),
        pytest.param(
            "env:\n  - name: DB_PASSWORD\n    value: K8s9secret\n  - name: REGION\n    value: eu",
            ["K8s9secret"],
            ["value: eu", "DB_PASSWORD"],
            id="k8s-env-name-value",
        ),
        pytest.param(
            '{"values": "db:\\n  password: |\\n    Esc9block\\n  user: bob"}',
            ["Esc9block"],
            ["\\n  user: bob"],
            id="escaped-line-breaks",
        ),
        pytest.param(
            "credentials:\n  user: bob\n  password: Nest9pw\nregion: eu",
            ["Nest9pw"],
            ["user: bob"],
            id="nested",
        ),
    ],
)
def test_values_on_the_following_lines(text: str, secrets: list[str], kept: list[str]) -> None:
    """A secret key's value written on the following lines (YAML block and folded scalars, a value on
    the next line, a Kubernetes `name:`/`value:` pair; also with the line breaks escaped inside a JSON
    or repr string) is hidden; a nested mapping is read key by key and the next key's value stays."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "mapping",
    [
        pytest.param({"grouping_key": "0123456789abcdef"}, id="grouping-key"),
        pytest.param({"cache_key": "a1b2c3d4e5f6a7b8"}, id="cache-key"),
        pytest.param({"idempotency_key": "8d3f0c2e-1b4a-4c5d-9e6f-7a8b9c0d1e2f"}, id="idempotency-key"),
        pytest.param({"Idempotency-Key": "8d3f0c2e-1b4a-4c5d-9e6f-7a8b9c0d1e2f"}, id="idempotency-header"),
        pytest.param({"s3_key": "uploads/2026/report-3f9a8b7c.pdf"}, id="s3-object-key"),
        pytest.param({"routing_key": "orders.created"}, id="routing-key"),
        pytest.param({"partitionKey": "tenant-42"}, id="partition-key"),
        pytest.param({"sort_key": "created_at", "primary_key": "id"}, id="table-keys"),
        pytest.param({"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqq"}, id="public-key"),
        pytest.param({"i18n_key": "errors.password.too_short"}, id="translation-key"),
        pytest.param({"private": False, "password_set": True}, id="booleans"),
        pytest.param({"PWD": "/home/bob/app", "OLDPWD": "/srv"}, id="working-directory"),
    ],
)
def test_identifier_keys_and_flags_stay(mapping: dict[str, object]) -> None:
    """Keys that name what is keyed (`cache_key`, `routing_key`, `public_key`), booleans and the shell's
    working directory (`PWD`) are not secrets: their values stay, in mappings and in text."""
    assert redact_mapping(mapping) == mapping
    text = " ".join(f"{key}={value}" for key, value in mapping.items())
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("mapping", "hidden"),
    [
        pytest.param({"stripe_key": "sk9FakeKey1"}, "stripe_key", id="provider-key"),
        pytest.param({"encryption_key": "a1b2c3"}, "encryption_key", id="encryption-key"),
        pytest.param({"license_key": "LK-9F2A"}, "license_key", id="license-key"),
        pytest.param({"PWD": "hunter2"}, "PWD", id="pwd-not-a-path"),
        pytest.param({"key": "k1"}, "key", id="bare-key"),
    ],
)
def test_secret_keys_next_to_identifier_keys_still_hide(mapping: dict[str, object], hidden: str) -> None:
    """Keys that hold a key (`stripe_key`, `encryption_key`, a bare `key`) and a `PWD` that is not a path
    are still hidden."""
    assert redact_mapping(mapping)[hidden] == REDACTED


def test_named_format_arguments_under_secret_names() -> None:
    """A `%(password)s` argument is hidden in the formatted message, which no longer names it."""
    redactor = Redactor()
    template = "connecting as %(user)s with %(password)s to %(host)s"
    message = template % {"user": "bob", "password": "Named9pw", "host": "db"}
    assert redactor.redact_message(message, template) == f"connecting as bob with {REDACTED} to db"
    assert redactor.redact_message("token %s expired", "token %s expired") == "token %s expired"


def test_strings_a_pretty_printer_split_over_lines() -> None:
    """A secret in a string that `pprint` split into adjacent literals over several lines is hidden
    whole, as in the one-line repr, and the rest of the structure stays."""
    import pprint

    config = {
        "api_key": "plain " * 12,
        "headers": {"Authorization": "Bearer " + "Pp9" * 30},
        "note": "the password is Pp9Hunter! " * 4,
        "region": "eu-west-1 " * 8,
    }
    redacted = redact_text(pprint.pformat(config, width=50))
    assert "plain" not in redacted and "Pp9" not in redacted, redacted
    assert "'Authorization': 'Bearer " in redacted.replace("'\n", "") and redacted.count("eu-west-1") == 8
    assert redact_text(redacted) == redacted


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "POST /oauth/token grant_type=refresh_token&refresh_token=Fm9refresh&client_id=web",
            ["Fm9refresh"],
            ["grant_type=refresh_token", "client_id=web"],
            id="form-body-after-token-word",
        ),
        pytest.param(
            'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
            [],
            ['Bearer realm="api", error="invalid_token"'],
            id="authentication-challenge",
        ),
        pytest.param("GET /a?PHPSESSID=Ss9php&x=1", ["Ss9php"], ["x=1"], id="php-session-id"),
        pytest.param("ASP.NET_SessionId=Ss9asp; path=/", ["Ss9asp"], ["path=/"], id="aspnet-session-id"),
        pytest.param("sshpass -p Ss9sshpass ssh bob@host", ["Ss9sshpass"], ["ssh bob@host"], id="sshpass"),
        pytest.param(
            "<Key>uploads/2026/report-3f9a8b7c.pdf</Key> s3 key=logs/2026/12/app-3f9a8b7c.log.gz",
            [],
            ["<Key>uploads/2026/report-3f9a8b7c.pdf</Key>", "key=logs/2026/12/app-3f9a8b7c.log.gz"],
            id="object-key-paths",
        ),
        pytest.param(
            "key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY9",
            ["wJalrXUtnFEMI"],
            ["key="],
            id="base64-with-slashes",
        ),
    ],
)
def test_pairs_read_as_pairs(text: str, secrets: list[str], kept: list[str]) -> None:
    """A form body after the word `token` and a `Bearer realm=` challenge are read as name=value pairs
    (only the secret ones hidden), session-id cookie names of other stacks and `sshpass -p` hide theirs;
    under a bare `key` a path to a file (an S3 object key) stays, base64 with slashes does not."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize("shift", range(0, 24, 3))
def test_a_cut_trace_keeps_no_secret_apart_from_its_key(shift: int) -> None:
    """A stack trace over the size limit keeps its head and tail: wherever the cut falls, the secret
    next to it is hidden (it is not kept in the tail without the key that named it)."""
    import logging
    import sys

    from shipper.formatter import STACK_TRACE_LIMIT, EcsFormatter

    tail = STACK_TRACE_LIMIT - STACK_TRACE_LIMIT // 4
    filler = "y " * ((tail - len("Cut9secretvalue") - 1 + shift) // 2)
    try:
        raise ValueError("x" * 100_000 + " token=Cut9secretvalue " + filler)
    except ValueError:
        record = logging.getLogger("cut").makeRecord(
            "cut", logging.ERROR, __file__, 1, "boom", (), sys.exc_info()
        )
    trace = EcsFormatter(service_name="cut").to_document(record)["error"]["stack_trace"]
    assert "truncated by logloop" in trace
    assert "9secretv" not in trace and "etvalue" not in trace


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "{'auth': ('bob', 'Tu9basicpw'), 'timeout': 5}", ["Tu9basicpw"], ["'timeout': 5"], id="auth-tuple"
        ),
        pytest.param(
            "credentials=['bob', 'Tu9listpw'] retry=3", ["Tu9listpw"], ["retry=3"], id="credentials-list"
        ),
        pytest.param(
            '{"tokens": ["Tu9tok1", "Tu9tok2"], "n": 2}', [], ['"n": 2'], id="plural-count-word-kept"
        ),
        pytest.param(
            "{'password': ('a', ('Tu9nested',)), 'n': 1}", ["Tu9nested"], ["'n': 1"], id="nested-tuple"
        ),
        pytest.param("check(password=(1, 2))", ["(1, 2)"], ["check(password="], id="call-argument"),
    ],
)
def test_containers_under_a_secret_key(text: str, secrets: list[str], kept: list[str]) -> None:
    """A tuple or list under a secret key in a repr (`'auth': ('bob', 'pw')`, as `requests` keeps its
    basic-auth pair) is hidden whole, as the key's value in a mapping is; what follows it stays."""
    assert_hidden(text, secrets, kept)


def _salt(rng: random.Random, alphabet: str, size: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(size))


_CRYPT = "./" + string.ascii_letters + string.digits
_B64 = string.ascii_letters + string.digits + "+/"


@pytest.mark.parametrize("seed", range(5))
def test_password_hashes_in_any_common_format_are_hidden(seed: int) -> None:
    """A password hash (bcrypt, md5/sha-crypt, Apache apr1, yescrypt, argon2, Django's PBKDF2) is a
    credential to crack offline: hidden under whatever key it stands (a user record's `hash`, an
    htpasswd line, a shadow line), with the user name, the key and a plain checksum beside it kept."""
    rng = random.Random(seed)
    hashes = [
        f"$2b$12${_salt(rng, _CRYPT, 53)}",
        f"$2y$10${_salt(rng, _CRYPT, 53)}",
        f"$1${_salt(rng, _CRYPT, 8)}${_salt(rng, _CRYPT, 22)}",
        f"$6$rounds=5000${_salt(rng, _CRYPT, 16)}${_salt(rng, _CRYPT, 86)}",
        f"$5${_salt(rng, _CRYPT, 16)}${_salt(rng, _CRYPT, 43)}",
        f"$apr1${_salt(rng, _CRYPT, 8)}${_salt(rng, _CRYPT, 22)}",
        f"$y$j9T${_salt(rng, _CRYPT, 22)}${_salt(rng, _CRYPT, 43)}",
        f"$argon2id$v=19$m=65536,t=3,p=4${_salt(rng, _B64, 22)}${_salt(rng, _B64, 43)}",
        f"pbkdf2_sha256$870000${_salt(rng, _CRYPT[2:], 22)}${_salt(rng, _B64, 43)}=",
    ]
    checksum = _salt(rng, "0123456789abcdef", 64)
    for value in hashes:
        assert_hidden(
            f"loaded user {{'username': 'bob', 'hash': '{value}', 'sha256': '{checksum}'}}",
            [value],
            ["'username': 'bob'", "'hash':", checksum],
        )
        assert_hidden(f"htpasswd line bob:{value}", [value], ["htpasswd line bob:"])
        assert_hidden(
            f"shadow: alice:{value}:19700:0:99999:7:::", [value], ["shadow: alice:", ":19700:0:99999:7:::"]
        )


@pytest.mark.parametrize(
    "text",
    [
        "price $1$ per unit, $5$ with shipping",
        "regex ^\\$2[abxy]\\$ matches bcrypt",
        "cost went from $6$ to $12$",
        "see pbkdf2_sha256 docs for 870000 iterations",
    ],
)
def test_text_that_only_looks_like_a_hash_prefix_stays(text: str) -> None:
    """Dollar amounts, a regex about hashes and a hash scheme's name without a hash are left as written."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param("password={secret} next=1", id="bare-value"),
        pytest.param('token: "{spaced}" tail', id="quoted-with-blanks"),
        pytest.param('{{"api_key": "{secret}", "user": "bob"}}', id="json"),
        pytest.param('"{{\\"client_secret\\": \\"{secret}\\"}}"', id="json-in-a-json-string"),
        pytest.param("Authorization: Bearer {secret} ok", id="bearer-header"),
        pytest.param("--password={secret} --verbose", id="flag"),
        pytest.param("https://app.example/cb?access_token={secret}&state=ok", id="query-parameter"),
    ],
)
@pytest.mark.parametrize("size", [4000, 5000, 9000, 40000])
def test_a_secret_longer_than_the_patterns_read_is_hidden_whole(shape: str, size: int) -> None:
    """A secret value of any length (a long JWT or SAML assertion, a blob of base64) is hidden to its
    end, not only the part the rules' bounded patterns read; what follows it stays."""
    rng = random.Random(size)
    secret = _salt(rng, _B64, size)
    spaced = " ".join(secret[i : i + 60] for i in range(0, size, 60))
    text = shape.format(secret=secret, spaced=spaced)
    value = spaced if "{spaced}" in shape else secret
    after = text[text.index(value) + len(value) :]
    redacted = redact_text(text)
    pieces = [secret[i : i + 24] for i in range(0, size - 24, 997)] + [secret[-24:]]
    assert [piece for piece in pieces if piece in redacted] == [], redacted[:200]
    assert REDACTED in redacted and len(redacted) < 200
    assert redacted.endswith(after)  # what follows the secret stays


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            '1733300000.123456 [0 10.0.0.5:51234] "AUTH" "Rd9monitor"',
            ["Rd9monitor"],
            ['"AUTH" "'],
            id="monitor",
        ),
        pytest.param(
            '[0 10.0.0.5:51234] "AUTH" "default" "Rd9acluser"',
            ["Rd9acluser"],
            ['"AUTH" "default" "'],
            id="acl-auth",
        ),
        pytest.param(
            "redis-cli -h cache -p 6380 -a Rd9cliflag ping", ["Rd9cliflag"], ["-p 6380", "ping"], id="cli"
        ),
        pytest.param("requirepass Rd9confline", ["Rd9confline"], ["requirepass"], id="redis-conf"),
        pytest.param(
            'CONFIG SET masterauth "Rd9replica"', ["Rd9replica"], ["CONFIG SET masterauth"], id="config-set"
        ),
    ],
)
def test_redis_passwords_in_commands_and_configuration(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """A Redis password as MONITOR prints AUTH, as `redis-cli -a` takes it and as redis.conf or CONFIG
    SET give `requirepass`/`masterauth` is hidden; the command around it stays readable."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text", ["ls -a /tmp", "tar -a -cf backup.tar.gz dir", "AUTH failed for client 7", '"auth" "on"']
)
def test_other_meanings_of_auth_and_dash_a_stay(text: str) -> None:
    """`-a` of other commands, an AUTH that is no Redis command line, stay as written."""
    assert redact_text(text) == text


# --- second sweep: names in code references, objects as Java prints them ---------------------------

_SECRET_NAMED_CLASSES = ["AppWindowToken", "TokenService", "PasswordEncoder", "SecretStore", "ApiKeyFilter"]
_NOUNS_AFTER_WEAK = ["Tracker", "Manager", "InfoStore", "Method", "Handler"]


def _code_references() -> list[str]:
    """Ordinary lines that name a secret-sounding class, method, file or thread beside a number."""
    rng = random.Random(7)
    lines = []
    for cls in _SECRET_NAMED_CLASSES:
        line, hash_ = rng.randint(1, 9999), "".join(rng.choice("0123456789abcdef") for _ in range(7))
        lines += [
            f"at com.example.{cls}.refresh({cls}.java:{line})",
            f"  at com.android.server.wm.{cls}.destroySurfaces:{line} com.android.server.Foo.bar:{line + 1}",
            f"E/App: open {cls.lower()}.yaml: No such file (line {line})",
            f"Bad activity token: android.os.{cls}@{hash_}",
            f"wtoken = {cls}{{{hash_} token=Token{{{hash_[::-1]} ActivityRecord{{{hash_} u0}}}}}}",
            f"Token: Token {{ kind: {cls}, service: 10.0.0.{line % 250}:2834{line % 10} }}",
        ]
    for value in ("a1b2c3d4", "eu-west-1", "user:42", "8d3f0c2e-1b4a"):
        lines += [
            f"KeyError: '{value}'",
            f"    raise KeyError(key)\nKeyError: '{value}'\n",
            f"AuthError: {value}x9",
        ]
    for weak in ("Session", "Private", "Auth", "Signature"):
        for noun in _NOUNS_AFTER_WEAK:
            lines.append(f"[{weak}{noun}:ZooKeeperServer@{rng.randint(1, 999)}] - Expiring 0x24ede63a01b003b")
    return lines


@pytest.mark.parametrize("text", _code_references())
def test_code_references_that_name_secrets_stay(text: str) -> None:
    """A Java frame (`Token.method:374`, `TokenService.java:42`), a file name, an object printed as
    `pkg.Class@hash` or `Class{hash ...}`, and a key whose weak word is followed by another noun
    (`SessionTracker:Server@325`, `KeyError: 'a1b2c3d4'`) are not secrets: the line stays as written."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "spring.datasource.password=Dt9pw",
        "app.auth.client_secret: Dt9pw",
        "settings.API_TOKEN = 'Dt9pw'",
        "config.db.password.value=Dt9pw",
        "session_data=Dt9pw-1a2b3c",
        "auth_code=Dt9pw7",
        "token: Dt9pw@example",
        "password=Dt9pw{1}",
    ],
)
def test_dotted_and_weak_keys_that_hold_secrets_still_hide(text: str) -> None:
    """A dotted key whose last part names a secret, a weak word before a word for its value
    (`auth_code`) and a secret with `@` or braces are still hidden."""
    assert "Dt9pw" not in redact_text(text)


# --- second sweep: values tools print apart from their names -----------------------------------------

_SYMBOLS = "!@#%^&*-_+=~."


def _fake_secrets(seed: int, *, blanks: bool = False) -> list[str]:
    """Fake secrets of several shapes and sizes: mixed letters and digits, with symbols, base64, hex,
    and (where the shape allows) a phrase with blanks; each starts with `Fk9` to be found again."""
    rng = random.Random(seed)
    letters = string.ascii_letters + string.digits
    secrets = [
        "Fk9" + _salt(rng, letters, 5),
        "Fk9" + _salt(rng, letters + _SYMBOLS, 21),
        "Fk9" + _salt(rng, _B64, 61) + "=",
        "Fk9" + _salt(rng, "0123456789abcdef", 37),
    ]
    if blanks:
        secrets.append("Fk9 " + " ".join(_salt(rng, string.ascii_lowercase, 6) for _ in range(3)))
    return secrets


def _shape_cases(
    shapes: list[str],
    seed: int = 0,
    *,
    take: int | None = None,
    blanks: bool = False,
    skip: Callable[[str, str], bool] = lambda shape, secret: False,
) -> list[object]:
    """Each shape (`{secret}` where the secret goes) with the fake secrets of `_fake_secrets(seed + n)`
    (the first `take` of them), id `n-length`; a secret holding a quote the shape uses is left out (it
    would end the shape's string), as is one `skip` names."""
    return [
        pytest.param(shape.format(secret=secret), secret, id=f"{n}-{len(secret)}")
        for n, shape in enumerate(shapes)
        for secret in _fake_secrets(seed + n, blanks=blanks)[:take]
        if not any(quote in shape and quote in secret for quote in "'\"") and not skip(shape, secret)
    ]


def _assert_hidden(text: str, secret: str, kept: list[str]) -> None:
    redacted = redact_text(text)
    pieces = [secret] + [word for word in secret.split() if len(word) >= 4]
    assert [piece for piece in pieces if piece in redacted] == [], redacted
    assert [word for word in kept if word not in redacted] == [], redacted
    assert redact_text(redacted) == redacted


def _annotated(source: str, values: dict[str, str]) -> str:
    """A source line with its variables' values below it as loguru and better_exceptions print them
    (`diagnose`): the rightmost name's value first, a `│` under each name to its left, `└ value`."""
    columns = sorted((source.index(name), value) for name, value in values.items())
    lines = [source]
    for count in range(len(columns), 0, -1):
        row = [" "] * columns[count - 1][0]
        for column, _ in columns[: count - 1]:
            row[column] = "│"
        lines.append("".join(row) + "└ " + columns[count - 1][1])
    return "\n".join(lines)


_DIAGNOSE_SOURCES = [
    "    connect(host, {name})",
    "    return hashlib.sha256({name}.encode()).hexdigest()",
    "    client = Client(user=user, key=self.{name}, timeout=t)",
    "    if not verify({name}, stored):",
]
_VARIABLE_NAMES = ["password", "db_password", "api_token", "client_secret", "pw", "passphrase", "apiKey"]


def _diagnose_cases() -> list[object]:
    cases = []
    for number, source in enumerate(_DIAGNOSE_SOURCES):
        for name in _VARIABLE_NAMES:
            for secret in _fake_secrets(number * 31 + len(name), blanks=True)[len(name) % 3 :: 2]:
                line = source.format(name=name)
                first = line.split("(")[1].split(",")[0].split(".")[0].strip(")")
                values = {"    ": "<function f>", f"{name}": repr(secret)}
                if first != name:
                    values[first] = "'db.local'"
                text = _annotated(line, {k: v for k, v in values.items() if k.strip()})
                cases.append(pytest.param(text, secret, id=f"source{number}-{name}-{len(secret)}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _diagnose_cases())
def test_values_annotated_under_secret_names_in_tracebacks(text: str, secret: str) -> None:
    """loguru's and better_exceptions' `diagnose` print each variable's value on a line of its own
    with `└` under its name: the value of a name that names a secret is hidden, the others stay."""
    _assert_hidden(text, secret, ["└ '", "└ 'db.local'"] if "'db.local'" in text else ["└ '"])


@pytest.mark.parametrize(
    "text",
    [
        _annotated("    total = price * count", {"price": "Decimal('9.50')", "count": "Fk9count42"}),
        _annotated("    key = cache_key(user)", {"key": "'user:42'", "user": "<User 42>"}),
        _annotated("    tokens = tokenize(line)", {"tokens": "['GET', '/x']", "line": "'GET /x'"}),
        _annotated("    session.commit()", {"session": "<Session at 0x7f3a>"}),
    ],
)
def test_annotations_of_other_names_stay(text: str) -> None:
    """A `diagnose` annotation under a name that is not a secret's (or a weak name such as `key` with
    an id for its value) stays as printed."""
    assert redact_text(text) == text


def _pytest_cases() -> list[object]:
    cases = []
    for number, expression in enumerate(
        ["settings.password", "<Settings at 0x7f3a>.api_token", "cfg.db.secret", "get_token()", "creds.pw"]
    ):
        for secret in _fake_secrets(number, blanks=True)[number % 2 :: 2]:
            text = (
                "    def test_login(settings):\n"
                f">       assert {expression.split('>')[-1].lstrip('.')} == 'expected'\n"
                f"E       AssertionError: assert {secret!r} == 'expected'\n"
                f"E         - expected\nE         + {secret}\n"
                f"E        +  where {secret!r} = {expression}\n"
            )
            cases.append(pytest.param(text, secret, id=f"{expression[-12:]}-{len(secret)}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _pytest_cases())
def test_pytest_assertion_explanations_of_secret_expressions(text: str, secret: str) -> None:
    """pytest's `+  where 'x' = settings.password` names a value by its expression: that value is
    hidden, and so is each other copy of it in the text (the `assert 'x' == ...` line, the diff)."""
    _assert_hidden(text, secret, ["assert '", "where '", "== 'expected'"])


@pytest.mark.parametrize(
    "text",
    [
        "E       assert 3 == 4\nE        +  where 3 = len([1, 2, 3])",
        "E        +  where 'bob' = User(name='bob').name",
        "E        +  where 'tokens.txt' = path.name\nE   assert 'tokens.txt' == 'x'",
    ],
)
def test_pytest_explanations_of_other_expressions_stay(text: str) -> None:
    """A `where` explanation of an expression that names no secret stays as pytest printed it."""
    assert redact_text(text) == text


def _validation_cases() -> list[object]:
    cases = []
    for number, location in enumerate(["password", "user.password", "db.api_key", "items.0.client_secret"]):
        for secret in _fake_secrets(number + 40, blanks=True)[number % 2 :: 2]:
            for shape in (
                "1 validation error for Settings\n{loc}\n  String should have at least 64 characters "
                "[type=string_too_short, input_value={value!r}, input_type=str]\n"
                "    For further information visit https://errors.pydantic.dev/2.5/v/string_too_short",
                "[{{'type': 'string_too_short', 'loc': ('body', {leaf!r}), 'msg': 'too short', "
                "'input': {value!r}, 'ctx': {{'min_length': 64}}}}]",
            ):
                text = shape.format(loc=location, leaf=location.split(".")[-1], value=secret)
                cases.append(pytest.param(text, secret, id=f"{location}-{len(secret)}-{shape[:4]}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _validation_cases())
def test_validation_errors_echoing_a_secret_field(text: str, secret: str) -> None:
    """pydantic's `input_value=` below a secret field's location line, and FastAPI's `'input'` beside
    a secret `'loc'`, are hidden; the message and the field's name stay."""
    _assert_hidden(text, secret, ["input", "too short" if "too short" in text else "at least 64"])


@pytest.mark.parametrize(
    "text",
    [
        "1 validation error for Order\nquantity\n  Input should be a valid integer "
        "[type=int_parsing, input_value='Fk9abc', input_type=str]",
        "[{'type': 'missing', 'loc': ('body', 'api_key'), 'msg': 'required', 'input': {'user': 'bob'}}]",
        "[{'type': 'int_parsing', 'loc': ('query', 'page'), 'msg': 'bad', 'input': 'Fk9x2'}]",
    ],
)
def test_validation_errors_of_other_fields_stay(text: str) -> None:
    """The input of a field that is no secret, and a missing field's whole parent object (whose own
    keys are read as pairs), stay."""
    assert redact_text(text) == text


_SQL_SHAPES = [
    ("INSERT INTO users (name, {column}) VALUES (?, ?)", "('bob', {value!r})"),
    ("INSERT INTO users (name, {column}, created) VALUES (%s, %s, now())", "('bob', {value!r})"),
    ('INSERT INTO "users" ("name", "{column}") VALUES ($1, $2)', "[('bob', {value!r}), ('ann', {value!r})]"),
    ("UPDATE users SET {column}=%s, updated=%s WHERE users.id = %s", "({value!r}, datetime(2026, 1, 1), 42)"),
    ("SELECT id FROM users WHERE users.name = ? AND users.{column} = ?", "('bob', {value!r})"),
    ("UPDATE users SET {column} = :1 WHERE id = :2", "({value!r}, 7)"),
]


def _sql_cases() -> list[object]:
    cases = []
    for number, (statement, parameters) in enumerate(_SQL_SHAPES):
        for column in ("password", "password_hash", "api_token", "secret"):
            for secret in _fake_secrets(number * 7 + len(column), blanks=True)[number % 2 :: 2]:
                text = (
                    "sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed\n"
                    f"[SQL: {statement.format(column=column)}]\n"
                    f"[parameters: {parameters.format(value=secret)}]\n"
                    "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
                )
                cases.append(pytest.param(text, secret, id=f"shape{number}-{column}-{len(secret)}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _sql_cases())
def test_positional_sql_parameters_of_secret_columns(text: str, secret: str) -> None:
    """SQLAlchemy's `[parameters: (...)]` of a statement with positional parameters (`?`, `%s`, `$1`,
    `:1`; one tuple or executemany's list of them) loses the items bound to a secret column, by the
    INSERT's column list or the `column =` before each; the other items and the statement stay."""
    _assert_hidden(text, secret, ["'bob'" if "'bob'" in text else "[parameters: (", "[SQL: "])


def test_positional_sql_parameters_of_other_columns_stay() -> None:
    """The parameters of a statement with no secret column stay as printed."""
    text = "[SQL: INSERT INTO users (name, email) VALUES (?, ?)]\n[parameters: ('bob', 'Fk9x@example.org')]"
    assert redact_text(text) == text


# --- second sweep: prompts, folded headers, quoted flags, files of credentials ------------------------

_PROMPTS = [
    "[sudo] password for {user}: {secret}",
    "Password for 'https://{user}@github.com': {secret}",
    "Enter passphrase for key '/home/{user}/.ssh/id_ed25519': {secret}",
    "PIN for {user}: {secret}",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(user=user, secret=secret) + tail, secret, id=f"{n}-{user}-{len(secret)}")
        for n, shape in enumerate(_PROMPTS)
        for user in ("bob", "svc-deploy")
        for secret in _fake_secrets(n + len(user), blanks=True)
        for tail in ("", "\nnext line")
    ],
)
def test_an_answer_typed_after_a_password_prompt(text: str, secret: str) -> None:
    """`password for bob: X` (sudo, git, ssh-add prompts echoed into a log) hides the rest of the line,
    blanks and all; the prompt and the next line stay."""
    _assert_hidden(text, secret, ["for ", "next line" if "next line" in text else ": "])


@pytest.mark.parametrize(
    "text",
    [
        "Failed password for invalid user admin from 10.0.0.1 port 22 ssh2",
        "Accepted password for bob from 10.0.0.1 port 22 ssh2",
        "password for bob changed",
        "Changing password for bob.",
        "pam_unix(passwd:chauthtok): password changed for bob",
    ],
)
def test_lines_about_a_password_for_someone_stay(text: str) -> None:
    """A line that tells of a password for a user, with no answer after a colon, stays."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(f"{header}:{first}\r\n{fold}{secret}\r\nHost: api\r\n", secret, id=f"{n}-{len(secret)}")
        for n, (header, first, fold) in enumerate(
            [
                ("Authorization", " Bearer", " "),
                ("Authorization", " Basic", "\t"),
                ("authorization", "", "  Bearer "),
                ("Proxy-Authorization", " Token", "    "),
            ]
        )
        for secret in _fake_secrets(n)[:3]
    ],
)
def test_folded_authorization_headers(text: str, secret: str) -> None:
    """A header folded over lines (RFC 7230 obs-fold: the value goes on after a line break and a blank)
    loses the credentials on its continuation line; the next header stays."""
    _assert_hidden(text, secret, ["Host: api"])


def test_a_header_followed_by_an_indented_line_keeps_that_line() -> None:
    """An Authorization value on its own line is read there; the indented traceback line after it stays."""
    redacted = redact_text('Authorization: Bearer Fk9abc123\n  File "app.py", line 3, in main')
    assert redacted == f'Authorization: Bearer {REDACTED}\n  File "app.py", line 3, in main'


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(q=q, secret=secret), secret, id=f"{n}-{q}-{len(secret)}")
        for n, shape in enumerate(
            [
                "redis-cli -h cache -a {q}{secret}{q} ping",
                "sshpass -p {q}{secret}{q} ssh bob@host",
                "mysql -u root -p{q}{secret}{q} shop",
                "docker login -u bob -p {q}{secret}{q} registry.example",
            ]
        )
        for q in ('"', "'")
        for secret in _fake_secrets(n, blanks=True)
    ],
)
def test_quoted_short_password_flags(text: str, secret: str) -> None:
    """A quoted value of `-a` (redis-cli) or `-p` (mysql, sshpass, docker login) is hidden whole,
    blanks and all."""
    _assert_hidden(text, secret, [text.split(" ")[0], text.split(" ")[-1]])


def _pgpass_cases() -> list[object]:
    cases = []
    for number, (host, port) in enumerate(
        [("db.example.com", "5432"), ("localhost", "*"), ("*", "*"), ("10.0.0.7", "5432"), ("pg-1", "5432")]
    ):
        for secret in _fake_secrets(number)[:3]:
            secret = secret.replace(":", "\\:")
            line = f"{host}:{port}:shop:app_user:{secret}"
            for text in (line, f"# ~/.pgpass\n{line}\n*:*:*:postgres:Fk9other", f'pgpass line "{line}"'):
                cases.append(pytest.param(text, secret, id=f"{host}-{port}-{len(secret)}-{len(text)}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _pgpass_cases())
def test_pgpass_lines(text: str, secret: str) -> None:
    """A .pgpass line (`host:port:database:user:password`, `*` for any) loses its password field."""
    _assert_hidden(text, secret, ["shop:app_user:"])


@pytest.mark.parametrize(
    "text",
    [
        "00:11:22:33:44:55 link up",
        "aa:bb:cc:dd:ee:ff",
        "2026-12-04 10:20:30 job took 00:00:05",
        "fe80::1:5432:2:3",
        "db.example.com:5432:shop ok",
        "tcp 10.0.0.7:5432: connection refused",
    ],
)
def test_text_that_only_looks_like_a_pgpass_line_stays(text: str) -> None:
    """MAC and IPv6 addresses, times and `host:port` pairs are not .pgpass lines."""
    assert redact_text(text) == text


def _kubernetes_cases() -> list[object]:

    cases = []
    for number, key in enumerate(["password", "DB_URL", "tls.crt", ".dockerconfigjson", "username"]):
        for secret in _fake_secrets(number)[:3]:
            manifest = {"kind": "Secret", "metadata": {"name": "db"}, "data": {key: secret}}
            yaml = f"kind: Secret\nmetadata:\n  name: db\ndata:\n  {key}: {secret}\n  other: Zm9v\n"
            string_data = yaml.replace("data:", "stringData:")
            for name, text in (
                ("yaml", yaml),
                ("string-data", string_data),
                ("json", json.dumps(manifest)),
                ("json-indented", json.dumps(manifest, indent=2)),
            ):
                cases.append(pytest.param(text, secret, id=f"{name}-{key}-{len(secret)}"))
    return cases


@pytest.mark.parametrize(("text", "secret"), _kubernetes_cases())
def test_kubernetes_secret_values_under_any_key(text: str, secret: str) -> None:
    """Every value under a Kubernetes Secret's `data` or `stringData` is hidden, whatever its key is
    named (`tls.crt`, `DB_URL`, `username`); the manifest's other fields stay."""
    _assert_hidden(text, secret, ["kind", "Secret", "name", "db"])


def test_a_config_map_keeps_its_data() -> None:
    """`data:` of a manifest that is no Secret (a ConfigMap) stays."""
    text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  FEATURE_X: 'on'\n"
    assert redact_text(text) == text


def _passphrases(seed: int) -> list[str]:
    """Passphrases of plain lower-case words (two to six of them, as diceware makes)."""
    rng = random.Random(seed)
    words = string.ascii_lowercase
    return [" ".join(_salt(rng, words, rng.randint(4, 8)) for _ in range(n)) for n in (2, 4, 6)]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(secret=secret), secret, id=f"{n}-{len(secret)}")
        for n, shape in enumerate(
            [
                "secret: {secret}",
                "db_password: {secret}, host: db",
                "login failed; password: {secret} user: bob",
                "passphrase: {secret}\nnext: line",
            ]
        )
        for secret in _passphrases(n)
    ],
)
def test_unquoted_passphrases_with_blanks(text: str, secret: str) -> None:
    """An unquoted passphrase of plain words after `password:`, `secret:`, `passphrase:` is hidden up to
    the next `key:`, comma or line end, not only its first word (a first word shaped like a credential,
    `passwd: hunter2 for bob`, is the whole secret)."""
    _assert_hidden(text, secret, [": "])


@pytest.mark.parametrize(
    "text",
    [
        "token: Fk9abcdef12 refreshed for user 42",
        "password reset email sent to user 42",
        "token bucket refilled: 40 tokens",
        "password: None set for user 42",
    ],
)
def test_words_after_a_token_or_an_unset_password_stay(text: str) -> None:
    """A token's value is one word (the words after it stay), and a placeholder ends the value."""
    assert "user 42" in redact_text(text) or "tokens" in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "[SQL: INSERT INTO t (password) VALUES (?" + ", ?" * 9999 + ")]\n[parameters: (", id="sql"
        ),
        pytest.param("[SQL: x = ?]\n[parameters: (" * 8192, id="sql-heads"),
        pytest.param("password = 1\n" + "│ " * 65536 + "└ x\n", id="annotation-bars"),
        pytest.param("x\n└ 'a'\n" * 16384, id="annotations"),
        pytest.param("E +  where 'a' = " * 8192, id="pytest-where"),
        pytest.param("password\n  input_value=" * 8192, id="input-values"),
        pytest.param("'loc': ('password'), 'input': " * 2048, id="error-locations"),
        pytest.param("password for " * 16384, id="prompts"),
        pytest.param("a:1:b:c:" * 16384, id="pgpass-fields"),
        pytest.param("kind: Secret\ndata:\n" + "  k: v\n" * 8192, id="kubernetes-data"),
        pytest.param('kind: Secret "data": {' + '"k": "v", ' * 4096, id="kubernetes-json"),
        pytest.param("Authorization: Bearer\n " * 8192, id="folded-headers"),
        pytest.param("secret: a" + " b" * 65536, id="phrase"),
        pytest.param("password=Fk9abc12 " + "Fk9abc12 " * 16384, id="repeated-secret"),
        pytest.param("".join(f"password=Fk9{i:05d} " for i in range(8192)), id="many-secrets"),
    ],
)
def test_new_rules_cost_linear_time(text: str) -> None:
    """The rules of the second sweep cost about 4x for 4x the text (a quadratic one would cost 16x)."""
    assert_linear_time(text, text * 4)


def test_sql_statements_without_parameters_cost_linear_time() -> None:
    """Many `[SQL: ...]` heads with no `[parameters:` after them, or one with a long VALUES list, cost
    about 4x for 4x the text."""
    heads = "[SQL: INSERT INTO t (password) VALUES (?)] " * 4096
    values = "[SQL: INSERT INTO t (a, password) VALUES (" + "?, " * 5000 + "?)]\n[parameters: ('a', 'b')]\n"

    for text in (heads, values):
        assert_linear_time(text, text * 4)


def _documents_with_a_secret_in_two_fields() -> list[object]:
    cases = []
    for number, secret in enumerate(_fake_secrets(60)):
        found_in = {
            "locals": {"error": {"stack_trace": f'  File "a.py", line 3, in f\n    password = {secret!r}\n'}},
            "extra": {"extra": {"db": {"password": secret}}},
            "context": {"logloop": {"context": {"api_token": secret}}},
            "url": {"url": {"full": f"https://bob:{secret}@api.example/x"}},
        }
        echoed_in = {
            "message": ({"message": f"login rejected: {secret} (bob)"}, "login rejected: "),
            "error-message": ({"error": {"message": f"ValueError: {secret} is not valid"}}, " is not valid"),
            "label": ({"labels": {"note": f"retry with {secret}"}}, "retry with "),
            "argv": ({"process": {"args": ["app", "--user", "bob", secret]}}, '"--user", "bob"'),
        }
        for source, found in found_in.items():
            for target, (echoed, kept) in echoed_in.items():
                document = _merged(found, echoed)
                cases.append(pytest.param(document, secret, kept, id=f"{source}-{target}-{number}"))
    return cases


def _merged(first: dict[str, object], second: dict[str, object]) -> dict[str, object]:
    merged = json.loads(json.dumps(first))
    for key, value in second.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@pytest.mark.parametrize(("document", "secret", "kept"), _documents_with_a_secret_in_two_fields())
def test_a_secret_found_in_one_field_is_hidden_in_every_field(
    document: dict[str, object], secret: str, kept: str
) -> None:
    """A secret found in one field of a document (a traceback's locals, an extra under a secret key, a
    URL's password) is hidden where it stands again in another field with nothing to name it (the
    message, the exception's message, a label, argv)."""
    redacted = json.dumps(redact_document(document))
    assert secret not in redacted
    assert kept in redacted


def test_plain_documents_and_their_ids_stay() -> None:
    """A document with no secret comes back equal, and the fields never redacted (event id) stay even
    when they equal a secret found elsewhere."""
    plain = {"message": "order 42 shipped", "event": {"id": "Fk9id77abc"}, "labels": {"a": "Fk9id77abc"}}
    assert redact_document(plain) == plain
    with_secret = {**plain, "extra": {"password": "Fk9id77abc"}}
    redacted = redact_document(with_secret)
    assert redacted["event"] == {"id": "Fk9id77abc"} and redacted["labels"] == {"a": REDACTED}


# --- second sweep: what real libraries print, with a fake secret in it ---------------------------------

_REAL_SECRET = "Fk9Real7Secret"
_REAL_LONG = "Fk9" + "x7Y" * 40  # longer than rich's 80-character cut


def _login(user: str, password: str, api_key: str = _REAL_LONG, options: object = None) -> None:
    settings = {"password": password, "api_key": api_key, "db": f"postgresql://app:{password}@db/x"}
    raise ValueError(f"login failed for {user} with {len(settings)} settings")


def _rich_traceback(width: int) -> str:
    rich_console = pytest.importorskip("rich.console")
    rich_traceback = pytest.importorskip("rich.traceback")
    import io

    console = rich_console.Console(file=io.StringIO(), width=width, color_system=None)
    copy_elsewhere = _REAL_LONG  # a variable with no secret's name, holding the same value
    try:
        _login("bob", _REAL_SECRET, options={"token": _REAL_SECRET, "copy": copy_elsewhere})
    except ValueError:
        console.print(rich_traceback.Traceback(show_locals=True, width=width))
    output = console.file.getvalue()
    assert isinstance(output, str)
    return output


@pytest.mark.parametrize("width", [60, 80, 100, 140, 200])
def test_rich_tracebacks_with_locals(width: int) -> None:
    """rich's `show_locals` tables (box-drawing borders, strings cut with `…` at the table's width, dicts
    wrapped with a key's string on the next line) lose every secret, including a copy cut at another
    width under a name that is no secret's, and keep the names and the borders."""
    redacted = redact_text(_rich_traceback(width))
    assert [piece for piece in (_REAL_SECRET, _REAL_LONG[:16]) if piece in redacted] == [], redacted
    assert "password" in redacted and "api_key" in redacted and "╰" in redacted and "│" in redacted


def test_pydantic_validation_errors() -> None:
    """pydantic's ValidationError text and its `errors()` list lose a secret field's input."""
    pydantic = pytest.importorskip("pydantic")

    class Login(pydantic.BaseModel):
        user: str
        password: str = pydantic.Field(min_length=40)
        api_key: int

    class Wrapper(pydantic.BaseModel):
        login: Login

    with pytest.raises(pydantic.ValidationError) as raised:
        Wrapper.model_validate({"login": {"user": "bob", "password": _REAL_SECRET, "api_key": _REAL_SECRET}})
    for text in (str(raised.value), repr(raised.value.errors())):
        redacted = redact_text(text)
        assert _REAL_SECRET not in redacted, redacted
        assert "password" in redacted and "api_key" in redacted


def test_sqlalchemy_integrity_errors_with_positional_parameters() -> None:
    """SQLAlchemy's error text for a positional INSERT, one row or many, and its repr inside another
    repr (escaped line breaks), loses the values bound to a secret column, not the others."""
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine("sqlite://")
    users = sa.table("users", sa.column("name"), sa.column("password_hash"))
    texts = []
    with engine.connect() as connection:
        connection.exec_driver_sql("create table users (name text unique, password_hash text)")
        connection.exec_driver_sql("insert into users values ('bob', 'x')")
        for statement, parameters in (
            ("insert into users (name, password_hash) values (?, ?)", ("bob", _REAL_SECRET)),
        ):
            with pytest.raises(sa.exc.IntegrityError) as one:
                connection.exec_driver_sql(statement, parameters)
            texts.append(str(one.value))
        rows = [{"name": "bob", "password_hash": _REAL_SECRET + str(n)} for n in range(3)]
        with pytest.raises(sa.exc.IntegrityError) as many:
            connection.execute(users.insert(), rows)
        texts.append(str(many.value))
    texts.append(repr({"error": texts[-1]}))
    for text in texts:
        redacted = redact_text(text)
        assert _REAL_SECRET not in redacted and "'bob'" in redacted, redacted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '│ SECRET = \'Fk9Real7Secret\' │\n│ login("bob", SECRET, options={"token": SECRET}) │',
            '│ SECRET = \'[REDACTED]\' │\n│ login("bob", SECRET, options={"token": [REDACTED]}) │',
        ),
        (
            "    client = Client(token=API_TOKEN)\n    print(API_TOKEN)",
            "    client = Client(token=[REDACTED])\n    print(API_TOKEN)",
        ),
    ],
)
def test_names_in_code_are_not_looked_for_again(text: str, expected: str) -> None:
    """A value that is a name in code (`SECRET`, `API_TOKEN`) is not a secret to hide elsewhere: the
    names in the other source lines stay readable."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(key=key, secret=secret), secret, id=f"{n}-{key}-{len(secret)}")
        for n, shape in enumerate(
            [
                "│ │ {key} = '{secret}…   │ │\n│ │ user = 'bob' │ │",
                "{{'{key}': '{secret}…\n 'user': 'bob'}}",
                "│ │ settings = {{'{key}':                │ │\n│ │            '{secret}',  │ │",
                "{{'user': 'bob',\n '{key}':\n     '{secret}'}}",
                '{{"{key}": "{secret}\n',
            ]
        )
        for key in ("password", "api_key", "client_secret")
        for secret in _fake_secrets(n + len(key))[:3]
    ],
)
def test_strings_cut_or_wrapped_by_a_printer(text: str, secret: str) -> None:
    """A secret string a table or a pretty-printer cut (`'abc…` then the border or the line's end, no
    closing quote) or moved to the line below its quoted key is hidden; the border and the next key stay."""
    _assert_hidden(text, secret, [word for word in ("'user'", "│ │") if word in text])


# --- second sweep: passwords given as positional arguments, one-time codes, wrapped secrets -----------

_POSITIONAL_SHAPES = [
    "AUTH {secret}",
    "127.0.0.1:6379> AUTH default {secret}",
    'redis> AUTH "{secret}"',
    "rabbitmqctl add_user deploy {secret}",
    "rabbitmqctl -n rabbit@mq1 change_password deploy '{secret}'",
    "htpasswd -b /etc/nginx/.htpasswd deploy {secret}",
    "htpasswd -c -bB .htpasswd deploy {secret}",
    "htpasswd -nb deploy {secret} > out",
    "echo 'deploy:{secret}' | chpasswd",
    "echo deploy:{secret} | sudo chpasswd",
    "net user deploy {secret} /add",
    "smbclient //files/share -U deploy%{secret} -c ls",
    "mongosh --host db -u deploy -p {secret} admin",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    _shape_cases(_POSITIONAL_SHAPES),
)
def test_passwords_given_as_positional_arguments(text: str, secret: str) -> None:
    """A password a command takes by position (Redis AUTH at a prompt, rabbitmqctl, htpasswd -b,
    chpasswd, net user, smbclient -U user%pw, mongosh -p) is hidden; the command and user stay."""
    _assert_hidden(text, secret, ["AUTH" if "AUTH" in text else "deploy"])


@pytest.mark.parametrize(
    "text",
    [
        "AUTH failed for client 7",
        "NOAUTH Authentication required.",
        "rabbitmqctl list_users",
        "htpasswd -D .htpasswd deploy",
        "net user deploy /delete",
        "NET USER deploy * /domain",
        "mongosh --port 27017 admin",
        "echo deploy | tee users.txt",
    ],
)
def test_commands_without_a_password_stay(text: str) -> None:
    """The same commands when they take no password stay as written."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(shape.format(code=code), code, id=f"{n}-{code}")
        for n, shape in enumerate(
            [
                "OTP code: {code}",
                "your verification code is {code}",
                "TOTP {code} accepted for bob",
                "otp={code}",
                'mfa_code="{code}"',
                '{{"verificationCode": "{code}"}}',
                "recovery codes: {code}, next",
            ]
        )
        for code in ("482913", "07731", "AB12-CD34", "9f3k2m1x")
    ],
)
def test_one_time_codes(text: str, code: str) -> None:
    """A one-time, verification, MFA or recovery code is hidden, by its key or by the words before it."""
    _assert_hidden(text, code, [])


@pytest.mark.parametrize(
    "text",
    [
        "exit code 1",
        "error code: 500",
        "HTTP status code: 404",
        "otp_enabled=true",
        "backup code rotation done",
    ],
)
def test_other_codes_stay(text: str) -> None:
    """Exit, error and status codes, and settings about one-time codes, stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    _shape_cases(
        [
            "Creds(user='bob', token=SecretStr('{secret}'))",
            "Settings(password=Password(b'{secret}'), port=5432)",
            'auth = Auth("{secret}")',
        ],
        blanks=True,
    ),
)
def test_secrets_wrapped_in_a_class_under_a_secret_key(text: str, secret: str) -> None:
    """`token=SecretStr('x')`: the string a secret-named class wraps is hidden; a masked one
    (`SecretStr('**********')`) and a call of a function (`get_token(user_id)`) stay."""
    _assert_hidden(text, secret, ["SecretStr('" if "SecretStr" in text else "("])
    for kept in ("password=SecretStr('**********')", "token = get_token(user_id)"):
        assert redact_text(kept) == kept


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{prefix}{_salt(random.Random(n), _B64, size)}{pad}", id=f"{prefix}{size}")
        for n, (prefix, size, pad) in enumerate(
            [("{SHA}", 27, "="), ("{SSHA}", 32, "=="), ("{SSHA512}", 86, "=="), ("{MD5}", 22, "==")]
        )
    ],
)
def test_ldap_and_htpasswd_digests(text: str) -> None:
    """`{SHA}`, `{SSHA}`, `{SSHA512}`, `{MD5}` digests (htpasswd -s, LDAP userPassword) are hidden as the
    other password hashes are, under any key; the scheme's name alone stays."""
    for line in (f"bob:{text}", f"userPassword: {text}", f"hash={text} ok"):
        assert text[-20:] not in redact_text(line)
    assert redact_text("see {SHA} in the docs") == "see {SHA} in the docs"


@pytest.mark.parametrize("payload", ["e30", "eyJzdWIiOiIxIn0", "cGxhaW4gdGV4dA", "W10", "eyJ" + "a" * 3000])
def test_jws_of_any_payload(payload: str) -> None:
    """A JWS whose payload is not a JSON object's `eyJ` (`{}` is `e30`, a list, plain text) is hidden."""
    token = f"eyJhbGciOiJIUzI1NiJ9.{payload}.Fk9sig_-x"
    assert redact_text(f"bearer? {token} done") == f"bearer? {REDACTED} done"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("AUTH a " * 32768, id="auth-words"),
        pytest.param('> AUTH "' * 16384, id="auth-quotes"),
        pytest.param("rabbitmqctl -n " * 16384, id="rabbitmqctl"),
        pytest.param("htpasswd -b -b " * 4096, id="htpasswd"),
        pytest.param("echo a:b " * 16384, id="echo"),
        pytest.param("smbclient -U a " * 4096, id="smbclient"),
        pytest.param("net user a " * 16384, id="net-user"),
        pytest.param("otp code " * 16384, id="codes"),
        pytest.param("token=SecretStr(' " * 4096, id="wrappers"),
        pytest.param("{SSHA}" + "a" * 262144, id="ldap-digest"),
        pytest.param("eyJhbGciOi." * 16384, id="jws-heads"),
        pytest.param("│ 'password':\n│ " * 4096, id="wrapped-values"),
        pytest.param("password = '" + "a" * 8000 + " │\n" * 64, id="cut-strings"),
    ],
)
def test_command_and_code_rules_cost_linear_time(text: str) -> None:
    """The positional-password, one-time-code, wrapper, digest and cut-string rules cost about 4x for
    4x the text (a quadratic one would cost 16x)."""
    assert_linear_time(text, text * 4)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{key}{sep}{status}", id=f"{key}{sep.strip()}{status.split()[0]}")
        for key in ("password", "Password", "secret", "token", "db_password", "api_token")
        for sep in (": ", "=")
        for status in (
            "reset link sent to user 42",
            "changed successfully",
            "rotated by vault at 10:20",
            "too short (min 12)",
            "not set",
            "must contain a digit",
            "expired 3 days ago",
            "revoked",
        )
    ],
)
def test_status_lines_about_a_secret_stay(text: str) -> None:
    """`password: reset link sent`, `token=revoked`: an unquoted status word after a secret's key says
    what happened to it, and the line stays readable (it lost its first word before)."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text", ["password: 'changed'", 'token="revoked"', "password: reset9", "secret: rEset"]
)
def test_quoted_or_secret_looking_values_after_a_key_still_hide(text: str) -> None:
    """A quoted value, or a word with a digit or a capital, after a secret's key is still hidden."""
    assert REDACTED in redact_text(text)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(name=name, value=repr(secret)), secret, id=f"{n}-{name}-{len(secret)}")
        for n, shape in enumerate(
            [
                "(Pdb) p {name}\n{value}\n(Pdb) c",
                "(Pdb) pp settings.{name}\n{value}",
                ">>> {name}\n{value}\n>>> exit()",
                ">>> print({name})\n{value}",
                "In [3]: {name}\nOut[3]: {value}\n\nIn [4]: ",
            ]
        )
        for name in ("password", "api_token", "client_secret")
        for secret in _fake_secrets(n + len(name), blanks=True)[::2]
    ],
)
def test_values_an_interactive_session_prints(text: str, secret: str) -> None:
    """pdb's `p password`, the REPL's `>>> api_key` and IPython's `In [3]: token` print the value on the
    next line: it is hidden, the prompt and the expression stay."""
    _assert_hidden(text, secret, [">>> " if ">>>" in text else "In [" if "In [" in text else "(Pdb) "])


@pytest.mark.parametrize(
    "text",
    [">>> key\n'user:42'", ">>> tokens\n['a', 'b']", "(Pdb) p count\n3", "In [1]: session\nOut[1]: <S>"],
)
def test_other_values_an_interactive_session_prints_stay(text: str) -> None:
    """An expression that names no secret, or a weak name with an id or an object, stays as printed."""
    assert redact_text(text) == text


_TOOL_SHAPES = [
    ("aws configure set aws_secret_access_key {secret}", "aws configure set aws_secret_access_key "),
    ("aws configure set --profile prod aws_session_token {secret}", "--profile prod aws_session_token "),
    ("npm config set //registry.npmjs.org/:_authToken {secret}", "/:_authToken "),
    ('redis-cli CONFIG SET requirepass "{secret}"', 'CONFIG SET requirepass "'),
    ("echo {secret} | docker login -u bob --password-stdin ghcr.io", "| docker login -u bob"),
    ("<password><![CDATA[{secret}]]></password>", "<password><![CDATA["),
    ("requests.get(url, auth=('bob', '{secret}'), timeout=5)", "timeout=5"),
    ("password = {secret} # dev", "# dev"),
    ("[db]\n  secret: {secret}\n  host: db", "host: db"),
]


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(shape.format(secret=secret), secret, kept, id=f"{n}-{len(secret)}")
        for n, (shape, kept) in enumerate(_TOOL_SHAPES)
        for secret in _fake_secrets(n, blanks='{secret}"' in shape or "secret: {" in shape or "= {" in shape)
    ],
)
def test_secrets_set_by_tools_and_in_setting_lines(text: str, secret: str, kept: str) -> None:
    """`config set KEY VALUE`, `echo X | ... --password-stdin`, XML CDATA, requests' `auth=(user, pw)`
    and an INI/TOML/YAML setting line whose value has blanks lose the secret; the rest stays."""
    _assert_hidden(text, secret, [kept])


def test_git_config_and_prose_about_setting_a_token_stay() -> None:
    """`git config set user.name bob` and `set token expiry to 3600` set nothing secret."""
    for text in ("git config set user.name bob", "set token expiry to 3600", "password = hunter2  # dev"):
        assert redact_text(text).split("=")[0] == text.split("=")[0]
    assert redact_text("password = hunter2  # dev") == f"password = {REDACTED}  # dev"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("(Pdb) p password\n" * 16384, id="pdb"),
        pytest.param(">>> a\n" * 32768, id="repl"),
        pytest.param("config set a " * 16384, id="config-set"),
        pytest.param("echo a | " * 16384, id="stdin"),
        pytest.param("<password><![CDATA[" + "]" * 100000, id="cdata"),
        pytest.param("password = a" + " b" * 65536, id="setting-line"),
    ],
)
def test_prompt_and_tool_rules_cost_linear_time(text: str) -> None:
    """The interactive-prompt, config-set, stdin, CDATA and setting-line rules cost about 4x for 4x
    the text (a quadratic one would cost 16x)."""
    assert_linear_time(text, text * 4)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("pgpass " + ("a" * 500 + " ") * 128, id="pgpass-long-words"),
        pytest.param(":5432: " + ("a" * 300 + "\n") * 200, id="pgpass-long-lines"),
        pytest.param(("password='" + " " * 5000 + "x\n") * 12, id="unclosed-quotes-of-blanks"),
        pytest.param(("'password': '" + " " * 5000) * 10, id="unclosed-quoted-keys"),
    ],
)
def test_long_runs_under_the_new_patterns_cost_linear_time(text: str) -> None:
    """Long words before a `.pgpass`-like colon and long runs of blanks in an unclosed quoted value cost
    about 4x for 4x the text (the patterns read each run once, not once per split of it)."""
    assert_linear_time(text, text * 4)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(q=q, secret=secret), secret, id=f"{n}-{q}-{len(secret)}")
        for n, shape in enumerate(
            [
                "deploy --password {q}{secret}{q} --verbose",
                "app --api-key {q}{secret}{q}",
                "vault write auth --client-secret {q}{secret}{q} -f",
                "curl -u {q}bob:{secret}{q} https://api.example",
                "curl --proxy-user {q}bob:{secret}{q} https://api.example",
            ]
        )
        for q in ('"', "'")
        for secret in _fake_secrets(n, blanks=True)
        if q not in secret
    ],
)
def test_quoted_values_of_secret_flags(text: str, secret: str) -> None:
    """A quoted value after a secret flag given apart (`--password "x"`, `curl -u "bob:two words"`) is
    hidden whole; main hid none of the first and only the first word of the second."""
    _assert_hidden(text, secret, [text.split(" ")[0]])
    assert redact_text('ls --color "auto" --password ""') == 'ls --color "auto" --password ""'


_GLUE_RNG = random.Random(20261204)
_GLUED_SECRETS = [
    "Tr0ub4dor&3-hunter2",
    "a;b;c-9f2K",
    "x7,y8,z9Q",
    "".join(_GLUE_RNG.choice(string.ascii_letters + string.digits + "&;,") for _ in range(24)).strip("&;,")
    + "Z9",
]


@pytest.mark.parametrize("secret", _GLUED_SECRETS)
@pytest.mark.parametrize(
    "shape",
    [
        "connect failed with password={s} after 3 tries",
        "ConnectionError: cannot reach db.internal with password={s}",
        "retrying; --db-password={s} given",
        "pwd: {s} (from the vault)",
        "api_key={s}\n",
    ],
)
def test_a_bare_secret_holding_and_semicolon_or_comma_is_hidden_whole(shape: str, secret: str) -> None:
    """A bare value under a secret key that holds `&`, `;` or `,` inside it (not before another
    `name=`) is hidden to its end: the part after the character no longer leaks."""
    text = shape.format(s=secret)
    redacted = redact_text(text)
    assert secret not in redacted
    for piece in secret.replace(";", "&").replace(",", "&").split("&"):
        if len(piece) >= 3:
            assert piece not in redacted, (piece, redacted)
    assert REDACTED in redacted


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("password=x7Qk2&user=bob", "&user=bob"),
        ("Password=abc9Q;Database=orders;Uid=sa", ";Database=orders;Uid=sa"),
        ("https://api.example/x?token=abc9QzP1&page=2", "&page=2"),
        ("GET /login?password=hunter22&next=/home", "&next=/home"),
        ("password=hunter22, retrying in 5 s", ", retrying in 5 s"),
        ("password: hunter22; user: bob", "; user: bob"),
    ],
)
def test_the_next_pair_after_a_secret_stays(text: str, kept: str) -> None:
    """`&`, `;` and `,` that separate pairs (a query string, a connection string, prose) still end
    the secret: what follows them stays readable."""
    redacted = redact_text(text)
    assert redacted.endswith(kept) and REDACTED in redacted


def test_a_long_run_of_glued_pieces_is_linear() -> None:
    """A value of thousands of `&x` pieces is read in time linear in its length."""

    def cost(n: int) -> float:
        text = "password=a" + "&b" * n
        start = time.perf_counter()
        redact_text(text)
        return time.perf_counter() - start

    cost(1000)
    assert cost(40_000) < 10 * cost(10_000) + 0.05


# --- third sweep: escaped forms, tools' password flags, prose, URL userinfo, pairs, repeated copies ----

_ESCAPED_SHAPES = [
    "GET /callback?next=%2Fhome%3Ftoken%3D{enc}%26page%3D2 302",
    "body=%7B%22password%22%3A%22{enc}%22%7D",
    "Authorization%3A%20Bearer%20{enc}",
    "redirect=https%3A%2F%2Fdeploy%3A{enc}%40db.example%2Fapp",
    "data=api_key%3D{enc}%26state%3D1",
    "double=password%253D{enc2}",
    '{{"url": "https://api.example/cb?access_token\\u003d{json}\\u0026state\\u003d1"}}',
    "b'password\\x3d{plain}'",
]


def _escaped_cases() -> list[object]:
    from urllib.parse import quote

    cases = []
    for n, shape in enumerate(_ESCAPED_SHAPES):
        for secret in _fake_secrets(300 + n)[:3]:
            enc = quote(secret, safe="")
            text = shape.format(enc=enc, enc2=quote(enc, safe=""), json=secret, plain=secret)
            cases.append(pytest.param(text, secret, enc, id=f"{n}-{len(secret)}"))
    return cases


@pytest.mark.parametrize(("text", "secret", "encoded"), _escaped_cases())
def test_secrets_in_percent_and_backslash_escaped_text(text: str, secret: str, encoded: str) -> None:
    """A secret whose key, separator or quotes are percent-encoded (once or twice), or written as
    `\\u003d` / `\\x3d` escapes, is hidden in its escaped form; the escapes around it stay."""
    redacted = redact_text(text)
    assert secret not in redacted and encoded not in redacted, redacted
    assert REDACTED in redacted and redacted.count("%") + redacted.count("\\") > 0
    assert redact_text(redacted) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "GET /search?q=100%25%20off&page=2",
        "path=%2Fhome%2Fbob%2Fkeys.txt",
        "cache key%3Duser%3A42 miss",
        "GET /files/My%20Passwords%20List.docx 200",
        '{"msg": "token\\u0020expired\\u002c retry"}',
        "b'\\x00\\x01session\\x3d\\x02'",
    ],
)
def test_escaped_text_without_a_secret_stays(text: str) -> None:
    """Percent- and backslash-escaped text that holds no secret once decoded comes back unchanged."""
    assert redact_text(text) == text


_TOOL_FLAG_SHAPES = [
    "openssl enc -aes-256-cbc -k {secret} -in data.bin",
    "openssl pkcs12 -export -passin pass:{secret} -in cert.pem",
    "openssl req -new -passout pass:{secret} -out req.csr",
    "keytool -importkeystore -srcstorepass {secret} -deststorepass {secret} -keypass {secret}",
    "zip -r -P {secret} backup.zip data/",
    "unzip -P {secret} backup.zip",
    "7z a -p{secret} backup.7z data/",
    "ldapsearch -x -D cn=admin,dc=example -w {secret} -b dc=example",
    "ldapmodify -H ldap://ldap -D cn=admin -w '{secret}' -f change.ldif",
    "net use \\\\files\\share /user:deploy {secret}",
    "net use Z: \\\\files\\share {secret} /user:deploy /persistent:no",
    "vault login {secret}",
    "vault login -no-print {secret}",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    _shape_cases(
        _TOOL_FLAG_SHAPES,
        400,
        take=3,
        # `name=value` after `vault login`: a login method's parameter
        skip=lambda shape, secret: "vault" in shape and "=" in secret.rstrip("="),
    ),
)
def test_password_flags_of_more_tools(text: str, secret: str) -> None:
    """The password or key that openssl (`-k`, `-passin pass:`), keytool (`-storepass`), zip/unzip
    (`-P`), 7-Zip (`-pX`), the OpenLDAP tools (`-w`), `net use` and `vault login` take is hidden."""
    _assert_hidden(text, secret, [text.split()[0]])


@pytest.mark.parametrize(
    "text",
    [
        "openssl req -passin env:KEY_PASS -passout file:/run/pass.txt",
        "unzip -p archive.zip README",
        "ldapsearch -x -W -b dc=example",
        "net use \\\\files\\share /delete",
        "vault login -method=userpass username=deploy",
        "grep -w token -k file.txt",
    ],
)
def test_tool_commands_without_a_password_stay(text: str) -> None:
    """The same tools' commands without a password (a prompt, an env or file source, another flag)
    stay as they were."""
    assert redact_text(text) == text


_ARGV_SHAPES = [
    ["mysql", "-uroot", "-p{secret}", "orders"],
    ["/usr/bin/mysqldump", "-h", "db", "-p{secret}", "--all-databases"],
    ["redis-cli", "-h", "cache", "-a", "{secret}", "ping"],
    ["docker", "login", "-u", "deploy", "-p", "{secret}", "registry.example"],
    ["sshpass", "-p", "{secret}", "ssh", "deploy@host"],
    ["zip", "-P", "{secret}", "backup.zip", "data"],
    ["openssl", "enc", "-aes-256-cbc", "-k", "{secret}"],
    ["ldapsearch", "-x", "-w", "{secret}", "-b", "dc=example"],
    ["vault", "login", "{secret}"],
    ["htpasswd", "-b", ".htpasswd", "deploy", "{secret}"],
    ["rabbitmqctl", "add_user", "deploy", "{secret}"],
    ["curl", "-u", "deploy:{secret}", "https://api.example"],
]


@pytest.mark.parametrize(
    ("argv", "secret"),
    [
        pytest.param([arg.format(secret=secret) for arg in shape], secret, id=f"{shape[0]}-{len(secret)}")
        for n, shape in enumerate(_ARGV_SHAPES)
        for secret in _fake_secrets(500 + n)[:3]
        if not ("vault" in shape and "=" in secret.rstrip("="))
    ],
)
def test_argv_lists_whose_password_only_the_command_names(argv: list[str], secret: str) -> None:
    """An argv list (`sys.argv`, an extra's command, a `CalledProcessError`'s cmd) whose password only
    the command before it makes one (`["mysql", "-pX"]`, `["redis-cli", "-a", "X"]`) loses it, as the
    same command line as text does; the command and its other arguments stay."""
    redacted = redact_argv(argv)
    assert [arg for arg in redacted if secret in arg] == [], redacted
    assert redacted[0] == argv[0] and len(redacted) == len(argv)
    document = redact_document({"process": {"args": argv}, "extra": {"cmd": argv}})
    assert secret not in json.dumps(document)


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "-m", "http.server", "-p", "8080"],
        ["grep", "-w", "token", "app.log"],
        ["zip", "-r", "out.zip", "data"],
        ["ssh", "-p", "2222", "deploy@host"],
        ["openssl", "x509", "-in", "cert.pem", "-noout"],
        ["vault", "login", "-method=userpass", "username=deploy"],
    ],
)
def test_argv_lists_without_a_password_stay(argv: list[str]) -> None:
    """Argv lists whose `-p`, `-w` or positional arguments are no password come back unchanged."""
    assert redact_argv(argv) == argv


_PROSE_SHAPES = [
    "set the password to {secret}",
    "changed password to '{secret}' for deploy",
    "password was set to {secret}",
    "Password has been reset to {secret}",
    "The new password for deploy is {secret}",
    "password for deploy@example.com was {secret}",
    "password -> {secret}",
    "token → {secret}",
    "Das Passwort ist {secret}",
    "Das Passwort lautet {secret}",
    "mot de passe: {secret}",
    "le mot de passe est {secret}",
    "la contraseña es {secret}",
    "a senha é {secret}",
    "het wachtwoord is {secret}",
    "hasło: {secret}",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    _shape_cases(_PROSE_SHAPES, 600),
)
def test_secrets_told_in_prose(text: str, secret: str) -> None:
    """A password or token told in a sentence (`set the password to X`, `the new password for bob is
    X`, `password -> X`, German, French, Spanish, Portuguese, Dutch and Polish `is`) is hidden; the
    words that tell it stay."""
    _assert_hidden(text, secret, [text.split()[0]])


def _passphrases() -> list[object]:
    rng = random.Random(7)
    cases = []
    for n, shape in enumerate(
        [
            "password is {phrase}",
            "the passphrase was {phrase}.",
            "Your password: {phrase}",
            "Das Passwort ist {phrase}",
            'login with password is "{phrase}"',
        ]
    ):
        for words in (3, 4, 6):
            phrase = " ".join(_salt(rng, string.ascii_lowercase, rng.randint(4, 8)) for _ in range(words))
            cases.append(pytest.param(shape.format(phrase=phrase), phrase, id=f"{n}-{words}"))
    return cases


@pytest.mark.parametrize(("text", "phrase"), _passphrases())
def test_passphrases_of_plain_words_told_in_prose(text: str, phrase: str) -> None:
    """A passphrase of three or more plain words after `password is` (`correct horse battery staple`)
    is hidden whole: no word of it stays."""
    redacted = redact_text(text)
    assert [word for word in phrase.split() if word in redacted] == [], redacted
    assert REDACTED in redacted


def _random_key(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(6)) + str(rng.randint(10, 99)) + "Qz"


@pytest.mark.parametrize(
    "text",
    [
        f"{verb} key {_random_key(random.Random(n))}"
        for n, verb in enumerate(["using", "with", "signed with", "Using", "encrypted by"])
    ]
    + [f"the key is {_random_key(random.Random(9))}", f"using key {_fake_secrets(9)[1]}"],
)
def test_a_key_told_in_prose(text: str) -> None:
    """`using key X`, `with key X`, `the key is X`: a value that reads like a random key (cases and
    digits mixed) is hidden."""
    value = text.split()[-1]
    assert value not in redact_text(text) and REDACTED in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "the password is correct",
        "password is too short for user bob",
        "password is not set for user bob",
        "password was changed by admin yesterday",
        "password for bob is incorrect",
        "password is stored in the vault",
        "set the password to expire in 90 days",
        "reset password to default",
        "Password is case sensitive",
        "token -> refreshed",
        "Das Passwort ist falsch",
        "mot de passe oublié pour bob",
        "le mot de passe est incorrect",
        "using key id 42",
        "gpg: using RSA key 3AA5C34371567BD2",
        "signing with key ABCD1234EF567890ABCD",
        "using key cache-42 for lookups",
        "the key is user:42",
        "with key orders.json",
    ],
)
def test_prose_about_a_password_or_key_stays(text: str) -> None:
    """Sentences about a password or key that tell no secret (a status, a policy, a key id, a GPG
    fingerprint, a file) stay as they were."""
    assert redact_text(text) == text


_URL_SECRETS = ["p@ss#w0rd?x", "Fk9a@b#c", "Fk9:x@y?z#1", "Fk9#only", "Fk9?q@@", "Fk9@@@b"]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(s=secret), secret, id=f"{n}-{m}")
        for n, shape in enumerate(
            [
                "postgresql://deploy:{s}@db.example/app",
                "redis://:{s}@cache:6379/0",
                "amqp://deploy:{s}@mq.example/vhost?heartbeat=10",
                "mongodb+srv://deploy:{s}@cluster0.example.net/test?retryWrites=true",
                "engine = create_engine('mysql+pymysql://deploy:{s}@db/app')",
                "https://deploy@example.com:{s}@host.example/x",
            ]
        )
        for m, secret in enumerate(_URL_SECRETS + _fake_secrets(700 + n)[:2])
    ],
)
def test_url_passwords_holding_at_hash_and_question_marks(text: str, secret: str) -> None:
    """A URL's password that holds raw `@`, `#`, `?` or `:` (as SQLAlchemy and driver DSNs take them),
    or whose user name is an e-mail address, is hidden whole; the host after it stays."""
    redacted = redact_text(text)
    assert secret not in redacted and REDACTED in redacted, redacted
    pieces = [piece for piece in re.split(r"[@#?:]", secret) if len(piece) >= 3]
    assert [piece for piece in pieces if piece in redacted] == [], redacted
    host = text.split("@")[-1].split("/")[0].split("'")[0]
    assert host in redacted


@pytest.mark.parametrize(
    "token",
    [
        "0123456789abcdef0123456789abcdef01234567",
        _salt(random.Random(3), string.ascii_letters + string.digits, 33) + "7aZ",
        "a1B2c3D4e5F6g7H8i9J0k1L2",
    ],
)
@pytest.mark.parametrize(
    "shape", ["https://{t}@github.com/org/repo.git", "git clone https://{t}@git.example/x.git && make"]
)
def test_a_token_as_a_urls_user_name(shape: str, token: str) -> None:
    """A token given as a URL's user name with no password (`https://<token>@github.com/...`) is hidden."""
    redacted = redact_text(shape.format(t=token))
    assert token not in redacted and f"https://{REDACTED}@" in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        "https://git@github.com/org/repo.git",
        "ssh://git@host:22/repo",
        "https://bob@example.com/x",
        "https://host:8443/@scope/pkg",
        "http://host:8080?q=a@b",
        "https://user@host:8443/path",
        "https://deploy-bot-2024@host/",
        "https://service_account_2024@host/",
        "http://host:8080/#/x@y",
        "https://registry.example/@types%2fnode",
    ],
)
def test_urls_with_user_names_and_at_signs_but_no_secret_stay(text: str) -> None:
    """URLs with a plain user name, a port, or `@` in their path, query or fragment stay as they were."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "x://y:" + "@a" * 20000,
        "a://b@c:" + "d@" * 20000,
        ("s://u:p" + "a" * 300 + "@h?") * 100,
        ("s://" + "a1" * 15 + "@") * 3000,
        "%3D" * 30000,
        "%253D" * 20000,
        "\\u003d" * 15000,
        "password is " + "ab " * 20000,
        "using key " * 8000,
        "password for x is " * 4000,
        "zip -P " * 8000,
        "net use \\\\s\\h " + "/x " * 20000,
        "jwt.encode(" * 8000,
        "x.login(a, " * 8000,
        "Private-Lines: 1\n" + "AAAA\n" * 20000,
        ("HTTPBasicAuth('a', '" + "b" * 100) * 800,
    ],
)
def test_third_sweep_rules_cost_linear_time(text: str) -> None:
    """The URL, escape, prose and tool rules of the third sweep read a pathological text in time linear
    in its length."""
    assert_linear_time(text[: len(text) // 4], text)


_PAIR_AND_STATEMENT_SHAPES = [
    "auth=deploy:{secret}",
    "basic_auth: deploy:{secret}",
    "proxy_auth = 'deploy:{secret}'",
    "user:pass = deploy:{secret}",
    "creds deploy:{secret}",
    "SET PASSWORD FOR deploy = PASSWORD('{secret}')",
    'SET PASSWORD = password("{secret}")',
    "CREATE USER 'deploy'@'%' IDENTIFIED WITH mysql_native_password BY '{secret}'",
    "ALTER USER deploy IDENTIFIED WITH caching_sha2_password BY '{secret}';",
    'Content-Disposition: form-data; name="password"\r\n\r\n{secret}\r\n--boundary',
    'Content-Disposition: form-data; name="api_token"\r\nContent-Type: text/plain\r\n\r\n{secret}\r\n--b--',
    "b'--x\\r\\nContent-Disposition: form-data; name=\"password\"\\r\\n\\r\\n{secret}\\r\\n--x--'",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    _shape_cases(_PAIR_AND_STATEMENT_SHAPES, 800),
)
def test_user_password_pairs_sql_statements_and_form_fields(text: str, secret: str) -> None:
    """A `user:password` value under an auth key, a password given to SQL's `PASSWORD()` or `IDENTIFIED
    WITH plugin BY`, and the value of a multipart form field named like a secret are hidden; the user
    name and the statement stay."""
    _assert_hidden(text, secret, [text.split()[0].split("=")[0]])


@pytest.mark.parametrize(
    "text",
    [
        "auth=required",
        "auth: oauth2:bearer",
        "session: user:42",
        "key=cache:user",
        "SELECT PASSWORD(NULL)",
        'Content-Disposition: form-data; name="username"\r\n\r\ndeploy\r\n--b',
        'Content-Disposition: form-data; name="avatar"; filename="me.png"\r\n\r\nPNG...',
    ],
)
def test_pairs_statements_and_form_fields_without_a_secret_stay(text: str) -> None:
    """Auth settings that name a mechanism, ids under weak keys, and form fields not named like a secret
    stay as they were."""
    assert redact_text(text) == text


def _copy_variants(secret: str) -> list[tuple[str, str]]:
    from urllib.parse import quote

    half = len(secret) // 2
    variants = [
        ("upper", secret.upper()),
        ("lower", secret.lower()),
        ("swapcase", secret.swapcase()),
        ("split-early", secret[:3] + "\n" + secret[3:]),
        ("split-half", secret[:half] + "\n    " + secret[half:]),
        ("split-late", secret[:-3] + "\r\n" + secret[-3:]),
        ("split-escaped", secret[:half] + "\\n" + secret[half:]),
        ("json", json.dumps(secret)[1:-1]),
        ("repr", repr(secret)[1:-1]),
        ("percent", quote(secret, safe="")),
    ]
    return [(name, copy) for name, copy in variants if copy != secret or name == "json"]


_COPY_SECRETS = ["Fk9\"quo'te\\d7", "Fk9 two words here", *_fake_secrets(900)[1:]]


@pytest.mark.parametrize(
    ("secret", "copy"),
    [
        pytest.param(secret, copy, id=f"{name}-{number}")
        for number, secret in enumerate(_COPY_SECRETS)
        for name, copy in _copy_variants(secret)
        if not (" " in secret and name.startswith("split"))
    ],
)
def test_a_found_secret_is_hidden_again_case_changed_escaped_or_split(secret: str, copy: str) -> None:
    """A secret found under its key is hidden where it stands again in another field or later in the
    same text with its case changed, escaped another way (JSON, repr, percent) or split by a line break;
    the words around the copy stay."""
    document = {"extra": {"password": secret}, "message": f"login rejected: {copy} (bob)"}
    message = redact_document(document)["message"]
    pieces = [piece for piece in re.split(r"\s|\\n", copy) if len(piece) >= 3]
    assert [piece for piece in pieces if piece in message] == [], message
    assert message.startswith("login rejected: ") and message.endswith(" (bob)")
    text = f"password = {json.dumps(secret)}\nValueError: login rejected: {copy} (bob)"
    redacted = redact_text(text)
    assert [piece for piece in pieces if piece in redacted] == [], redacted
    assert "login rejected: " in redacted and redacted.endswith(" (bob)")


@pytest.mark.parametrize(
    "secret", [pytest.param(secret, id=str(number)) for number, secret in enumerate(_COPY_SECRETS)]
)
@pytest.mark.parametrize("joined", ["\n", "\r\n", "\\n"], ids=["newline", "crlf", "escaped"])
def test_a_copy_at_a_lines_end_leaves_the_next_line_whole(secret: str, joined: str) -> None:
    """A found secret standing again at the end of a line is hidden up to that line's end: the line
    break and the next line's first word stay (a traceback's `File` line after an exception's message
    that repeats the secret lost its `File`, and with it its shape)."""
    frame = '  File "app.py", line 7, in main'
    text = f"password = {json.dumps(secret)}{joined}ValueError: rejected {secret}{joined}{frame}"
    redacted = redact_text(text)
    assert redacted.endswith(f"ValueError: rejected {REDACTED}{joined}{frame}"), redacted
    document = {"extra": {"password": secret}, "error": {"stack_trace": f"ValueError: {secret}\n{frame}"}}
    assert redact_document(document)["error"]["stack_trace"] == f"ValueError: {REDACTED}\n{frame}"


_CALL_SHAPES = [
    "    session.auth = HTTPBasicAuth('deploy', '{secret}')",
    '    auth = httpx.DigestAuth("deploy", "{secret}")',
    "    async with aiohttp.ClientSession(auth=aiohttp.BasicAuth('deploy', '{secret}')) as s:",
    "    smtp.login('deploy@example.com', '{secret}')",
    "    ftp.login(user='deploy', passwd='{secret}')",
    '    imap.login("deploy", "{secret}")',
    "    token = jwt.encode(payload, '{secret}', algorithm='HS256')",
    "    claims = jwt.decode(token, key='{secret}', algorithms=['HS256'])",
    "    digest = hmac.new(b'{secret}', body, hashlib.sha256).hexdigest()",
    "    user.set_password('{secret}')",
    "    keyring.set_password('deploy-api', 'deploy', '{secret}')",
    "    pop.pass_('{secret}')",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    _shape_cases(_CALL_SHAPES, 1000),
)
def test_string_literals_given_to_calls_that_take_a_secret(text: str, secret: str) -> None:
    """A string literal passed as the password or key of a well-known call (requests/httpx/aiohttp
    auth, smtplib/ftplib/imaplib `login`, `jwt.encode`/`decode`, `hmac.new`, `set_password`), as a
    traceback's source line shows it, is hidden; the call and its other arguments stay."""
    _assert_hidden(text, secret, [text.strip().split("(")[0]])


@pytest.mark.parametrize(
    "text",
    [
        "    session.auth = HTTPBasicAuth(user, password)",
        "    smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD)",
        "    token = jwt.encode(payload, key, algorithm='HS256')",
        "    digest = hmac.new(key, body, hashlib.sha256)",
        "    form.login('deploy')",
        "    user.set_password(None)",
        "    claims = jwt.decode(token, options={'verify_signature': False})",
    ],
)
def test_calls_given_names_rather_than_literals_stay(text: str) -> None:
    """The same calls given variables, settings or None (no secret in the text) stay as they were."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "SECRET_KEY = 'django-insecure-{s}'",
        "django-insecure-{s}",
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n"
        "AAAAC3NzaC1lZDI1NTE5AAAAIOb\nAAAAC3NzaC1lZDI1NTE5AAAAIOb\nPrivate-Lines: 1\n{s}\n"
        "Private-MAC: 0123456789abcdef",
    ],
)
@pytest.mark.parametrize(
    "secret", ["Fk9q(x)=7+yU@#w^k*z!n-m_r4b8v$t2e%h6j&p0c1s3d5f", "Fk9AAAAIQCx4wPq7Yv2R9kLm3Tz"]
)
def test_django_default_keys_and_putty_private_keys(text: str, secret: str) -> None:
    """Django's generated `django-insecure-...` secret key and the private lines of a PuTTY key file
    are hidden wherever they stand; the public lines and the MAC line's name stay."""
    redacted = redact_text(text.format(s=secret))
    assert secret not in redacted and secret[3:20] not in redacted, redacted
    assert REDACTED in redacted
    if "PuTTY" in text:
        assert "Public-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIOb" in redacted and "Private-MAC" in redacted


# --- fifth sweep: generated values under keys that name nothing, and the probe's shapes -------------


def _generated_values(seed: int) -> list[str]:
    """Fake generated secrets: base62, base64 with `+/=`, base64url with `-_`, of several lengths."""
    rng = random.Random(seed)
    base62 = string.ascii_letters + string.digits

    def pick(alphabet: str, size: int) -> str:
        while True:  # (a draw with no lone lower-case letter or too few digits reads as a name: redraw)
            value = "".join(rng.choice(alphabet) for _ in range(size))
            if re.search(r"(?<![a-z])[a-z](?![a-z])", value) and sum(c.isdigit() for c in value) >= 3:
                return "Qz7" + value

    return [pick(base62, 21), pick(base62, 37), pick(base62 + "+/", 41) + "=", pick(base62 + "-_", 61)]


_UNKNOWN_KEYS = [
    "sig_v2={s}",
    "hmac: {s}",
    'x-goog-mac: "{s}"',
    '{{"dsn": "{s}", "env": "prod"}}',
    "export VENDOR_WEBHOOK_SALT={s}",
    "callback?foo=bar&h={s}",
    "ctx = {{'opaque': '{s}'}}",
    "<Settings mailjet='{s}'>",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.format(s=value), value, id=f"{n}-{len(value)}")
        for n, shape in enumerate(_UNKNOWN_KEYS)
        for value in _generated_values(500 + n)
    ],
)
def test_a_generated_value_under_a_key_that_names_nothing(text: str, secret: str) -> None:
    """A value of 24+ token characters that reads as generated (cases and digits mixed and spread, high
    entropy) is hidden under any key that is not an id, a digest, a name or a place."""
    assert_hidden(text, [secret], [text[:3]])


@pytest.mark.parametrize(
    "text",
    [
        "request_id=Qz7aB3dE5fG7hJ9kL1mN3pQ5rS7tU9",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
        "commit=3f2a9c1d4e5b6a7980abcdef0123456789abcdef",
        "uuid: 123e4567-e89b-12d3-a456-426614174000",
        "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "validator=fontInfoVersion2OpenTypeOS2PanoseValidator",
        "package: Microsoft-Windows-PlatformUpdate-Win7-SRV08R2-Package-TopLevel~31bf3856ad364e35",
        "arn=arn:aws:iam::123456789012:role/MyTestDatabaseMasterRole-a1b2c3",
        "policy: ECSManagedAutoScalingPolicy-152363a6-8c65-484c-b721-42c3e070ae93",
        "maps = convertUFO1OrUFO2KerningToUFO3Kerning(groups)",
        "path=/srv/app/releases/2026-12-05T03-14-15Z/static/main.js",
        "image: registry.example.com/team/app:1.2.3-rc4",
        "blk_-1608999687919862906 Receiving block src: /10.250.19.102:54106",
        'etag: W/"5e15153d-120f"',
        "version=ThisIsAVersionName2026",
    ],
)
def test_random_looking_ids_names_and_digests_stay(text: str) -> None:
    """Ids, trace ids, commits, UUIDs, digests, camel-case names with numbers, package names of words,
    ARNs, paths and image names stay as they were."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "user", ["a1b2c3d4e5f60718293a4b5c6d7e8f90", "9f86d081884c7d659a2feaa0c55ad015", "0123abcd" * 4]
)
def test_a_hex_key_as_a_url_user_name(user: str) -> None:
    """A URL user name of 24+ hex digits (a Sentry DSN's key) is hidden; the host stays."""
    assert_hidden(f"SENTRY_DSN=https://{user}@o12.ingest.sentry.io/42", [user], ["@o12.ingest.sentry.io/42"])


_PROBE_SHAPES = [
    ("aws_access_key_id=AKIAIOSFODNN7EXAMPLE aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
    ("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
    ("Credentials(access_key='ASIAIOSFODNN7EXAMPLE', secret_key='wJalrXUtnFEMI/K7MDENG', "
     "token='FwoGZXIvYXdzEJr')",
     ["ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG", "FwoGZXIvYXdzEJr"]),
    ('{"type": "service_account", "private_key_id": "4f2a9c1d4e5b6a7980abcdef0123456789abcdef", '
     '"private_key": '
     '"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"}',
     ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "4f2a9c1d4e5b6a7980abcdef0123456789abcdef"]),
    ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net",
     ["Zm9vYmFyYmF6cXV4Zm9vYmFy=="]),
    ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=Zm9vYmFyYmF6cXV4=",
     ["Zm9vYmFyYmF6cXV4="]),
    ("GET https://acct.blob.core.windows.net/c/b?sv=2020-08-04&sp=rw&sig=AbCdEf0123456789%2BAbCdEf%3D",
     ["AbCdEf0123456789"]),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
     ["eyJzdWIiOiIxMjM0In0", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"]),
    ("2026-12-05 ERROR key material: MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC7VJTUt9Us8cKj",
     ["MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC7VJTUt9Us8cKj"]),
    ("https://bob:p%40ss%3Aw0rd@example.com/x", ["p%40ss%3Aw0rd"]),
    ("https://bob%40corp.com:Hunter2x@example.com/", ["Hunter2x"]),
    ("{'Authorization': 'Bearer abc123xyz', 'Cookie': 'session=abcdef123; csrftoken=zzz999'}",
     ["abc123xyz", "abcdef123", "zzz999"]),
    ("Headers({'host': 'x', 'authorization': 'Basic Ym9iOmh1bnRlcjI='})", ["Ym9iOmh1bnRlcjI="]),
    ("[('authorization', 'Bearer abc.def.ghi'), ('cookie', 'sid=s3cr3t')]", ["abc.def.ghi", "s3cr3t"]),
    ("<Request('GET', 'https://bob:Hunter2x@api.example.com/v1')>", ["Hunter2x"]),
    ("X-Vault-Token: s.abcdefghijklmnopqrstuvwx", ["s.abcdefghijklmnopqrstuvwx"]),
    ("environ({'PATH': '/usr/bin', 'DB_PASSWORD': 'Hunter2x', 'GITHUB_TOKEN': 'abcdef'})",
     ["Hunter2x", "abcdef"]),
    ("{'SECRET_KEY': 'x8$k!l2-ab', 'DATABASES': {'default': {'USER': 'bob', 'PASSWORD': 'Hunter2x'}}}",
     ["x8$k!l2-ab", "Hunter2x"]),
    ("<Config {'SECRET_KEY': 'devkey', 'SQLALCHEMY_DATABASE_URI': 'mysql+pymysql://root:Toor9x@localhost/app'}>",
     ["devkey", "Toor9x"]),
    ("mongodb+srv://bob:Hunter2x@cluster0.abc.mongodb.net/?retryWrites=true", ["Hunter2x"]),
    ("redis://:Hunter2x@redis:6379/0", ["Hunter2x"]),
    ("amqp://guest:Hunter2x@rabbit:5672/%2f", ["Hunter2x"]),
    ("host=db port=5432 dbname=app user=bob password=Hunter2x sslmode=require", ["Hunter2x"]),
    ("Server=db;Database=app;User Id=sa;Password=Hunter2x;", ["Hunter2x"]),
    ("jdbc:postgresql://db:5432/app?user=bob&password=Hunter2x", ["Hunter2x"]),
    ("│ password = 'Hunter2x'                           │", ["Hunter2x"]),
    ("  File \"x.py\", line 9, in login\n    check(user, pwd)\n  user = 'bob'\n  pwd = 'Hunter2x'",
     ["Hunter2x"]),
    ("xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx", ["xoxb-123456789012"]),
    ("sk_live_abcdefghijklmnopqrstuvwx ghp_abcdefghijklmnopqrstuvwxyz0123456789", ["sk_live_", "ghp_"]),
    ("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 sk-ant-api03-abcdefghijklmnopqrstuvwxyz01",
     ["abcdefghijklmnop"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "secrets"), _PROBE_SHAPES, ids=range(len(_PROBE_SHAPES)))
def test_cloud_keys_tokens_headers_and_dsns_of_the_probe(text: str, secrets: list[str]) -> None:
    """Cloud keys (AWS, GCP service accounts, Azure keys and SAS signatures), JWTs, a PEM body alone,
    URL user info with escapes, header dicts and request reprs, environ and settings reprs, DSNs of
    many schemes, locals of rich/diagnose tracebacks and provider tokens are hidden."""
    assert_hidden(text, secrets, [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("password " * 30000, id="password-words"),
        pytest.param("the password is " * 15000, id="password-is"),
        pytest.param("pass: " * 40000, id="pass-colon"),
        pytest.param("user bob pw " * 20000, id="user-pw"),
        pytest.param("a," * 120000, id="one-long-csv-line"),
        pytest.param("user,password\n" + "bob,x\n" * 40000, id="csv-rows"),
        pytest.param("password," * 30000, id="secret-cells"),
        pytest.param('"' + '""' * 60000 + ",", id="quoted-cell"),
        pytest.param("Client('a', " * 20000, id="client-calls"),
        pytest.param("Client(('a', " * 20000, id="client-tuples"),
        pytest.param("connect(user, " * 20000, id="sign-in-names"),
        pytest.param("k=" + "aB3" * 80000, id="one-generated-run"),
        pytest.param("k=aB3xY7qW9eR2tZ5uI8oP1aS4dF6g " * 8000, id="generated-pairs"),
        pytest.param("k: " + "ABCDEFGHabcdefgh0123" * 10000 + "!", id="camel-run"),
    ],
)
def test_fifth_sweep_rules_cost_linear_time(text: str) -> None:
    """The told-word, abbreviation, delimited-row, client-call and generated-value rules read an
    adversarial text in time linear in its length (a quarter of it costs a quarter, with room)."""
    assert_linear_time(text[: len(text) // 4], text)


# --- coloured text, other separators, a quoted key's own blank, a value wrapped to the next line ------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "\x1b[36mpassword\x1b[0m=\x1b[35mQacnOkjb7Hh2kLw\x1b[0m done",
            ["QacnOkjb7Hh2kLw"],
            ["\x1b[36mpassword\x1b[0m=\x1b[35m", "\x1b[0m done"],
            id="colours-around-key-and-value",
        ),
        pytest.param(
            "password: \x1b[33mN5Nvpk3Ixmt99aa\x1b[0m",
            ["N5Nvpk3Ixmt99aa"],
            ["\x1b[33m"],
            id="colour-before-value",
        ),
        pytest.param(
            '{"\x1b[34mapi_key\x1b[0m": "\x1b[32m2rmlSLB0aa9Ghh3k\x1b[0m"}',
            ["2rmlSLB0aa9Ghh3k"],
            ["api_key"],
            id="colours-in-json",
        ),
        pytest.param(
            "\x1b[1;31mERROR\x1b[0m db at postgres://bob:S3cr3tPw9@db:5432/x",
            ["S3cr3tPw9"],
            ["\x1b[1;31mERROR\x1b[0m", "bob:"],
            id="colour-before-a-url",
        ),
        pytest.param('password := "MSU8VTEv9bwUP9"', ["MSU8VTEv9bwUP9"], ["password :="], id="walrus"),
        pytest.param("DB_PASSWORD ?= Mk9fileSecret", ["Mk9fileSecret"], ["DB_PASSWORD ?="], id="makefile"),
        pytest.param("API_TOKEN += Mk4plusSecret", ["Mk4plusSecret"], [], id="makefile-append"),
        pytest.param(
            '{"Password ": "ffyvF0Dtjv8j2IWb"}', ["ffyvF0Dtjv8j2IWb"], ['"Password ": "'], id="key-blank"
        ),
        pytest.param('{"password:": "Cq8Colon9Key"}', ["Cq8Colon9Key"], ['"password:": "'], id="key-colon"),
        pytest.param(
            "config: {'password':\n    's21p2ZkWnnQ9a', 'host': 'db'}",
            ["s21p2ZkWnnQ9a"],
            ["'host': 'db'"],
            id="value-wrapped-to-next-line",
        ),
        pytest.param(
            '{"token":\n   "abcDEF123ghiJKL456"}', ["abcDEF123ghiJKL456"], ['"token":'], id="json-wrapped"
        ),
    ],
)
def test_a_secret_behind_colours_or_another_separator(text: str, secrets: list[str], kept: list[str]) -> None:
    """Colour codes around a key or its value, `:=`/`?=`/`+=`, a quoted key ending in a blank or a colon,
    and a quoted value a formatter wrapped to the next line: the value is hidden, the codes and the key
    kept."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\x1b[31mERROR\x1b[0m token count 3, key cache warm", id="coloured-prose"),
        pytest.param("if (count := len(tokens)) > 3: pass", id="walrus-on-a-count"),
        pytest.param("password:\nthe next line is prose", id="label-then-prose"),
        pytest.param("a == b and token == other", id="comparison"),
    ],
)
def test_texts_near_those_shapes_stay(text: str) -> None:
    """Coloured prose, an assignment expression, a label followed by prose and a comparison are kept."""
    assert redact_text(text) == text


# --- more services' token formats, bare in a line; webhooks holding their credential in the path ---------

_RANDOM = random.Random(20)


def _drawn(count: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(count))


_HEX = "0123456789abcdef"
_LOWER = string.ascii_lowercase + string.digits
SERVICE_TOKENS = {
    "terraform-cloud": f"{_drawn(14)}.atlasv1.{_drawn(67)}",
    "braintree": f"access_token$production${_drawn(16, _LOWER)}${_drawn(32, _HEX)}",
    "contentful": f"CFPAT-{_drawn(43)}",
    "pulumi": f"pul-{_drawn(40, _HEX)}",
    "prefect": f"pnu_{_drawn(36)}",
    "adafruit-io": f"aio_{_drawn(28)}",
    "dropbox": f"sl.{_drawn(138)}",
    "flutterwave": f"FLWSECK_TEST-{_drawn(32, _HEX)}-X",
    "rubygems": f"rubygems_{_drawn(48, _HEX)}",
    "brevo": f"xkeysib-{_drawn(64, _HEX)}-{_drawn(16)}",
    "shippo": f"shippo_live_{_drawn(40, _HEX)}",
    "nuget": f"oy2{_drawn(43, _LOWER)}",
    "jfrog": f"AKCp{_drawn(69)}",
    "meta": f"EAAC{_drawn(150)}",
    "x-bearer": "A" * 21 + _drawn(20) + "%3D" + _drawn(40),
    "fly-io": f"fm2_{_drawn(200)}",
    "supabase": f"sb_secret_{_drawn(32)}",
    "posthog": f"phx_{_drawn(43)}",
    "yandex": f"y0_{_drawn(55)}",
    "cloudflare-origin-ca": f"v1.0-{_drawn(24, _HEX)}-{_drawn(146, _HEX)}",
    "paseto": f"v4.local.{_drawn(120)}",
    "macaroon": f"MDAx{_drawn(120)}",
    "aws-session-token": f"FwoGZXIvYXdzE{_drawn(300)}",
}


@pytest.mark.parametrize("service", SERVICE_TOKENS)
def test_a_services_token_is_hidden_bare_in_a_line(service: str) -> None:
    """A token of a service whose format has its own prefix is hidden with nothing naming it."""
    token = SERVICE_TOKENS[service]
    assert_hidden(f"deploying with {token} now", [token], ["deploying with", "now"])


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "POST https://hooks.zapier.com/hooks/catch/1234567/PXlJg2jZ9N9jjaDP/",
            "PXlJg2jZ9N9jjaDP",
            id="zapier",
        ),
        pytest.param(
            "GET https://maker.ifttt.com/trigger/ev/with/key/aUdsgMjA9xYz0123abc",
            "aUdsgMjA9xYz0123abc",
            id="ifttt",
        ),
    ],
)
def test_a_webhook_url_loses_its_credential(text: str, secret: str) -> None:
    """Zapier's catch hook and IFTTT's Maker URL lose the part that is their credential, host kept."""
    assert_hidden(text, [secret], [text.split("/")[2]])


@pytest.mark.parametrize(
    "text",
    [
        "re_compile failed",
        "ssl.SSLError: [SSL] record layer failure",
        "import aio_pika",
        "v1.0-beta released",
        "see docs.local.example",
        "A" * 25,
        "EAAC is not a word",
    ],
)
def test_words_like_those_prefixes_stay(text: str) -> None:
    """Ordinary words that begin like those formats (a module, a version, a host) are kept."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "password: (empty)",
        "password: (not set)",
        "token: [hidden]",
        "password=(none)",
        "api_key: n/a",
        "Authorization: Bearer <token>",
        "Authorization: Bearer ${TOKEN}",
        "api_key: !ENV ${API_KEY}",
        "token: ${{ secrets.GITHUB_TOKEN }}",
    ],
)
def test_a_value_a_dump_shows_as_absent_or_as_a_reference_stays(text: str) -> None:
    """Where a settings dump shows no value (`(not set)`, `n/a`) or where the secret comes from (an
    example's `<token>`, `${TOKEN}`, pyaml-env's `!ENV ${API_KEY}`, GitHub Actions' `${{ secrets.X }}`),
    the text is kept."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("password: !!str Hx9yamlPw", "Hx9yamlPw", id="yaml-str-tag"),
        pytest.param("token: !ENV Tk4literalValue9", "Tk4literalValue9", id="env-tag-on-a-literal"),
        pytest.param("password: (Pw9inParens)", "Pw9inParens", id="value-in-parentheses"),
    ],
)
def test_a_yaml_tag_or_brackets_do_not_shield_a_value(text: str, secret: str) -> None:
    """A YAML tag before a value, or brackets around it, leave the value hidden."""
    assert_hidden(text, [secret], [text.split(":")[0]])


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param('{"value": "Xq9valueFirst", "name": "DB_PASSWORD"}', "Xq9valueFirst", id="json"),
        pytest.param(
            "{'Value': 'Ss9paramVal', 'Type': 'SecureString', 'Name': '/prod/db/x'}",
            "Ss9paramVal",
            id="ssm-repr",
        ),
        pytest.param("value: Yz8yamlFirst\n  name: API_TOKEN", "Yz8yamlFirst", id="yaml"),
    ],
)
def test_a_value_given_before_its_secret_name_is_hidden(text: str, secret: str) -> None:
    """A name/value pair written value first (a mapping in the order the program set it) loses its value."""
    assert_hidden(text, [secret], ["name" if "name" in text else "Name"])


def test_a_value_before_an_ordinary_name_stays() -> None:
    """A value given before a name that is no secret's (`replicas`) is kept."""
    text = '{"value": "3", "name": "replicas"}'
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "    token = self.tokens[self.position]",
        '    secret = os.environ["APP_SECRET"]',
        '    password = request.form["password"]',
    ],
)
def test_a_source_line_reading_a_secret_from_elsewhere_stays(text: str) -> None:
    """A traceback's source line that subscripts a name (`self.tokens[i]`, `os.environ["X"]`) holds an
    expression, no secret: kept, so its caret line still points at it."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("DB_PASSWORD=Tr0ub4dor(3)", "Tr0ub4dor(3)", id="parentheses-at-the-end"),
        pytest.param("pwd=Sommer(2024)!", "Sommer(2024)!", id="a-word-then-parentheses"),
        pytest.param("Password: P@ss(w0rd)!", "P@ss(w0rd)!", id="parentheses-inside"),
        pytest.param("password=abc[defghij1234", "defghij1234", id="an-open-bracket"),
        pytest.param(
            "SECRET_KEY=8f)k!2x^q(w3z_@v#l9m=e4b7y$u1n0r&c6t*h5j",
            "w3z_@v#l9m=e4b7y",
            id="django-generated-key",
        ),
        pytest.param("password=ab'cdef9876543", "cdef9876543", id="a-quote-inside"),
    ],
)
def test_a_bare_value_holding_brackets_or_quotes_is_hidden_whole(text: str, secret: str) -> None:
    """An unquoted value with brackets or a quote inside it (Django's generated `SECRET_KEY` alphabet
    has `(` and `)`) is hidden to its end, not cut at the first bracket or taken for a call."""
    assert_hidden(text, [secret], [text.split("=")[0].split(":")[0]])


@pytest.mark.parametrize(
    "text",
    [
        'password = get_secret("db")',
        'password=os.getenv("X")',
        "(password=[REDACTED]), next",
    ],
)
def test_a_call_or_a_closing_bracket_after_a_value_stays_as_it_was(text: str) -> None:
    """A call in code (`get_secret("db")`) is no value; an outer bracket after a value stays outside it."""
    assert redact_text(text) == text


def test_a_key_error_of_a_secret_looked_up_hides_the_missing_key() -> None:
    """A KeyError raised by a lookup under a secret's name (`sessions[token]`, `.pop(api_key)`) shows the
    secret as its message: hidden; one under another name (`cache[user_id]`) is kept."""
    secret = "Zq8LmN2pX4rT6vB9wC1dF3gH5jK7"
    frame = '  File "/srv/app/auth.py", line 12, in lookup\n'
    for line in ("    user = sessions[token]\n           ~~~~~~~~^^^^^^^\n", "    keys.pop(api_key)\n"):
        text = f"Traceback (most recent call last):\n{frame}{line}KeyError: '{secret}'\n"
        assert_hidden(text, [secret], ["KeyError: '", line.split("\n")[0]])
    other = f"Traceback (most recent call last):\n{frame}    user = cache[user_id]\nKeyError: '{secret}'\n"
    assert redact_text(other) == other


@pytest.mark.parametrize(
    "text",
    [
        '127.0.0.1 - "POST /api/v1/auth/token HTTP/1.1" 401',
        "botocore.hooks DEBUG Event before-call.secrets-manager.GetSecretValue: calling handler <function x>",
        "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
        "{'Bucket': 'reports', 'Key': 'exports/2025/12/06/daily.csv'}",
        "Access denied for user 'app'@'10.0.0.5' (using password: YES)",
        "TokenExpiredError: (token_expired)",
        "secretKeyRef: {name: db-credentials, key: password}",
        "token_budget=8000",
        "password = (sensitive value)",
        "password:  16 bytes",
        'token: "{{ .Values.token }}"',
        'DB_PASSWORD="$(cat /run/secrets/db_password)"',
        "Authorization: Bearer $(gcloud auth print-access-token)",
    ],
)
def test_ordinary_observability_lines_stay(text: str) -> None:
    """Access logs of a token endpoint, botocore's operation names, exception classes named after a
    secret, S3 object keys, MySQL's `using password: YES`, Kubernetes references, Terraform's
    `(sensitive value)`, kubectl's `16 bytes`, templates and command substitutions are kept."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("Temporary password for bob is now Kx9tempPw", "Kx9tempPw", id="is-now"),
        pytest.param("password for bob reset to Rz8resetPw", "Rz8resetPw", id="reset-to"),
        pytest.param(" * Debugger PIN: 123-456-789", "123-456-789", id="werkzeug-debugger-pin"),
    ],
)
def test_a_password_told_for_a_user_or_a_debugger_pin_is_hidden(text: str, secret: str) -> None:
    """A password told for a user (`for bob is now X`, `for bob reset to X`) and Werkzeug's debugger PIN
    (it opens a console that runs code) are hidden."""
    assert_hidden(text, [secret], [text.split(secret)[0].strip()])


@pytest.mark.parametrize(
    "text",
    [
        "DETAIL:  Key (key_prefix)=(lk_8f7a) already exists.",
        "credentials: anonymous",
        "the password for bob is correct",
    ],
)
def test_a_keys_prefix_or_an_anonymous_login_stays(text: str) -> None:
    """A key's prefix (shown to tell keys apart), an anonymous login and prose after `for bob is` stay."""
    assert redact_text(text) == text


def _refused_header_errors(value: object) -> list[str]:
    """The errors requests and http.client raise for a header value they refuse, as they print them."""
    requests = pytest.importorskip("requests")
    errors = []
    try:
        requests.Request("GET", "http://127.0.0.1:9/", headers={"X-Custom": value}).prepare()
    except requests.exceptions.InvalidHeader as exc:
        errors.append(f"requests.exceptions.InvalidHeader: {exc}")
    connection = http.client.HTTPConnection("127.0.0.1", 9)
    connection.putrequest("GET", "/")
    try:
        connection.putheader("X-Custom", value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        errors.append(f"ValueError: {exc}")
    return errors


@pytest.mark.parametrize(
    ("value", "secret", "kept"),
    [
        pytest.param("Bearer Tk9fP1E8lHaxyKoeyzg\n", "Tk9fP1E8lHaxyKoeyzg", "'Bearer ", id="bearer"),
        pytest.param("026607ceb036637134b2e8e5ae\n", "026607ceb036637134b2e8e5ae", "\\n'", id="hex"),
        pytest.param(" Kq8mN2pX4rT6vB9wC1dF", "Kq8mN2pX4rT6vB9wC1dF", "' ", id="leading-blank"),
        pytest.param("token Zq8LmN2pX4rT6vB9\r\n", "Zq8LmN2pX4rT6vB9", "'token ", id="scheme-crlf"),
        pytest.param(12345678901234567890, "12345678901234567890", "('X-Custom', ", id="not-a-string"),
    ],
)
def test_a_header_value_an_http_client_refused_is_hidden(value: object, secret: str, kept: str) -> None:
    """A header value requests or http.client refuses (a credential read with its line end) is printed
    in the error, which does not name the header: hidden, the scheme and the escapes kept."""
    errors = _refused_header_errors(value)
    assert errors
    for error in errors:
        assert_hidden(error, [secret], [kept])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("text/html; charset=utf-8\n", id="content-type"),
        pytest.param(" keep-alive", id="connection"),
        pytest.param("no-cache\r\n", id="cache-control"),
        pytest.param(42, id="content-length-number"),
    ],
)
def test_a_plain_header_value_an_http_client_refused_stays(value: object) -> None:
    """A refused header value that reads as a few plain words or a small number is no credential: kept."""
    errors = _refused_header_errors(value)
    assert errors
    for error in errors:
        assert redact_text(error) == error


def test_a_header_name_an_http_client_refused_stays() -> None:
    """A refused header's name (`in header name: 'Authorization\\n'`) is never a secret: the line stays."""
    text = (
        "requests.exceptions.InvalidHeader: Invalid leading whitespace, reserved character(s), or return "
        "character(s) in header name: 'Authorization\\n'"
    )
    assert redact_text(text) == text


class _Role(enum.Enum):
    ADMIN = "admin"


def _raised_trace(statement: Callable[[], object]) -> str:
    """The traceback `traceback` prints for the exception a statement raises."""
    try:
        statement()
    except Exception as exc:
        return "".join(traceback.format_exception(exc))
    raise AssertionError("the statement raised nothing")


_RAISED_SECRET = "correcthorse42"


def _int_of_api_token(api_token: str = _RAISED_SECRET) -> int:
    return int(api_token)


def _float_of_db_password(db_password: str = _RAISED_SECRET) -> float:
    return float(db_password)


def _role_of_secret(secret: str = _RAISED_SECRET) -> _Role:
    return _Role(secret)


def _address_of_auth_token(auth_token: str = _RAISED_SECRET) -> object:
    return ipaddress.ip_address(auth_token)


def _index_of_password(password: str = _RAISED_SECRET) -> int:
    return ["a", "b"].index(password)


def _attribute_of_api_key(api_key: str = _RAISED_SECRET) -> object:
    return getattr(math, api_key)


def _file_of_client_secret(client_secret: str = _RAISED_SECRET) -> object:
    return open(client_secret)  # (it raises: nothing is opened)


def _session_of_token(token: str = _RAISED_SECRET) -> object:
    sessions: dict[str, object] = {}
    return sessions[token]


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(_int_of_api_token, id="int"),
        pytest.param(_float_of_db_password, id="float"),
        pytest.param(_role_of_secret, id="enum-raised-in-the-library"),
        pytest.param(_address_of_auth_token, id="ipaddress-raised-in-the-library"),
        pytest.param(_index_of_password, id="list-index"),
        pytest.param(_attribute_of_api_key, id="getattr"),
        pytest.param(_file_of_client_secret, id="open"),
        pytest.param(_session_of_token, id="key-error"),
    ],
)
def test_a_value_a_raising_statement_passed_under_a_secret_name_is_hidden(
    statement: Callable[[], object],
) -> None:
    """An exception whose message quotes the value a statement passed under a secret's name (the
    program's innermost line, where a library raised) has that value hidden; the rest of it stays."""
    trace = _raised_trace(statement)
    assert _RAISED_SECRET in trace
    kept = trace.strip().splitlines()[-1].split(_RAISED_SECRET)[0]
    assert_hidden(trace, [_RAISED_SECRET], [kept])


def _int_of_port_text(port_text: str = "eighty") -> int:
    return int(port_text)


def _attribute_of_name(name: str = "sqrtx") -> object:
    return getattr(math, name)


def _sum_with_api_token(api_token: str = _RAISED_SECRET) -> object:
    return api_token + 5  # type: ignore[operator]


def _secret_from_the_environment() -> object:
    return os.environ["LOGLOOP_TEST_UNSET_API_TOKEN"]


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(_int_of_port_text, id="name-of-no-secret"),
        pytest.param(_attribute_of_name, id="getattr-of-no-secret"),
        pytest.param(_sum_with_api_token, id="type-names-only"),
        pytest.param(_secret_from_the_environment, id="key-error-of-a-literal-name"),
    ],
)
def test_a_raised_message_without_a_value_passed_under_a_secret_name_stays(
    statement: Callable[[], object],
) -> None:
    """A message quoting what no secret's name passed (`int(port_text)`), only a builtin's name
    (`(not "int")`) or the very name the statement wrote (`os.environ["X_API_TOKEN"]`) stays."""
    trace = _raised_trace(statement)
    assert redact_text(trace) == trace


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("SESSION_COOKIE_SAMESITE = 'Lax'", id="cookie-samesite"),
        pytest.param("SESSION_COOKIE_DOMAIN = '.example.com'", id="cookie-domain"),
        pytest.param("CSRF_COOKIE_HTTPONLY = False", id="cookie-httponly"),
        pytest.param("SESSION_ENGINE = 'django.contrib.sessions.backends.db'", id="session-engine"),
        pytest.param("session_driver=redis", id="session-driver"),
        pytest.param("pad_token_id: 0", id="vocabulary-token-id"),
        pytest.param("generate(max_new_tokens=256, eos_token_id=2, pad_token_id=0)", id="token-ids"),
        pytest.param("existingSecret: redis-auth", id="helm-existing-secret"),
        pytest.param("password_encryption = scram-sha-256", id="postgres-password-encryption"),
        pytest.param("mongodb://db/?authMechanism=SCRAM-SHA-256", id="auth-mechanism"),
        pytest.param("totp_digits: 6", id="totp-digits"),
        pytest.param("jwt_issuer: https://auth.example.com", id="jwt-issuer"),
        pytest.param("token_audience: api://default", id="token-audience"),
        pytest.param("secret_backend: vault", id="secret-backend"),
        pytest.param('"PasswordLastUsed": "2024-01-01T00:00:00Z"', id="password-last-used"),
    ],
)
def test_a_key_whose_last_word_describes_a_secret_keeps_its_value(text: str) -> None:
    """A key whose last word is an attribute of the secret (a cookie's SameSite, a token's issuer, a
    vocabulary token's id, how a password is encrypted, where a secret is kept) holds no secret."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("session_cookie: Kq8mN2pX4rT6vB9wC1dF", "Kq8mN2pX4rT6vB9wC1dF", id="session-cookie"),
        pytest.param('SESSION_COOKIE = "Zq8LmN2pX4rT6vB9"', "Zq8LmN2pX4rT6vB9", id="session-cookie-setting"),
        pytest.param("auth_cookie=Wd3fG5hJ7kL9zX1c", "Wd3fG5hJ7kL9zX1c", id="auth-cookie"),
        pytest.param("cookies: sid=Pq7rS9tU1vW3xY5z", "Pq7rS9tU1vW3xY5z", id="cookies"),
        pytest.param("session_token: Rt5yU7iO9pA1sD3f", "Rt5yU7iO9pA1sD3f", id="session-token"),
        pytest.param("jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Kq8mN2pX4rT6", "Kq8mN2pX4rT6", id="jwt"),
        pytest.param("secret: hunter2x", "hunter2x", id="secret"),
        pytest.param("existing_password: hunter2x", "hunter2x", id="existing-password"),
        pytest.param("session_id=Gh4jK6lZ8xC0vB2n", "Gh4jK6lZ8xC0vB2n", id="session-id"),
    ],
)
def test_a_key_that_holds_a_cookie_session_or_token_hides_its_value(text: str, secret: str) -> None:
    """Keys that hold the secret itself (`session_cookie`, `auth_cookie`, `session_token`, `jwt`,
    `existing_password`) still hide their values; a cookie key other than the header's own is read as any
    secret key, not left to the header rule that reads `Cookie:` alone."""
    assert_hidden(text, [secret], [re.split("[:=]", text)[0]])


def test_a_token_a_template_parser_expected_stays() -> None:
    """jinja2's (and so Ansible's) `expected token 'end of print statement', got 'y'` names a lexical
    token of the template, no secret: the error stays as jinja2 prints it."""
    jinja2 = pytest.importorskip("jinja2")
    for source in ("{{ x y }}", "{{ password | }}"):
        with pytest.raises(jinja2.TemplateSyntaxError) as raised:
            jinja2.Template(source)
        text = f"jinja2.exceptions.TemplateSyntaxError: {raised.value}"
        assert "expected token '" in text
        assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Uncaught SyntaxError: Unexpected token 'export'", id="javascript-keyword"),
        pytest.param('SyntaxError: Unexpected token "}" in JSON at position 12', id="json-brace"),
        pytest.param("Invalid token '=' at line 4", id="invalid-operator"),
        pytest.param("ParseError: unrecognized token 'end of input'", id="phrase"),
        pytest.param("401 Unauthorized: Missing Bearer token.", id="bearer-token-ending-a-sentence"),
    ],
)
def test_a_parsers_token_or_a_missing_bearer_token_stays(text: str) -> None:
    """A token a parser's diagnostic names (after `unexpected`, `invalid`, `expected`: a piece of source)
    and `Missing Bearer token.` (prose that a stop ends) hold no secret: the line stays."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param("token 'ghp_Kq8mN2pX4rT6vB9wC1dF3gH5jK7lZ9'", "Kq8mN2pX4rT6", "token '", id="github"),
        pytest.param("token: abc123XYZdef456", "abc123XYZdef456", "token: ", id="token-colon"),
        pytest.param("invalid token 'Kq8mN2pX4rT6vB9w'", "Kq8mN2pX4rT6vB9w", "invalid token '", id="refused"),
        pytest.param("unexpected token 'hunter2x!'", "hunter2x!", "unexpected token '", id="parser-word"),
        pytest.param("Missing Bearer Kq8mN2pX4.", "Kq8mN2pX4", "Missing Bearer ", id="bearer-stop"),
    ],
)
def test_a_credential_after_token_still_hides_after_a_parsers_word(text: str, secret: str, kept: str) -> None:
    """After `token` (even after a parser's word) a value that reads like a credential is still hidden."""
    assert_hidden(text, [secret], [kept])


def test_cryptographys_password_given_for_a_plain_key_stays() -> None:
    """cryptography's `Password was given but private key is not encrypted.` (an irregular participle
    after `was`) tells what was done with a password, none is told: the error stays."""
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(TypeError) as raised:
        serialization.load_pem_private_key(pem, password=b"x")
    text = f"TypeError: {raised.value}"
    assert "Password was given" in text
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        *(
            pytest.param(f"Password was {word} but the key is plain.", id=word)
            for word in ("found", "written", "taken")
        ),
        *(pytest.param(f"Password was {word}.", id=word) for word in ("kept", "stolen")),
        *(
            pytest.param(f"LDAP password {noun}", id=noun)
            for noun in ("error", "failure", "problem", "issue", "support", "bypass")
        ),
    ],
)
def test_prose_after_password_with_an_irregular_participle_or_a_noun_stays(text: str) -> None:
    """An irregular participle after `password was` (`found`, `stolen`) and a noun of what went wrong or
    is offered after `password` (`error`, `support`, `bypass`) make prose about a password: kept."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("the password was dragon", "dragon", id="was-a-word"),
        pytest.param("bad password letmein", "letmein", id="blank-a-word"),
        pytest.param("Password was kitten.", "kitten", id="was-a-word-then-stop"),
    ],
)
def test_a_plain_word_told_as_a_password_is_still_hidden(text: str, secret: str) -> None:
    """A plain word that is no participle nor a noun of trouble, told as a password, is still hidden."""
    assert_hidden(text, [secret], [text.split(secret)[0]])


_XML_SIBLINGS = [
    "<property><name>javax.jdo.option.ConnectionPassword</name><value>{s}</value></property>",
    "<property>\n  <name>fs.s3a.secret.key</name>\n  <value>{s}</value>\n</property>",
    "<dict>\n\t<key>Password</key>\n\t<string>{s}</string>\n</dict>",
    '<setting name="ApiKey" serializeAs="String">\n  <value>{s}</value>\n</setting>',
]


@pytest.mark.parametrize(
    "shape", _XML_SIBLINGS, ids=["hive-site", "core-site-multiline", "plist", "dotnet-settings"]
)
@pytest.mark.parametrize("secret", ["Hive2024pw!x", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE"])
def test_a_secret_in_an_xml_element_beside_its_name_is_hidden(shape: str, secret: str) -> None:
    """A value in an element of its own beside the element naming it (Hadoop's `<name>`/`<value>`, a
    property list's `<key>`/`<string>`) or under an element the name attribute names (.NET's settings)
    is hidden when the name is a secret's."""
    assert_hidden(shape.replace("{s}", secret), [secret], [shape.split("{s}")[0]])


@pytest.mark.parametrize(
    "text",
    [
        "<property><name>dfs.replication</name><value>3</value></property>",
        "<key>CFBundleName</key><string>MyApp</string>",
        "<property><name>hive.metastore.password.policy</name><value>strict</value></property>",
        "<key>PasswordLength</key><integer>12</integer>",
        '<setting name="TokenExpiry"><value>3600</value></setting>',
    ],
)
def test_an_xml_value_beside_an_ordinary_name_stays(text: str) -> None:
    """Values beside names that are not a secret's, or that describe one (a policy, a length, an
    expiry), stay as they are."""
    assert redact_text(text) == text


# --- a session's probe of unseen shapes (2026-12-07): told passwords, one-time links, hashing calls,
# JSON Patch pairs, a secret's change, env files' unquoted values ----------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "2024-05-01T10:00:00.000000Z 6 [Note] [MY-010454] [Server] A temporary password is generated"
            " for root@localhost: q#8Lm!vT2zaP",
            ["q#8Lm!vT2zaP"],
            ["[Server] A temporary password is generated for root@localhost:"],
            id="mysql-temporary-password",
        ),
        pytest.param(
            "Password has been reset for carol: Wq7-ploK2z",
            ["Wq7-ploK2z"],
            ["reset for carol:"],
            id="reset-told",
        ),
        pytest.param(
            "Password for the elastic user (reset with `bin/elasticsearch-reset-password -u elastic`):\n"
            "  h2*Vq_9LxkR+mZ\n\nHTTP CA certificate SHA-256 fingerprint:",
            ["h2*Vq_9LxkR+mZ"],
            ["(reset with `bin/elasticsearch-reset-password -u elastic`):\n", "fingerprint:"],
            id="elasticsearch-bootstrap-password",
        ),
        pytest.param(
            '10.0.0.7 - - "GET /accounts/reset/Mzk/d4k2z1-9f1e0c7b3a5d8e2f4c6b1a9d7e3f5c2b/ HTTP/1.1" 200',
            ["9f1e0c7b3a5d8e2f4c6b1a9d7e3f5c2b"],
            ['"GET /accounts/reset/Mzk/', '/ HTTP/1.1" 200'],
            id="django-reset-link",
        ),
        pytest.param(
            "mailed sign-in link https://id.example.org/login/magic/Zr8Kp2Qw9XvB4mNt7LcY1sHd to dan@x.org",
            ["Zr8Kp2Qw9XvB4mNt7LcY1sHd"],
            ["https://id.example.org/login/magic/", " to dan@x.org"],
            id="magic-link",
        ),
        pytest.param(
            "invitation sent: https://app.example.net/team/invitations/7c1d9e4b2a6f8c3e5d7b9a1c?src=mail",
            ["7c1d9e4b2a6f8c3e5d7b9a1c"],
            ["/team/invitations/", "?src=mail"],
            id="invitation-link-hex",
        ),
        pytest.param(
            "hashed = hashlib.pbkdf2_hmac('sha512', b'Pk9!derive', salt, 210_000)",
            ["Pk9!derive"],
            ["pbkdf2_hmac('sha512', b'", "', salt, 210_000)"],
            id="pbkdf2-positional",
        ),
        pytest.param(
            '    ok = bcrypt.checkpw("Bc7!check".encode(), stored)',
            ["Bc7!check"],
            ["stored)"],
            id="bcrypt-check",
        ),
        pytest.param(
            "    if not pwd_ctx.verify('Pl9#verify', row.hash):",
            ["Pl9#verify"],
            ["row.hash"],
            id="passlib-verify",
        ),
        pytest.param(
            "    archive.setpassword(b'Zp4%arch')",
            ["Zp4%arch"],
            ["archive.setpassword(b'"],
            id="zip-password",
        ),
        pytest.param(
            '[{"op": "test", "path": "/metadata/name", "value": "api"},'
            ' {"op": "replace", "path": "/data/admin_password", "value": "Jp6!patch"}]',
            ["Jp6!patch"],
            ['"value": "api"', '"path": "/data/admin_password"'],
            id="json-patch",
        ),
        pytest.param(
            '  ~ resource "aws_db_instance" "main" {\n      ~ password = "Tf1!before" -> "Tf2!after"\n'
            '      ~ instance_class = "db.t3.micro" -> "db.t3.small"',
            ["Tf1!before", "Tf2!after"],
            ['instance_class = "db.t3.micro" -> "db.t3.small"'],
            id="terraform-change",
        ),
        pytest.param(
            "audit: dan changed the api key from 'Ak1-old-9x' to 'Ak2-new-7y'",
            ["Ak1-old-9x", "Ak2-new-7y"],
            ["audit: dan changed the api key from '"],
            id="change-from-to",
        ),
        pytest.param(
            "export BACKUP_PASSPHRASE=seven blue lanterns drift # set by ops",
            ["seven", "lanterns", "drift"],
            ["export BACKUP_PASSPHRASE=", " # set by ops"],
            id="env-exported-passphrase",
        ),
        pytest.param(
            "HOME=/home/erin\nSMTP_PASSWORD=with spaces 42\nPWD=/home/erin/my project\nLANG=C.UTF-8",
            ["with spaces 42"],
            ["PWD=/home/erin/my project", "LANG=C.UTF-8"],
            id="env-dump",
        ),
    ],
)
def test_unseen_shapes_of_a_later_probe(text: str, secrets: list[str], kept: list[str]) -> None:
    """Secrets a probe of unseen shapes found standing are hidden, the text around them kept: a password a
    server tells it made (MySQL's, Elasticsearch's below an aside), a one-time link's token in a URL's
    path, a password hashed or checked by position, a JSON Patch operation's value under a secret path, a
    secret's change (both values), an env file's unquoted value with blanks."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Password changed for frank: success", id="change-outcome"),
        pytest.param("password reset for frank@example.com: expired", id="reset-outcome"),
        pytest.param("WARNING connection reset by peer while confirming order 42", id="reset-prose"),
        pytest.param('"GET /password-reset/done/ HTTP/1.1" 200', id="reset-page"),
        pytest.param('"GET /static/confirm/bundle.4f3a2b1c0d9e8f7a.js HTTP/1.1" 200', id="hashed-asset"),
        pytest.param('  ~ instance_type = "t2.micro" -> "t3.large"', id="other-change"),
        pytest.param("moved the file from 'inbox' to 'archive'", id="other-from-to"),
        pytest.param("PWD=/srv/app OLDPWD=/srv", id="working-directory"),
        pytest.param("hashlib.pbkdf2_hmac('sha256', password, salt, 600000)", id="hashing-a-variable"),
    ],
)
def test_texts_near_the_later_probes_shapes_stay(text: str) -> None:
    """Texts next to those shapes that hold no secret stay as they are: an outcome told after a change,
    `reset` in prose, pages and assets under a link's word, another attribute's change, a move, the working
    directory, a hashing call given a variable."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            '    page.fill("#password", "Pw7!fill")', ["Pw7!fill"], ['page.fill("#password", "'], id="fill"
        ),
        pytest.param(
            '    await page.locator("input[name=pass]").fill("Pw7!chained")',
            ["Pw7!chained"],
            ['page.locator("input[name=pass]").fill("'],
            id="locator-fill",
        ),
        pytest.param(
            '    driver.find_element(By.ID, "pwd").send_keys("Pw7!keys")',
            ["Pw7!keys"],
            ['find_element(By.ID, "pwd").send_keys("'],
            id="selenium-send-keys",
        ),
        pytest.param(
            "    page.get_by_label(\"Passwort\").type('Pw7!label', delay=50)",
            ["Pw7!label"],
            ['get_by_label("Passwort").type(\'', "delay=50"],
            id="label-type",
        ),
        pytest.param(
            "Traceback (most recent call last):\n"
            '  File "/home/ci/e2e/test_login.py", line 14, in test_login\n'
            '    page.fill(selector="//input[@id=\'user-password\']", value="Pw7!kw")\n'
            "playwright._impl._errors.TimeoutError: Page.fill: Timeout 30000ms exceeded.",
            ["Pw7!kw"],
            ["Page.fill: Timeout 30000ms exceeded.", "line 14, in test_login"],
            id="traceback-keywords",
        ),
        pytest.param(
            '    parser.set("smtp", "pass", "Sm7!pass")',
            ["Sm7!pass"],
            ['parser.set("smtp", "pass", "'],
            id="set-pass",
        ),
    ],
)
def test_a_secret_typed_into_a_field_a_selector_names(text: str, secrets: list[str], kept: list[str]) -> None:
    """What a browser or UI driver types into a field whose selector, name or label names a secret is hidden,
    whether the selector is in the same call or the one it is chained to, and a setter's value after a name
    that is a secret only as a key (`pass`) when it looks like one; the call stays readable."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('    page.fill("#username", "alice")', id="user-field"),
        pytest.param(
            '    driver.find_element(By.NAME, "q").send_keys("password manager reviews")', id="search"
        ),
        pytest.param('    page.get_by_label("Password").fill(password)', id="a-variable"),
        pytest.param('    page.locator("#forgot-password").click(); box.type("hello")', id="other-statement"),
        pytest.param('    kind = field.type("text")', id="another-type-call"),
        pytest.param('    cfg.set("ui", "key", "F5")', id="setter-weak-name-plain-value"),
    ],
)
def test_texts_typed_elsewhere_stay(text: str) -> None:
    """Text typed into a field that names no secret, a variable typed into a password field, a typing call
    after another statement that named one, and a plain value set under a weak name stay as they are."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "log in with admin:Pr7!console to the console",
            ["Pr7!console"],
            ["log in with admin:"],
            id="log-in-with",
        ),
        pytest.param(
            "default credentials are root:toorish", ["toorish"], ["are root:"], id="credentials-are"
        ),
        pytest.param(
            "ERROR ssh auth failed for deploy:Pr7ssh99 on 10.0.0.4",
            ["Pr7ssh99"],
            ["for deploy:", " on 10.0.0.4"],
            id="auth-failed-for",
        ),
        pytest.param(
            "Signed in to the registry as ci:Pr7-registry.",
            ["Pr7-registry"],
            ["as ci:", "."],
            id="sentence-end",
        ),
    ],
)
def test_a_user_and_password_in_prose_after_a_sign_in_word(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """`user:password` standing as a word after a sign-in or credentials word is hidden, its user and the
    sentence's full stop kept."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("authentication failed for scope repo:status", id="scope-after-auth"),
        pytest.param("Auth successful for job_1445144423722_0020 (auth:SIMPLE)", id="hadoop-auth-method"),
        pytest.param("login at 10.0.0.4:5432 as app", id="host-and-port"),
        pytest.param("logged in at 12:30:45 as bob", id="time"),
        pytest.param("Login page served by web:8080", id="service-port"),
        pytest.param("auth service reachable at auth.internal:443.", id="port-at-sentence-end"),
    ],
)
def test_pairs_near_a_sign_in_word_that_are_not_credentials_stay(text: str) -> None:
    """A scope, an authentication method, a host's port and a time near a sign-in word stay as they are."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            '    password = settings.get("password") or "Fb7!or"',
            ["Fb7!or"],
            ['settings.get("password") or "'],
            id="or-fallback",
        ),
        pytest.param(
            "    token = config.get('api', 'token', fallback='Fb7!fallback')",
            ["Fb7!fallback"],
            ["config.get('api', 'token', fallback='"],
            id="fallback-keyword",
        ),
        pytest.param(
            '    db_password = getattr(settings, "DB_PASSWORD", "Fb7!getattr")',
            ["Fb7!getattr"],
            ['getattr(settings, "DB_PASSWORD", "'],
            id="lookup-default",
        ),
        pytest.param(
            '    password: str = "Fb7!annotated"', ["Fb7!annotated"], ["password: str = "], id="annotated"
        ),
        pytest.param(
            '    secret_key: str = Field(default="Fb7!field")',
            ["Fb7!field"],
            ["Field(default="],
            id="field-default",
        ),
        pytest.param(
            '    connect(host="db", password=os.getenv("PW") or "Fb7!kwarg", port=5432)',
            ["Fb7!kwarg"],
            ['host="db"', "port=5432"],
            id="keyword-argument",
        ),
        pytest.param(
            '    token = "Fb7!a" if debug else "Fb7!b"', ["Fb7!a", "Fb7!b"], [" if debug else "], id="ternary"
        ),
    ],
)
def test_a_literal_a_secrets_expression_falls_back_on(text: str, secrets: list[str], kept: list[str]) -> None:
    """In a traceback's source line, the string literal a secret's assignment, annotation or keyword argument
    falls back on (after `or`, `else`, a default or fallback keyword, a lookup's last argument, a type) is
    hidden; the names it looks up stay."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('    password = config.get("db", "password")', id="lookup-of-a-name"),
        pytest.param('    token_type = payload.get("type") or "bearer"', id="not-a-secret-name"),
        pytest.param('    password = os.environ.get("DB_PASSWORD", "")', id="empty-default"),
        pytest.param("    password: Optional[str] = None", id="no-literal"),
        pytest.param('    if password == "" or token != "none":', id="comparisons"),
    ],
)
def test_expressions_without_a_secret_literal_stay(text: str) -> None:
    """A secret looked up by name, another name's fallback, an empty default, a bare annotation and
    comparisons stay as they are."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("password:            Wp7!columns", ["Wp7!columns"], ["password:"], id="aligned-colon"),
        pytest.param(
            "      DB_PASSWORD:                        Wp7!describe",
            ["Wp7!describe"],
            ["DB_PASSWORD:"],
            id="kubectl",
        ),
        pytest.param(
            "password            =            Wp7!ini", ["Wp7!ini"], ["password"], id="aligned-equals"
        ),
        pytest.param("::add-mask::Am7maskedValue", ["Am7maskedValue"], ["::add-mask::"], id="add-mask"),
        pytest.param(
            '$1 = {user = 0x5555555592c0 "alice", password = 0x5555555592e0 "Gd7!pointer", port = 5432}',
            ["Gd7!pointer"],
            ['"alice"', "port = 5432"],
            id="gdb-pointer",
        ),
        pytest.param(
            "DB_PASSWORD=Nu7!environ\0HOME=/root\0PATH=/usr/bin",
            ["Nu7!environ"],
            ["\0HOME=/root\0PATH=/usr/bin"],
            id="nul-separated-environ",
        ),
        pytest.param(
            "curl\0-H\0Authorization: Bearer Nu7tokenAbc123\0https://api.example.com/",
            ["Nu7tokenAbc123"],
            ["curl\0-H\0Authorization: Bearer ", "\0https://api.example.com/"],
            id="nul-separated-cmdline",
        ),
    ],
)
def test_values_after_wide_gaps_masks_pointers_and_nuls(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """A value aligned in a column far from its key, a value GitHub Actions was told to mask, the string a
    debugger's pointer shows, and a value in NUL-separated fields are hidden; no field after it is lost."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Token:                 <none>", id="aligned-none"),
        pytest.param('Run echo "::add-mask::$TOKEN"', id="add-mask-of-a-variable"),
        pytest.param("HOME=/root\0PATH=/usr/bin\0LANG=C.UTF-8", id="nul-separated-plain"),
    ],
)
def test_near_wide_gaps_masks_and_nuls_stay(text: str) -> None:
    """An aligned empty value, a mask command naming a variable and plain NUL-separated fields stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "aws ssm put-parameter --name /prod/db/password --value Vf7!ssm --type SecureString",
            ["Vf7!ssm"],
            ["--name /prod/db/password --value ", " --type SecureString"],
            id="value-under-a-secret-name",
        ),
        pytest.param(
            "az keyvault secret set --vault-name kv --name db-password --value Vf7!vault",
            ["Vf7!vault"],
            ["--name db-password --value "],
            id="keyvault",
        ),
        pytest.param(
            "gh secret set DEPLOY_KEY --body Vf7bodyValue",
            ["Vf7bodyValue"],
            ["gh secret set DEPLOY_KEY"],
            id="gh",
        ),
        pytest.param(
            "grafana cli admin reset-admin-password Sc7!reset",
            ["Sc7!reset"],
            ["reset-admin-password "],
            id="reset-verb",
        ),
        pytest.param(
            "ngrok config add-authtoken 2bXq8cY9dZ0aB1cD2eF3gH4iJ5k_6LmN7oP8",
            ["2bXq8cY9dZ0aB1cD2eF3gH4iJ5k_6LmN7oP8"],
            ["add-authtoken "],
            id="authtoken-verb",
        ),
        pytest.param(
            "docker swarm join --token SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl"
            "-1awxwuwd3z9j1z3puu7rcg 10.0.0.1:2377",
            ["SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl"],
            [" 10.0.0.1:2377"],
            id="swarm-join-token",
        ),
        pytest.param(
            "heroku: using HRKU-AAG6Gohr6_Z5W1YrIGsHxhnExr9-xDeSmezXMCcTS1JRZ8PWWpj now",
            ["HRKU-AAG6Gohr6_Z5W1YrIGsHxhnExr9-xDeSmezXMCcTS1JRZ8PWWpj"],
            ["heroku: using ", " now"],
            id="heroku-key",
        ),
        pytest.param(
            "src: sgp_ac88f1cff9727543efd6b8ee885b47599435bdb7 accepted",
            ["sgp_ac88f1cff9727543efd6b8ee885b47599435bdb7"],
            [" accepted"],
            id="sourcegraph-token",
        ),
        pytest.param(
            "license 02027fee5909d9bacf5426793dd132309b2aNRAL set",
            ["02027fee5909d9bacf5426793dd132309b2aNRAL"],
            ["license ", " set"],
            id="new-relic-license",
        ),
    ],
)
def test_values_a_command_stores_as_secrets_and_more_token_formats(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """A value a command stores under a name that names a secret (or as a secret), a subcommand's value
    when the subcommand is named for the secret it sets, and four more services' token formats are hidden."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("aws ssm put-parameter --name /prod/app/region --value eu-west-1", id="plain-parameter"),
        pytest.param("see the self-service-password reset page", id="prose-after-a-hyphenated-word"),
        pytest.param("flag --value 12 for the forgot-password flow", id="value-flag-elsewhere"),
    ],
)
def test_values_stored_under_plain_names_stay(text: str) -> None:
    """A value stored under a name that names no secret, and prose after a hyphenated secret word, stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("**Password:** Lb7!markdown", ["Lb7!markdown"], ["**Password:** "], id="markdown-bold"),
        pytest.param(
            "- **API key:** `Lb7keyInCode99`", ["Lb7keyInCode99"], ["- **API key:** `"], id="markdown-code"
        ),
        pytest.param(
            "password (temporary): Lb7!temporary", ["Lb7!temporary"], ["(temporary): "], id="parenthesis"
        ),
        pytest.param(
            "Recovery Key 1: Lr0sK8mQ2vW9xZ4tY7uI1oP3aS5dF6gH8jK0lQ2wE3r",
            ["Lr0sK8mQ2vW9xZ4tY7uI1oP3aS5dF6gH8jK0lQ2wE3r"],
            ["Recovery Key 1: "],
            id="numbered",
        ),
        pytest.param(
            "Secret ID = 9184ec35-65d4-9258-61e3-0c066d0a45c5",
            ["9184ec35-65d4-9258-61e3-0c066d0a45c5"],
            ["Secret ID = "],
            id="two-word-label",
        ),
        pytest.param(
            "PASSWORD elastic = Lb7sticGenPw8Vn3Tc1Hj",
            ["Lb7sticGenPw8Vn3Tc1Hj"],
            ["PASSWORD elastic = "],
            id="user",
        ),
    ],
)
def test_a_secret_a_label_names_with_more_than_a_key(text: str, secrets: list[str], kept: list[str]) -> None:
    """A value alone on its line after a label that names a secret with more than one key word between it
    and its separator (Markdown's emphasis, a parenthesis, a number, a second word) is hidden."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("**Status:** running", id="other-label"),
        pytest.param("password reset: done", id="status"),
        pytest.param("Sort Key 1: user_id", id="numbered-plain-name"),
        pytest.param("Password policy (minimum length): 12", id="policy"),
        pytest.param("Token type: Bearer", id="token-type"),
    ],
)
def test_labels_near_a_secrets_name_that_hold_none_stay(text: str) -> None:
    """Labels of other things, a status, a numbered plain name, a policy and a token's type stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "ABLY_KEY=xVLyHw.DQrNxQ:5tk3v2zPeXhA9Fb0mKq4LpRs7Wc1YdEg",
            ["5tk3v2zPeXhA9Fb0mKq4LpRs7Wc1YdEg"],
            ["ABLY_KEY="],
            id="env-app-id-and-secret",
        ),
        pytest.param(
            "new Realtime({ key: 'Qw3rTy.Zx9Lm2:Pk7sN4vB8cX1zL5mQ9wE3rT6' })",
            ["Pk7sN4vB8cX1zL5mQ9wE3rT6"],
            ["new Realtime({ key: '"],
            id="code-option",
        ),
        pytest.param(
            "MEDIA_KEY=884412907351226:Hq8Wz3Lm5Nx1Pr7Tv2Ky9Cb4",
            ["Hq8Wz3Lm5Nx1Pr7Tv2Ky9Cb4"],
            ["MEDIA_KEY="],
            id="numeric-id",
        ),
        pytest.param(
            "MFA_SEED=JBSWY3DPEHPK3PXPJBSWY3DP",
            ["JBSWY3DPEHPK3PXPJBSWY3DP"],
            ["MFA_SEED="],
            id="authenticator-seed",
        ),
        pytest.param(
            '{"user": "ana", "totp_seed": "GEZDGNBVGY3TQOJQGEZDGNBVGY"}',
            ["GEZDGNBVGY3TQOJQGEZDGNBVGY"],
            ['{"user": "ana", "totp_seed": "'],
            id="json-seed",
        ),
    ],
)
def test_an_id_and_secret_pair_under_a_weak_key_and_an_authenticator_seed_are_hidden(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """A key id and a random-looking secret joined by a colon under a weak name (`KEY=id:secret`), and the
    seed an authenticator's one-time codes come from, are hidden."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("cache miss for key=user:42", id="id"),
        pytest.param("cache miss for key=user:9f8e7d6c5b4a39281706f5e4d3c2b1a0", id="hex-digest"),
        pytest.param("key=orders:2026-12-05:retry", id="name-parts"),
        pytest.param("session: web:checkoutflowvariant", id="lower-words"),
        pytest.param("random seed=42 for the shuffle", id="random-seed"),
        pytest.param("seeded 120 rows into users", id="seeding"),
    ],
)
def test_colon_joined_ids_and_random_seeds_stay(text: str) -> None:
    """Cache keys of an id, a digest or lower-case words after a colon, and a random seed stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "Name                           Value\n"
            "----                           -----\n"
            "GITLAB_TOKEN                   gci3nvT0kenV4lue7788\n"
            "PATH                           C:\\Windows\\system32",
            ["gci3nvT0kenV4lue7788"],
            ["GITLAB_TOKEN", "C:\\Windows\\system32"],
            id="powershell-env",
        ),
        pytest.param(
            "Key                   Value\n---                   -----\n"
            "secret_id             7e5a0a2c-9b1d-4f3e-8a6c-2d4b6f8a0c1e\nsecret_id_ttl         0s",
            ["7e5a0a2c-9b1d-4f3e-8a6c-2d4b6f8a0c1e"],
            ["secret_id_ttl         0s"],
            id="vault-table",
        ),
        pytest.param("  db_password\t\tRw7!kLm2Qx", ["Rw7!kLm2Qx"], ["  db_password\t\t"], id="tabs"),
    ],
)
def test_a_secret_in_a_two_column_listing_is_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """A value in the second column of a row whose first names a secret (PowerShell's environment listing,
    Vault's key/value table, a tab-aligned dump) is hidden; the other rows stay."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("password    reset", id="status"),
        pytest.param(
            "NAME             TYPE     DATA   AGE\ndb-password      Opaque   1      5d", id="more-columns"
        ),
        pytest.param("token_type   service", id="token-type"),
        pytest.param("max_tokens          4096", id="count"),
        pytest.param("session_timeout     3600s", id="duration"),
    ],
)
def test_two_column_rows_that_hold_no_secret_stay(text: str) -> None:
    """A status after a secret's name, a row of more columns, a token's type, a count and a duration stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "curl -E client.pem:Cert!Pass99 https://mtls.acme.com/",
            ["Cert!Pass99"],
            ["curl -E client.pem:"],
            id="curl-E",
        ),
        pytest.param(
            "curl --proxy-cert=/etc/ssl/proxy.p12:Pr0xyCert!Pw -x http://proxy:3128 https://api.acme.com/",
            ["Pr0xyCert!Pw"],
            ["--proxy-cert=/etc/ssl/proxy.p12:", "-x http://proxy:3128"],
            id="curl-proxy-cert",
        ),
        pytest.param(
            "mkpasswd -m sha-512 Mkp4sswd!Pw", ["Mkp4sswd!Pw"], ["mkpasswd -m sha-512 "], id="mkpasswd"
        ),
        pytest.param(
            "mkpasswd --method=yescrypt Hunter2Pw saltsalt",
            ["Hunter2Pw"],
            ["--method=yescrypt "],
            id="mkpasswd-salt",
        ),
    ],
)
def test_a_password_curls_certificate_or_mkpasswd_takes_is_hidden(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """The password after a client certificate's file (`curl -E cert:X`) and the password mkpasswd hashes
    (its first positional, past the options that take a value) are hidden."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("curl -E client.pem https://mtls.acme.com/", id="certificate-alone"),
        pytest.param('grep -E "^user:admin" /etc/group', id="grep-E"),
        pytest.param("mkpasswd -m sha-512 -s < pw.txt", id="mkpasswd-stdin"),
        pytest.param("mkpasswd -m help", id="mkpasswd-methods"),
    ],
)
def test_certificates_without_a_password_and_mkpasswd_reading_stdin_stay(text: str) -> None:
    """A certificate named alone, grep's `-E` pattern, mkpasswd reading its password from standard input
    or listing its methods stay."""
    assert redact_text(text) == text


def test_the_user_a_password_label_names_stays_and_its_value_is_hidden() -> None:
    """`elasticsearch-setup-passwords`' output (`Changed password for user x` then `PASSWORD x = pw`):
    the user's name in the label stays, read neither as a password after `PASSWORD` nor after `user`."""
    assert_hidden(
        "Changed password for user kibana_system\nPASSWORD kibana_system = Kb9sysGenPw4Xq2Lz7Rm\n"
        "Changed password for user apm_system\nPASSWORD apm_system = Ap8sysGenPw3Wq1Ky6Qn",
        ["Kb9sysGenPw4Xq2Lz7Rm", "Ap8sysGenPw3Wq1Ky6Qn"],
        ["PASSWORD kibana_system = ", "PASSWORD apm_system = ", "for user apm_system\n"],
    )


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            '1733581200.512345 [0 10.0.0.7:52422] "CONFIG" "SET" "requirepass" "Rq9!monitorPw"',
            ["Rq9!monitorPw"],
            ['"CONFIG" "SET" "requirepass" "'],
            id="redis-monitor",
        ),
        pytest.param(
            '127.0.0.1:6379> CONFIG GET *\n 1) "dbfilename"\n 2) "dump.rdb"\n'
            ' 3) "masterauth"\n 4) "M4ster!Auth"',
            ["M4ster!Auth"],
            ['2) "dump.rdb"', '3) "masterauth"'],
            id="redis-config-get",
        ),
        pytest.param(
            '127.0.0.1:6379> HGETALL user:42\n1) "name"\n2) "alice"\n'
            '3) "api_token"\n4) "tk_9f8e7d6c5b4a3210"',
            ["tk_9f8e7d6c5b4a3210"],
            ['2) "alice"', '3) "api_token"'],
            id="redis-hgetall",
        ),
        pytest.param(
            "db_passwords:\n  - Yl1st!First\n  - 'Yl1st!Second'  # rotated\n",
            ["Yl1st!First", "Yl1st!Second"],
            ["db_passwords:\n  - ", "  # rotated"],
            id="yaml-list",
        ),
        pytest.param(
            "replication:\n  api_keys:\n  - sk9Zq7Lm2Xp4Wn8Rt6Yv\n  mode: push\n",
            ["sk9Zq7Lm2Xp4Wn8Rt6Yv"],
            ["mode: push"],
            id="yaml-list-at-the-keys-indent",
        ),
    ],
)
def test_a_secret_given_apart_from_its_name_is_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """A secret whose name stands in an item of its own: Redis's MONITOR quoting each argument, redis-cli's
    numbered array replies (CONFIG GET, HGETALL: the name an odd item, the value the next), a YAML
    sequence under a secret's key."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('"CONFIG" "SET" "maxmemory" "100mb"', id="redis-setting"),
        pytest.param('1) "maxmemory"\n2) "0"', id="redis-reply"),
        pytest.param('1) "requirepass"\n3) "x"', id="redis-items-apart"),
        pytest.param(
            "services:\n  web:\n    secrets:\n      - db_password\n      - api_token\n", id="compose-names"
        ),
        pytest.param("password_policies:\n  - min_length\n", id="policy-names"),
        pytest.param("api_keys:\n  - name: ci\n    scopes: [read]\n", id="yaml-mappings"),
        pytest.param(
            "aws ecr get-login-password | docker login --username AWS --password-stdin 1234.dkr.ecr.aws.com",
            id="password-stdin",
        ),
        pytest.param("borg init --password-fd 3 /srv/repo", id="password-fd"),
    ],
)
def test_names_settings_and_where_a_password_is_read_from_stay(text: str) -> None:
    """A setting that is no secret, items that are not a name and its value, a list of secrets' names
    (Docker Compose's `secrets:`), mappings in a list, and the option that says where a command reads
    its password (`--password-stdin` takes no value: the registry after it is no password) stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            'Traceback (most recent call last):\n  File "bot.py", line 9, in <module>\n'
            '    client.run("OTk4NzY1NDMyMTA5ODc2NTQz.Gx_y-z.AbCdEfGhIjKlMnOpQrStUvWxYz0123456")\n'
            "discord.errors.LoginFailure: Improper token has been passed.",
            ["OTk4NzY1NDMyMTA5ODc2NTQz.Gx_y-z.AbCdEfGhIjKlMnOpQrStUvWxYz0123456"],
            ["client.run(", "LoginFailure"],
            id="discord-bot-token",
        ),
        pytest.param(
            "  $db_password = Sensitive('Pupp3t!Sens')",
            ["Pupp3t!Sens"],
            ["$db_password = Sensitive('"],
            id="puppet",
        ),
        pytest.param(
            '  password: {{ .Values.auth.adminPassword | default "Helm!Def4ult" | b64enc | quote }}',
            ["Helm!Def4ult"],
            ['.Values.auth.adminPassword | default "', '" | b64enc'],
            id="helm-default",
        ),
        pytest.param(
            "{{ db_password | default('J1nja!Def') }}",
            ["J1nja!Def"],
            ["db_password | default('"],
            id="jinja-default",
        ),
        pytest.param(
            'Error: template: app/templates/secret.yaml:7:22: executing "app/templates/secret.yaml" at'
            ' <default "Helm!Err0r" .Values.apiToken>: error calling default',
            ["Helm!Err0r"],
            ["<default ", " .Values.apiToken>"],
            id="helm-error",
        ),
        pytest.param(
            "secretsdump.py corp.local/alice:Imp4cket!Pw@10.0.0.5",
            ["Imp4cket!Pw"],
            ["corp.local/alice:", "@10.0.0.5"],
            id="domain-user-password-target",
        ),
        pytest.param(
            '  File "/srv/app/auth.py", line 12, in check\n    if password == "C0mpared!Pw":',
            ["C0mpared!Pw"],
            ["if password == "],
            id="compared-in-source",
        ),
        pytest.param(
            "    if 'Rev3rsed!Tok' != settings.API_TOKEN:",
            ["Rev3rsed!Tok"],
            ["!= settings.API_TOKEN"],
            id="compared-reversed",
        ),
        pytest.param(
            "http GET api.example.com/items api_key==H77pie!Key page==2",
            ["H77pie!Key"],
            ["api_key==", "page==2"],
            id="httpie-query-item",
        ),
    ],
)
def test_a_secret_in_a_call_a_template_a_target_or_a_comparison_is_hidden(
    text: str, secrets: list[str], kept: list[str]
) -> None:
    """A Discord bot's token (its first part the base64 of a user id), Puppet's `Sensitive('x')`, a
    template's default for a secret's path (Helm, Jinja, Helm's error quoting it), a password in an
    impacket-style `domain/user:pw@host` target, a literal a secret's name is compared with, httpie's
    `key==value` query item."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '"MTIzNDU2Nzg5MGFiY2RlZmdoaWo.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab" token',
            id="not-an-id",
        ),
        pytest.param('{{ .Values.replicas | default "3" }}', id="default-of-no-secret"),
        pytest.param('{{ .Values.existingSecret | default "app-secrets" }}', id="secret-name-default"),
        pytest.param('    if token_type == "bearer":', id="token-type"),
        pytest.param('    if auth_method == "password":', id="method-compared"),
        pytest.param("    if password == confirm_password:", id="compared-names"),
        pytest.param("see github.com/org/repo:main@abc123 for details", id="repository-ref"),
        pytest.param("x = Sensitive(value)", id="sensitive-name"),
    ],
)
def test_defaults_comparisons_and_refs_that_hold_no_secret_stay(text: str) -> None:
    """A dotted token whose first part is no user id, a default for a path that names no secret or a
    secret's name, a comparison of a type, a method or two names, a repository's ref and a wrapper given a
    name stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            "$ argocd admin initial-password -n argocd\nArg0Init!Pw\n\n This password must be only used for"
            " first time login.",
            "Arg0Init!Pw",
            "This password must be only used",
            id="argocd",
        ),
        pytest.param(
            "$ cat /var/jenkins_home/secrets/initialAdminPassword\n8f2c4c5e6a3b4d1e9f7a6b5c4d3e2f1a",
            "8f2c4c5e6a3b4d1e9f7a6b5c4d3e2f1a",
            "initialAdminPassword\n",
            id="jenkins-file",
        ),
        pytest.param(
            "+ kubectl get secret db -o jsonpath='{.data.password}' | base64 --decode\n"
            "Kub3Decoded!Pw\n+ echo done",
            "Kub3Decoded!Pw",
            "+ echo done",
            id="kubectl-base64",
        ),
        pytest.param(
            "$ vault kv get -field=password secret/db\nV4ultField!Pw",
            "V4ultField!Pw",
            "-field=",
            id="vault-field",
        ),
        pytest.param(
            "ci@runner:~/app$ aws ecr get-login-password --region eu-west-1\n"
            "eyJwYXlsb2FkIjoiQWJDZEVmR2hJaiJ9",
            "eyJwYXlsb2FkIjoiQWJDZEVmR2hJaiJ9",
            "get-login-password --region eu-west-1\n",
            id="ecr-login-password",
        ),
        pytest.param(
            "$ security find-generic-password -s github -w\nKeych4in!Pw",
            "Keych4in!Pw",
            "-s github -w",
            id="keychain",
        ),
        pytest.param(
            "$ openssl rand -hex 32\n9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "openssl rand -hex 32",
            id="openssl-rand",
        ),
    ],
)
def test_what_a_command_printing_a_secret_printed_is_hidden(text: str, secret: str, kept: str) -> None:
    """The word a command that prints a secret printed on the next line of a transcript (an initial
    password, a decoded Kubernetes Secret, a Vault field, a registry's login password, a keychain's
    lookup, a generated key, a secret file `cat` showed)."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "$ pass show missing\nError: missing is not in the password store.", id="error-in-words"
        ),
        pytest.param("$ cat README.md\nHello", id="cat-of-another-file"),
        pytest.param("$ kubectl get secrets\nNAME   TYPE   DATA   AGE", id="secrets-listed"),
        pytest.param("Step 3/9 : RUN cat /run/secrets/npm_token\n ---> Running in 5f2a9c", id="docker-step"),
        pytest.param("$ vault kv get -field=password secret/db\n$ echo next", id="no-output"),
        pytest.param("pass 1 of 3 finished\nDone.", id="prose-pass"),
    ],
)
def test_commands_that_print_no_secret_or_print_words_stay(text: str) -> None:
    """An error in words after a lookup, `cat` of a file not named for a secret, a listing of secrets'
    names, a build step that only names the command, a next line that is another command, and prose
    that begins with `pass` (no prompt before it) stay."""
    assert redact_text(text) == text
