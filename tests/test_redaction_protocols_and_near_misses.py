"""The tenth redaction sweep's classes: secrets in protocol messages and words the rules did not read
(SASL PLAIN's NUL-separated password, a wallet's recovery words, more languages' words for a password,
a dotted Google token, a Stripe client secret, a PKCS#12 bundle in base64, a value continued on the next
line), and the ordinary texts close to secrets that must stay (a message about auth read as a Redis
AUTH line, prose after a `password for user:` prompt, a listing's cursor named `NextToken`, a file's
base64, a Secret object's quoted name)."""

# ruff: noqa: E501  (tables of cases: each text stays on its line, as written)
from __future__ import annotations

import logging

import pytest
from helpers.redacted import assert_hidden

from shipper import redaction
from shipper.formatter import EcsFormatter
from shipper.redaction import REDACTED, redact_text


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "sending SASL PLAIN: b'\\x00kafka-user\\x00S4sl!Plain'",
            ["S4sl!Plain"],
            ["kafka-user"],
            id="bytes-repr",
        ),
        pytest.param("b'admin\\x00bob\\x00pw12345'", ["pw12345"], ["admin", "bob"], id="with-authzid"),
        pytest.param('{"frame": "\\u0000svc\\u0000Js0n!Pw"}', ["Js0n!Pw"], ["svc"], id="json-escaped"),
        pytest.param(
            "auth payload \x00bob\x00Real!Nul sent", ["Real!Nul"], ["bob", "sent"], id="nul-characters"
        ),
        pytest.param("b'\\x00bob\\x00pw9x\\r\\n'", ["pw9x"], ["bob"], id="before-crlf"),
    ],
)
def test_a_sasl_plain_message_loses_its_password(text: str, secrets: list[str], kept: list[str]) -> None:
    """The password after the second NUL of a SASL PLAIN message (bytes repr, JSON escape or the NULs
    themselves) is hidden, the user names stay."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "startup b'\\x00\\x03\\x00\\x00user\\x00app\\x00database\\x00main\\x00\\x00'",
            id="postgres-startup",
        ),
        pytest.param("b'\\x00\\x00\\x00\\x01'", id="binary"),
        pytest.param("data b'\\x00\\x01abc\\x00'", id="escapes"),
    ],
)
def test_nul_separated_names_that_end_no_sasl_message_stay(text: str) -> None:
    """NUL-separated names followed by another NUL (a startup packet's) and binary bytes stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "recovery phrase: zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
            id="prose-label",
        ),
        pytest.param(
            '{"mnemonic": "legal winner thank year wave sausage worth useful legal winner thank yellow"}',
            "legal winner thank year wave sausage",
            id="json-key",
        ),
        pytest.param(
            'WALLET_MNEMONIC="abandon ability able about above absent absorb abstract absurd abuse access accident"',
            "abandon ability able",
            id="env",
        ),
        pytest.param(
            "seed_phrase = letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
            "letter advice cage absurd",
            id="setting",
        ),
    ],
)
def test_a_wallets_recovery_words_are_hidden(text: str, secret: str) -> None:
    """12 to 24 recovery words under a name for them (`recovery phrase`, `mnemonic`) are hidden."""
    assert_hidden(text, [secret], [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("mnemonic: MOV", id="disassembler"),
        pytest.param("the seed phrase is stored offline", id="prose"),
        pytest.param("recovery phrase: shown once", id="status"),
    ],
)
def test_words_about_recovery_phrases_stay(text: str) -> None:
    """An instruction's mnemonic and prose about a recovery phrase stay."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("парола: Bg!Parola9", "Bg!Parola9", id="bulgarian"),
        pytest.param("лозинка=Sr!Lozinka9", "Sr!Lozinka9", id="serbian"),
        pytest.param("συνθηματικό: Gr!Pw2026", "Gr!Pw2026", id="greek"),
        pytest.param("رمز عبور: Fa!Ramz99", "Fa!Ramz99", id="persian"),
        pytest.param("palavra-passe: Pt!Passe9", "Pt!Passe9", id="portuguese"),
        pytest.param('{"clave": "Es!Clave99", "usuario": "ana"}', "Es!Clave99", id="spanish-json-key"),
    ],
)
def test_a_password_named_in_more_languages_is_hidden(text: str, secret: str) -> None:
    """A password named in Bulgarian, Serbian, Greek, Persian, Portuguese or as Spanish's `clave` key."""
    assert_hidden(text, [secret], [])


def test_spanish_clave_before_a_name_stays() -> None:
    """Spanish's `clave` is any key too: in text, a name under it stays."""
    assert redact_text("clave: usuario_id") == "clave: usuario_id"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "$ gcloud auth print-access-token\nya29.c.b0Aaekm1KQ8mL2pZ7vK9xR4nW1yT6bC3dF5hJ",
            "ya29.c.b0Aaekm1KQ8mL2pZ7vK9xR4nW1yT6bC3dF5hJ",
            id="google-dotted-token",
        ),
        pytest.param(
            "confirming pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
            "YrKJUKribcBjcG8HVhfZluoGH",
            id="stripe-client-secret",
        ),
        pytest.param(
            "AZURE_CLIENT_CERTIFICATE=MIIKYQIBAzCCCicGCSqGSIb3DQEHAaCCChgEggoUMIIKEDCCBMcGCSqGSIb3DQEHBqCCBLgwggS0AgEAMIIErQYJKoZIhvcNAQcB",
            "MIIKYQIBAzCCCicGCSqGSIb3DQEHAaCCChgEggoU",
            id="pkcs12-base64",
        ),
    ],
)
def test_token_formats_and_key_bundles_are_hidden_wherever_they_stand(text: str, secret: str) -> None:
    """A service account's dotted Google token, a Stripe client secret and a PKCS#12 bundle in base64."""
    assert_hidden(text, [secret], [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("auth timeout", id="auth-timeout"),
        pytest.param("auth middleware", id="auth-middleware"),
        pytest.param("auth cache", id="auth-cache"),
        pytest.param("auth google", id="auth-provider"),
        pytest.param("auth module loaded", id="auth-two-words"),
    ],
)
def test_a_message_about_auth_is_no_redis_auth_line(text: str) -> None:
    """A line of `auth` and plain words is a message about authentication, not Redis's AUTH command."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param("127.0.0.1:6379> auth foobared", "foobared", "6379> auth", id="after-prompt"),
        pytest.param("AUTH foobared", "foobared", "AUTH", id="upper-case-command"),
        pytest.param("auth S3cret!x", "S3cret!x", "auth", id="credential-shaped"),
        pytest.param("auth default Pw9x", "Pw9x", "auth default", id="user-and-password"),
    ],
)
def test_a_redis_auth_command_still_loses_its_password(text: str, secret: str, kept: str) -> None:
    """Redis's AUTH typed at its prompt, in upper case, or with a credential-shaped password."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Invalid password for user bob: account locked after 5 attempts", id="locked"),
        pytest.param("Password for user alice: changed by admin", id="changed"),
        pytest.param("password for svc-backup: expired", id="one-status-word"),
    ],
)
def test_prose_after_a_password_for_user_prompt_stays(text: str) -> None:
    """What happened to a user's password, told after `password for <user>:`, is no typed answer."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("[sudo] password for bob: hunter2", "hunter2", id="sudo"),
        pytest.param(
            "Enter passphrase for key '/root/.ssh/id': correct horse battery staple",
            "correct horse battery staple",
            id="passphrase",
        ),
    ],
)
def test_an_answer_typed_at_a_password_prompt_is_hidden(text: str, secret: str) -> None:
    """The answer on a prompt's line, one word or a passphrase of plain words, is still hidden."""
    assert_hidden(text, [secret], [])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '{"items": [], "nextPageToken": "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA4ZDk3ZHQ4NhAB"}',
            id="google-next-page",
        ),
        pytest.param(
            "ListObjectsV2 ContinuationToken=1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM= KeyCount=1000",
            id="s3-continuation",
        ),
        pytest.param(
            "paginating DescribeInstances with NextToken=eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ",
            id="aws-next-token",
        ),
        pytest.param("{'SyncToken': 'Zq8mL2pZ7vK9xR4nW1yT6bC3'}", id="sync-token"),
    ],
)
def test_a_listings_cursor_named_token_stays(text: str) -> None:
    """`NextToken`, `nextPageToken`, `ContinuationToken`: a place in a listing, not a credential."""
    assert redact_text(text) == text


def test_a_cursor_key_does_not_spare_a_credential_named_token() -> None:
    """A refresh or session token beside a cursor is still hidden."""
    assert_hidden("NextToken=abc refresh_token=Ab9xQ2mLp7Zr4wK", ["Ab9xQ2mLp7Zr4wK"], ["NextToken=abc"])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '{"thumbnail": "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/"}',
            id="jpeg",
        ),
        pytest.param(
            "icon=iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAABHNCSVQICAgIfAhkiAAAAAlwSFlz", id="png"
        ),
        pytest.param(
            "attachment: JVBERi0xLjcKCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nL1BhZ2VzIDIgMCBSPj4K", id="pdf"
        ),
        pytest.param("body=H4sIAAAAAAAAA6tWKkktLlGyUlAqS8wpTVWqBQDK8H4eEwAAAA", id="gzip"),
    ],
)
def test_a_files_base64_under_a_plain_key_stays(text: str) -> None:
    """The base64 of an image, a PDF or a gzip stream (known by its first bytes) is content."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("secret 'db-creds' not found in namespace prod", id="single-quoted"),
        pytest.param('mounting secret "tls-cert-prod" into /etc/tls', id="double-quoted"),
    ],
)
def test_a_secret_objects_quoted_name_stays(text: str) -> None:
    """A Kubernetes Secret's name, quoted after `secret`, is a name of lower-case words."""
    assert redact_text(text) == text


def test_a_quoted_password_after_secret_is_still_hidden() -> None:
    """A quoted value with a credential's shape after `secret` is still hidden."""
    assert_hidden("secret 'Xk9!mQ2pLw'", ["Xk9!mQ2pLw"], ["secret"])


def test_the_formatter_hides_a_sasl_password_and_keeps_a_cursor() -> None:
    """Through the shipper's formatter, a message's SASL password is hidden and a cursor token kept."""
    formatter = EcsFormatter(service_name="probe")
    message = "PLAIN b'\\x00app\\x00Fmt!Sasl9' then NextToken=eyJOZXh0VG9rZW4iOiBudWxsfQ"
    record = logging.LogRecord("probe", logging.INFO, __file__, 1, message, None, None)
    shipped = formatter.to_document(record)["message"]
    assert "Fmt!Sasl9" not in shipped
    assert "NextToken=eyJOZXh0VG9rZW4iOiBudWxsfQ" in shipped


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            "export API_TOKEN=\\\n  tk_9Fq2LmZ7xR4wQ8vN",
            "tk_9Fq2LmZ7xR4wQ8vN",
            "export API_TOKEN=",
            id="shell-continuation",
        ),
        pytest.param(
            "defaults: &db\n  password: &pw Yaml!Anch0r\nprod:\n  <<: *db",
            "Yaml!Anch0r",
            "&pw",
            id="yaml-anchor",
        ),
        pytest.param("password: !!str 123456789", "123456789", "!!str", id="yaml-tag"),
        pytest.param(
            "APP_KEY=base64:2fl+Ktvkfl+Fuz4Qp/A75G2RTiWVA/ZoKZvp6fiiM10=",
            "2fl+Ktvkfl+Fuz4Qp/A75G2RTiWVA/ZoKZvp6fiiM10=",
            "APP_KEY=",
            id="encoding-prefix",
        ),
        pytest.param("bob:{PLAIN}Ngx!Plain9", "Ngx!Plain9", "bob:{PLAIN}", id="plain-scheme"),
        pytest.param(
            "alice:{CLEARTEXT}Dove!cot9:1000:1000", "Dove!cot9", "alice:{CLEARTEXT}", id="cleartext-scheme"
        ),
        pytest.param(
            "signer privkey 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 loaded",
            "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
            "loaded",
            id="privkey-told",
        ),
    ],
)
def test_a_value_behind_a_continuation_a_node_property_or_a_scheme_is_hidden(
    text: str, secret: str, kept: str
) -> None:
    """A secret's value after a shell's line continuation, a YAML anchor or tag, an encoding prefix, a
    password file's clear-text scheme, or told after `privkey`, is hidden; what precedes it stays."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", id="websocket-key"),
        pytest.param("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", id="websocket-accept"),
        pytest.param("cache_key=base64:abc", id="encoded-cache-key"),
        pytest.param("{PLAIN} and {CLEARTEXT} are the schemes we refuse", id="scheme-names"),
    ],
)
def test_handshake_nonces_and_scheme_names_stay(text: str) -> None:
    """The WebSocket handshake's nonce and digest, and a password scheme named without a password, stay."""
    assert redact_text(text) == text


def test_a_websocket_subprotocol_token_is_still_hidden() -> None:
    """The handshake header that may carry a token, `Sec-WebSocket-Protocol`, is still read for one."""
    assert_hidden(
        "Sec-WebSocket-Protocol: access_token, Zq8mL2pZ7vK9xR4nW1yT6bC3",
        ["Zq8mL2pZ7vK9xR4nW1yT6bC3"],
        ["access_token"],
    )


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            '    f = Fernet(b"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")',
            "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
            "Fernet(",
            id="fernet",
        ),
        pytest.param(
            "    cipher = AES.new(b'Sixteen byte k3y', AES.MODE_GCM)",
            "Sixteen byte k3y",
            "AES.MODE_GCM",
            id="pycryptodome",
        ),
        pytest.param(
            "    s = URLSafeTimedSerializer('s3cr3t-s1gn!ng-k3y', salt='activate')",
            "s3cr3t-s1gn!ng-k3y",
            "salt='activate'",
            id="itsdangerous",
        ),
        pytest.param(
            "    aead = ChaCha20Poly1305(key=b'0123456789abcdef0123456789abcdef')",
            "0123456789abcdef0123456789abcdef",
            "ChaCha20Poly1305(",
            id="keyword",
        ),
    ],
)
def test_a_key_literal_given_to_a_cipher_or_signer_is_hidden(text: str, secret: str, kept: str) -> None:
    """A traceback's source line that makes a cipher or a signer from a literal key loses the key."""
    assert_hidden(text, [secret], [kept])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("    f = Fernet(key)", id="name-passed"),
        pytest.param('    h = hashlib.new("sha256")', id="hashlib"),
    ],
)
def test_a_cipher_made_from_a_name_and_a_hash_by_name_stay(text: str) -> None:
    """A key passed by name, and `hashlib.new`'s algorithm name, stay."""
    assert redact_text(text) == text


def test_an_armoured_token_is_hidden_and_a_certificate_stays() -> None:
    """An armoured block whose label names a token (cloudflared's `ARGO TUNNEL TOKEN`) loses its body; a
    certificate's stays."""
    body = "eyJ6b25lSUQiOiJhYmMiLCJhY2NvdW50SUQiOiJkZWYiLCJhcGlUb2tlbiI6Imdo"
    assert_hidden(
        f"-----BEGIN ARGO TUNNEL TOKEN-----\n{body}\n-----END ARGO TUNNEL TOKEN-----",
        [body],
        ["ARGO TUNNEL TOKEN"],
    )
    certificate = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"
    assert redact_text(certificate) == certificate


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(
            "get_parameter -> {'Parameter': {'Name': '/prod/db/password', 'Type': 'SecureString', 'Value': 'Ssm!Pw4567', 'Version': 3}}",
            "Ssm!Pw4567",
            "'Version': 3",
            id="ssm-path-name",
        ),
        pytest.param(
            "{'Name': '/prod/app/signing', 'Type': 'SecureString', 'Value': 'Zz9!xxQ', 'Version': 3}",
            "Zz9!xxQ",
            "/prod/app/signing",
            id="ssm-securestring",
        ),
        pytest.param(
            "Parameters=[{'ParameterKey': 'DbPassword', 'ParameterValue': 'Cfn!Pw9'}, {'ParameterKey': 'Env', 'ParameterValue': 'prod'}]",
            "Cfn!Pw9",
            "'ParameterValue': 'prod'",
            id="cloudformation",
        ),
    ],
)
def test_a_parameter_stores_secret_value_is_hidden_in_text(text: str, secret: str, kept: str) -> None:
    """A name and its value with a path for a name, members between, or a `SecureString` type (AWS SSM,
    CloudFormation's `ParameterKey`/`ParameterValue`) lose the value; a plain parameter's stays."""
    assert_hidden(text, [secret], [kept])


def test_a_plain_parameter_stays() -> None:
    """A parameter whose name names no secret and whose type is no `SecureString` stays."""
    text = "{'Name': '/prod/app/endpoint', 'Type': 'String', 'Value': 'https://x.io', 'Version': 3}"
    assert redact_text(text) == text


def test_name_and_value_members_as_aws_spells_them_are_read_in_extras() -> None:
    """In a document's extras, ECS's `{"Name", "Value"}`, CloudFormation's `ParameterKey`/`ParameterValue`
    and an SSM parameter of seven members (a `SecureString`) lose their secret values; the others stay."""
    parameter = {
        "Name": "/prod/app/signing",
        "Type": "SecureString",
        "Value": "Ssm!Pw4567",
        "Version": 3,
        "ARN": "arn:aws:ssm:eu-west-1:1:parameter/prod/app/signing",
        "DataType": "text",
        "LastModifiedDate": "2026-12-05",
    }
    document = {
        "message": "deploy",
        "extra": {
            "parameter": parameter,
            "environment": [
                {"Name": "DB_PASSWORD", "Value": "Ecs!Pw9"},
                {"Name": "LOG_LEVEL", "Value": "info"},
            ],
            "stack": [
                {"ParameterKey": "DbPassword", "ParameterValue": "Cfn!Pw9"},
                {"ParameterKey": "Env", "ParameterValue": "prod"},
            ],
        },
    }
    extra = redaction.redact_document(document)["extra"]
    assert extra["parameter"] == {**parameter, "Value": REDACTED}
    assert extra["environment"] == [
        {"Name": "DB_PASSWORD", "Value": REDACTED},
        {"Name": "LOG_LEVEL", "Value": "info"},
    ]
    assert extra["stack"] == [
        {"ParameterKey": "DbPassword", "ParameterValue": REDACTED},
        {"ParameterKey": "Env", "ParameterValue": "prod"},
    ]


def test_json_escaped_inside_a_bytes_repr_loses_its_secret() -> None:
    """JSON escaped in a JSON string, then printed in a bytes repr (botocore's `Response body: b'...'` of
    a Secrets Manager answer: `\\\\"password\\\\":\\\\"x\\\\"`) loses its password."""
    text = (
        'Response body: b\'{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:db",'
        '"SecretString":"{\\\\"username\\\\":\\\\"app\\\\",\\\\"password\\\\":\\\\"Bt0$ecret99\\\\"}"}\''
    )
    assert_hidden(text, ["Bt0$ecret99"], ["Response body", "arn:aws:secretsmanager"])
