"""Secrets never leave the process: named rules that find secrets in text, keys, argv and documents.

A `Redactor` (frozen: the default rules plus a user's key names and patterns) answers two questions:
where the secrets in a text are (`findings`, each a span and the name of the rule that found it) and
what the text, argv list, mapping or whole ECS document looks like with them hidden (`redact_*`).
`redact_document` is the one pass over a finished document: every string at any depth goes through
the text rules, and in the free-form parts (`extra`, `logloop.context`, `logloop.env.vars`) a key
that names a secret hides its whole value, as does a `[name, value]` pair or a `{"name": ...,
"value": ...}` object whose name does; a secret found in one field (or one place of a text) is then
hidden wherever else it stands, where nothing names it (a traceback's locals, then the message).

The rule that must not be broken: a secret is replaced by `[REDACTED]` whatever its value, so two
events that differ only by a secret read the same (and group the same) after redaction. Keys,
schemes and quotes around a secret stay, so the text stays readable. Over-redaction is the safe
failure: a value that only looks secret is hidden too.

Every pattern is anchored at a word start and every repetition bounded, so the cost stays linear in
a text's length (a 256 KiB word must not cost quadratic time); a text without any trigger word
(`might_contain_secret`) costs one search of a pattern of the trigger words, laid out as a trie.
"""

from __future__ import annotations

import binascii
import bisect
import builtins
import collections
import functools
import itertools
import json
import math
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote

from shipper.exceptions import ConfigurationError
from shipper.lazy_regex import compile_lazily

REDACTED: Final = "[REDACTED]"

# --- which keys name a secret ---------------------------------------------------------------------

# A key is secret when one of its words is one of these...
_SECRET_WORDS: Final = frozenset(
    {
        "password", "passwd", "passphrase", "pass", "pwd", "secret", "secrets", "token", "apikey",
        "key", "credential", "credentials", "creds", "auth", "authorization", "private", "privkey",
        "session", "sessionid", "cookie", "cookies", "signature", "sig",
        "requirepass", "masterauth",  # Redis's password directives (redis.conf, CONFIG SET)
        # keytool's and Java's keystore passwords (`-storepass X`, `-srckeypass X`)
        "storepass", "keypass", "srcstorepass", "deststorepass", "srckeypass", "destkeypass",
        "otp", "totp", "hotp",  # one-time passwords
        "psk", "sshpass",  # a Wi-Fi or IPsec pre-shared key; sshpass's variable (`SSHPASS=x sshpass -e`)
        # `password` abbreviated, and in scripts whose words are not read by stems (`_FOREIGN_STEMS`)
        "pw", "pswd", "pword", "passcode", "mdp", "密码", "パスワード", "비밀번호",
        "密碼", "口令", "암호", "패스워드", "पासवर्ड", "סיסמה", "รหัสผ่าน", "トークン", "令牌",
        "رمز",  # Persian's
        "passe",  # French's `mot de passe`, whose last word alone a quoted key's pattern reads
        # short names of a secret in code (`tok`, `psw`, `sk_live`, `jwt`, `gh_pat`; `pw1` is read without
        # its digits: `_read_words`; not `bearer`, composer's map of hosts to tokens: `_credential_map`)
        "tok", "tkn", "psw", "sk", "pat", "cred", "jwt", "priv", "sess",
        "mnemonic",  # a wallet's recovery words (BIP39)
        "rootpw", "bindpw", "authtok", "authpass",  # slapd's, nslcd's and pam_ldap's, SSSD's, keepalived's
        "pin", "pincode",  # a card's or a device's PIN (in text: four digits or more, `_pin_number`)
    }
)  # fmt: skip
# ...or when one of its words ends with one of these (`dbpassword`, `authtoken`, `clientsecret`)...
_SECRET_SUFFIXES: Final = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "credential", "credentials", "cookie",
    "psk",  # (strongSwan's `leftpsk`, `wpapsk`)
    "密码", "パスワード", "비밀번호",
    # the languages that write compounds (`Datenbankpasswort`, `dbwachtwoord`, `tietokantasalasana`)
    "passwort", "kennwort", "wachtwoord", "salasana", "lösenord", "losenord", "passord", "adgangskode",
    "kodeord", "jelszó", "jelszo", "пароль",
)  # fmt: skip
# ...or when its words run together contain one of these (`api_key`, `AWS_SECRET_ACCESS_KEY`).
_SECRET_COMPOUNDS: Final = (
    "apikey", "accesskey", "privatekey", "secretkey", "accountkey", "signingkey", "encryptionkey",
    "masterkey", "sharedaccesskey", "clientsecret", "sessionid", "sessid", "motdepasse", "palavrapasse",
    "seedphrase", "recoveryphrase",  # a wallet's recovery words
    "keyapi",  # (`clave_api`, `ключ_api`: `key` read in English, the words in their order)
    "katasandi", "katalaluan", "matkhau", "mậtkhẩu",  # Indonesian's, Malay's and Vietnamese's two words
    "mfacode", "verificationcode", "recoverycode", "backupcode", "twofactorcode",  # one-time codes
    "snmpcommunity", "communitystring", "rocommunity", "rwcommunity",  # SNMP's community string
)  # fmt: skip
# In free text `key=...` or `session: ...` is mostly not a secret ("cache miss for key=user:42"), so
# after these words alone a value is hidden only when it looks like one (`_looks_secret`).
_WEAK_IN_TEXT: Final = frozenset(
    {
        "key", "session", "private", "signature", "sig", "auth", "pass", "pw", "mdp", "pin", "pincode",
        "رمز",  # (Persian's: a key or a code as often as a password)
        "passe",  # (`passe: 3` as `pass: 3`)
        # (a token, a sort key, a personal access token, a private key or an id as often: `tok` is
        # a parser's current token, `sk` DynamoDB's sort key, `pat` a name)
        "tok", "tkn", "sk", "pat", "priv", "sess",
        "mnemonic",  # (an instruction's name in a disassembler's output: `mnemonic: MOV`)
    }
)  # fmt: skip
# `password`, `secret`, `token`, `credentials`, `key` and `private` in other languages, by the English
# word each reads as (`_in_english`): a key's word that begins with one of these stems is an inflection
# of it (`hasła`, `jelszava`, `salasanat`, `пароля`, `şifresi`, `Passwörter`), written with and without
# its diacritics; the words of `_FOREIGN_WHOLE_WORDS` only as they stand (as stems they would begin
# ordinary words: `gesloten`, `clean`, `klicken`). `key` and `private` stay weak in text, as in English.
_FOREIGN_STEMS: Final = {
    "password": (
        "passwort", "passwört", "kennwort", "kennwört",  # German
        "contraseñ", "contrasen", "senha", "contrasenya",  # Spanish, Portuguese, Catalan
        "wachtwoord",  # Dutch
        "lösenord", "losenord", "passord", "adgangskode", "kodeord",  # Swedish, Norwegian, Danish
        "hasł", "hasl", "hesl", "jelsz", "salasan",  # Polish, Czech/Slovak, Hungarian, Finnish
        "lozink", "лозинк", "šifr", "sifr", "şifr",  # Croatian/Serbian/Bosnian, Turkish
        # Latvian, Italian, Turkish, Romanian, Estonian; Russian, Bulgarian; Ukrainian
        "parol", "parool", "парол", "гасл",
        "slaptažod", "slaptazod", "κωδικ", "kodiko", "συνθηματικ",  # Lithuanian, Greek
        "zugangscod", "toegangscod",  # an access code (German, Dutch)
    ),
    "secret": (
        "geheim", "segret", "segred", "sekret",  # German/Dutch, Italian, Portuguese, Polish
        "tajn", "tajemstv", "titok", "titk", "gizli",  # Czech/Slovak/Polish, Hungarian, Turkish
        "тайн", "секрет", "μυστικ",
    ),
    "token": ("токен", "jeton", "žeton", "zeton"),
    "credentials": (
        "zugangsdat", "credenzial", "credenci", "poświadcz", "poswiadcz",
    ),
    "key": (
        "schlüssel", "schluessel", "clave", "chave", "chiave", "sleutel", "klucz", "kljuc", "ključ",
        "kulcs", "ключ", "anahtar", "avain", "avaim", "κλειδ",
    ),
    "private": ("privad", "privé", "privat"),
}  # fmt: skip
_FOREIGN_WHOLE_WORDS: Final = {
    "password": ("geslo", "gesla", "sandi", "kodikos"),  # Slovenian, Indonesian, Greek in Latin letters
    "secret": ("secreto", "secreta", "secretos", "secretas", "secrète", "secrete"),  # (not `secretary`)
    "key": ("clé", "cle", "clés", "cles", "klíč", "klic", "cheie", "cheia"),
}
_FOREIGN_BY_WORD: Final = {word: english for english, words in _FOREIGN_WHOLE_WORDS.items() for word in words}
# (by their first three letters: a key's word is looked up once, not tried against every stem)
_FOREIGN_HEADS: Final = frozenset(
    {stem[:3] for stems in _FOREIGN_STEMS.values() for stem in stems}
    | {word[:3] for word in _FOREIGN_BY_WORD}
)
_FOREIGN_BY_HEAD: Final = {
    head: tuple(
        (stem, english) for english, stems in _FOREIGN_STEMS.items() for stem in stems if stem[:3] == head
    )
    for head in {stem[:3] for stems in _FOREIGN_STEMS.values() for stem in stems}
}


def _in_english(word: str) -> str:
    """A key's word as the English word it stands for (`jelszava` -> password, `clé` -> key); any other
    word as it is."""
    if (english := _FOREIGN_BY_WORD.get(word)) is not None:
        return english
    for stem, english in _FOREIGN_BY_HEAD.get(word[:3], ()):
        if word.startswith(stem):
            return english
    return word


def _read_words(words: list[str]) -> list[str]:
    """A key's words in English (`_in_english`), the last without the digits it ends with (`pw1`,
    `token2`) when no other word holds a digit (`-pUnr4rPw9` is a flag glued to its value)."""
    # (this runs for every key of a triggered text: a word's head is looked up before any call)
    read = [_in_english(word) if word[:3] in _FOREIGN_HEADS else word for word in words]
    if read and read[-1][-1:].isdigit() and not any(c.isdigit() for word in words[:-1] for c in word):
        read[-1] = _in_english(read[-1].rstrip("0123456789") or read[-1])
    return read


# A word glued to a short name of a password (`dbpass`, `rootpwd`, `smtppw` is too short to tell), and
# the English words that end so.
_GLUED_PASSWORD: Final = ("pass", "pwd")
_ENDS_LIKE_PASS: Final = frozenset(
    {
        "pass", "pwd", "bypass", "compass", "encompass", "surpass", "overpass", "underpass", "trespass",
        "multipass", "onepass", "singlepass", "twopass", "firstpass", "secondpass", "repass", "impass",
        "oldpwd",  # (the shell's previous working directory: `_is_working_directory`)
    }
)  # fmt: skip
# A `key` named after what it keys is an identifier, not a secret (`cache_key`, `routing_key`,
# `Idempotency-Key`, `public_key`); a key named after its owner (`stripe_key`) or use stays secret.
_KEYED_THINGS: Final = frozenset(
    {
        "cache", "grouping", "group", "idempotency", "partition", "routing", "sort", "range", "primary",
        "foreign", "unique", "composite", "object", "s3", "blob", "file", "map", "dict", "lookup", "dedup",
        "dedupe", "deduplication", "message", "event", "record", "i18n", "translation", "locale", "public",
        "row", "shard", "cursor", "page", "index", "lock", "metric", "feature", "config", "setting",
        "field", "column", "attribute", "property", "label", "tag", "correlation", "job", "task", "queue",
        "topic", "stream", "entity", "resource", "template", "route", "state", "sequence", "join", "hot",
        "shortcut", "natural", "surrogate", "parent", "child", "bucket", "parameter", "param",
    }
)  # fmt: skip
# A `token` named after a place in a listing or a run is a cursor, not a secret (AWS's `NextToken` and
# `ContinuationToken`, Google's `nextPageToken`, .NET's `CancellationToken`).
_PLACE_WORDS: Final = frozenset(
    {"next", "page", "continuation", "pagination", "paging", "starting", "sync", "resume", "cancellation"}
)


def _is_websocket_handshake(words: list[str]) -> bool:
    """`Sec-WebSocket-Key`, `Sec-WebSocket-Accept`: a handshake's nonce and its digest, no credential
    (its `Sec-WebSocket-Protocol` may carry a token: `_websocket_protocol`)."""
    return words[:3] == ["sec", "web", "socket"] and words[-1] != "protocol"


def _is_cursor(words: list[str]) -> bool:
    """`next_page_token`, `ContinuationToken`: a key that names a place in a listing, not a secret."""
    return len(words) > 1 and words[-1] in _TOKEN_WORDS and words[-2] in _PLACE_WORDS


_TOKEN_WORDS: Final = frozenset({"token", "tokens"})


# `<word> id` after these names which key was used (CloudFront's `Key-Pair-Id`, JWT's `key_id`), or which
# token of a model's vocabulary (Hugging Face's `pad_token_id: 0`, `eos_token_id`): an id, not a secret.
_KEY_OF_ID: Final = frozenset({"key", "pair", "keypair", "token"})
_PRIVATE: Final = frozenset({"private", "secret"})
# A key whose last word says it describes the secret rather than holds it (`token_count`,
# `password_file`, `session_ttl`) is not secret.
_ABOUT_WORDS: Final = frozenset(
    {
        "count", "counts", "length", "len", "size", "limit", "min", "max", "ttl", "expiry", "expires",
        "expired", "expiration", "type", "kind", "format", "policy", "strength", "version", "url",
        "uri", "endpoint", "path", "file", "name", "header", "field", "required", "enabled", "valid",
        "changed", "reset", "timeout", "age", "scheme",
        # where a secret is kept or who makes it, not the secret (`credsStore: "desktop"`, docker's
        # `credHelpers`, AWS's `credential_process = /usr/bin/helper`, `token_provider`)
        "store", "helper", "helpers", "process", "provider",
        # how a secret is made or used (`password_hash_algorithm=argon2id`, `token_auth_method`)
        "algorithm", "algorithms", "algo", "method", "methods", "mode", "scope", "scopes",
        # when or how often (`password_changed_at`, `token_expires_in: 3600`, `SECRET_ROTATION_DAYS`,
        # `password_attempts`), what became of one or where it came from (`auth_status: failed`,
        # `credentials_source: env`), how often checks pass (`pass_rate`), which hashers make one
        "date", "time", "timestamp", "ts", "created", "updated", "rotated", "days",
        "hours", "minutes", "seconds", "attempts", "tries", "retries", "status", "source", "rate",
        "hasher", "hashers",
        # what a secret is looked up by or checked with (`secretKeyRef`), a budget of a model's tokens,
        # a scan for secrets, an exception class named after one (`NoCredentialsError: Unable to ...`)
        "ref", "refs", "reference", "budget", "scanning", "scan", "error", "errors", "exception", "warning",
        "prefix", "suffix",  # (a key's first or last characters, shown to tell keys apart: `key_prefix`)
        # a cookie's attributes (Django's `SESSION_COOKIE_SAMESITE = 'Lax'`, `SESSION_COOKIE_DOMAIN`), a
        # token's claims (`jwt_issuer`, `token_audience`) and a one-time code's (`totp_digits: 6`)
        "domain", "domains", "samesite", "httponly", "secure", "issuer", "audience", "audiences", "digits",
        "period",
        # how a secret is kept, checked or exchanged (PostgreSQL's `password_encryption = scram-sha-256`,
        # MongoDB's `authMechanism`, Vault's `secret_backend`, Laravel's `SESSION_DRIVER`, Django's
        # `SESSION_ENGINE` and `SESSION_SERIALIZER`), and when one was last used (IAM's `PasswordLastUsed`)
        "encryption", "mechanism", "mechanisms", "backend", "backends", "driver", "engine", "serializer",
        "handler", "used",
    }
)  # fmt: skip

# A key that names several secrets names each of them (`passwords`, `db_passwords`, `passphrases`):
# read in the singular. Not `tokens` alone, a parser's or a language model's tokens (`prompt_tokens: 512`,
# `tokens = ['the', 'cat']`), but after a word that names a credential (`access_tokens`, `refresh_tokens`;
# `api_tokens` names a map of hosts to tokens as often: `_credential_map`).
_PLURAL_SECRETS: Final = ("passwords", "passwds", "passphrases", "pwds", "pws", "passcodes", "pincodes")
_CREDENTIAL_TOKENS: Final = frozenset(
    {
        "access", "refresh", "auth", "bearer", "session", "csrf", "xsrf", "oauth", "jwt", "id",
        "personal", "bot", "secret", "service", "deploy", "device", "app", "client", "user", "reset",
        "invite", "invitation", "magic", "login", "registration", "github", "gitlab", "slack",
    }
)  # fmt: skip


def _singular(words: list[str]) -> list[str]:
    """`words` with each plural that names secrets (`_PLURAL_SECRETS`, compounds ending so included:
    `dbpasswords`) in the singular, and `tokens` after a credential's word (`_CREDENTIAL_TOKENS`)."""
    if not any(word[-1:] == "s" for word in words):
        return words
    read = []
    for index, word in enumerate(words):
        if word.endswith(_PLURAL_SECRETS) or (
            word == "tokens" and index > 0 and words[index - 1] in _CREDENTIAL_TOKENS
        ):
            word = word[:-1]
        read.append(word)
    return read


_AFTER_ABOUT: Final = frozenset({"at", "on", "in", "by"})  # (`_ABOUT_WORDS` then when, or by whom)
# An API's operation named in PascalCase after its verb (AWS's `GetSecretValue`, `GetSessionToken`,
# `CreateToken`) names the operation (botocore's `Event before-call.secrets-manager.GetSecretValue:
# calling handler ...`), not a secret (a function's `get_token()` returns one: `_default_secret_key`).
_OPERATION_NAME: Final = compile_lazily(
    r"(?:Get|Create|Describe|List|Rotate|Delete|Batch)(?:[A-Z][a-z]+){1,6}"
)
_CAMEL: Final = compile_lazily(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM: Final = compile_lazily(r"[\W_]+")  # letters of any script make words (`contraseña`, `пароль`)


def key_words(key: str) -> list[str]:
    """The lower-case words of a key: `X-Api-Key` -> [x, api, key], `sessionId` -> [session, id]."""
    return [word.lower() for word in _NON_ALNUM.split(_CAMEL.sub(" ", key)) if word]


def _default_secret_key(words: list[str], in_text: bool) -> bool:
    words = _singular(_read_words(words))
    if not words or (len(words) > 1 and words[-1] in _ABOUT_WORDS):
        return False
    if len(words) > 2 and words[-1] in _AFTER_ABOUT and words[-2] in _ABOUT_WORDS:
        return False  # `password_changed_at`, `token_expires_in`, `password_reset_on`
    if len(words) > 1 and words[-1] in ("key", "keys") and words[-2] in _KEYED_THINGS:
        return False
    # (each asked only where its word stands: this runs for every key of every triggered text)
    if words[-1] in _TOKEN_WORDS and _is_cursor(words):
        return False
    if words[0] == "sec" and _is_websocket_handshake(words):
        return False
    if words[-2:] == ["existing", "secret"]:
        return False  # Helm's `existingSecret: redis-auth`: the name of a Kubernetes Secret that holds it
    # `Key-Pair-Id`, `key_id`: which key signed, not the key (a private key's id stays hidden)
    if (
        len(words) > 1
        and words[-1] in ("id", "ids")
        and words[-2] in _KEY_OF_ID
        and not _PRIVATE & set(words)
    ):
        return False
    weak = _WEAK_IN_TEXT if in_text else frozenset()
    if len(words) > 1:
        weak = weak - {"pass"}  # `pass: 3` counts tests; `db_pass` is a password
    if any(
        (w in _SECRET_WORDS and w not in weak)
        or w.endswith(_SECRET_SUFFIXES)
        or (w.endswith(_GLUED_PASSWORD) and w not in _ENDS_LIKE_PASS)
        for w in words
    ):
        return True
    joined = "".join(words)
    if _COMPOUND.search(joined) is not None:
        return True
    misspelt = _misspellings()
    return joined in misspelt or not misspelt.isdisjoint(words)


# A key's word that misspells a secret's name by one letter (`pasword`, `passwrod`, `secert`,
# `credentails`, `toekn`, `authorisation`): a letter left out, two swapped, and for the long names also
# one replaced or added. (The short names only lose or swap a letter: `taken` is a word, `passed` a count.)
_MISSPELT: Final = {
    "password": True, "passphrase": True, "secret": True, "credential": True, "credentials": True,
    "authorization": True, "passwd": False, "token": False, "apikey": False,
}  # fmt: skip
_SPELLED_ALIKE: Final = frozenset({"secrets", "tokens", "passwords", "authorizations", "toke", "oken"})
# (`_TRIGGERS` holds a part of each name left out or swapped: `tests/test_redaction_reprs_and_credentials.py`
# checks that every one is looked for)


@functools.cache
def _misspellings() -> frozenset[str]:
    """Every one-letter misspelling of `_MISSPELT`'s names (made at first use: some 3,000 words)."""
    variants: set[str] = set()
    letters = "abcdefghijklmnopqrstuvwxyz"
    for name, any_letter in _MISSPELT.items():
        for i in range(len(name)):
            variants.add(name[:i] + name[i + 1 :])
            variants.add(name[:i] + name[i + 1 : i + 2] + name[i] + name[i + 2 :])
            if any_letter:
                variants.update(name[:i] + c + name[i + 1 :] for c in letters)
                variants.update(name[:i] + c + name[i:] for c in letters)
    return frozenset(variants - set(_MISSPELT) - _SPELLED_ALIKE)


# After a weak word, the words that still name the value itself (`auth_code`, `session_data`); any
# other last word names something else (`SessionTracker`, `auth_method`, `PrivateInfoStore`).
_WEAK_TAILS: Final = frozenset(
    {
        "id", "ids", "code", "codes", "data", "value", "values", "string", "str", "hash",
        # which one of them (`pw_new`, `sk_live`, `tok_old`)
        "new", "old", "current", "live", "test", "prod", "dev", "tmp", "temp",
    }
)  # fmt: skip


def _is_weak_key(words: list[str]) -> bool:
    """A key that names a secret only in the looser reading (`key`, `session`, `auth`), with the weak
    word last or before a word for its value (`auth_code`), not before another noun (`SessionTracker`)."""
    last = _read_words(words[-1:])[-1] if words else ""
    if not (last in _WEAK_IN_TEXT or last in _WEAK_TAILS):
        return False
    return _default_secret_key(words, False) and not _default_secret_key(words, True)


# --- values that are not secrets even under a secret key ------------------------------------------

_NOT_A_VALUE: Final = frozenset(
    {
        "", "none", "null", "nil", "true", "false", "undefined", "empty", "missing", "required", "redacted",
        # what a dump of settings writes where it shows no value (`password: (not set)`, `token: n/a`)
        "n/a", "not set", "unset", "hidden", "masked", "omitted", "not shown", "<none>", "<empty>",
        "yes", "no",  # MySQL's `(using password: YES)`
        "anonymous",  # (`credentials: anonymous`, an anonymous FTP login)
        "sensitive", "sensitive value",  # Terraform's plan: `password = (sensitive value)`
    }
)  # fmt: skip
_PLACEHOLDER: Final = compile_lazily(
    r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifxXoeEgGca]"
    # (`{name}`, `{0}`; not `{COQLCE6DU6GtcS5P=}`, Maven's encrypted password: 12+ base64 characters
    # with a digit or `+/=`)
    r"|\{(?![A-Za-z]{0,256}[0-9+/=][A-Za-z0-9+/]{0,256}={0,2}\})[^{}]*\}|\{[^{}]{0,11}\}|\$\{?[A-Za-z_]\w*\}?"
    r"|<[^<>]*>|\*+|[xX]{3,}|•+|\.{3,}|\?|\$[0-9]{1,4}"  # `?`, `$1`: a SQL statement's parameters
    r"|\{\{[^{}]{0,256}\}\}|\$\([^()]{0,256}\)"  # a template's `{{ .Values.token }}`, a shell's `$(...)`
)
_YAML_TAG: Final = compile_lazily(r"!!?[A-Za-z][\w:]{0,31}")  # (`!!str`, `!vault`, `!ENV`, `!Ref`)
_DOTTED_NAME: Final = compile_lazily(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_NAME_IN_CODE: Final = compile_lazily(r"[A-Za-z_]\w{0,63}(?:\.[A-Za-z_]\w{0,63}){0,8}")
_TOKEN_CHARACTERS: Final = compile_lazily(r"[A-Za-z0-9+/=_~.\-]{20,}")
_PASSWORD_LIKE: Final = compile_lazily(r"[^\s:/]{6,}")  # `user:42` and paths are ids, not passwords


# A relative path to a file (`uploads/2026/report.pdf`, an S3 object key): base64 has no `.`.
_FILE_PATH: Final = compile_lazily(
    r"[\w\-]{1,128}(?:[./][\w\-]{1,128}){0,32}/[\w.\-]{0,128}\.[A-Za-z0-9]{1,8}"
)


# A name made of lower-case words and numbers (`orders-2026.12.05`, `user-42-profile`): each part is
# letters or digits, never both, as a generated value's parts are. Under a loose key (`key=`) or after a
# bare `secret`, such a value is a name; once found as a secret (under `password`), its copies are not.
_NAME_OF_PARTS: Final = compile_lazily(
    r"(?:[a-z]{2,64}|[0-9]{1,64})(?:[\-_.:](?:[a-z]{2,64}|[0-9]{1,64})){1,32}"
)


_ENCODING_PREFIXES: Final = ("base64:", "b64:", "hex:")


def _looks_secret(value: str) -> bool:
    """A value that reads like a credential: 20+ token characters, or 6+ characters (no `:` or `/`)
    mixing letters with digits or symbols other than a name's `_-.`; a path to a file does not. A
    value that says its encoding (Laravel's `APP_KEY=base64:...`) is read without it."""
    if value.startswith(_ENCODING_PREFIXES):
        value = value.partition(":")[2]
    if _TOKEN_CHARACTERS.fullmatch(value):
        return _FILE_PATH.fullmatch(value) is None
    if not _PASSWORD_LIKE.fullmatch(value) or not any(c.isalpha() for c in value):
        return False
    return any(not (c.isalpha() or c in "_-.") for c in value)  # `user_id` is a name


def _looks_secret_under_weak_key(value: str) -> bool:
    """`_looks_secret`, and not a name of lower-case words and numbers (`key=orders-2026.12.05`)."""
    return _NAME_OF_PARTS.fullmatch(value) is None and _looks_secret(value)


def _is_redacted(span: str) -> bool:
    """A span that is (part of) an earlier `[REDACTED]`: redacting again changes nothing."""
    return span.replace(REDACTED, "").strip("[]") in ("", "REDACTED")


# --- findings ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret found in a text: `text[start:end]` is hidden; `rule` names the rule that found it."""

    start: int
    end: int
    rule: str


FindFn = Callable[["Redactor", str], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    """A named rule: `find` yields the spans it hides; it runs only on a text that contains one of
    `triggers` (lower-case substrings every match contains; empty: always)."""

    name: str
    find: FindFn
    triggers: tuple[str, ...] = ()
    # whether a lower-cased text holds a trigger: one `in` for one word, one search of a trie for more (a
    # generator over the words cost a third of a line's redaction once rules were many; the trie of 46
    # token prefixes costs a fifth of their alternation)
    applies: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.triggers:
            applies: Callable[[str], bool] = _always
        elif len(self.triggers) == 1:
            applies = _contains(self.triggers[0])
        elif all(map(str.isascii, self.triggers)):
            pattern = _trie_pattern(self.triggers)  # compiled when first asked
            applies = lambda text: pattern.search(text) is not None  # noqa: E731
        else:  # the words with other letters only in a text that has such letters
            ascii_pattern = _trie_pattern([word for word in self.triggers if word.isascii()] or ["\0"])
            other = _trie_pattern(word for word in self.triggers if not word.isascii())
            applies = lambda text: (  # noqa: E731
                ascii_pattern.search(text) is not None
                or (not text.isascii() and other.search(text) is not None)
            )
        object.__setattr__(self, "applies", applies)


def _trie_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching any of the words, laid out as a trie (`p(?:ass|wd)`): one search over the
    text costs about a third of a substring test per word, and stays so as words are added. The trie
    is laid out when the pattern is first used, as it is compiled then (some 40 word lists: about
    2 ms of every program's start-up, which redacts only its argv)."""
    listed = tuple(words)
    return compile_lazily(lambda: _trie(listed))


def _trie(words: Iterable[str]) -> str:
    """The source of a pattern matching any of the words, laid out as a trie."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branch(trie)


# (one search of a trie: a key's joined words were tried against each compound in turn, a tenth of the
# cost of reading a triggered log line's keys)
_COMPOUND: Final = _trie_pattern(_SECRET_COMPOUNDS)


def _branch(node: dict[str, Any]) -> str:
    if "" in node:
        return ""  # a shorter word ends here: it matches whatever follows
    alternatives = [re.escape(char) + _branch(child) for char, child in sorted(node.items())]
    return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"


def _always(_: str) -> bool:
    return True


def _contains(word: str) -> Callable[[str], bool]:
    return lambda text: word in text


def _pattern_rule(name: str, pattern: re.Pattern[str], triggers: tuple[str, ...]) -> Rule:
    """A rule that hides the group `secret` of each match, or the whole match if it has none."""

    def find(_: Redactor, text: str) -> Iterator[Finding]:
        for match in pattern.finditer(text):
            # (asked of the match: asked of the rule's pattern when the rule is made, it would compile
            # a lazily compiled pattern at import)
            start, end = match.span("secret" if "secret" in match.re.groupindex else 0)
            if end > start:
                yield Finding(start, end, name)

    return Rule(name, find, triggers)


# Every repetition below is bounded; the `{0,N}` are what makes a pathological text linear.
_KEY: Final = r"[^\W\d][\w.\-]{0,127}"  # letters of any script: `contraseña`, `пароль`
# Before a key: not inside a word, or the `b` of a bytes literal (`b'password'`, ASGI header lists).
_KEY_START: Final = r"(?<![\w.\-])(?:b(?=\\?[\"']))?"
_QUOTED: Final = (
    r"\\\"(?:[^\"\\\n]|\\[^\"\n]){0,4096}(?:\\\"|$)"  # \"value\" (JSON inside a JSON string)
    r"|\\'(?:[^'\\\n]|\\[^'\n]){0,4096}(?:\\'|$)"
    # a string a table or a pretty-printer cut (`'abc…` then the border `│`) ends at the border or line
    r"|\"(?:[^\"\\\n│]|\\.){0,4096}(?:\"|$|(?=│|\r?\n))"
    r"|'(?:[^'\\\n│]|\\.){0,4096}(?:'|$|(?=│|\r?\n))"
    r"|\{(?:[^{}\n]|\}\}(?![\s,;}\"']|$)){0,4096}\}"  # ODBC: Pwd={va;lue}, `}}` a `}` in it
    r"|\$\{[^{}\s]{0,256}\}"  # ${VARIABLE}: a placeholder, kept whole so that it is recognised
)
_BARE: Final = r"[^\s\"'&,;()\[\]{}<>]{1,4096}"

# key=value, key: value, "key": "value", ('key', 'value'), --key=value; the value is read by
# `_value_span` from the lookahead so that a key that is not secret consumes nothing after it (in
# `PermissionError: Authorization: Bearer x` the first `:` must not swallow the real key).
_KEY_VALUE: Final = compile_lazily(
    rf"{_KEY_START}(?P<kq>\\?[\"'])?(?P<dash>-{{1,2}})?(?P<key>{_KEY})"
    # (a key whose opening quote was cut: `password": "x"`)
    # (a quoted key may end in blanks or a colon of its own: `{"Password ": "x"}`, `{"token:": "x"}`)
    r"(?(kq)[ \t:]{0,4}(?P=kq)|(?:\\?[\"'](?=[ \t]{0,8}:))?)(?:\]|(?(kq)\)(?=[ \t]{0,8}=[^=])))?"
    # (`:=`, `?=`, `+=`: an assignment in Python, Pascal, Go, a Makefile)
    # (a quoted value may start the next line: `{'password':\n    'x'}` as a formatter wraps a pair)
    # (and past a YAML tag: `password: !!str x`, `api_key: !ENV ${API_KEY}`)
    r"(?P<sep>[ \t]{0,8}(?:=>|[:?+]=|=(?!=)|:(?![:/]))"
    r"(?:[ \t]{0,8}\r?\n[ \t]{0,32}(?=b?\\?[\"'])|[ \t]{0,8}(?:!!?[A-Za-z][\w:]{0,31}[ \t]{1,8})?)"
    r"|(?(kq)[ \t]{0,8},[ \t]{0,8}(?=b?\\?[\"'])|(?!)))"
)
# A value after a key is read only when the key names a secret (`_value_at`): a lookahead in the
# patterns above would read up to 4 KiB after every `word:` of a text.
_VALUE: Final = compile_lazily(rf"{_QUOTED}|{_BARE}")
_QUOTED_VALUE: Final = compile_lazily(_QUOTED)
_FLAG_BARE_VALUE: Final = compile_lazily(r"[^\s\-\"'<>|][^\s\"',;)\]]{0,4095}")  # (not a shell's `<`, `|`)
_QUERY_VALUE: Final = compile_lazily(r"[^&#;\s\"'<>]{1,8192}")
# `--password X` and list reprs `'--password', 'X'` (the `--flag=value` form is a key=value above).
_FLAG_VALUE: Final = compile_lazily(
    r"(?<![\w\-])(?P<q>\\?[\"'])?(?P<flag>--?(?P<key>[A-Za-z][\w.\-]{0,63}))(?(q)(?P=q))"
    r"(?P<sep>(?(q)[ \t]{0,8},[ \t]{0,8}|[ \t]{1,8}))"
)
# `password` in other languages, as prose writes it (`mot de passe`, `contraseña`).
# (its stems as a trie: this alternation is tried at every word of a text that holds a trigger)
_FOREIGN_PASSWORD: Final = (
    rf"mot[ \t]de[ \t]passe|{_trie(_FOREIGN_STEMS['password'])}\w{{0,12}}"
    rf"|(?:{'|'.join(map(re.escape, _FOREIGN_WHOLE_WORDS['password']))})(?!\w)"
)
# The words that say a password *is* what follows: `is`, `was` and their German, French, Spanish,
# Italian, Portuguese, Swedish, Polish, Danish and Finnish kin.
_IS_WORDS: Final = r"is|was|ist|lautet|war|est|était|es|era|é|è|är|jest|je|er|var|oli"
# `password hunter2`, `the token is "abc"`, `set the password to X`, `the password for bob is X`,
# `password -> X`: a strong key word, a space or a connecting word, then a quoted or secret-looking
# value (prose such as "password reset" or "token expired" stays).
_KEY_SPACE_VALUE: Final = compile_lazily(
    r"(?i)(?<![\w.\-/])(?P<key>pass(?:word|wd|phrase)|pwd|secret|(?:api|access|auth|bearer)?[ _-]?token"
    r"|requirepass|masterauth"  # Redis's password directives (redis.conf, CONFIG SET)
    r"|psk"  # ipsec.secrets' `: PSK "x"`
    r"|api[ _-]?key|access[ _-]?key|secret[ _-]?key|priv(?:ate)?[ _-]?key|credentials?|creds"
    r"|identified[ \t]{1,8}by"
    rf"|{_FOREIGN_PASSWORD})"
    # (and the full-width colon and equals sign of CJK text, U+FF1A and U+FF1D)
    r"(?:(?P<colon>[ \t]{0,8}(?::[ \t]{1,8}|[：＝][ \t]{0,8}))|(?P<tab>\t{1,8}(?=[^\s]))|[ \t]{1,8}(?:(?:"
    r"(?:(?:was|is|has[ \t]{1,8}been|been)[ \t]{1,8})?(?:set|changed|reset|updated)[ \t]{1,8}to"
    # (`SET PASSWORD FOR 'bob'@'%' = 'x'`: MySQL's)
    # (`the password for bob is now X`, `password for bob reset to X`)
    rf"|for[ \t]{{1,8}}[^\s:]{{1,64}}[ \t]{{1,8}}(?:(?:is|was)(?:[ \t]{{1,8}}now)?|="
    r"|(?:(?:was|is|has[ \t]{1,8}been|been)[ \t]{1,8})?(?:set|changed|reset|updated)[ \t]{1,8}to)"
    rf"|(?P<is>{_IS_WORDS})|of|(?P<assign>=|->|→|=>)"
    r"|(?P<dash>-|–|—)|(?P<to>to)"
    r"):?[ \t]{1,8})?)"
    # (or a letter: a passphrase of short plain words, `_told_phrase`)
    # (SQL Server's `N'x'` and PostgreSQL's `E'x'` strings: the value is the quoted part)
    rf"(?:(?=(?:[NnEe](?='))?(?P<value>{_QUOTED}|[^\s\"',;()\[\]{{}}<>]{{6,256}}(?![^\s\"',;()\[\]{{}}<>])))|(?=[^\W\d_]))"
)
# A password fed to a command that reads it from its standard input: `echo X | sudo -S cmd`, `echo X |
# passwd --stdin bob`, `(echo X; echo X) | smbpasswd -s -a bob`, `printf 'bob:X' | chpasswd`, or as a
# here-string (`chpasswd <<< 'bob:X'`, `kinit bob <<< X`).
_STDIN_READER: Final = (
    r"(?:sudo(?:[ \t]{1,8}-[^\s|;&]{1,32}){0,6}?[ \t]{1,8}(?:-[A-Za-z]{0,8}S[A-Za-z]{0,8}|--stdin)\b"
    r"|(?:sudo[ \t]{1,8})?(?:passwd\b[^\n|;&<]{0,256}?--stdin|smbpasswd\b[^\n|;&<]{0,256}?[ \t]-[a-z]{0,8}s"
    r"|chpasswd\b|vncpasswd|kinit|ldappasswd\b[^\n|;&<]{0,256}?[ \t]-T|cryptsetup|x11vnc"
    r"|htpasswd\b[^\n|;&<]{0,256}?[ \t]-[a-zA-Z]{0,8}i)"
    # a command told by an option to read its secret from stdin: `docker login --password-stdin`
    # (helm, podman, skopeo alike), `gh auth login --with-token`, `openssl ... -passin stdin`, `vault login -`
    r"|(?<![^\s|;&(])[\w./-]{1,64}(?:[ \t]{1,8}[^\s|;&<]{1,256}){0,16}?[ \t]{1,8}"  # (from a word's start)
    r"(?:--(?:password|passphrase|token|secret)-?stdin\b|--with-token\b|-pass(?:in|word)[ \t]{1,8}stdin\b"
    r"|(?<=vault[ \t]login[ \t])-(?![^\s|;&<])))"
)
_PIPED_PASSWORD: Final = compile_lazily(
    r"(?:\((?P<subshell>[^()\n]{1,1024})\)|(?P<producer>(?:echo|printf)\b[^\n|;&()]{1,1024}))"
    rf"[ \t]{{0,8}}\|[ \t]{{0,8}}{_STDIN_READER}"
    rf"|{_STDIN_READER}[^\n|;&<]{{0,256}}?<<<[ \t]{{0,8}}"
    r"(?P<herestring>\"[^\"\n]{1,512}\"|'[^'\n]{1,512}'|[^\s\"';|&]{1,512})"
)
_ECHOED: Final = compile_lazily(
    r"\b(?:echo|printf)(?:[ \t]{1,8}-[neE]{1,3})*[ \t]{1,8}(?P<words>\"[^\"\n]{1,512}\"|'[^'\n]{1,512}'"
    r"|[^\s\"';|&()]{1,512}(?:[ \t]{1,8}[^\s\"';|&()]{1,512}){0,8})"
)
# `password` (and `token`, `secret key`) in scripts and languages whose prose the rule above cannot read:
# CJK text has no blanks between words (`パスワードはhunter2です`, `密码是hunter2`), others name it with two
# words (`kata sandi`, `mật khẩu`, `كلمة المرور`). Then a separator, a particle or copula (`は`, `是`,
# `는`, `هي`, `है`, `היא`, `là`, `adalah`), or a blank alone (then the value must read like a credential);
# the value is the run of ASCII characters after it (a CJK sentence goes on in its own script: `です`).
_SCRIPT_PASSWORD: Final = compile_lazily(
    r"(?i)(?P<key>パスワード|暗証番号|密[码碼]|口令|비밀번호|암호|패스워드|トークン|令牌|密[钥鑰]|秘密鍵|アクセスキー"
    r"|كلمة[ \t](?:المرور|السر)|رمز[ \t]عبور"
    r"|पासवर्ड|סיסמ[הא]|รหัสผ่าน|m[ậa]t[ \t]kh[ẩa]u|kata[ \t](?:sandi|laluan)"
    r"|κωδικός(?:[ \t]πρόσβασης)?|lozinka|lozinku|гасло|parool|slaptažodis|geslo|şifreniz|parolanız|parolă"
    r"|токен"
    # `secret`, `token` and `API key` (and Spanish's `clave`, a password or a key) in other languages
    r"|シークレット|APIキー|秘[钥鑰]|密匙|[凭憑][证證]|토큰|비번|시크릿|API[ \t]?키"
    r"|ключ[ \t]API|API[ \t]ключ|секрет"
    r"|geheimnis|jeton(?:[ \t]d'acc[èe]s)?|cl[ée][ \t](?:d'API|API|secr[èe]te)|clave(?:[ \t](?:de[ \t])?API)?"
    r"|clave[ \t]secreta|chave(?:[ \t]de)?[ \t]API|chave[ \t]secreta|segredo)"
    r"(?:(?P<sep>[ \t]{0,4}(?:[:：=＝]|->|=>|[-–—](?=[ \t])|は|が|是|为|為|는|은|이|가"
    r"|(?<=[ \t\w])(?:هي|है|היא|là|adalah|ist|est|é|es)(?=[ \t]))[ \t]{0,4})|(?P<blank>[ \t]{1,4}))"
    r"[「『“\"'«（(]?(?P<value>[!#-&*-~]{4,256})"
)
# A passphrase of plain words told in prose: `password is correct horse battery staple`, to the end of
# its sentence (each word is checked against the words of prose, `_PROSE_WORDS`).
_PHRASE_KEY: Final = compile_lazily(rf"(?i)pass(?:word|phrase)|{_FOREIGN_PASSWORD}")
_PASSPHRASE: Final = compile_lazily(
    r"(?m)[^\W\d_]{2,32}(?:[ \t]{1,4}[^\W\d_]{2,32}){2,9}(?=[ \t]{0,8}(?:[.!?,;)\]]|\r?$))"
)
# `using key X`, `signed with key X`, `the key is X`: a bare `key` is mostly an id in prose, so the value
# must read like a random key (`_random_looking`).
_KEY_TOLD: Final = compile_lazily(
    r"(?i)(?<![\w.\-])(?:(?:using|with|by)[ \t]{1,8}(?:the[ \t]{1,8})?key"
    r"|the[ \t]{1,8}key[ \t]{1,8}(?:is|was))"
    r"[ \t]{1,8}(?P<value>[^\s\"',;()\[\]{}<>]{8,256})(?![^\s\"',;()\[\]{}<>])"
)
# A prompt answered on its line: `[sudo] password for bob: X`, `Enter passphrase for key '~/.ssh/id': X`,
# `Password for 'https://bob@host': X` (a colon then a blank ends the prompt; the answer is the rest of
# the line).
_PROMPT_ANSWER: Final = compile_lazily(
    r"(?i)(?<![\w.\-])(?:pass(?:word|phrase)|pin|passcode)[ \t]{1,8}for[ \t][^\n]{1,256}?:[ \t]{1,8}"
    r"(?P<secret>[^\s][^\n]{0,511})"  # the answer is the rest of the line, blanks and all
)
# A .pgpass line, `host:port:database:user:password` (each field may be `*`; `\:` escapes a colon):
# the fifth field, when the line holds no more.
_PGPASS_LINE: Final = compile_lazily(
    r"(?m)(?:^|(?<=[\s\"']))(?:\*|(?=[\w.\-]{0,252}[A-Za-z.])[\w.\-]{1,253}):(?:[0-9]{1,5}|\*)"
    r"(?::(?:[^\s:\\]|\\.){1,128}){2}:(?P<secret>(?:[^\s:\\]|\\.){1,512})(?=[\s\"']|\Z)"
)
_PGPASS_TRIGGERS: Final = ("pgpass", ":5432:", ":*:")
_HEADER: Final = compile_lazily(
    r"(?i)(?<![\w\-])(?:b(?=\\?[\"']))?(?P<kq>\\?[\"'])?(?P<key>(?:proxy-)?authorization|(?:set-)?cookie)"
    r"(?(kq)(?P=kq))"
    r"(?P<sep>[ \t]{0,8}[:=][ \t]{0,8}|(?(kq)[ \t]{0,8},[ \t]{0,8}|(?!)))"
)
# (the keys `_HEADER` reads, as words: not `session_cookie`, whose value is the cookie's, whole)
_HEADER_KEYS: Final = (["authorization"], ["proxy", "authorization"], ["cookie"], ["set", "cookie"])
_AUTH_SCHEME_THEN_PARAMS: Final = compile_lazily(r"[A-Za-z][\w\-]{0,63}[ \t]+(?=[A-Za-z][\w\-]{0,63}=)")
_AUTH_SCHEME: Final = compile_lazily(r"[A-Za-z][\w\-]{0,63}[ \t]+(?=[^\s\"',;])")
_TOKEN: Final = compile_lazily(r"[^\s\"',;&]{1,8192}")
_SCHEME_WORD: Final = compile_lazily(
    r"(?i)(?:bearer|basic|token|digest|apikey|negotiate|ntlm)[ \t]{1,8}(?=[^\s\"',;])"
)
_COOKIE_PAIR: Final = compile_lazily(r"(?P<name>[^=;,\s]{1,256})=(?P<value>[^;,\s]{0,8192})")
_COOKIE_ATTRIBUTES: Final = frozenset(
    {"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "version", "comment"}
    | {"priority", "partitioned"}
)
_BEARER: Final = compile_lazily(r"(?i)\b(?P<scheme>bearer)[ \t]{1,8}(?P<value>[A-Za-z0-9._~+/=\-]{1,8192})")
_NAME_EQUALS: Final = compile_lazily(r"[A-Za-z_]\w*=(?!=*$)")
_CHALLENGE_PARAMETER: Final = compile_lazily(r"[A-Za-z_]\w{0,63}=\"")  # WWW-Authenticate: Bearer realm="x"
_BASIC: Final = compile_lazily(r"\b(?i:basic)[ \t]{1,8}(?P<value>[A-Za-z0-9+/]{6,8192}={0,2})(?![\w+/=])")
# `scheme://user:password@host`, also with JSON-escaped slashes (`postgres:\/\/u:pw@db`). The password
# runs to the last `@` before the path; failing that (a raw `/`, `?` or `#` in it, as SQLAlchemy-style
# DSNs accept) to the first `@`, unless it starts with a port (`https://h:8443/@scope/pkg`).
# The user name may be an e-mail address (`https://bob@example.com:pw@host`); a password holding `@` with
# `#` or `?` too runs to the `@` before a host that ends the authority (`p@ss#w0rd@db/app`).
_URL_USERINFO: Final = compile_lazily(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}:(?:\\?/){2}"
    r"[^:/@\s\"'\[]{0,256}(?:@[^:/@\s\"'\[]{1,256})?:"
    r"(?P<secret>[^/\s?#\"']{1,512}(?=@[^/\s?#\"']{0,256}(?:[/\s\"']|\\/|$))"
    r"|(?!\d{1,5}(?:[/?#@]|\\/))[^/\s\"']{1,512}(?=@[^/\s?#@\"']{1,256}(?:[/\s\"']|\\/|$))"
    r"|[^/\s?#\"']{1,512}(?=@)|(?!\d{1,5}(?:[/?#]|\\/))[^@\s\"']{1,256}(?=@))@"
)
# A token as a URL's user name, with no password (`https://<token>@github.com/...`): a provider's token
# prefix and 4+ characters more (`ghp_`, `glpat-`, `hf_`), or 12+ that read like a token (`_token_like`).
_URL_TOKEN_USER: Final = compile_lazily(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}:(?:\\?/){2}(?P<secret>"
    r"(?P<prefixed>(?:gh[pousr]_|github_pat_|gl(?:pat|dt|ptt|rt|cbt|oas|soat|ft|imt|agent)-|npm_|hf_|sk-|sk_|rk_"
    r"|pypi-|xox[abposrce]-|ATBB|glsa_|glc_|hv[sbr]\.|shp(?:at|ca|pa|ss)_|do[opr]_v1_|lin_api_)"
    r"[A-Za-z0-9_\-.]{4,256})|[A-Za-z0-9_]{12,256}|[A-Za-z0-9+/_\-]{12,256}={0,2})@"
)
_QUERY_PARAM: Final = compile_lazily(r"[?&](?P<key>[\w.\-\[\]%]{1,128})=")
_QUERY_WORDS: Final = frozenset({"sig", "signature", "code", "jwt"})
# Commands whose `-p` is a password: mysql/mariadb glue it to the flag (`-pSECRET`), `docker login`,
# `podman login`, `helm registry login` and the like give it apart (`-p SECRET`).
_P_IS_PASSWORD: Final = compile_lazily(
    r"(?i)\b(?:mysql\w{0,16}|mariadb\w{0,16}|mongo\w{0,16}|login|sshpass|useradd|usermod|ncftp\w{0,8})\b"
)
# The value of a short password flag (`-pX`, `-p X`, `-a X`): not a flag itself, to a blank or quote.
_FLAG_SECRET: Final = r"(?P<secret>[^\s\"',;\])\-][^\s\"',;\])]{0,511})"
# redis-cli -a SECRET: its `-a` is the password (elsewhere `-a` is "all", "append"...).
_A_IS_PASSWORD: Final = compile_lazily(r"(?i)\bredis-cli\b")
# ...or a quoted one, blanks and all (`redis-cli -a "two words"`, `sshpass -p 'x'`).
_FLAG_QUOTED_SECRET: Final = r"(?P<fq>[\"'])(?P<quoted>[^\"'\n]{1,512})(?P=fq)"


def _spaced_flag(letters: str) -> re.Pattern[str]:
    """A short flag (`-a X`, `-P 'X'`) whose value, given apart from it, is a password."""
    return compile_lazily(
        rf"(?<![\w\-])-[{letters}][ \t]{{1,8}}(?:{_FLAG_QUOTED_SECRET}|(?P<q>[\"']?){_FLAG_SECRET}(?P=q))"
    )


_SHORT_A_PASSWORD: Final = _spaced_flag("a")
# zip/unzip `-P X`, openssl's `-k X` (a passphrase) and `-K X` (a raw key), the OpenLDAP tools' `-w X`,
# and 7-Zip's `-pX` (glued: its `-p` alone asks).
_ZIP: Final = compile_lazily(r"\b(?:zip|unzip|zipcloak)\b")
_OPENSSL: Final = compile_lazily(r"\bopenssl\b")
_LDAP_TOOL: Final = compile_lazily(r"\bldap[a-z]{0,16}\b")
_SEVEN_ZIP: Final = compile_lazily(r"\b7z[ar]?\b")
# SQL Server's and Sybase's tools (`sqlcmd -U sa -P X`), and ssh-keygen's new and old passphrases.
_SQL_SERVER_TOOL: Final = compile_lazily(r"\b(?:sqlcmd|osql|isql)\b")
_BCP: Final = compile_lazily(r"\bbcp\b")
_SSH_KEYGEN: Final = compile_lazily(r"\bssh-keygen\b")
# RAR's `-pX` and `-hpX` (headers encrypted too); ipmitool's and the Mosquitto clients' `-P X`; the
# Net-SNMP tools' SNMPv3 authentication and privacy passphrases (`-A X`, `-X X`).
_RAR: Final = compile_lazily(r"\b(?:un)?rar\b")
_GLUED_RAR_PASSWORD: Final = compile_lazily(rf"(?<![\w\-])-h?p(?:{_FLAG_QUOTED_SECRET}|{_FLAG_SECRET})")
_IPMITOOL: Final = compile_lazily(r"\bipmitool\b")
_MOSQUITTO: Final = compile_lazily(r"\bmosquitto_(?:pub|sub|rr|passwd)\b")
_SNMP_TOOL: Final = compile_lazily(
    r"\bsnmp(?:walk|bulkwalk|get|getnext|bulkget|set|trap|inform|table|delta|df|status|netstat|usm|vacm|test)\b"
)
_GLUED_P_PASSWORD: Final = compile_lazily(rf"(?<![\w\-])-p{_FLAG_SECRET}")
# openssl's `-passin pass:X` / `-passout pass:X` (`env:`, `file:`, `fd:` name where the secret is).
_OPENSSL_PASS: Final = compile_lazily(
    r"(?<![\w\-])-(?:pass(?:in|out)?|password)[ \t]{1,8}pass:(?P<secret>[^\s\"']{1,512})"
)
# A Redis client's AUTH as MONITOR and the slow log print it: "AUTH" "password", "AUTH" "user" "password".
_REDIS_AUTH: Final = compile_lazily(
    r'"AUTH"(?:[ \t]{1,8}"(?:[^"\\\n]|\\.){0,256}")?[ \t]{1,8}"(?P<secret>(?:[^"\\\n]|\\.){1,4096})"'
)
# The same typed at a Redis prompt or in a script: `AUTH password`, `AUTH user password`, alone on its
# line (or after `host:6379> `), so that `AUTH failed for client 7` stays.
_REDIS_AUTH_LINE: Final = compile_lazily(
    r"(?m)(?:^|(?<=> ))[ \t]{0,8}(?P<command>AUTH|auth)(?:[ \t]{1,8}[^\s\"']{1,256})?[ \t]{1,8}"
    r"(?:\"(?P<quoted>[^\"\n]{1,512})\"|(?P<secret>[^\s\"']{1,512}))[ \t]*\r?$"
)
# Commands that take a password as a positional argument: `rabbitmqctl add_user bob X`, `htpasswd -b
# file bob X` (`-nb bob X` without a file), `echo 'bob:X' | chpasswd`, `net user bob X /add`,
# `smbclient -U bob%X`.
_POSITIONAL_PASSWORD: Final = compile_lazily(
    r"\brabbitmqctl(?:[ \t]{1,8}-[^\s]{1,64}(?:[ \t]{1,8}[^\s\-][^\s]{0,255})?){0,4}[ \t]{1,8}"
    r"(?:add_user|change_password|authenticate_user)[ \t]{1,8}[^\s]{1,256}[ \t]{1,8}(?P<q1>[\"']?)"
    r"(?P<rabbit>[^\s\"']{1,512})(?P=q1)"
    r"|\b(?:htpasswd|mosquitto_passwd)(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,4}?[ \t]{1,8}"
    r"(?:-(?=[A-Za-z]{0,8}n)(?=[A-Za-z]{0,8}b)[A-Za-z]{1,8}(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,4}"  # -nb user pw
    r"|-(?![A-Za-z]{0,8}n)(?=[A-Za-z]{0,8}b)[A-Za-z]{1,8}(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,4}"  # -b file user pw
    r"[ \t]{1,8}[^\s\-][^\s]{0,1023})[ \t]{1,8}[^\s]{1,256}[ \t]{1,8}"
    r"(?P<q2>[\"']?)(?P<htpasswd>[^\s\"']{1,512})(?P=q2)"
    r"|\becho[ \t]{1,8}(?P<q3>[\"']?)[^\s:\"']{1,64}:(?P<chpasswd>[^\s\"']{1,512})(?P=q3)[ \t]{0,8}\|"
    r"[ \t]{0,8}(?:sudo[ \t]{1,8})?chpasswd\b"
    r"|\becho[ \t]{1,8}(?P<q4>[\"']?)(?P<stdin>[^\s\"'|]{1,512})(?P=q4)[ \t]{0,8}\|"
    r"[^\n|]{0,256}?--password-stdin"
    r"|(?i:\bnet[ \t]{1,8}user)[ \t]{1,8}[^\s/*]{1,256}[ \t]{1,8}(?P<netuser>[^\s/*\"'][^\s\"']{0,511})"
    r"|\bsmbclient\b[^\n]{0,256}?[ \t]-U[ \t]{0,8}[^\s%]{1,256}%(?P<smb>[^\s\"']{1,512})"
    # `net use [Z:] \\server\share [X] [/user:bob] [X]`: the positional after the share and its options
    r"|(?i:\bnet[ \t]{1,8}use)(?:[ \t]{1,8}(?:[A-Za-z]:|\*))?[ \t]{1,8}\\\\[^\s]{1,512}"
    r"(?:[ \t]{1,8}/[^\s]{1,256}){0,8}[ \t]{1,8}(?P<netuse>[^\s/*\"'][^\s\"']{0,511})"
    # `vault login [-flag=v...] TOKEN` (a `name=value` there is a method's parameter, read as a pair)
    r"|\bvault[ \t]{1,8}login(?:[ \t]{1,8}-[^\s]{1,128}){0,8}[ \t]{1,8}"
    r"(?![A-Za-z_][\w\-]{0,64}=)(?P<vault>[^\s\-\"'][^\s\"']{0,511})"
    # `mysqladmin [options] password X` (and `old-password X`): the subcommand's argument
    r"|\bmysqladmin\b[^\n|;&]{0,512}?[ \t](?:old-)?password[ \t]{1,8}(?P<q5>[\"']?)"
    r"(?P<mysqladmin>[^\s\"']{1,512})(?P=q5)"
    # `htpasswd [-flags] user X` without a file (its first positional no path), `smbpasswd -a user X`:
    # the second positional, last on the command
    r"|\b(?:htpasswd|smbpasswd)(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,4}[ \t]{1,8}[^\s\-./\"'][^\s./\"']{0,255}"
    r"[ \t]{1,8}"
    r"(?P<q6>[\"']?)(?P<htpasswd2>[^\s\-\"':][^\s\"':]{0,511})(?P=q6)(?=[ \t]*(?:\r?$|[\n;|&'\"]))"
    # `lftp -u bob,X`: the user and the password after a comma
    r"|\blftp\b[^\n]{0,256}?[ \t]-u[ \t]{1,8}(?P<q7>[\"']?)[^\s,\"']{1,256},(?P<lftp>[^\s\"']{1,512})(?P=q7)"
    # the MinIO client's `mc alias set ALIAS URL ACCESS-KEY SECRET-KEY` (and its older `config host add`)
    r"|\bmc[ \t]{1,8}(?:alias[ \t]{1,8}set|config[ \t]{1,8}host[ \t]{1,8}add)[ \t]{1,8}[^\s]{1,256}[ \t]{1,8}"
    r"[^\s]{1,2048}[ \t]{1,8}[^\s]{1,256}[ \t]{1,8}(?P<q8>[\"']?)(?P<mc>[^\s\"'\-][^\s\"']{0,511})(?P=q8)"
    # `wpa_passphrase SSID X` (the SSID quoted or not); pdftk's `user_pw X` and `owner_pw X`
    r"|\bwpa_passphrase[ \t]{1,8}(?:\"[^\"\n]{1,64}\"|'[^'\n]{1,64}'|[^\s\"']{1,64})[ \t]{1,8}"
    r"(?P<q9>[\"']?)(?P<wpa>(?(q9)[^\"'\n]|[^\s\"']){1,512})(?P=q9)"
    r"|(?<![\w\-])(?:user|owner)_pw[ \t]{1,8}(?P<q10>[\"']?)(?P<pdftk>[^\s\"']{1,512})(?P=q10)"
)
# An interactive session printing an expression named like a secret, its value on the next line:
# `(Pdb) p password`, `>>> api_key`, IPython's `In [3]: token` then `Out[3]: '...'`.
_PROMPT_EXPRESSION: Final = compile_lazily(
    r"(?m)^[ \t]{0,8}(?:\(Pdb\)[ \t]{1,8}(?:pp?[ \t]{1,8}|print\()|>>>[ \t]{1,8}(?:print\()?"
    r"|In[ \t]\[[0-9]{1,6}\]:[ \t]{1,8})"
    r"(?P<name>[A-Za-z_][\w.]{0,127})\)?[ \t]*\r?\n(?:Out\[[0-9]{1,6}\]:[ \t]{1,8})?(?P<value>[^\n]{1,4096})"
)
# A tool's `config set KEY VALUE` (`aws configure set aws_secret_access_key X`, `npm config set
# _authToken X`, Redis `CONFIG SET requirepass X`).
_CONFIG_SET: Final = compile_lazily(r"(?i)\b(?:configure|config)[ \t]{1,8}set[ \t]")
_ARGUMENT: Final = compile_lazily(r"[ \t]{0,8}(?P<arg>\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s\"']{1,4096})")
# A one-time or recovery code told in a line: `OTP code: 482913`, `verification code is 123456`.
_ONE_TIME_CODE: Final = compile_lazily(
    r"(?i)\b(?:(?:otp|totp|hotp)(?:[ \t_-]codes?)?|one[- ]time[ \t](?:pass(?:word|code)|code)"
    r"|(?:verification|security|mfa|2fa"
    r"|two[- ]factor|recovery|backup|sms|login)[ \t_-]codes?)(?:[ \t]{1,8}(?:is|was))?(?:[ \t]{0,8}[:=])?"
    r"[ \t]{1,8}(?P<secret>(?=[A-Za-z\-]{0,12}[0-9])[A-Za-z0-9]{4,12}(?:-[A-Za-z0-9]{4,12}){0,3})\b"
)
_SHORT_PASSWORD: Final = compile_lazily(
    r"(?<![\w\-])(?P<q>\\?[\"'])?-p(?:(?(q)(?P=q)[ \t]{0,8},[ \t]{0,8}\\?[\"']|[ \t]{1,8}))?"
    rf"(?:(?(q)(?!)|{_FLAG_QUOTED_SECRET})|{_FLAG_SECRET})"
)
# curl -u user:password, --proxy-user user:password
_USER_PASSWORD_FLAG: Final = compile_lazily(
    r"(?<![\w\-])(?:-[uU](?:[ \t]{1,8}|=)?|--(?:proxy-)?user(?:[ \t]{1,8}|=))"
    r"(?:(?P<uq>[\"'])[^\s:\"']{1,256}:(?P<quoted>[^\"'\n]{1,512})(?P=uq)"  # `-u "bob:two words"`
    r"|[^\s:\"']{1,256}:(?P<secret>[^\s\"']{1,512})"
    # `-u sk_test_x:`: a token as the user, no password
    r"|(?P<alone>[^\s:\"'\-][^\s:\"']{7,511}):(?=[\s\"']|\Z))"
)
# Oracle's `user/password@connect`: JDBC thin URLs, the tools that take it (SQL*Plus, SQL*Loader's and
# Data Pump's `userid=`, RMAN's `target`), and a driver's connect string (`oracledb.connect('u/pw@h')`).
_ORACLE: Final = compile_lazily(
    r"(?i)(?:jdbc:oracle:\w{1,16}:|\b(?:sqlplus|sqlldr|expdp|impdp|rman|dgmgrl)\s{1,8}(?:-\w{1,16}\s{1,8}){0,4}"
    r"|\buserid=|\b(?:target|auxiliary|catalog)[ \t]{1,8}|(?<=SQL> )conn(?:ect)?[ \t]{1,8}"
    r"|(?<=oracle)\w{0,8}(?:\.\w{1,32}){0,2}\.(?:connect|makedsn|create_pool|SessionPool)\([ \t]{0,8}[\"'])"
    r"[\w$#.]{1,128}/(?P<secret>[^@\s\"']{1,512})@"
)
# The kinds of armoured block that hold a secret key: PEM and PGP private keys, an age or a PGP `SECRET
# KEY`, OpenVPN's static (`tls-auth`/`secret`) keys; in five dashes or in RFC 4716's `---- ` (an SSH2
# key as PuTTYgen and SSH.com export it).
_SECRET_KEY_KIND: Final = (
    r"(?:[A-Z0-9 ]{0,64}(?:PRIVATE|SECRET) KEY(?: BLOCK)?|OpenVPN Static key V[0-9]{1,2}"
    r"|[A-Z0-9 ]{0,64}(?:TOKEN|PASSWORD|CREDENTIALS?))"  # (cloudflared's `ARGO TUNNEL TOKEN`)
)
_PRIVATE_KEY_BLOCK: Final = compile_lazily(
    rf"(?:-----|---- )BEGIN (?P<kind>{_SECRET_KEY_KIND})(?:-----| ----)"
    r"(?P<secret>.*?)(?:(?:-----|---- )END (?P=kind)(?:-----| ----)|\Z)",
    re.DOTALL,
)
# minisign's and signify's secret key files: an `untrusted comment:` naming a secret key, then its base64.
_SIGNING_SECRET_KEY: Final = compile_lazily(
    r"(?i:untrusted comment:)[^\n]{0,128}(?i:secret key)[^\n]{0,64}(?:\r?\n|\\r?\\n)"
    r"(?P<secret>[A-Za-z0-9+/]{40,1024}={0,2})"
)
# Well-known token formats: each prefix is specific enough to hide the token wherever it stands.
_WELL_KNOWN: Final = compile_lazily(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"(?P<aws_access_key_id>(?:AKIA|ASIA)[0-9A-Z]{16})"  # long-term and temporary keys (AROA... are ids)
    r"|(?P<google_api_key>AIza[0-9A-Za-z_\-]{35,64})"  # (lengths a little loose: a format may grow)
    # (a service account's is dotted: `ya29.c.b0Aaek...`)
    r"|(?P<google_oauth_token>ya29\.(?=[0-9A-Za-z_\-.]{20})[0-9A-Za-z_\-]{1,4096}(?:\.[0-9A-Za-z_\-]{1,4096}){0,3})"
    r"|(?P<github_token>gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})"
    r"|(?P<gitlab_token>gl(?:pat|dt|ptt|rt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_\-]{20,255})"
    r"|(?P<bitbucket_token>ATBB[A-Za-z0-9_=.\-]{20,255})"
    r"|(?P<slack_token>xox[abposrce]-[A-Za-z0-9\-]{10,255}|xapp-[0-9]-[A-Za-z0-9\-]{10,255})"
    r"|(?P<stripe_key>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,255})"
    # a PaymentIntent's or SetupIntent's client secret: the object's id, `_secret_`, then the secret
    r"|(?:pi|seti)_[0-9A-Za-z]{14,64}_secret_(?P<stripe_client_secret>[0-9A-Za-z]{16,128})"
    r"|(?P<openai_key>sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,255})"
    r"|(?P<npm_token>npm_[A-Za-z0-9]{36,64})"
    r"|(?P<pypi_token>pypi-[A-Za-z0-9_\-]{50,512})"
    r"|(?P<sendgrid_key>SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64})"
    r"|(?P<huggingface_token>hf_[A-Za-z0-9]{30,64})"
    r"|(?P<telegram_bot_token>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33})"
    r"|(?P<stripe_webhook_secret>whsec_[A-Za-z0-9+/=]{24,128})"
    r"|(?P<vault_token>hv[sbr]\.[A-Za-z0-9_\-]{24,512})"
    r"|(?P<databricks_token>dapi[0-9a-f]{32}(?:-[0-9]{1,2})?)"
    r"|(?P<shopify_token>shp(?:at|ca|pa|ss)_[A-Fa-f0-9]{32})"
    r"|(?P<digitalocean_token>do[opr]_v1_[a-f0-9]{64})"
    r"|(?P<grafana_token>glsa_[A-Za-z0-9_]{32,64}|glc_[A-Za-z0-9+/=_\-]{32,1024})"
    r"|(?P<postman_key>PMAK-[a-f0-9]{24}-[a-f0-9]{34})"
    r"|(?P<age_secret_key>AGE-SECRET-KEY-1[0-9A-Z]{58})"
    r"|(?P<tor_onion_service_key>ED25519-V3:[A-Za-z0-9+/]{80,90}={0,2})"  # (torrc, ADD_ONION's answer)
    # a BIP32 extended private key (`xprv`, testnet `tprv`, SLIP-132's `yprv`/`zprv`...), base58
    r"|(?P<bip32_private_key>[tuvxyzUVYZ]prv[1-9A-HJ-NP-Za-km-z]{100,112})"
    r"|(?P<linear_key>lin_api_[A-Za-z0-9]{32,64})"
    r"|(?P<django_secret_key>django-insecure-[^\s\"']{20,256})"  # `startproject`'s generated SECRET_KEY
    r"|(?P<mailgun_key>key-[0-9a-f]{32})"
    r"|(?P<google_oauth_client_secret>GOCSPX-[A-Za-z0-9_\-]{28,64})"
    r"|(?P<google_refresh_token>1//0[A-Za-z0-9_\-]{40,1024})"
    r"|(?P<atlassian_token>ATATT3[A-Za-z0-9_\-=]{100,512})"
    r"|(?P<groq_key>gsk_[A-Za-z0-9]{48,64})"
    r"|(?P<xai_key>xai-[A-Za-z0-9]{60,128})"
    r"|(?P<replicate_token>r8_[A-Za-z0-9]{30,64})"
    r"|(?P<perplexity_key>pplx-[A-Za-z0-9]{40,64})"
    r"|(?P<doppler_token>dp\.(?:st|sa|ct|pt|scim|audit)\.(?:[a-z0-9_\-]{1,64}\.)?[A-Za-z0-9]{40,64})"
    r"|(?P<new_relic_key>NRAK-[A-Z0-9]{27})"
    r"|(?P<supabase_token>sbp_[a-f0-9]{40})"
    r"|(?P<figma_token>figd_[A-Za-z0-9_\-]{40,64})"
    r"|(?P<notion_token>ntn_[A-Za-z0-9]{40,64}|secret_[A-Za-z0-9]{43})"
    r"|(?P<fly_token>fo1_[A-Za-z0-9_\-]{40,64})"
    r"|(?P<square_token>sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,64}|(?<![+/])EAAA[A-Za-z0-9_\-+]{60})"
    r"|(?P<mailchimp_key>[0-9a-f]{32}-us[0-9]{1,2})"
    r"|(?P<tencent_secret_id>AKID[A-Za-z0-9]{32})"
    r"|(?P<sentry_token>sntry[us]_[A-Za-z0-9_=+/\-]{40,512})"
    r"|(?P<onepassword_token>ops_eyJ[A-Za-z0-9+/=_\-]{40,4096})"
    # (3 characters, a digit, `Q~`: Microsoft Entra ID's client secrets)
    r"|(?P<azure_client_secret>(?<![~.])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![~.]))"
    # a JWE (five parts; the second, the encrypted key, is empty with `dir`), then a JWS of any payload
    # (`e30` is `{}`, a detached or non-JSON payload is not `eyJ`)
    r"|(?P<jwe>eyJ[A-Za-z0-9_\-]{5,4096}\.[A-Za-z0-9_\-]{0,8192}\.[A-Za-z0-9_\-]{8,1024}"
    r"\.[A-Za-z0-9_\-]{1,65536}\.[A-Za-z0-9_\-]{8,1024})"
    r"|(?P<jwt>eyJ[A-Za-z0-9_\-]{5,4096}\.[A-Za-z0-9_\-]{2,8192}\.[A-Za-z0-9_\-]{0,4096})"
    r")(?![A-Za-z0-9_\-])"
)
# The ninth sweep's services' token formats, each of its own prefix: apart from `_WELL_KNOWN` (whose every
# alternative is tried at every word's start of every text with a trigger), read where a prefix stands.
_SERVICE_TOKEN: Final = compile_lazily(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"(?P<docker_hub_token>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,128})"
    r"|(?P<tailscale_key>tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{6,64}-[A-Za-z0-9]{20,128})"
    r"|(?P<planetscale_token>pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.]{32,128})"
    r"|(?P<sonarqube_token>sq[upa]_[0-9a-f]{40})"
    r"|(?P<langsmith_key>lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10})"
    r"|(?P<pinecone_key>pcsk_[A-Za-z0-9_]{40,128})"
    r"|(?P<dynatrace_token>dt0[a-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64})"
    r"|(?P<buildkite_token>bkua_[0-9a-f]{40})"
    r"|(?P<render_key>rnd_[A-Za-z0-9]{28,64})"
    r"|(?P<netlify_token>nfp_[A-Za-z0-9]{36,64})"
    r"|(?P<circleci_token>CCIPAT_[A-Za-z0-9]{20,32}_[0-9a-f]{40})"
    r"|(?P<mapbox_secret_token>sk\.eyJ[A-Za-z0-9_\-]{20,1024}\.[A-Za-z0-9_\-]{16,128})"
    r"|(?P<firebase_server_key>(?:AAAA[A-Za-z0-9_\-]{7}:)?APA91b[A-Za-z0-9_\-]{100,400})"
    # the twentieth sweep's: Terraform Cloud/HCP, Braintree, Contentful, Pulumi, Prefect, Adafruit IO,
    # Dropbox, Flutterwave, RubyGems, Brevo, Shippo, NuGet, JFrog (key and reference token), Meta's and
    # Instagram's access tokens, X's app bearer token, Fly.io, Supabase, PostHog's personal key,
    # Yandex's OAuth token, Cloudflare's Origin CA key, PASETO tokens, macaroons, older AWS session tokens
    r"|(?P<terraform_token>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,128})"
    r"|(?P<braintree_token>access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})"
    r"|(?P<contentful_token>CFPAT-[A-Za-z0-9_\-]{43,64})"
    r"|(?P<pulumi_token>pul-[a-f0-9]{40})"
    r"|(?P<prefect_key>pnu_[A-Za-z0-9]{36})"
    r"|(?P<adafruit_key>aio_[A-Za-z0-9]{28})"
    r"|(?P<dropbox_token>sl\.(?:u\.)?[A-Za-z0-9_\-]{130,1024})"
    r"|(?P<flutterwave_key>FLWSECK(?:_TEST)?-[a-f0-9]{32}-X)"
    r"|(?P<rubygems_key>rubygems_[a-f0-9]{48})"
    r"|(?P<brevo_key>xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})"
    r"|(?P<shippo_token>shippo_(?:live|test)_[a-f0-9]{40})"
    r"|(?P<nuget_key>oy2[a-z0-9]{43})"
    r"|(?P<jfrog_token>AKCp[A-Za-z0-9]{60,80}|cmVmdGtu[A-Za-z0-9+/=]{40,128})"
    r"|(?P<meta_token>EAA[A-Z][A-Za-z0-9]{80,512}|IGQ[VW][A-Za-z0-9_\-]{80,512})"
    r"|(?P<x_bearer_token>A{21,24}[A-Za-z0-9%]{40,256})"
    r"|(?P<fly_macaroon>fm[12][ar]?_[A-Za-z0-9+/=_\-]{40,8192})"
    r"|(?P<supabase_secret>sb_secret_[A-Za-z0-9_\-]{20,128})"
    r"|(?P<posthog_key>phx_[A-Za-z0-9]{40,64})"
    r"|(?P<yandex_token>y[0-3]_[A-Za-z0-9_\-]{50,64})"
    r"|(?P<cloudflare_origin_key>v1\.0-[a-f0-9]{24}-[a-f0-9]{146})"
    r"|(?P<paseto_token>v[1-4]\.(?:local|public)\.[A-Za-z0-9_\-]{40,8192}(?:\.[A-Za-z0-9_\-]{1,1024})?)"
    r"|(?P<macaroon>MDAx[A-Za-z0-9+/=_\-]{50,8192})"
    r"|(?P<aws_session_token>F[wQ]oGZXIvYXdzE[A-Za-z0-9+/=]{100,4096})"
    # Werkzeug's (Flask's) debugger PIN: whoever has it runs code in the program's console
    r"|(?<=Debugger PIN: )(?P<werkzeug_debugger_pin>[0-9]{3,5}(?:-[0-9]{3,5}){1,4})"
    r")(?![A-Za-z0-9_\-])"
)
_SERVICE_TOKEN_TRIGGERS: Final = (
    "dckr_", "tskey-", "pscale_", "squ_", "sqp_", "sqa_", "lsv2_", "pcsk_", "dt0", "bkua_", "rnd_", "nfp_",
    "ccipat_", "sk.eyj", "apa91b",
    ".atlasv1.", "access_token$", "cfpat-", "pul-", "pnu_", "aio_", "sl.", "flwseck", "rubygems_", "xkeysib-",
    "shippo_", "oy2", "akcp", "cmvmdgtu", "eaa", "igqv", "igqw", "aaaaaaaaaaaaaaaaaaaaa", "fm1", "fm2",
    "sb_secret_", "phx_", "y0_", "y1_", "y2_", "y3_", "v1.0-", ".local.", ".public.", "mdax",
    "fwogzxivyxdze", "fqogzxivyxdze", "debugger pin: ",
)  # fmt: skip
# The base64 of a private key without its armour (a PEM split over log records, or cut by
# truncation), known by its first bytes: a DER SEQUENCE, then version 0 or 1 (PKCS#8 and PKCS#1 RSA
# `MII..IBADAN` / `MII..IBAAKC`, PKCS#8 and SEC1 EC `MIG.AgEA` / `MHcCAQEE`, Ed25519 and X25519
# `MC4CAQAwBQYDK2V`, a PKCS#12 bundle's version 3 `MII..IBAzCC`: a .pfx holds its private key), or the
# OpenSSH key magic. Public keys and certificates begin otherwise. The body
# runs on over the lines that are base64 through and through (real or escaped line breaks).
_PRIVATE_KEY_BODY: Final = compile_lazily(
    r"(?<![A-Za-z0-9+/])(?:MII[A-Za-z0-9+/]{3}IBA(?:DAN|AKC|AKB|zCC)|MI[GH][A-Za-z0-9+/]AgE[AB]|MHcCAQEE"
    r"|MC4CAQAwBQYDK2V|b3BlbnNzaC1rZXktdjE)[A-Za-z0-9+/=]{0,8192}"
    r"(?:(?:\r?\n|\\r\\n|\\n)[A-Za-z0-9+/=]{4,128}(?=\r?\n|\\[rn]|[\"']|\Z)){0,512}"
)
# A password hash is a credential to crack offline, whatever key it stands under (a user record's
# `hash`, an htpasswd or shadow line): bcrypt, md5/sha-crypt, Apache's apr1, yescrypt, argon2 and
# Django's PBKDF2, each known by its scheme prefix and the exact shape of its salt and digest.
_CRYPT_CHARACTER: Final = r"[./A-Za-z0-9]"
_PASSWORD_HASH: Final = compile_lazily(
    r"(?<![\w$./])(?:"
    rf"\$2[abxy]\$[0-9]{{2}}\${_CRYPT_CHARACTER}{{53}}"
    rf"|\$[156]\$(?:rounds=[0-9]{{1,9}}\$)?{_CRYPT_CHARACTER}{{1,16}}\${_CRYPT_CHARACTER}{{22,86}}"
    rf"|\$apr1\${_CRYPT_CHARACTER}{{1,8}}\${_CRYPT_CHARACTER}{{22}}"
    rf"|\$y\${_CRYPT_CHARACTER}{{1,32}}\${_CRYPT_CHARACTER}{{1,86}}\${_CRYPT_CHARACTER}{{43}}"
    r"|\$argon2(?:id|i|d)\$v=[0-9]{1,3}\$m=[0-9]{1,10},t=[0-9]{1,10},p=[0-9]{1,4}"
    r"\$[A-Za-z0-9+/]{8,128}\$[A-Za-z0-9+/]{16,512}"
    # Juniper's `$9$` secrets (reversible: the key itself) and Cisco's type 9 (scrypt) `$9$salt$hash`
    r"|\$9\$[A-Za-z0-9./\-$]{8,512}"
    r"|pbkdf2_sha(?:1|256|512)\$[0-9]{1,9}\$[A-Za-z0-9]{1,64}\$[A-Za-z0-9+/]{20,512}={0,2}"
    # LDAP and htpasswd's `{SHA}`/`{SSHA}`... base64 of a digest (and salt)
    r"|\{(?i:S?SHA(?:256|384|512)?|S?MD5|PBKDF2[\w\-]{0,16})\}[A-Za-z0-9+/.$]{20,512}={0,2}"
    r")(?![./A-Za-z0-9+=])"
)
_PASSWORD_HASH_TRIGGERS: Final = (
    "$2a$", "$2b$", "$2x$", "$2y$", "$1$", "$5$", "$6$", "$apr1$", "$y$", "$argon2", "pbkdf2_", "$9$",
    # (`{SHA}` digests by the scheme's end: a trigger beginning with `{` slowed every line's scan by 7%)
    "sha}", "sha256}", "sha384}", "sha512}", "md5}", "pbkdf2",
)  # fmt: skip

# A secret with no prefix of its own, known by the public id it stands beside (within a few
# characters on the same line): an AWS access key id and its 40-character secret access key, a
# Twilio account SID and its 32-hex auth token.
_PAIRED_SECRET: Final = compile_lazily(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}[^\n]{1,48}?(?<![A-Za-z0-9/+])(?P<aws_secret_key>[A-Za-z0-9/+]{40})"
    r"(?![A-Za-z0-9/+=])"
    r"|AC[0-9a-f]{32}[^\n]{1,48}?(?<![0-9A-Za-z])(?P<twilio_auth_token>[0-9a-f]{32})(?![0-9A-Za-z])"
    r")"
)
# <password>x</password>, <ns:ClientSecret>x</ns:ClientSecret>: an element named like a secret key.
_XML_ELEMENT: Final = compile_lazily(
    r"<(?P<tag>(?:[\w.\-]{1,64}:)?(?P<key>[^\W\d][\w.\-]{0,127}))(?P<attributes>[ \t][^<>]{0,512})?>"
    r"(?:<!\[CDATA\[(?P<cdata>(?:[^\]]|\](?!\]>)){1,4096})\]\]>|(?P<value>[^<]{1,4096}))</(?P=tag)>"
)
# A name and its value given apart, as HAR headers, Kubernetes env lists, ARM templates and .NET
# settings do: `{"name": "DB_PASSWORD", "value": "x"}`, `- name: X` / `value: x` on the next line,
# `<add key="ApiKey" value="x"/>`; the name may be a path and a member or two may stand between, as in
# a parameter store's answer (AWS SSM's `{'Name': '/prod/db/password', 'Type': 'SecureString', 'Value':
# 'x'}`, whose `SecureString` type says the value is a secret whatever its name).
# The parts of such a pair, in either order: the name's member, the value's member's key, and up to two
# members between them.
_PAIR_NAME: Final = (
    r"(?P<nq>\\?[\"'])?(?:parameter_?)?(?:name|key)(?(nq)(?P=nq))[ \t]{0,8}[:=][ \t]{0,8}"
    rf"(?P<q>\\?[\"'])?(?P<name>{_KEY}|/?[\w.\-]{{1,128}}(?:/[\w.\-]{{1,128}}){{1,16}})(?(q)(?P=q))"
)
_PAIR_VALUE_KEY: Final = r"(?P<vq>\\?[\"'])?(?:parameter_?)?value(?(vq)(?P=vq))[ \t]{0,8}[:=][ \t]{0,8}"
_PAIR_BETWEEN: Final = (
    r"(?P<between>(?:\\?[\"']?[A-Za-z]\w{0,31}\\?[\"']?[ \t]{0,8}[:=][ \t]{0,8}"
    r"\\?[\"']?[\w.\-]{0,64}\\?[\"']?[\s,;]{1,64}){0,2}?)"
)
_NAMED_VALUE: Final = compile_lazily(
    rf"(?i)(?<![\w\-]){_PAIR_NAME}[\s,;]{{0,64}}?{_PAIR_BETWEEN}{_PAIR_VALUE_KEY}"
)
# The same pair with the value first (`{"value": "x", "name": "DB_PASSWORD"}`: a mapping's members in
# the order the program set them).
_VALUE_THEN_NAME: Final = compile_lazily(
    rf"(?i)(?<![\w\-]){_PAIR_VALUE_KEY}(?P<value>{_QUOTED}|{_BARE})[\s,;]{{1,64}}{_PAIR_BETWEEN}{_PAIR_NAME}"
)
# SQL that gives a password as a string: MySQL's `PASSWORD('x')`, `IDENTIFIED WITH plugin BY 'x'`.
_SQL_PASSWORD: Final = compile_lazily(
    r"(?i)(?:\b(?:old_)?password\([ \t]{0,8}"
    r"|\bidentified[ \t]{1,8}with[ \t]{1,8}[\w\-]{1,64}[ \t]{1,8}by[ \t]{1,8})"
    r"(?P<q>[\"'])(?P<secret>(?:(?!(?P=q))[^\\\n]|\\.){1,512})(?P=q)"
)
# A multipart form field named like a secret: its value after the part's headers and a blank line (real
# or escaped line breaks); a file's part (`filename=`) is not read.
_FORM_FIELD: Final = compile_lazily(
    r"(?i)content-disposition:[ \t]{0,8}form-data;[ \t]{0,8}name=(?P<q>\\?[\"']?)(?P<name>[^\"'\\\s;]{1,128})"
    r"(?P=q)(?P<rest>[^\r\n\\]{0,256})(?P<br>\r?\n|\\r\\n|\\n)(?:[^\r\n\\]{1,256}(?P=br)){0,4}(?P=br)"
    r"(?P<value>[^\r\n\\]{1,4096})"
)
# A URL whose path holds its credential: Slack's, Discord's, Microsoft Teams' (Office 365 connectors) and
# Mattermost's incoming webhooks, a Telegram bot's API URL (`/bot<id>:<token>/sendMessage`).
_WEBHOOK: Final = compile_lazily(
    r"(?i)https?://(?:hooks\.slack\.com/(?:services|workflows|triggers)|(?:discord(?:app)?\.com)/api/webhooks"
    r"|[a-z0-9\-]{1,64}\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook"
    r"|[a-z0-9.\-]{1,253}(?::[0-9]{1,5})?/hooks(?=/[a-z0-9]{20,64}(?![\w\-]))"
    # Zapier's catch hook (its account's number, then the hook's secret) and IFTTT's Maker key
    r"|hooks\.zapier\.com/hooks/catch/[0-9]{1,16}|maker\.ifttt\.com/trigger/[^/\s]{1,128}/(?:json/)?with/key)"
    r"/(?P<secret>[A-Za-z0-9@/_\-]{8,512})"
    r"|(?i:https?://api\.telegram\.org/(?:file/)?bot)(?P<bot>[0-9]{5,12}:[A-Za-z0-9_\-]{20,64})"
)


def _webhook(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _WEBHOOK.finditer(text):
        yield Finding(*match.span("bot" if match["bot"] is not None else "secret"), "webhook_url")


def _strip_quotes(start: int, end: int, value: str) -> tuple[int, int]:
    """The span of a quoted value's content (quotes, escaped quotes or ODBC braces not included)."""
    for opener in ('\\"', "\\'", '"', "'", "{"):
        if value.startswith(opener):
            closer = "}" if opener == "{" else opener
            start += len(opener)
            if value.endswith(closer) and len(value) >= 2 * len(opener):
                end -= len(closer)
            else:  # cut short (`'abc…  │`): up to the blanks before the border or the line's end
                end = start + len(value[len(opener) :].rstrip(" \t"))
            return start, end
    return start, end


def _long_quoted(text: str, pos: int) -> tuple[int, int] | None:
    """The content of the quoted value that opens at `pos` (`"`, `'`, or `\\"` inside a JSON string)
    when it is longer than `_QUOTED` reads (a long JWT, a SAML assertion): to its closing quote, else
    to the line's end; None if it is not that long. One pass over the value."""
    quote = text[pos : pos + 2] if text[pos] == "\\" else text[pos]
    line_end = text.find("\n", pos)
    line_end = len(text) if line_end < 0 else line_end
    at = pos + len(quote)
    while True:
        close = text.find(quote, at, line_end)
        if close < 0:
            close = line_end
            break
        escapes = len(text[at:close]) - len(text[at:close].rstrip("\\"))
        if len(quote) == 2 or escapes % 2 == 0:
            break
        at = close + 1
    return (pos + len(quote), close) if close - pos > _LONG_VALUE else None


_QUOTE_OPENERS: Final = ('\\"', "\\'", '"', "'")  # (escaped first: `\\"` begins with a backslash)
# A value longer than this may have been cut by a pattern's bound ({0,4096} and the like): its rest is
# read by a linear scan (`_long_quoted`, `_to_value_ends`), never by a longer bound.
_LONG_VALUE: Final = 1024
_VALUE_RUN: Final = compile_lazily(r"[A-Za-z0-9+/=_\-.~%]+")


def _to_value_ends(text: str, findings: list[Finding]) -> list[Finding]:
    """The findings, each that a pattern's bound ended inside a run of value characters (a long token,
    a long bare value) extended to the end of that run: the rest of a secret is a secret."""
    whole = []
    for finding in findings:
        end = finding.end
        if (
            end - finding.start >= _LONG_VALUE
            and _VALUE_RUN.match(text, end - 1, end)
            and (run := _VALUE_RUN.match(text, end))
        ):
            finding = Finding(finding.start, run.end(), finding.rule)
        whole.append(finding)
    return _merge(whole) if len(whole) > 1 else whole


def _after_bytes_prefix(text: str, pos: int) -> int:
    """Where a value starts: past the prefix of a bytes or string literal (`b'sid=x'`, Python 2's
    `u'x'`, `r'x'`, `rb'x'`)."""
    prefix = _STRING_PREFIX.match(text, pos) if text[pos : pos + 1] in _PREFIX_LETTERS else None
    return pos if prefix is None else prefix.end()


_PREFIX_LETTERS: Final = frozenset("bBuUrRfFnNeE")
_STRING_PREFIX: Final = compile_lazily(
    r"(?:[bB][rR]?|[rR][bB]?|[uU]|[fF][rR]?|[rR][fF])(?=\\?[\"'])"
    r"|[nNeE](?=')"  # SQL Server's national `N'x'`, PostgreSQL's escape `E'x'`
)


def _is_kept(value: str, key: str, text: str, end: int) -> bool:
    """A value under a secret key that is not a secret: empty, null-like, a placeholder, already hidden,
    the key's own name, a reference (`self.password`) or a call (`get_secret(...)`)."""
    if value.lower() in _NOT_A_VALUE or value == REDACTED or _PLACEHOLDER.fullmatch(value):
        return True
    if value == "$" and text.startswith(("{{", "("), end):
        return True  # `${{ secrets.TOKEN }}` (GitHub Actions), `$(cat /run/secrets/x)`: where it comes from
    if value.isdigit() and text.startswith(" bytes", end):
        return True  # `password:  16 bytes`: kubectl's description of a Secret's key, its size
    if "/" in value and key_words(key)[-1:] == ["key"] and _FILE_PATH.fullmatch(value):
        return True  # `'Key': 'exports/2025/daily.csv'`: an S3 object's key, a file's path
    if value.lower() == key.lower() or _is_call(text, value, end) or _is_working_directory(key, value):
        return True
    if text.startswith("[", end) and _NAME_IN_CODE.fullmatch(value) and not _random_looking(value):
        index = _INDEX.match(text, end)  # `token = self.tokens[i]`, `secret = os.environ["X"]`: code
        if index is not None and not _BARE_CHARACTER.match(text, index.end()):
            return True
    if _is_session_number(key, value) or _is_pin_of_a_device(key, value):
        return True
    if _is_file_path(value):
        return True  # `--auth-user-pass /etc/openvpn/creds.txt`: where the secret is, not the secret
    if value in _PAM_TYPES and text.startswith(")", end):
        return True  # `pam_unix(passwd:chauthtok)`: a PAM service and its management group
    if _OBJECT_NAME.fullmatch(value) and ("@" in value or _IDENTITY_HASH.match(text, end)):
        return True  # `token = AppWindowToken{9f4ef63 ...}`, `token: android.os.BinderProxy@2bd79ce`
    if not _DOTTED_NAME.fullmatch(value):
        return _is_table_reference(value)
    if any(len(part) >= 12 and _random_looking(part) for part in value.split(".")):
        return False  # `s.Vlt9TokenValueAbCdEf123`, Vault's legacy token: a dot, not a name in code
    return _default_secret_key(key_words(value.rsplit(".", 1)[1]), False)


# A lookup table named by its type and file (Postfix's `hash:/etc/postfix/sasl_passwd`, `lmdb:`, `texthash:`,
# `file:/...`): where the secrets are, not a secret.
_TABLE_REFERENCE: Final = compile_lazily(r"[a-z][a-z0-9_]{1,15}:(?=[/~])")


def _is_table_reference(value: str) -> bool:
    kind = _TABLE_REFERENCE.match(value)
    return kind is not None and _is_file_path(value[kind.end() :])


# A file's absolute or home path of two parts or more, in lower case or ending with an extension (a
# generated value with `/` in it mixes cases and has no extension).
_PATH_STARTS: Final = frozenset("/~.")
_ABSOLUTE_PATH: Final = compile_lazily(r"(?:~|\.{1,2})?/[\w.\-]{1,255}(?:/[\w.\-]{1,255}){1,64}")
_EXTENSION: Final = compile_lazily(r"\.[A-Za-z][A-Za-z0-9]{0,7}\Z")
# An object as Java and Android print it: a class name before its `{fields}`, or `pkg.Class@hash`.
_OBJECT_NAME: Final = compile_lazily(
    r"[A-Za-z_][\w$]{0,127}|[A-Za-z_][\w$]{0,127}(?:\.[A-Za-z_][\w$]{0,127}){1,32}@[0-9a-f]{1,16}"
)
_PAM_TYPES: Final = frozenset({"auth", "account", "session", "password", "chauthtok", "setcred"})
_IDENTITY_HASH: Final = compile_lazily(r"\{[0-9a-f]{6,8}[ }]")  # Android's `Name{hash ...}`
_DIRECTORY: Final = compile_lazily(r"(?:/|~/|[A-Za-z]:\\)[^\s\"']{0,4096}")


def _is_file_path(value: str) -> bool:
    """A file's absolute or home path of two parts or more, in lower case or ending with an extension."""
    return (
        value[:1] in _PATH_STARTS
        and _ABSOLUTE_PATH.fullmatch(value) is not None
        and (value.islower() or _EXTENSION.search(value) is not None)
    )


def _is_working_directory(key: object, value: object) -> bool:
    """`PWD=/home/bob`, `OLDPWD`: the shell's working directory, not a password."""
    return (
        isinstance(value, str)
        and isinstance(key, str)
        and _DIRECTORY.fullmatch(value) is not None  # first: the cheaper test, and mostly false
        and key_words(key)[-1:] in (["pwd"], ["oldpwd"])
    )


def _is_session_number(key: object, value: object) -> bool:
    """`XDG_SESSION_ID=3`, `session_id=42`: a login session's number (up to 6 digits, as logind and a
    terminal server count them), not a session's secret token (which is long or random)."""
    return (
        isinstance(value, str | int)
        and not isinstance(value, bool)
        and 0 < len(text := str(value)) <= 6
        and text.isdigit()
        and isinstance(key, str)
        and key_words(key)[-2:] in (["session", "id"], ["sessionid"], ["sessid"], ["session"])
    )


def _never_secret(key: object, value: object) -> bool:
    """A value under a secret key that holds no secret: empty, a flag (`private: false`), a directory,
    a session's number, a pin's number of fewer than four digits (a GPIO's)."""
    return (
        value is None
        or value == ""
        or isinstance(value, bool)
        or _is_working_directory(key, value)
        or _is_session_number(key, value)
        or _is_pin_of_a_device(key, value)
    )


def _is_pin_of_a_device(key: object, value: object) -> bool:
    """`{"pin": 17}`, `gpio_pin=4`: a device's pin number (up to three digits), not a PIN."""
    return (
        isinstance(value, str | int)
        and not isinstance(value, bool)
        and 0 < len(text := str(value)) <= 3
        and text.isdigit()
        and isinstance(key, str)
        and "pin" in key_words(key)
    )


def _last_segment(key: str) -> str:
    """What a dotted key names is its last part: `spring.datasource.password` a password,
    `AppWindowToken.destroySurfaces` (a Java frame) and `TokenService.java` (a file) not."""
    if "." not in key:
        return key
    parts = key.rstrip(".").rsplit(".", 2)
    last = parts[-1] if parts[-1].lower() not in _WEAK_TAILS else "_".join(parts[-2:])  # `password.value`
    return last if any(c.isalpha() for c in last) else key


# Words that, unquoted after `password:` / `token=` in free text, tell what happened to the secret.
_STATUS_WORDS: Final = frozenset(
    {
        "reset", "changed", "change", "updated", "update", "expired", "expires", "expiring", "rotated",
        "rotation", "rotate", "required", "missing", "invalid", "incorrect", "wrong", "accepted", "rejected",
        "denied", "ok", "okay", "set", "unset", "not", "must", "should", "cannot", "too", "is", "was", "has",
        "will", "does", "did", "empty", "blank", "hidden", "masked", "verified", "mismatch", "valid",
        "provided", "supplied", "sent", "stored", "saved", "generated", "created", "removed", "deleted",
        "disabled", "enabled", "locked", "unlocked", "failed", "succeeded", "successful", "successfully",
        "pending", "unchanged", "refreshed", "revoked", "granted",
    }
)  # fmt: skip
# Python's statements of one word and its constants: a line of a traceback's source, not a value.
_CODE_WORDS: Final = frozenset(
    {"pass", "continue", "break", "return", "raise", "yield", "none", "true", "false"}
)
# Keys whose value may be a phrase of words (a passphrase), unlike a token's or a key's.
_PHRASE_WORDS: Final = _SECRET_WORDS - {
    "token", "apikey", "key", "credential", "credentials", "creds", "auth", "authorization", "private",
    "privkey", "session", "sessionid", "cookie", "cookies", "signature", "sig", "pass", "pin", "pincode",
}  # fmt: skip
# The words that go on after `password: first`, up to the next `key:` / `key=`, a comma, semicolon,
# bracket, quote or `#` comment, or the line's end.
_PHRASE_REST: Final = compile_lazily(
    r"(?:[ \t]{1,4}(?![^\s:=]{1,128}[:=]|#)[^\s,;\"'()\[\]{}<>|]{1,256}){1,16}"
)


# `user:password` as the value of an auth key (`auth=bob:pw`, `basic_auth: bob:pw`, `user:pass = bob:pw`).
_USER_PASSWORD: Final = compile_lazily(r"[^\s:/@]{1,256}:(?P<password>[^\s]{4,512})")
_PAIR_WORDS: Final = frozenset({"auth", "pass", "creds", "credential", "credentials", "userpass", "login"})


_NEXT_WORD: Final = compile_lazily(r"[ \t]{1,4}(?P<word>[A-Za-z]{2,16})\b")


def _tells_a_status(text: str, value: str, end: int) -> bool:
    """A plain word followed by a word of status (`password updated`, `token expired`): prose; when the
    word is itself a secret's name, a status word among the next three (`passwd: password expiry
    information changed`)."""
    if not value.isalpha() or _looks_secret_word(value):
        return False
    for _ in range(3 if value.lower() in _SECRET_WORDS else 1):
        following = _NEXT_WORD.match(text, end)
        if following is None:
            return False
        if following["word"].lower() in _STATUS_WORDS:
            return True
        end = following.end()
    return False


def _is_status_or_code(word: str) -> bool:
    lowered = word.lower()
    return lowered in _STATUS_WORDS or lowered in _CODE_WORDS


def _names_a_phrase(words: list[str]) -> bool:
    return any(
        w in _PHRASE_WORDS or w.endswith(("password", "passphrase", "secret")) for w in _read_words(words)
    )


def _phrase_end(text: str, first: str, end: int, setting: bool) -> int:
    """The end of a passphrase whose first word is `first`: in prose a word shaped like a credential is
    the whole secret (`passwd: hunter2 for bob`), a plain word begins a phrase of them; on a setting's
    line the value is all its words."""
    if _looks_secret_word(first) and not setting:
        return end
    rest = _PHRASE_REST.match(text, end)
    return end if rest is None else end + len(rest.group().rstrip(".!?"))


def _key_value(redactor: Redactor, text: str) -> Iterator[Finding]:
    hidden = 0  # the end of the last value hidden: a key inside it is hidden with it
    for match in _KEY_VALUE.finditer(text):
        if match.start() < hidden:
            continue
        key = _last_segment(match["key"])
        words = key_words(key)
        structured = bool(match["kq"] or match["dash"])  # a quoted key or a flag: the strict reading
        if not redactor.is_secret_key(key, in_text=not structured):
            if structured or not (redactor.is_secret_key(key) and _is_weak_key(words)):
                continue
            weak = True
        else:
            weak = False
        if words in _HEADER_KEYS:
            continue  # the header rule reads these values (schemes, cookie names)
        if text.endswith("://", 0, match.start()):
            continue  # `https://x-access-token:<token>@host`: the URL userinfo rule reads it
        if text.endswith(":", 0, match.start()) and _in_arn(text, match.start()):
            continue  # `arn:aws:secretsmanager:...:secret:prod/db-AbCdEf`: a resource's name
        if ":" in match["sep"]:
            below = _following_lines(text, match.start("key"), match.end())
            if below is not None:
                value = text[below[0] : below[1]]
                if not structured and value.isalpha() and _is_status_or_code(value):
                    continue  # `Token:` then `expired` below: a status; `if password:` then `pass`: code
                if value.startswith("$ANSIBLE_VAULT"):
                    continue  # `password: !vault |`: the vault rule hides its ciphertext, its header kept
                if value and not (weak and not _looks_secret_under_weak_key(value.split("\n", 1)[0])):
                    hidden = below[1]
                    yield Finding(*below, "key_value")
                continue
        value_at = _after_bytes_prefix(text, match.end())
        if (match["kq"] or "=" in match["sep"]) and (
            wrapped := _WRAPPED_VALUE.match(text, value_at)
        ) is not None:
            # `'api_key':` at a line's end, its string on the next (rich, pprint); a keyword argument's
            # `password=` at a line's end in a traceback's multi-line source, its literal below
            value_at = wrapped.end()
        elif text.startswith("\\", value_at) and (continued := _CONTINUED.match(text, value_at)) is not None:
            value_at = continued.end()  # `export API_TOKEN=\` and the value on the next line (a shell's)
        elif text.startswith(("&", "!!"), value_at) and (node := _YAML_PROPERTY.match(text, value_at)):
            value_at = node.end()  # YAML's `password: &pw x`, `password: !!str x`: an anchor or a tag first
        if text.startswith(_TRIPLE_QUOTES, value_at):  # `PASSWORD = """` and the lines below
            close = text.find(text[value_at : value_at + 3], value_at + 3, value_at + 3 + _LONG_VALUE)
            inner = text[value_at + 3 : close if close >= 0 else value_at + 3 + _LONG_VALUE]
            if inner.strip() and not (weak and not _looks_secret_under_weak_key(inner.strip())):
                hidden = value_at + 3 + len(inner)
                yield Finding(value_at + 3, hidden, "key_value")
            continue
        found = _VALUE.match(text, value_at)
        opener = next((q for q in _QUOTE_OPENERS if text.startswith(q, value_at)), None)
        if opener and not weak and (found is None or not found[0].startswith(opener)):
            long_value = _long_quoted(text, value_at)  # longer than the patterns' bound
            if long_value is not None:
                hidden = long_value[1]
                yield Finding(*long_value, "key_value")
                continue
        if found is None and (not weak or words[-1:] == ["auth"]):  # requests' `auth=('bob', 'pw')`
            container = _CONTAINER.match(text, match.end())  # `'auth': ('bob', 'pw')`: hidden whole
            if container is not None and container.group()[1:-1].strip().lower() in _NOT_A_VALUE:
                continue  # `password: (not set)`, `token: [hidden]`: no value shown
            if container is not None:
                hidden = container.end() - 1
                yield Finding(container.start() + 1, container.end() - 1, "key_value")
            continue
        if found is None or _IS_A_KEY.match(text, found.end()):
            continue  # `"password", "value": ...`: a name and the next key, not a pair
        if "," in match["sep"] and not _opens_pair(text, match, found.group()):
            continue  # `['htpasswd', '-b', ...]`, `("a.private.ids", "b", ...)`: items of a list
        vstart, vend = found.span()
        scheme = _SCHEME_WORD.match(text, vstart, vend + 16)
        if scheme is not None:  # `token: Bearer abc`: the credential is the word after the scheme
            after = _TOKEN.match(text, scheme.end())
            if after is None:
                continue
            vstart, vend = after.span()
        if text.startswith("{", vstart) and _BRACED_FIELD.fullmatch(text, vstart, vend):
            continue  # `password={0}`, `token={api_token}`: a format string's field (an ODBC value is not)
        start, end = _strip_quotes(vstart, vend, text[vstart:vend])
        value = text[start:end]
        if text.startswith("(", vend) and _SECRET_WRAPPER.fullmatch(value) and redactor.is_secret_key(value):
            argument = _QUOTED_ARGUMENT.match(text, vend)  # `token=SecretStr('x')`: the wrapped secret
            if argument is not None and not _is_kept(argument["inner"], key, text, argument.end()):
                hidden = argument.end("inner")
                yield Finding(*argument.span("inner"), "key_value")
            continue
        if weak and set(words) & _PAIR_WORDS and (pair := _USER_PASSWORD.fullmatch(value)) is not None:
            if _looks_secret_word(pair["password"]) and not _is_kept(pair["password"], key, text, vend):
                end = _glued_end(text, end) if end == vend else end  # `auth=bob:pw` of any weak key
                hidden = end
                yield Finding(start + pair.start("password"), end, "key_value")
            continue
        # (`--- PASS: TestLogin (0.00s)`, Go's test report, is a result, not `pass: hunter`)
        if _is_kept(value, key, text, vend) or (
            weak
            and not (_abbreviated_password(words, value) and not text.endswith("--- ", 0, match.start()))
            and not _pin_number(words, value)
            and (not _looks_secret_under_weak_key(value) or value.count("|") >= 2)
        ):
            continue
        if (
            not structured
            and end == vend
            and value in (value.lower(), value.capitalize())
            and value.lower() in _STATUS_WORDS
        ):
            continue  # `password: reset link sent`, `secret: rotated by vault`: a status, not the secret
        if end == vend and not structured and _tells_a_status(text, value, end):
            continue  # `passwd: password updated successfully`: a sentence about a plain noun
        if end == vend and not structured and _names_a_phrase(words):
            # `secret: my very secret phrase`: the words after it too; the whole value of a setting
            # line (`password = two words` in INI or TOML, `password: a b` in YAML)
            setting = _starts_its_line(text, match.start())
            if ":" in match["sep"] or (setting and match["sep"].startswith((" ", "\t"))):
                end = _phrase_end(text, value, end, setting)
        if end == vend and text[match.start() - 1 : match.start()] not in ("?", "&"):
            end = _glued_end(text, end, start)  # `password=Tr0ub4dor&3`: not a query string's next parameter
            if end > vend and _PLACEHOLDER.fullmatch(text, start, end):
                continue  # `token=%(t)s`: a template's placeholder, read whole
        hidden = end
        yield Finding(start, end, "flag_value" if match["dash"] else "key_value")


# A format string's replacement field: `{}`, `{0}`, `{name.attr}`, `{db_password}`, `{TOKEN}`, `{pw!r:>8}`
# (a name with `_` or `.`, in capitals, or with a conversion: ODBC's braced `{hunter2}`, `{Pw9x}` are values).
_BRACED_FIELD: Final = compile_lazily(
    r"\{(?:[0-9]{0,3}|[a-z]{1,64}[_.][a-z0-9_.]{1,64}|[A-Z][A-Z_.]{0,63}|[a-z]{1,64}(?=[!:]))"
    r"(?:![rsa])?(?::[^{}\s]{0,32})?\}"
)
# `pass`, `pw` and `mdp` are weak names in text (`pass: 3` counts tests), but a plain word of four or more
# letters after them is a password (`pass: hunter`, `pw=sunshine`), unless it reads as a result or prose.
_ABBREVIATED_PASSWORD: Final = frozenset({"pass", "pw", "mdp"})
_RESULT_WORDS: Final = frozenset(
    {
        "pass",
        "passed",
        "fail",
        "failed",
        "skip",
        "skipped",
        "error",
        "errors",
        "todo",
        "xfail",
        "xpass",
        "all",
    }
)


def _starts_its_line(text: str, pos: int) -> bool:
    """Whether only blanks stand before `pos` on its line (read back at most 256 characters: a long
    line read back at every key of it cost quadratic time)."""
    floor = max(0, pos - 256)
    line_start = text.rfind("\n", floor, pos) + 1
    return (line_start > 0 or floor == 0) and not text[max(line_start, floor) : pos].strip()


def _in_arn(text: str, pos: int) -> bool:
    """Whether `pos` stands inside an Amazon Resource Name (`arn:partition:service:...`), read back at
    most 256 characters to the word's start."""
    floor = max(0, pos - 256)
    start = max(text.rfind(c, floor, pos) for c in " \t\n\"'=,;([{") + 1
    return text.startswith("arn:", max(start, floor))


def _pin_number(words: list[str], value: str) -> bool:
    """`pin=4829`, `card PIN: 7316`: four to twelve digits under a PIN's name (a GPIO's `pin=17` is
    shorter)."""
    return 4 <= len(value) <= 12 and value.isdigit() and ("pin" in words or "pincode" in words)


def _abbreviated_password(words: list[str], value: str) -> bool:
    """`pass: hunter`, `pw=sunshine`: a plain word under a password's abbreviation, not a test result,
    a status or a word of prose."""
    lowered = value.lower()
    return (
        words == [words[-1]]
        and words[-1] in _ABBREVIATED_PASSWORD
        and value.isalpha()
        and len(value) >= 4
        and lowered not in _RESULT_WORDS
        and lowered not in _STATUS_WORDS
        and lowered not in _PROSE_WORDS
        and lowered not in _DESCRIBING_WORDS
        and not lowered.endswith(_DESCRIBING_ENDINGS)
    )


def _opens_pair(text: str, match: re.Match[str], value: str) -> bool:
    """A quoted key and the value after its comma are a pair when they open a tuple or list (`('password',
    'x')`, `[b'cookie', b'x']`) and the value is no flag (`['htpasswd', '-b', ...]` is a command line)."""
    if value.lstrip("bu\\\"'").startswith("-"):
        return False
    before = text[max(0, match.start() - 16) : match.start()].rstrip(" \t")
    return before.endswith(("(", "[")) or not before


# A bare value stops at `&`, `;` or `,`, which also separate pairs (`a=1&b=2`, `Pwd=x;Database=y`);
# where what follows is no `name=` / `name:` but more of a word, the character was part of the value.
# (or brackets and quotes inside the value, with more of it after them: `Tr0ub4dor(3)x`, Django's
# generated `SECRET_KEY=8f)k!2x^q(w3z...`, `ab'cd`)
_GLUED: Final = compile_lazily(
    rf"(?:[&;,](?![\w.\-\[\]%]{{1,128}}[ \t]{{0,8}}[:=])|[()\[\]{{}}<>'\"]{{1,8}}(?={_BARE})){_BARE}"
)
_CLOSING: Final = {"(": ")", "[": "]", "{": "}", "<": ">"}


def _glued_end(text: str, end: int, start: int | None = None) -> int:
    """The end of a bare value that ends at `end`, taking in each `&`, `;` or `,` followed by more of
    it rather than by the next pair, and each bracket or quote followed by more of it (at most
    `_LONG_VALUE` characters more: linear); then the brackets that close those it opened (`(3)`), when
    it starts at `start`."""
    limit = end + _LONG_VALUE
    first = end
    while end < limit and (glued := _GLUED.match(text, end)) is not None:
        end = glued.end()
    if start is not None and end > first:
        value = text[start:end]
        for opening, closing in _CLOSING.items():
            missing = value.count(opening) - value.count(closing)
            while missing > 0 and text.startswith(closing, end):
                end, missing = end + 1, missing - 1
    return end


def _is_call(text: str, value: str, end: int) -> bool:
    """Whether a bare value followed by `(` is a call in code (`get_secret("db")`, `os.getenv(...)`):
    a name that reads as one, its arguments closed and followed by no more of a word."""
    if not text.startswith("(", end) or not _NAME_IN_CODE.fullmatch(value) or _random_looking(value):
        return False
    arguments = _ARGUMENTS.match(text, end)
    return arguments is None or not _BARE_CHARACTER.match(text, arguments.end())


_INDEX: Final = compile_lazily(r"\[[^\[\]\n]{0,256}\]")
_ARGUMENTS: Final = compile_lazily(r"\((?:[^()\n]|\([^()\n]{0,256}\)){0,1024}\)")
_BARE_CHARACTER: Final = compile_lazily(r"[^\s\"'&,;()\[\]{}<>.]")


# The line break after `key:` (real, or escaped inside a JSON or repr string), then the value's lines.
_BLOCK_START: Final = compile_lazily(
    r"[ \t]{0,8}(?P<block>[|>][+\-0-9]{0,2}[ \t]{0,8})?(?:#[^\n\\]{0,256})?(?:\r?(?P<real>\n)|(?:\\r)?\\n)"
)
_NESTED: Final = compile_lazily(r"-[ \t]|[\w\"'.\-]{1,128}[ \t]{0,8}:(?:[ \t]|$)")  # a list item, or a key
_LINE: Final = compile_lazily(r"(?P<indent>[ \t]{0,256})(?P<content>[^\n]{0,4096})(?:\n|\Z)")
_ESCAPED_LINE: Final = compile_lazily(
    r"(?P<indent>[ \t]{0,256})(?P<content>(?:[^\n\\\"']|\\(?![rn\"'])){0,4096})(?:(?:\\r)?\\n|(?=[\"'])|\Z)"
)
# A tuple or list in a repr (one level of nesting inside), as the value of a key.
_CONTAINER: Final = compile_lazily(
    r"\((?:[^()\n]|\([^()\n]{0,512}\)){1,4096}\)|\[(?:[^\[\]\n]|\[[^\[\]\n]{0,512}\]){1,4096}\]"
)
# A class that wraps a secret (`SecretStr`, `Password`), and the string it is called with.
_SECRET_WRAPPER: Final = compile_lazily(r"[A-Z][A-Za-z0-9_]{0,63}")
_QUOTED_ARGUMENT: Final = compile_lazily(
    r"\([ \t]{0,8}b?(?P<q>[\"'])(?P<inner>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)"
)
# (and `token = (` at a line's end, its string below, `f"..."` or `b'...'`: a traceback's multi-line source)
_WRAPPED_VALUE: Final = compile_lazily(
    r"[ \t│┃║]{0,256}(?:\([ \t]{0,8})?\\?\r?\n[ \t│┃║]{0,256}(?:[fFbBrRuU]{1,2})?(?=[\"'])"
)
_CONTINUED: Final = compile_lazily(r"\\\r?\n[ \t]{0,256}(?=[^\s\\])")
_YAML_PROPERTY: Final = compile_lazily(r"(?:&[\w\-]{1,64}|!![a-z]{1,16})[ \t]{1,8}(?=[^\s#])")
_TRIPLE_QUOTES: Final = ('"""', "'''")
_IS_A_KEY: Final = compile_lazily(r"[ \t]{0,8}[:=](?![:/=])")


def _following_lines(text: str, key_start: int, pos: int) -> tuple[int, int] | None:
    """The value of `key:` written on the lines below it, each more indented than the key (a YAML
    block `|` or folded `>` scalar, a plain value on the next line; real line breaks, or escaped ones
    in a JSON or repr string); None when the key's line goes on, an empty span when a nested mapping
    or list follows (its own keys are read one by one) or nothing does."""
    head = _BLOCK_START.match(text, pos)
    if head is None:
        return None
    if head["real"]:
        lines, line_start = _LINE, text.rfind("\n", 0, key_start) + 1
    else:
        # the line starts after the last escaped break (whose `n` may begin the key: `\npassword`)
        # or the string's opening quote
        breaks = text.rfind("\\n", 0, key_start + 1) + 2
        lines, line_start = (
            _ESCAPED_LINE,
            max(breaks, text.rfind('"', 0, key_start) + 1, text.rfind("'", 0, key_start) + 1),
        )
    column = max(key_start - line_start, 0)
    start = end = position = head.end()
    for _ in range(256):
        line = lines.match(text, position)
        if line is None or line.end() == position:
            break
        if line["content"].strip():
            if len(line["indent"]) <= column:
                break
            if end == start and not head["block"] and _NESTED.match(line["content"]):
                break
            end = line.end("content")
            start = start if start != head.end() else line.start("content")
        position = line.end()
    return start, end


def _flag_value(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _FLAG_VALUE.finditer(text):
        if not redactor.is_secret_key(match["key"]):
            continue
        quoted = match["q"] or text.startswith(_QUOTE_OPENERS, match.end())  # `--password "two words"`
        found = (_QUOTED_VALUE if quoted else _FLAG_BARE_VALUE).match(text, match.end())
        if found is None or not found.group():
            continue
        vstart, vend = found.span()
        start, end = _strip_quotes(vstart, vend, found.group())
        if not quoted and found.group() in _FLAG_PROSE and text.startswith(" ", vend):
            continue  # `Using --password via the CLI is insecure`: the flag named in a sentence
        if not _is_kept(text[start:end], match["key"], text, vend):
            yield Finding(start, end, "flag_value")


# Words that go on a sentence naming a flag (docker's `WARNING! Using --password via the CLI is insecure`).
_FLAG_PROSE: Final = frozenset(
    {
        "via", "with", "without", "from", "for", "in", "on", "is", "are", "was", "as", "and", "or", "to",
        "of", "the", "flag", "option", "argument", "parameter", "instead", "directly", "requires", "must",
    }
)  # fmt: skip


def _key_space_value(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _KEY_SPACE_VALUE.finditer(text):
        if text.endswith("=", 0, match.start()) and _is_flag_value(text, match.start()):
            continue  # `vault kv get -field=password secret/app`: a flag's value names the field
        phrase = _told_phrase(text, match) or _told_word(text, match)
        if phrase is not None:
            yield phrase
            continue
        if match["value"] is None:
            continue
        vstart, vend = match.span("value")
        if text.startswith("{", vstart):
            continue  # `Token { kind: ContainerToken, ... }`: an object's fields, read as pairs
        if text[vstart] in "\"'" and match.start() and text[match.start() - 1] == text[vstart]:
            continue  # `{"Password ": "x"}`: that quote closes the key, whose pair `key_value` reads
        if text.startswith("!", vstart) and _YAML_TAG.fullmatch(text, vstart, vend):
            continue  # `password: !vault |`: a YAML tag, past which `key_value` reads the value
        value = match["value"].rstrip(".:!?")  # `token refused:` ends a sentence, not a value
        vend = vstart + len(value)
        start, end = _strip_quotes(vstart, vend, value)
        inner = text[start:end]
        quoted = (start, end) != (vstart, vend)
        if _is_kept(inner, match["key"], text, vend) or not (
            quoted or _looks_secret_word(inner) or _assigned_word(text, match, inner)
        ):
            continue
        if not quoted and _tells_a_status(text, inner, end):
            continue  # `passwd: password updated successfully`
        if _is_lexical_token(text, match, inner):
            continue  # `expected token 'end of print statement'`: a parser's token, a piece of source
        if match["to"] and not _SETTING_VERB.search(text, max(0, match.start() - 48), match.start()):
            continue  # `passing the token to handler2`; `set the token to X` is told
        bare = not quoted and not text[match.end("key") : vstart].strip()  # a blank alone before it
        if bare and (_NAME_EQUALS.match(inner) or inner.startswith("-")):
            continue  # `/oauth/token grant_type=...&refresh_token=x`: pairs; `passwd --stdin`: a flag
        if not quoted and _DOTTED_NAME.fullmatch(inner):
            continue  # `grep -w token app.log`, `token settings.API_TOKEN`: a file or a name in code
        named = bare or (quoted and not text[match.end("key") : vstart].strip())  # (`secret 'db-creds'`)
        if named and _NAME_OF_PARTS.fullmatch(inner) and not _NAMES_PASSWORD.match(match["key"]):
            continue  # `mounted secret db-credentials`: a Secret object's name (a password stays hidden)
        yield Finding(start, end, "key_space_value")


# A parser's diagnostic names the token of source it read (jinja2's `expected token 'end of print
# statement', got 'string'`, JavaScript's `Unexpected token 'export'`, `Invalid token '=' at line 4`):
# after these words `token` is a lexical one, and its value a piece of source, unless it reads like a
# credential (`invalid token 'ghp_...'` from an API that refused it).
_LEXICAL_WORDS: Final = frozenset(
    {
        "expected", "unexpected", "invalid", "illegal", "unknown", "unrecognized", "unrecognised",
        "unmatched", "unterminated", "stray", "extra", "lexical",
    }
)  # fmt: skip
_LAST_WORD: Final = compile_lazily(r"(?<![\w\-])(?P<word>[A-Za-z]{2,16})[ \t]{1,8}\Z")


def _is_lexical_token(text: str, match: re.Match[str], value: str) -> bool:
    """A `token` a parser's diagnostic names (`unexpected token '}'`): a piece of source, no secret."""
    if match["key"].lower() != "token" or _looks_secret(value):
        return False
    before = _LAST_WORD.search(text, max(0, match.start() - 32), match.start())
    return before is not None and before["word"].lower() in _LEXICAL_WORDS


def _is_flag_value(text: str, pos: int) -> bool:
    """Whether the word at `pos` is a flag's value (`-field=password`): the blank-separated word holding
    it begins with `-` (looked for in the 256 characters before it)."""
    blank = text.rfind(" ", max(0, pos - 256), pos)
    return text.startswith("-", blank + 1) if blank >= 0 or pos <= 256 else False


# `set the password to X`, `changed my token to X`: the verb a bare `to` after the key needs.
_SETTING_VERB: Final = compile_lazily(
    r"(?i)\b(?:set|sets|setting|change[sd]?|changing|reset(?:ting)?|update[sd]?|updating)\b"
    r"(?:[ \t]{1,4}[\w'\-]{1,32}){0,3}[ \t]{1,4}\Z"
)


def _assigned_word(text: str, match: re.Match[str], word: str) -> bool:
    """A plain word given to the key by a separator that assigns (`password: x`, `password -> x`,
    `password\tx`, a full-width colon, `password is: x`), not by prose (`password is x`, `password - x`,
    a title's `Forgot password - Acme`): a value, unless it is a word of status or of prose."""
    assigned = match["colon"] or match["tab"] or match["assign"]
    if not assigned and (match["is"] or match["dash"]):
        assigned = text[: match.start("value")].rstrip(" \t").endswith(":")  # `password is: x`
    lowered = word.lower()
    return bool(assigned) and lowered not in _STATUS_WORDS and lowered not in _PROSE_WORDS


def _script_password(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _SCRIPT_PASSWORD.finditer(text):
        value = match["value"].rstrip(".,;:!?)]}>」』”»）")
        start = match.start("value")
        if len(value) < 4 or value.lower() in _STATUS_WORDS or value.lower() in _PROSE_WORDS:
            continue
        if (match["blank"] and not _looks_secret_word(value)) or _is_kept(
            value, "password", text, start + len(value)
        ):
            continue
        if match["key"].lower() == "clave" and not _looks_secret(value):
            continue  # (Spanish's `clave` is also any key: `clave: usuario_id`)
        if not _is_redacted(value):
            yield Finding(start, start + len(value), "key_space_value")


def _told_phrase(text: str, match: re.Match[str]) -> Finding | None:
    """The passphrase after `password is` / `password:` when it is 3+ plain words, none of prose."""
    if not (match["is"] or match["colon"]) or not _PHRASE_KEY.fullmatch(match["key"]):
        return None
    phrase = _PASSPHRASE.match(text, match.end())
    if phrase is None or any(w in _PROSE_WORDS or w in _STATUS_WORDS for w in phrase.group().lower().split()):
        return None
    return Finding(*phrase.span(), "key_space_value")


# A single plain word told as a password: `password sunshine`, `bad password letmein`, `the password was
# dragon`. After `is`/`was` any word that is not prose or a description; after a blank
# alone, one that also ends its clause (a stop, a quote, the line's end, a preposition or a status word
# follows), so that `password hashing uses argon2` stays.
_NAMES_PASSWORD: Final = compile_lazily(rf"(?i)pass|pwd|identified|{_FOREIGN_PASSWORD}")
_TOLD_WORD_KEY: Final = compile_lazily(r"(?i)pass(?:word|wd|phrase)")  # (English: its prose words are known)
_PLAIN_WORD: Final = compile_lazily(r"[^\W\d_]{4,64}(?=[.!?:]?(?:[\s\"',;()\[\]{}<>`]|\Z))")
_AFTER_WORD: Final = compile_lazily(
    r"[ \t]{0,8}(?:[.!?,;:)\]}\"'`|]|\r?\n|\Z)|[ \t]{1,8}(?P<next>[^\W\d_]{1,32})(?![\w\-])"
)
_CLAUSE_WORDS: Final = frozenset(
    {"for", "from", "on", "at", "by", "via", "with", "in", "of", "and", "but", "when", "while", "then"}
)
_SENTENCE_GOES_ON: Final = frozenset(
    {"to", "you", "we", "they", "i", "he", "she", "it", "that", "than", "as"}
)
# Words that say what a password is, or what it belongs to (`password manager`, `password is weak`).
_DESCRIBING_WORDS: Final = frozenset(
    {
        "correct", "right", "weak", "strong", "secure", "insecure", "short", "long", "good", "bad", "fine",
        "new", "old", "current", "previous", "same", "different", "simple", "easy", "hard", "complex",
        "trivial", "common", "unique", "random", "obvious", "plain", "clear", "plaintext", "cleartext",
        "null", "none", "nothing", "something", "wrong", "forgotten", "lost", "also", "just", "really",
        "likely", "probably", "definitely", "never", "ever", "well", "much", "less", "more", "enough",
        "link", "links", "email", "mail", "page", "form", "field", "fields", "dialog", "prompt", "prompts",
        "screen", "box", "input", "hash", "hashes", "policy", "policies", "manager", "managers", "vault",
        "store", "storage", "file", "files", "database", "table", "column", "reset", "resets", "recovery",
        "rotation", "expiry", "expiration", "history", "hint", "hints", "strength", "length", "complexity",
        "requirement", "requirements", "rule", "rules", "check", "checks", "checker", "validation",
        "validator", "verification", "verifier", "authentication", "auth", "login", "logins", "change",
        "changes", "update", "updates", "attempt", "attempts", "retry", "retries", "guess", "guesses",
        "spray", "list", "lists", "salt", "salts", "encoder", "hasher", "algorithm", "generator", "grant",
        "flow", "mode", "type", "protection", "entry", "entries", "text", "token", "tokens", "secret",
        "user", "users", "account", "accounts", "holder", "sync", "mismatch", "match", "matches",
        "confirmation", "confirm", "reuse", "lockout", "lock", "notification", "notice", "request",
        "requests", "reminder", "leak", "leaks", "breach", "breaches", "dump", "crack", "cracker", "audit",
        "health", "quality", "score", "meter", "character", "chars", "minimum", "maximum", "management",
        "settings", "setting", "option", "options", "config", "configuration", "parameter", "param",
        "params", "argument", "value", "values", "variable", "string", "strings", "bytes", "buffer",
        "encryption", "decryption", "cipher", "key", "keys", "derivation", "stretching", "comparison",
        "window", "timeout", "modal", "component", "widget", "label", "placeholder", "visibility",
        "toggle", "button", "endpoint", "route", "handler", "service", "module", "class", "function",
        "method", "test", "tests", "spec", "fixture", "mock", "expire", "here", "there", "again", "please",
        "first", "last", "next", "once", "twice", "only", "even", "back", "over", "gone", "away", "done",
        "working", "true", "false", "yes", "about", "what", "whatever", "which", "who", "whom", "whose",
        "where", "how", "why", "safe", "unsafe", "case", "attribute", "attributes", "property", "member",
        # what went wrong with one, or what is offered for it (`LDAP password error`, `password bypass`)
        "error", "errors", "failure", "failures", "problem", "problems", "issue", "issues", "trouble",
        "bug", "bugs", "exception", "warning", "warnings", "message", "messages", "question", "help",
        "support", "bypass", "feature", "features", "fix",
    }
)  # fmt: skip
# English's irregular past participles: after `password was` they tell what was done with it, as the
# regular ones in `-ed` do (cryptography's `Password was given but private key is not encrypted.`).
_IRREGULAR_PARTICIPLES: Final = frozenset(
    {
        "given", "found", "written", "taken", "kept", "stolen", "chosen", "broken", "known", "shown", "seen",
        "told", "sold", "held", "left", "made", "read", "put", "got", "gotten", "bought", "caught",
        "brought", "thought", "taught", "built", "spent", "meant", "spoken", "frozen", "driven", "eaten",
        "proven", "shaken", "drawn", "thrown", "blown", "torn", "worn", "begun", "won", "shut", "cut", "hit",
        "let", "dealt", "felt", "heard", "laid", "paid", "said", "sought", "struck", "understood", "withheld",
    }
)  # fmt: skip
# Endings of participles and adjectives (`hashed`, `missing`, `acceptable`, `mandatory`, `sensitive`).
_DESCRIBING_ENDINGS: Final = (
    "ed", "ing", "able", "ible", "ive", "ous", "ful", "less", "ent", "ant", "ary", "ory", "ic", "al", "ly",
)  # fmt: skip


def _told_word(text: str, match: re.Match[str]) -> Finding | None:
    """The plain word after `password` and a blank or `is`/`was` (see `_TOLD_WORD_KEY`), when it reads
    as the password itself rather than a word of prose about it."""
    if not _TOLD_WORD_KEY.fullmatch(match["key"]):
        return None
    blank = not text[match.end("key") : match.end()].strip()
    if not ((match["is"] or "").lower() in ("is", "was") or blank):
        return None  # (the words of prose are English: `la password è scaduta` is not told so)
    word = _PLAIN_WORD.match(text, match.end())
    if word is None:
        return None
    lowered = word.group().lower()
    if (
        lowered in _STATUS_WORDS
        or lowered in _PROSE_WORDS
        or lowered in _DESCRIBING_WORDS
        or lowered.endswith(_DESCRIBING_ENDINGS)
        or lowered in _IRREGULAR_PARTICIPLES
        or _TOLD_WORD_KEY.fullmatch(lowered)
        or (blank and _names_a_phrase(key_words(lowered)))
    ):
        return None
    after = _AFTER_WORD.match(text, word.end())
    following = "" if after is None or after["next"] is None else after["next"].lower()
    if blank and (after is None or (following and following not in _CLAUSE_WORDS | _STATUS_WORDS)):
        return None
    if following in _SENTENCE_GOES_ON:
        return None  # `the password is about to expire`, `is safe with us`: a sentence, not a value
    return Finding(*word.span(), "key_space_value")


def _key_told(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _KEY_TOLD.finditer(text):
        value = match["value"].rstrip(".:!?")
        if _random_looking(value):
            yield Finding(match.start("value"), match.start("value") + len(value), "key_space_value")


def _random_looking(value: str) -> bool:
    """A value that reads like a random key: lower and upper case and digits mixed, or 20+ token
    characters with letters and digits; never hex alone (a key id, a fingerprint, a hash)."""
    if all(c in "0123456789abcdefABCDEF" for c in value) or ":" in value or "/" in value:
        return False
    kinds = (
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
    )
    return all(kinds) or (
        _TOKEN_CHARACTERS.fullmatch(value) is not None and kinds[2] and (kinds[0] or kinds[1])
    )


# Words of prose: after `password is` they make a sentence about the password, not a passphrase.
_PROSE_WORDS: Final = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "nor", "for", "to", "of", "in", "on", "at", "by", "with",
        "from", "into", "as", "if", "then", "than", "so", "because", "since", "until", "after", "before",
        "while", "no", "never", "always", "be", "being", "been", "are", "am", "this", "that", "these",
        "those", "it", "its", "your", "my", "our", "their", "his", "her", "you", "we", "they", "he", "she",
        "i", "me", "us", "them", "using", "via", "per", "now", "here", "there", "only", "also", "still",
        "already", "yet", "very", "please", "again", "same", "different", "one", "all", "any", "some",
        "more", "less", "least", "most", "can", "could", "would", "may", "might", "shall", "hashed",
        "encrypted", "salted", "logged", "shown", "printed", "case", "sensitive", "insensitive", "used",
        "unused", "known", "unknown", "default", "temporary", "characters", "letters", "digits",
        "nicht", "und", "oder", "pas", "et", "ou", "y", "não", "niet", "en", "nie",
    }
)  # fmt: skip


def _prompt_answer(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _PROMPT_ANSWER.finditer(text):
        if _tells_an_outcome(match["secret"]):
            continue  # `Invalid password for user bob: account locked after 5 attempts`: what happened
        found = _value_finding(text, *match.span("secret"), "prompt_answer")
        if not _is_kept(text[found.start : found.end], "password", text, match.end()):
            yield found


# A secret alone on its line below a label that names it (`password set for alice:`, `Your new token
# is:`, `Generated API key`, `Das Passwort für bob lautet:`): the label's line ends with a colon or a word
# that says the secret is what follows; up to two blank lines may stand between.
_VALUE_BELOW: Final = compile_lazily(
    r"\n(?:[ \t]{0,64}\r?\n){0,2}[ \t]{0,64}(?P<value>[^\s]{4,256})[ \t]{0,8}(?=\r?\n|\Z)"
)
_LABEL_NAME: Final = compile_lazily(
    r"(?i)(?<![\w\-])(?:pass(?:word|wd|phrase|code)s?|pwd|secrets?|tokens?|(?:api|access|secret)[ _-]?keys?"
    r"|credentials?|creds|pin|(?:verification|security|recovery|backup|one[ -]time|2fa|mfa|otp)[ _-]?codes?"
    rf"|{_FOREIGN_PASSWORD}"
    rf"|{_trie((*_FOREIGN_STEMS['secret'], *_FOREIGN_STEMS['token']))}\w{{0,12}})"
    r"(?![\w\-])"
)
_LABEL_END: Final = compile_lazily(
    rf"(?i)(?:[:：]|(?<![\w\-])(?:are|{_IS_WORDS})[ \t]{{0,8}}:?)[ \t]{{0,8}}\r?\Z"
)
_CODE_IN_LABEL: Final = compile_lazily(
    r"[=(){}\[\]<>;\"`|]|^[ \t]*(?:if|elif|while|for|def|class|with|try|except|else|return|assert)\b"
)
# A name written as a variable's (`DB_PASSWORD`, `db.password`, `github-token`): a password is rarely so.
_SNAKE_NAME: Final = compile_lazily(
    r"[A-Z][A-Z0-9]{0,63}(?:_[A-Z0-9]{1,64}){1,8}|[a-z][a-z0-9]{0,63}(?:[_.\-][a-z0-9]{1,64}){1,8}"
)
_LABEL_WORDS_AFTER: Final = 6  # words between the secret's name and the label's end, at most


def _value_below(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _VALUE_BELOW.finditer(text):
        line_start = text.rfind("\n", max(0, match.start() - 256), match.start()) + 1
        label = text[line_start : match.start()]
        if _CODE_IN_LABEL.search(label):
            continue
        end = _LABEL_END.search(label)
        label_end = len(label.rstrip()) if end is None else end.start()
        names = list(_LABEL_NAME.finditer(label, 0, label_end + 1))
        if not names:
            continue
        after = label[names[-1].end() : label_end].split()
        if len(after) > (_LABEL_WORDS_AFTER if end else _LABEL_WORDS_AFTER // 2) or (
            after and after[0].lower() in _ABOUT_WORDS
        ):
            continue  # `the password policy for admins:`: what describes the secret, not the secret
        value, (start, stop) = match["value"], match.span("value")
        if _is_kept(value, names[-1].group(), text, stop) or not any(c.isalnum() for c in value):
            continue
        if value.endswith((":", "：")) or value.lower() in _CODE_WORDS:
            continue  # a label of its own; a statement in a traceback's source
        if _SNAKE_NAME.fullmatch(value) and _default_secret_key(key_words(value), False):
            continue  # `Missing secrets:` then `DB_PASSWORD`: a secret's name, not the secret
        plain = value.lower() if value.isalpha() else ""
        if (
            plain in _STATUS_WORDS
            or plain in _PROSE_WORDS
            or plain in _DESCRIBING_WORDS
            or plain in _RESULT_WORDS
        ):
            continue  # `Token:` then `expired`: a status
        if names[-1].group().lower() == "pin" and not (4 <= len(value) <= 12 and value.isdigit()):
            continue
        if end is None and (not _random_looking(value) or any(c in label for c in ",;\t")):
            continue  # (a label without its colon: `failed to refresh token` then `Traceback`; a CSV header)
        if (
            end is not None
            and ":" not in end.group()
            and "：" not in end.group()
            and not _looks_secret_word(value)
        ):
            continue  # (after `is` alone, a plain word may begin the sentence's next line)
        yield Finding(start, stop, "value_below")


def _tells_an_outcome(answer: str) -> bool:
    """A prompt's answer that is prose about the login rather than the typed secret: a word of status
    alone (`expired`), or several words one of which is a word of status or of prose (a password typed
    at a prompt is one word, or a passphrase of plain words)."""
    words = [word.strip(".,;:!?()[]").lower() for word in answer.split()]
    if len(words) == 1:
        return words[0] in _STATUS_WORDS
    return any(word in _STATUS_WORDS or word in _PROSE_WORDS for word in words)


def _looks_secret_word(value: str) -> bool:
    """An unquoted word after `password ` that is a credential rather than prose: it has a digit or a
    symbol, or mixes cases inside."""
    return any(not c.isalpha() for c in value) or any(c.isupper() for c in value[1:])


def _header(_: Redactor, text: str) -> Iterator[Finding]:
    """`Authorization: <scheme> <credentials>` of every scheme, and `Cookie` / `Set-Cookie` values."""
    position = 0
    while (match := _HEADER.search(text, position)) is not None:
        pos = _after_bytes_prefix(text, match.end())
        quoted = _QUOTED_VALUE.match(text, pos)
        if quoted is not None and quoted.group() and _IS_A_KEY.match(text, quoted.end()):
            position = quoted.end()  # `{"name": "Cookie", "value": ...}`: the named-value rule reads it
            continue
        if quoted is not None and quoted.group():
            start, end = _strip_quotes(pos, quoted.end(), quoted.group())
        else:
            start, end = pos, _line_end(text, pos)
            fold = _FOLD.match(text, end) if _SCHEME_ONLY.fullmatch(text, start, end) else None
            if fold is not None:  # a folded header: its value goes on in the indented next line
                scheme, (start, end) = text[start:end].strip(), (fold.end(), _line_end(text, fold.end()))
                token = _TOKEN.match(text, start, end) if scheme and scheme.lower() != "cookie" else None
                if token is not None:
                    yield Finding(*token.span(), "authorization_header")
                    position = end
                    continue
        if match["key"].lower().endswith("cookie"):
            yield from _cookie_values(text, start, end)
        else:
            yield from _credentials(text, start, end)
        position = max(end, pos)  # a value is read once (a line of headers must not cost its square)


_SCHEME_ONLY: Final = compile_lazily(r"[ \t]{0,8}(?:[A-Za-z][\w\-]{0,63}[ \t]{0,8})?\r?")
_FOLD: Final = compile_lazily(r"\r?\n[ \t]{1,64}(?=[^\s])")  # RFC 7230's obs-fold


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos, pos + 8192)
    return end if end >= 0 else min(len(text), pos + 8192)


def _credentials(text: str, start: int, end: int) -> Iterator[Finding]:
    """The credentials of an authorization value: after the scheme, one token, or every parameter
    (`Digest username="x", response="..."`, `AWS4-HMAC-SHA256 Credential=..., Signature=...`)."""
    params = _AUTH_SCHEME_THEN_PARAMS.match(text, start, end)
    if params is not None:
        yield Finding(params.end(), end, "authorization_header")
        return
    scheme = _AUTH_SCHEME.match(text, start, end)
    begin = scheme.end() if scheme is not None else start
    token = _TOKEN.match(text, begin, end)
    if scheme is None and token is not None and token.group().rstrip(".!") in _STATUS_WORDS:
        return  # `authorization: granted`, `Authorization: missing`: a status of the check, not a credential
    if token is not None and (token.group().startswith("$(") or _PLACEHOLDER.fullmatch(token.group())):
        return  # `Bearer <token>`, `Bearer ${TOKEN}`, `Bearer $(gcloud auth print-access-token)`: no secret
    if token is not None and token.group() != REDACTED:
        yield Finding(token.start(), token.end(), "authorization_header")


def _cookie_values(text: str, start: int, end: int) -> Iterator[Finding]:
    pairs = list(_COOKIE_PAIR.finditer(text, start, end))
    if not pairs:
        if end > start and text[start:end].strip() != REDACTED:
            yield Finding(start, end, "cookie_header")
        return
    for pair in pairs:
        if pair["name"].lower() not in _COOKIE_ATTRIBUTES and pair["value"] not in ("", REDACTED):
            yield Finding(*pair.span("value"), "cookie_header")


def _bearer(_: Redactor, text: str) -> Iterator[Finding]:
    """`Bearer <token>` of any length; prose stays: lower-case `bearer` needs a token with a digit or
    symbol (`bearer bonds`), and a lower-case word of 5+ letters is prose (`Bearer token expired`)."""
    for match in _BEARER.finditer(text):
        value = match["value"]
        if _NAME_EQUALS.match(value) or _CHALLENGE_PARAMETER.match(text, match.start("value")):
            continue  # `token_type=Bearer expires_in=3600`, `Bearer realm="api"`: pairs, not a token
        word = value.rstrip(".!?")  # (`Missing Bearer token.`: a stop ends the sentence, not the word)
        if word.isalpha() and word.islower() and len(word) >= 5:
            continue  # `Bearer authentication required`, `Bearer token expired`: prose
        if match["scheme"][0] == "B" or any(not c.isalpha() for c in value):
            yield Finding(*match.span("value"), "bearer_token")


def _basic(_: Redactor, text: str) -> Iterator[Finding]:
    """`Basic <base64>` outside a header: the value must look base64 (a digit, `=`, or inner capitals)."""
    for match in _BASIC.finditer(text):
        value = match["value"]
        if any(c.isdigit() or c in "+/=" for c in value) or any(c.isupper() for c in value[1:]):
            yield Finding(*match.span("value"), "basic_credentials")


def _query_param(redactor: Redactor, text: str) -> Iterator[Finding]:
    """`?token=`, `&sig=`, `&X-Amz-Signature=`: URL query parameters whose name is a secret."""
    for match in _QUERY_PARAM.finditer(text):
        key = match["key"]
        words = key_words(key)
        if (words and words[-1] in _QUERY_WORDS) or redactor.is_secret_key(key):
            found = _QUERY_VALUE.match(text, match.end())
            if found is not None and found.group() != REDACTED and not _PLACEHOLDER.fullmatch(found.group()):
                yield Finding(*found.span(), "url_query_param")


def _short_password_flag(_: Redactor, text: str) -> Iterator[Finding]:
    """`mysql -pSECRET`, `docker login -p SECRET`, `redis-cli -a SECRET`: the flag only after a command
    whose flag it is a password (elsewhere `-p` is a port, a path or `-pthread`)."""
    for word, commands, flag in _COMMAND_FLAGS:
        if word not in text:
            continue  # (one `in` spares a scan with the command's pattern)
        scanned = 0  # each part of the text is scanned once, however many commands precede it
        for command in commands.finditer(text):
            start = max(command.end(), scanned)
            scanned = command.end() + 1024
            for match in flag.finditer(text, start, scanned):
                quoted = "quoted" in match.re.groupindex and match["quoted"] is not None
                yield Finding(*match.span("quoted" if quoted else "secret"), "short_password_flag")


# (a word every match of the command contains, the command, its password flag)
_COMMAND_FLAGS: Final = (
    ("", _P_IS_PASSWORD, _SHORT_PASSWORD),
    ("", _A_IS_PASSWORD, _SHORT_A_PASSWORD),
    ("zip", _ZIP, _spaced_flag("P")),
    ("openssl", _OPENSSL, _spaced_flag("kK")),
    ("ldap", _LDAP_TOOL, _spaced_flag("w")),
    ("7z", _SEVEN_ZIP, _GLUED_P_PASSWORD),
    ("sql", _SQL_SERVER_TOOL, _spaced_flag("P")),
    ("bcp", _BCP, _spaced_flag("P")),
    ("ssh-keygen", _SSH_KEYGEN, _spaced_flag("NP")),
    ("rar", _RAR, _GLUED_RAR_PASSWORD),
    ("ipmitool", _IPMITOOL, _spaced_flag("P")),
    ("mosquitto_", _MOSQUITTO, _spaced_flag("P")),
    ("snmp", _SNMP_TOOL, _spaced_flag("AX")),
)


def _prompt_expression(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _PROMPT_EXPRESSION.finditer(text):
        found = _value_finding(text, *match.span("value"), "prompt_expression")
        if _names_secret(redactor, match["name"], text[found.start : found.end]):
            yield found


def _config_set(redactor: Redactor, text: str) -> Iterator[Finding]:
    """The argument after a secret's name in a `config set` command line (flags and their arguments
    may come between: `aws configure set --profile prod aws_session_token X`)."""
    for match in _CONFIG_SET.finditer(text):
        position, previous = match.end(), ""
        for _ in range(8):  # arguments of the command, at most
            argument = _ARGUMENT.match(text, position)
            if argument is None:
                break
            found = _value_finding(text, *argument.span("arg"), "config_set")
            name = previous.rsplit(":", 1)[-1]  # `//registry.npmjs.org/:_authToken`
            if (
                name
                and not name.startswith("-")
                and _names_secret(redactor, name, text[found.start : found.end])
            ):
                yield found
                break
            previous, position = argument["arg"], argument.end()


# A `-p` beside a user's `-u <name>` in one command line (`twine upload -u bob -p X`, `psexec -u bob -p X`,
# `rabbitmqadmin -u bob -p X`, `influx -p X -u bob`) is a password whatever the command; a port, a port
# mapping or a plugin (`docker run -u 1000 -p 8080:80`, `pytest -p no:cacheprovider`) is not.
_P_VALUE: Final = (
    r"(?:(?P<{q}>[\"'])(?P<{quoted}>[^\"'\n]{{1,512}})(?P={q})|(?P<{bare}>[^\s\"'\-][^\s\"']{{0,511}}))"
)
_USER_AND_P: Final = compile_lazily(
    r"(?<![\w\-])-u[ \t]{1,8}[^\s\-\"'][^\s]{0,255}[ \t]{1,8}-p[ \t]{1,8}"
    + _P_VALUE.format(q="q1", quoted="quoted1", bare="bare1")
    + r"|(?<![\w\-])-p[ \t]{1,8}"
    + _P_VALUE.format(q="q2", quoted="quoted2", bare="bare2")
    + r"[ \t]{1,8}(?:-[A-Za-z][^\s]{0,64}[ \t]{1,8}(?:[^\s\-][^\s]{0,255}[ \t]{1,8})?){0,2}"
    + r"-u[ \t]{1,8}[^\s\-]"
)
_PORT_OR_PLUGIN: Final = compile_lazily(r"[0-9.:\[\]]{1,64}(?:/(?:tcp|udp|sctp))?|no:[\w.\-]{1,64}")


def _user_and_p(_: Redactor, text: str) -> Iterator[Finding]:
    if "-p" not in text:
        return
    for match in _USER_AND_P.finditer(text):
        group = next(name for name in ("quoted1", "bare1", "quoted2", "bare2") if match[name] is not None)
        value = match[group]
        if value == REDACTED or (group.startswith("bare") and _PORT_OR_PLUGIN.fullmatch(value)):
            continue
        yield Finding(*match.span(group), "short_password_flag")


# A `-p` beside a host's `-h <host>` (or `--host`) in one command line is a client's password (`mytool -p X
# -h db`, `mongo -h db -p X`); a port there is a number (`psql -h db -p 5432`), which stays.
_HOST_FLAG: Final = compile_lazily(r"(?<![\w\-])(?:-h[ \t]{1,8}|--host[ \t=]{1,8})[^\s\-]")
_NEWLINE: Final = compile_lazily(r"\n")
_LONE_P: Final = compile_lazily(
    r"(?<![\w\-])-p[ \t]{1,8}" + _P_VALUE.format(q="q", quoted="quoted", bare="bare")
)


def _host_and_p(_: Redactor, text: str) -> Iterator[Finding]:
    if "-h" not in text:
        return  # (`--host` too holds it)
    hosts = [host.start() for host in _HOST_FLAG.finditer(text)]
    if not hosts:
        return
    # the lines that hold a host flag, by their number (one pass each: a text dense with flags stays linear)
    breaks = [found.start() for found in _NEWLINE.finditer(text)]
    host_lines = {bisect.bisect(breaks, host) for host in hosts}
    for match in _LONE_P.finditer(text):
        group = "quoted" if match["quoted"] is not None else "bare"
        value = match[group]
        if value == REDACTED or _PORT_OR_PLUGIN.fullmatch(value) or "/" in value:
            continue  # a port, a plugin or a path (`mkdir -p /srv/x -h`)
        if bisect.bisect(breaks, match.start()) in host_lines:
            yield Finding(*match.span(group), "short_password_flag")


# A password piped to `passwd` (`echo -e 'X\nX' | passwd bob`, `echo X | sudo passwd --stdin bob`).
_ECHO_TO_PASSWD: Final = compile_lazily(
    r"\b(?:echo|printf)(?:[ \t]{1,8}-[neE]{1,3})?[ \t]{1,8}"
    r"(?:(?P<q>[\"'])(?P<quoted>[^\"'\n]{1,512})(?P=q)|(?P<bare>[^\s\"'|;]{1,512}))"
    r"[ \t]{0,8}\|[ \t]{0,8}(?:sudo[ \t]{1,8}(?:-[^\s]{1,16}[ \t]{1,8}){0,4})?passwd\b"
    r"(?![ \t]{1,8}-[Sslude]\b)"  # (status, lock, unlock, delete, expire: no password read)
)


def _echo_to_passwd(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _ECHO_TO_PASSWD.finditer(text):
        yield Finding(*match.span("quoted" if match["quoted"] is not None else "bare"), "positional_password")


# (led by the quote, not a lookbehind: a pattern that begins with one is tried at every character)
# `user:password@host` given without a scheme, quoted whole (requests' `No connection adapters were found
# for 'bob:pw@host/path'`, ipaddress' `'bob:pw@10.0.0.1' does not appear to be...`, a literal in a source
# line), or only `password@host` where http.client read `user:` as a host and the rest as its port
# (`nonnumeric port: 'pw@host'`, `invalid literal for int() with base 10: 'pw@host'`).
_HOST_TO_QUOTE: Final = r"(?=[A-Za-z0-9][A-Za-z0-9.\-]{0,253}(?::[0-9]{1,5})?(?:[/?#][^\s\"']{0,2048})?[\"'])"
_SCHEMELESS_USERINFO: Final = compile_lazily(
    r"[\"'](?:(?P<user>[\w.~%+\-\\]{1,128}+):(?P<secret>[^\s\"'@/]{1,256}+)"
    r"|(?:(?<=nonnumeric port: ')|(?<=with base 10: '))(?P<port>[^\s'@]{1,256}))@" + _HOST_TO_QUOTE
)
# Schemes written `scheme:address@host` (`mailto:bob@example.com`): an address, not a user and password.
_ADDRESS_SCHEMES: Final = frozenset({"mailto", "sip", "sips", "xmpp", "im", "pres", "tel", "news", "acct"})


# `user:password@host[:port]` standing bare in a text (`connecting to elastic:pw@localhost:9200`): read
# back from each `@` to the word's start, so that a text without `user:x@` costs a few `find`s.
_BARE_USERINFO: Final = compile_lazily(
    r"(?P<user>[A-Za-z][\w.~%+\-]{0,127}):(?P<secret>[^\s:@/\"'<>()\[\]{},;]{4,256})\Z"
)
# (or Go's MySQL driver's `user:pw@tcp(host:3306)/db`, `@unix(/path)`)
_BARE_HOST: Final = compile_lazily(
    r"(?:tcp6?|udp|unix)\(|[A-Za-z0-9][A-Za-z0-9.\-]{0,253}(?::[0-9]{1,5})?(?=[\s/?#\"'),;\]]|\Z)"
)
_WORD_BEFORE: Final = 400  # characters read back from an `@`, at most
_USERINFO_TAIL: Final = compile_lazily(r":[^\s:@/\"'<>()\[\]{},;]{4,256}@")  # (the gate's test: one search)


def _userinfo_at(text: str, at: int) -> int:
    """The next `@` from `at` with a `:` in the word before it (`user:pw@`), or -1: an e-mail address's
    `@` is passed over with two searches."""
    while at > 0:
        colon = text.rfind(":", max(0, at - _WORD_BEFORE), at)
        if colon >= 0 and text.find(" ", colon, at) < 0:
            return at
        at = text.find("@", at + 1)
    return -1


def _bare_userinfo(_: Redactor, text: str) -> Iterator[Finding]:
    at = _userinfo_at(text, text.find("@"))
    while at > 0:
        start = max(0, at - _WORD_BEFORE)
        for stop in (" ", "\t", "\n", '"', "'", "=", "(", "<", ","):
            start = max(start, text.rfind(stop, start, at) + 1)
        match = _BARE_USERINFO.search(text, start, at)
        if (
            match is not None
            and match.start() == start
            and not text.endswith("/", 0, start)  # `scheme://`: the URL rule's
            and match["user"].lower() not in _ADDRESS_SCHEMES
            and _looks_secret_word(match["secret"])
            and any(c.isalpha() for c in match["secret"])
            and _BARE_HOST.match(text, at + 1) is not None
            and not text.startswith(("sha1:", "sha256:", "sha512:"), at + 1)  # an image's `name:tag@digest`
        ):
            yield Finding(*match.span("secret"), "url_userinfo")
        at = _userinfo_at(text, text.find("@", at + 1))


def _schemeless_userinfo(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _SCHEMELESS_USERINFO.finditer(text):
        if match["user"] is not None and match["user"].lower() in _ADDRESS_SCHEMES:
            continue
        group = "secret" if match["secret"] is not None else "port"
        value = match[group]
        if value != REDACTED and not _PLACEHOLDER.fullmatch(value):
            yield Finding(*match.span(group), "url_userinfo")


# PowerShell's `ConvertTo-SecureString 'x' -AsPlainText` (a string made a SecureString: a password), and
# a Windows tool's `/p:x` (xfreerdp; msbuild's `/p:Name=Value` properties are not read).
_WINDOWS_SECRET: Final = compile_lazily(
    r"(?i:ConvertTo-SecureString)(?:[ \t]{1,8}-[A-Za-z]{1,32}){0,4}[ \t]{1,8}"
    r"(?P<q>[\"'])(?P<string>[^\"'\n]{1,512})(?P=q)"
    r"|(?<![\w/])/p:(?P<p>[^\s\"'=]{1,512})(?=[\s\"']|\Z)"
)


def _windows_secret(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _WINDOWS_SECRET.finditer(text):
        group = "string" if match["string"] is not None else "p"
        if match[group] != REDACTED:
            yield Finding(*match.span(group), "windows_secret")


def _user_password_flag(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _USER_PASSWORD_FLAG.finditer(text):
        if match["alone"] is not None:
            if _random_looking(match["alone"]):
                yield Finding(*match.span("alone"), "user_password_flag")
            continue
        group = "quoted" if match["quoted"] else "secret"
        if group == "secret" and _is_user_and_group(text, match):
            continue
        yield Finding(*match.span(group), "user_password_flag")


# Container runtimes, whose `-u`/`--user` is `uid:gid` or `user:group`.
_CONTAINER_COMMAND: Final = compile_lazily(r"\b(?:docker|podman|nerdctl|buildah|crictl|ctr|kubectl)\b")


def _is_user_and_group(text: str, match: re.Match[str]) -> bool:
    """`-u 1000:1000`, `--user root:root`, `docker run -u app:staff`: a user and a group, not a password."""
    value = match["secret"]
    word = (text[max(0, match.start("secret") - 257) : match.start("secret") - 1].split() or [""])[-1]
    user_name = word.split("=")[-1] if word.startswith("--") else word.removeprefix("-u").removeprefix("-U")
    if value == user_name or (value.isdigit() and user_name.isdigit()):
        return True
    line_start = text.rfind("\n", 0, match.start()) + 1
    return (
        bool(_CONTAINER_COMMAND.search(text, line_start, match.start()))
        and _NAME_OR_ID.fullmatch(value) is not None
    )


_NAME_OR_ID: Final = compile_lazily(r"[a-z_][a-z0-9_\-]{0,31}|[0-9]{1,10}")


# Redis commands typed inside a logged command line rather than alone on their line: `AUTH [user] X`
# after a prompt, a shell's trace or a log's lead (`$ `, `+ `, `exec: `, `[`), `AUTH2 user X` and
# `HELLO 3 AUTH user X` anywhere, and `MIGRATE ... AUTH X`. Upper case only: the commands as typed, not
# a sentence about auth; the value must end the command, and an outcome word (`AUTH failed`) stays.
_REDIS_COMMAND_AUTH: Final = compile_lazily(
    r"(?m)(?:(?<=[$#+>:] )|(?<=[\[(\"'`]))[ \t]{0,8}AUTH(?:[ \t]{1,8}[^\s\"'\])]{1,256})?[ \t]{1,8}"
    r"(?:\"(?P<quoted>[^\"\n]{1,512})\"|(?P<secret>[^\s\"'\])]{1,512}))[ \t]*(?=\r?$|[\"'`\])])"
    r"|\b(?:AUTH2|HELLO[ \t]{1,8}[23][ \t]{1,8}AUTH)[ \t]{1,8}[^\s\"']{1,256}[ \t]{1,8}"
    r"(?:\"(?P<quoted2>[^\"\n]{1,512})\"|(?P<secret2>[^\s\"'\])]{1,512}))"
    r"|\bMIGRATE[ \t][^\n]{0,512}?[ \t]AUTH[ \t]{1,8}"
    r"(?:\"(?P<quoted3>[^\"\n]{1,512})\"|(?P<secret3>[^\s\"'\])]{1,512}))"
)


def _redis_command_auth(_: Redactor, text: str) -> Iterator[Finding]:
    if "AUTH" not in text:
        return
    for match in _REDIS_COMMAND_AUTH.finditer(text):
        group = next(name for name, value in match.groupdict().items() if value is not None)
        if match[group].lower() not in _STATUS_WORDS:
            yield Finding(*match.span(group), "redis_auth")


def _redis_auth_line(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _REDIS_AUTH_LINE.finditer(text):
        secret = match["secret"]
        if secret is not None and secret.lower() in _STATUS_WORDS:
            continue  # `AUTH failed`, `auth ok`: an outcome
        if (
            secret is not None
            and match["command"] == "auth"
            and not text.endswith("> ", 0, match.start())
            and not _looks_secret_word(secret)
        ):
            continue  # `auth timeout`, `auth module loaded`: a message about auth, not a typed command
        yield Finding(*match.span("quoted" if match["quoted"] else "secret"), "redis_auth")


# A command-line parser's error quoting the value given to an option: argparse's `argument --token:
# invalid int value: 'x'` (and `invalid choice:`), click's `Invalid value for '--password' / '-p': 'x'`
# (and `(env var: 'APP_TOKEN')`); the value is hidden when one of the option's names names a secret.
_OPTION_ERROR: Final = compile_lazily(
    r"\bargument[ \t](?P<flags>-{1,2}[\w\-]{1,64}(?:/-{1,2}[\w\-]{1,64}){0,4}):"
    r"[ \t]invalid[ \t][^:\n]{1,64}:[ \t]"
    r"|\bInvalid[ \t]value[ \t]for[ \t](?P<names>'[^'\n]{1,64}'(?:[ \t]/[ \t]'[^'\n]{1,64}'){0,4}"
    r"(?:[ \t]\(env[ \t]var:[ \t]'[^'\n]{1,64}'\))?):[ \t]"
)
_OPTION_NAME: Final = compile_lazily(r"[A-Za-z][\w\-]{0,63}")


def _option_error(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _OPTION_ERROR.finditer(text):
        names = match["flags"] or match["names"]
        if not any(redactor.is_secret_key(name.group()) for name in _OPTION_NAME.finditer(names)):
            continue
        value = _QUOTED_VALUE.match(text, match.end())
        if value is not None and value.group():
            start, end = _strip_quotes(*value.span(), value.group())
            if end > start and text[start:end] != REDACTED:
                yield Finding(start, end, "option_error")


# A login sent in a protocol transcript, as smtplib, poplib and imaplib print them in debug mode and as
# mail and FTP servers log sessions: SMTP's `AUTH PLAIN <base64 of \0user\0password>` (or XOAUTH2's
# bearer), POP3's and FTP's `PASS <password>` (as the protocol sends it: quoted as a repr prints it,
# before its `\r\n`, or after a client's `>`/`C:`, so that a test runner's `PASS  src/app.test.js` stays),
# IMAP's tagged `LOGIN user <password>` (a tag with a digit: `A0001`).
# (each led by its command's literal, which the search skips to; what must stand before it is checked
# after: a pattern led by a lookbehind is tried at every character)
_SMTP_AUTH: Final = compile_lazily(
    r"AUTH[ \t]{1,8}(?:PLAIN|XOAUTH2|OAUTHBEARER)[ \t]{1,8}(?P<secret>[A-Za-z0-9+/]{4,8192}={0,2})(?![\w+/=])"
)
_PASS_COMMAND: Final = compile_lazily(r"PASS[ \t](?P<secret>[^\s\"'\\]{1,512})")
_PASS_LINE_START: Final = compile_lazily(r"(?:^|\n)[ \t]{0,8}(?:(?P<marker>>|C:|-->)[ \t]{1,8})?\Z")
_IMAP_LOGIN: Final = compile_lazily(
    r"LOGIN[ \t]{1,8}(?:\"(?:[^\"\\\n]|\\.){0,256}\"|[^\s\"'(){}]{1,256})[ \t]{1,8}"
    r"(?:\"(?P<quoted>(?:[^\"\\\n]|\\.){1,512})\"|(?P<secret>[^\s\"'(){}]{1,512}))"
)
_IMAP_TAG: Final = compile_lazily(r"(?<![\w\-])(?=[A-Za-z]{0,15}[0-9])[A-Za-z0-9.]{1,16}[ \t]\Z")
# SMTP's AUTH LOGIN: the server asks `Password:` in base64, and the client's next line is the answer.
_PASSWORD_PROMPT_B64: Final = compile_lazily(r"334[ \t]{1,8}UGFzc3dvcmQ6")
_SENT_B64: Final = compile_lazily(
    r"(?:send|C):[ \t]{0,8}b?['\"]?(?P<answer>[A-Za-z0-9+/]{4,8192}={0,2})(?=\\r\\n|\r?\n|['\"]|\Z)"
)


def _protocol_login(_: Redactor, text: str) -> Iterator[Finding]:
    found: list[tuple[int, int]] = []
    if "AUTH" in text:
        found += [m.span("secret") for m in _SMTP_AUTH.finditer(text) if not _in_word(text, m.start())]
    if "PASS" in text:
        found += [m.span("secret") for m in _PASS_COMMAND.finditer(text) if _sent_pass(text, m)]
    if "LOGIN" in text:
        for match in _IMAP_LOGIN.finditer(text):
            if _IMAP_TAG.search(text, max(0, match.start() - 18), match.start()) is not None:
                found.append(match.span("quoted" if match["quoted"] is not None else "secret"))
    for start, end in found:
        if text[start:end] != REDACTED and text[start:end].lower() not in _STATUS_WORDS:
            yield Finding(start, end, "protocol_login")
    for prompt in _PASSWORD_PROMPT_B64.finditer(text):
        answer = _SENT_B64.search(text, prompt.end(), prompt.end() + 512)
        if answer is not None:
            yield Finding(*answer.span("answer"), "protocol_login")


def _in_word(text: str, at: int) -> bool:
    return at > 0 and (text[at - 1].isalnum() or text[at - 1] in "_-")


def _sent_pass(text: str, match: re.Match[str]) -> bool:
    """`PASS x` as a client sends it: quoted as a repr prints it (`'PASS x'`, `b'PASS x\\r\\n'`), or at a
    line's start before its `\\r\\n`, or after a client's marker (`> PASS x`, `C: PASS x`)."""
    end = match.end()
    ends_line = text.startswith(("\\r", "\r"), end)
    if match.start() > 0 and text[match.start() - 1] in "'\"":
        return ends_line or text.startswith(("'", '"'), end)
    head = _PASS_LINE_START.search(text, max(0, match.start() - 16), match.start())
    if head is None:  # (`^` matches at the text's start only, not at the search's)
        return False
    if head["marker"]:
        return ends_line or end == len(text) or text.startswith(("\n", "\r\n"), end)
    return ends_line


def _positional_password(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _POSITIONAL_PASSWORD.finditer(text):
        groups = (
            "rabbit", "htpasswd", "chpasswd", "stdin", "netuser", "smb", "netuse", "vault", "mysqladmin",
            "htpasswd2", "lftp", "mc", "wpa", "pdftk",
        )  # fmt: skip
        name = next(group for group in groups if match[group] is not None)
        if name == "pdftk" and "pdftk" not in text and not _looks_secret_word(match[name]):
            continue  # `set user_pw policy`: pdftk's arguments read alone only when they look like one
        if match.group(name) != REDACTED:
            yield Finding(*match.span(name), "positional_password")


def _piped_password(_: Redactor, text: str) -> Iterator[Finding]:
    """What `echo`/`printf` (alone or in a subshell) feeds a command reading a password from stdin, or
    a here-string given to one: the whole of it, or what follows `user:` for chpasswd."""
    for match in _PIPED_PASSWORD.finditer(text):
        if match["herestring"] is not None:
            spans = [_value_finding(text, *match.span("herestring"), "piped_password")]
        else:
            group = "subshell" if match["subshell"] is not None else "producer"
            start, end = match.span(group)
            spans = [
                _value_finding(text, *echoed.span("words"), "piped_password")
                for echoed in _ECHOED.finditer(text, start, end)
            ]
        for found in spans:
            if "chpasswd" in match.group() and (colon := text.find(":", found.start, found.end)) >= 0:
                found = Finding(colon + 1, found.end, found.rule)  # `bob:X`: the user stays
            if found.end > found.start and not _is_redacted(text[found.start : found.end]):
                yield found


# A list of two or more string literals, as a repr prints argv (`Command '['mysql', '-pX']' returned
# non-zero exit status 1`, `CompletedProcess(args=[...])`, `ps`-like dumps of `sys.argv`).
_STRING_ITEM: Final = r"[ \t]{0,8}[bu]?(?:'(?:[^'\\\n]|\\.){0,4096}'|\"(?:[^\"\\\n]|\\.){0,4096}\")[ \t]{0,8}"
_ARGV_REPR: Final = compile_lazily(rf"\[(?:{_STRING_ITEM},){{1,256}}{_STRING_ITEM}\]")
_ITEM_CONTENT: Final = compile_lazily(
    r"[bu]?(?P<q>[\"'])(?P<content>(?:(?!(?P=q))[^\\\n]|\\.){0,4096})(?P=q)"
)


def _argv_repr(redactor: Redactor, text: str) -> Iterator[Finding]:
    """The rules read a list of strings as the command line its items make, joined by blanks (a `-p`
    that only the command makes a password, a user's password by position); spans map back onto the
    items."""
    for listed in _ARGV_REPR.finditer(text):
        items = list(_ITEM_CONTENT.finditer(text, listed.start(), listed.end()))
        line = " ".join(item["content"] for item in items)
        if len(items) < 2 or not redactor.might_contain_secret(line):
            continue
        starts = list(itertools.accumulate((len(item["content"]) + 1 for item in items[:-1]), initial=0))
        for finding in redactor._findings(line, 0):
            index = bisect.bisect_right(starts, finding.start) - 1
            while index < len(items) and starts[index] < finding.end:
                offset = items[index].start("content") - starts[index]
                start = max(finding.start, starts[index]) + offset
                end = min(finding.end, starts[index] + len(items[index]["content"])) + offset
                if end > start:
                    yield Finding(start, end, "argv_repr")
                index += 1


# A table's row whose first cell names a secret, its value in the next cell: `| password | x |`, rich's
# `│ api_key │ x │`, psql's expanded display (`passwd   | x`).
_TABLE_ROW: Final = compile_lazily(
    # (cells are padded: `password_hash|InvalidToken` is one word)
    r"(?m)^[ \t]{0,8}(?:[|│┃║][ \t]{1,8})?(?P<key>[^\W\d][\w.\-]{0,127})[ \t]{1,64}[|│┃║][ \t]{1,8}"
    r"(?P<value>[^\s|│┃║]{1,512})(?=[ \t]{1,64}[|│┃║]|[ \t]{0,64}\r?$)"
)
# A .netrc entry (also on one line): `machine h login bob password X`.
# Also a user and a password told in a row in any of their names (`user bob pw sunshine`, `login: bob
# pass: sunshine`, `username=bob, passwd hunter`).
# (searched in the lower-cased text: a pattern that ignores case is tried at every character)
_NETRC: Final = compile_lazily(
    r"\b(?:login|user(?:[_ ]?name)?)(?:[ \t]{0,8}[:=])?[ \t\r\n]{1,16}"
    r"(?P<user>[^\s,;]{1,256})[,;]?[ \t\r\n]{1,16}"
    r"(?P<key>password|passwd|pass|pwd|pw)(?:[ \t]{0,8}[:=])?[ \t\r\n]{1,16}(?P<secret>[^\s]{1,512})"
)


# Delimited rows (CSV, TSV, semicolons): a header line whose cells are names, one of them a secret's
# (`user,password`, `"id"\t"api_token"`), hides that column's cell in each row below it with as many
# cells; in a row without such a header, a cell that is a secret's name hides the next cell
# (`password,hunter2`, `bob;pwd;x`).
_DELIMITERS: Final = (",", "\t", ";")
_CELLS: Final = {
    delimiter: compile_lazily(
        rf"[ \t]{{0,8}}(?P<cell>\"(?:[^\"\n]|\"\"){{0,4096}}\"|'[^'\n]{{0,4096}}'"
        rf"|[^{delimiter}\n\"']{{0,4096}})[ \t]{{0,8}}(?:{delimiter}|\r?(?=\n)|\Z)"
    )
    for delimiter in _DELIMITERS
}
_CELL_NAME: Final = compile_lazily(r"[^\W\d][\w .\-]{0,63}")
# Names of other columns: a value cell that is one is the next name of a header, not a secret.
_COLUMN_WORDS: Final = frozenset(
    {
        "user", "username", "login", "email", "mail", "name", "id", "uid", "host", "hostname", "port",
        "database", "db", "schema", "role", "group", "account", "owner", "created", "updated", "date",
        "time", "timestamp", "status", "comment", "comments", "description", "note", "notes", "url", "uri",
    }
)  # fmt: skip
_CODE_CHARACTERS: Final = compile_lazily(r"[()\[\]{}]|[ \t]=|=(?=[\w\"'])")  # (not base64's `=` padding)
_DELIMITED_LINES: Final = 65536  # lines of a text read as rows, at most
# A cell that names a secret in the strict reading holds one of these (its line is read as cells only
# then: splitting every line of a text with a comma cost a tenth more per triggered line).
_DELIMITED_TRIGGERS: Final = (
    "pass", "pwd", "pw", "secret", "token", "cred", "key", "cookie", "otp", "sessid", "sessionid", "privkey",
    "auth", "kennwort", "contrase", "senha", "wachtwoord", "senord", "haslo", "hasło", "heslo", "jelsz",
    "salasana", "adgangskode", "sifre", "şifre", "пароль", "密码", "パスワード", "비밀번호", "mdp", "parol",
)  # fmt: skip
_DELIMITED_LINE_TRIGGER: Final = _trie_pattern(_DELIMITED_TRIGGERS)


def _cells(line: str, start: int, delimiter: str) -> list[tuple[int, int]]:
    """The spans (in the whole text) of a line's cells split by `delimiter`, quotes around a cell
    honoured; one pass over the line."""
    pattern, position = _CELLS[delimiter], 0
    cells: list[tuple[int, int]] = []
    while position <= len(line) and len(cells) < 1024:
        cell = pattern.match(line, position)
        if cell is None or (cell.end() == position and cells):
            break
        cells.append((start + cell.start("cell"), start + cell.end("cell")))
        if cell.end() >= len(line) or line[cell.end() - 1] != delimiter:
            break
        position = cell.end()
    return cells


def _cell_name(text: str, span: tuple[int, int]) -> str | None:
    name = text[span[0] : span[1]].strip("\"' \t")
    return name if _CELL_NAME.fullmatch(name) else None


def _delimited(redactor: Redactor, text: str) -> Iterator[Finding]:
    """The cells of delimited rows that hold a secret (see `_DELIMITERS`), line by line."""
    header: tuple[str, int, set[int]] | None = None  # delimiter, cells, secret columns
    start = 0
    for _ in range(_DELIMITED_LINES):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        if header is not None:
            cells = _cells(line, start, header[0])
            if len(cells) != header[1]:
                header = None
            else:
                yield from (_value_finding(text, *cells[i], "delimited_row") for i in header[2])
        if header is None and len(line) <= 4096 and _DELIMITED_LINE_TRIGGER.search(line.lower()):
            for delimiter in _DELIMITERS:
                if delimiter in line:
                    cells = _cells(line, start, delimiter)
                    header = yield from _delimited_line(redactor, text, cells, delimiter, end + 1)
                    if header is not None:
                        break
        if end >= len(text):
            return
        start = end + 1


def _delimited_line(
    redactor: Redactor, text: str, cells: list[tuple[int, int]], delimiter: str, below: int
) -> Generator[Finding, None, tuple[str, int, set[int]] | None]:
    """A header's layout (delimiter, cells, secret columns) when the line is one (names, and a row
    below with as many cells), else the findings of its pairs (a secret's name, then its value)."""
    if len(cells) < 2:
        return None
    names = [_cell_name(text, cell) for cell in cells]
    secret = {i for i, name in enumerate(names) if name and redactor.is_secret_key(name, in_text=True)}
    if not secret:
        return None
    others = [name for i, name in enumerate(names) if i not in secret]
    if all(names) and (len(cells) > 2 or all(str(name).lower() in _COLUMN_WORDS for name in others)):
        line_end = text.find("\n", below)
        row = text[below : len(text) if line_end < 0 else line_end]
        if below < len(text) and len(_cells(row, below, delimiter)) == len(cells):
            return delimiter, len(cells), secret  # a header: `user,password`, `id;name;token`
    if _CODE_CHARACTERS.search(text, text.rfind("\n", 0, cells[0][0]) + 1, below - 1):
        return None  # `token, sql.Token(T.Whitespace, ' '))`: a line of code, not a row of data
    for index in sorted(secret):
        if index + 1 >= len(cells) or index + 1 in secret or " " in str(names[index]):
            continue  # (a pair's name is one word: `Enter password, then...` is a sentence)
        found = _value_finding(text, *cells[index + 1], "delimited_row")
        value = text[found.start : found.end]
        lowered = value.lower()
        if (
            not value
            or lowered in _COLUMN_WORDS
            or lowered in _ABOUT_WORDS
            or lowered in _WEAK_TAILS
            or lowered in _STATUS_WORDS
            or lowered in _DESCRIBING_WORDS
            or _is_kept(value, names[index] or "password", text, found.end)
        ):
            continue
        if (found.start, found.end) == cells[index + 1] and (
            " " in value or (text[found.start - 1] in " \t" and not _looks_secret_word(value))
        ):
            continue  # `password, please`: prose after a comma and a blank
        yield found
    return None


def _table_row(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _TABLE_ROW.finditer(text):
        key, value = match["key"], match["value"]
        if not redactor.is_secret_key(key) or _is_kept(value, key, text, match.end()):
            continue
        if value.lower() in _STATUS_WORDS or value == REDACTED:
            continue
        if redactor.is_secret_key(key, in_text=True) or _looks_secret(value):
            yield Finding(*match.span("value"), "table_row")


# SNMP's community string (a password sent in the clear): `snmpwalk -v2c -c X host`, Cisco's
# `snmp-server community X RO`, net-snmp's `rocommunity X`/`rwcommunity6 X` and `com2sec name source X`.
_SNMP_COMMUNITY: Final = compile_lazily(
    r"(?i)(?:\bsnmp[a-z\-]{0,32}\b[^\n|;&]{0,256}?[ \t](?-i:-c)[ \t]{0,8}"  # (`-Cc`: an application option)
    r"|\bsnmp-server[ \t]{1,8}community[ \t]{1,8}|(?<![\w\-])(?:r[ow]community6?|trapcommunity)[ \t]{1,8}"
    r"|\bcom2sec6?[ \t]{1,8}(?:-Cn[ \t]{1,8}[^\s]{1,64}[ \t]{1,8})?"
    r"[^\s]{1,64}[ \t]{1,8}[^\s]{1,64}[ \t]{1,8})"
    r"[\"']?(?P<secret>[^\s\"']{1,256})"
)
# An expect script (Tcl's expect, pexpect) that answers a password prompt: the `send`/`sendline` after
# an `expect` of a quoted prompt naming a password, a passphrase, a PIN, a secret or a token sends it.
_EXPECT_SEND: Final = compile_lazily(
    r"(?i)\bexpect\b[^\n\"']{0,64}[\"'][^\n\"']{0,128}?(?:assword|passphrase|passcode|\bpin\b|secret|token)"
    r"[^\n]{0,256}?"
    r"(?:\r?\n[ \t]{0,64}|\\n[ \t]{0,64}|[{;][ \t]{0,8})(?:[\w.]{0,64}\.)?send(?:line|_line)?"
    r"(?:[ \t]{1,8}--)?[ \t]{0,8}\(?[ \t]{0,8}[bru]?(?P<q>[\"'])"
    r"(?P<secret>(?:(?!(?P=q))[^\\\n]|\\(?![rn]).){1,512})"
)
# http.cookiejar's repr of a cookie, `<Cookie name=value for domain/path>`: every cookie may be a session.
_COOKIE_REPR: Final = compile_lazily(r"<Cookie [^\s=<>]{1,256}=(?P<secret>[^\s<>]{1,8192}) for ")
# A constructor named for a secret given one string (`Secret('x')`, `SecretStr(value='x')`, `Password(b'x')`):
# a wrapper whose repr shows what it wraps.
_WRAPPER_CALL: Final = compile_lazily(
    r"(?<![\w.])(?P<name>[A-Z][A-Za-z0-9_]{0,63})\([ \t]{0,8}(?:(?:value|secret|secret_value|_value|raw)"
    r"[ \t]{0,8}=[ \t]{0,8})?[bBuUrR]{0,2}(?P<q>[\"'])(?P<secret>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)"
    r"[ \t]{0,8}\)"
)
# HTTPie's and ApacheBench's `-a user:password` / `-A user:password`.
_AUTH_A_FLAG: Final = compile_lazily(
    r"(?i)\b(?:https?|httpie|ab)\b[^\n|;&]{0,256}?(?<![\w\-])-[aA][ \t]{1,8}[\"']?"
    r"[^\s:/\"'@]{1,256}:(?P<secret>[^\s\"']{1,512})"
)


# A variable set by a shell's command rather than `NAME=value`: csh's `setenv NAME value`, fish's
# `set -x NAME value`, `launchctl setenv NAME value`.
_SETENV: Final = compile_lazily(
    r"(?<![\w\-])(?:setenv|set[ \t]{1,8}-[gxUul]{1,4})[ \t]{1,8}(?P<key>[A-Za-z_]\w{0,127})[ \t]{1,8}"
    rf"(?P<value>{_QUOTED}|{_BARE})"
)


def _setenv(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _SETENV.finditer(text):
        start, end = _strip_quotes(*match.span("value"), match["value"])
        if redactor.is_secret_key(match["key"]) and not _is_kept(text[start:end], match["key"], text, end):
            yield Finding(start, end, "key_value")


# A variable set by a command verb with the value apart, not after `=`: `set DB_PASSWORD X` (cmd, fish,
# SQL*Plus), `setx [/M] API_TOKEN X [/M]` (Windows), `export API_TOKEN X` (a typo of `=` that logs the
# value all the same). The command must end after its value (a line's or a statement's end, a pipe, a
# bracket or quote that closed the logged command): `set password policy to strict` is prose. The name
# must read like a variable (`_` or upper case) so that `set password X` is left to the prose rules.
_VARIABLE_COMMAND: Final = compile_lazily(
    r"(?m)(?<![\w\-$.])(?i:setx|set|export)(?:[ \t]{1,8}/[A-Za-z]{1,2})?[ \t]{1,8}"
    rf"(?P<key>[A-Za-z_]\w{{0,127}})[ \t]{{1,8}}(?P<value>{_QUOTED}|{_BARE})"
    r"(?:[ \t]{1,8}/[A-Za-z]{1,2})?(?=[ \t]*(?:$|[\r;&|])|[)\]\"'`])"
)
_VERBS: Final = ("set ", "set\t", "setx", "export")
# PowerShell's provider form: `Set-Item -Path Env:DB_PASSWORD -Value X` (and `New-Item`, positional).
_ENV_ITEM: Final = compile_lazily(
    r"(?i)\b(?:set|new)-item[ \t]{1,8}(?:-path[ \t]{1,8})?(?P<q>[\"']?)env:(?P<key>\w{1,128})(?P=q)"
    rf"[ \t]{{1,8}}(?:-value[ \t]{{1,8}})?(?P<value>{_QUOTED}|{_BARE})"
)


def _variable_command(redactor: Redactor, text: str) -> Iterator[Finding]:
    """The value a command verb gives a variable named like a secret (`setx DB_PASSWORD X`)."""
    lowered = _lowered(text)
    if not any(verb in lowered for verb in _VERBS):
        return  # (`setting`, `reset`, `setSystemUiVisibility`: four `in`s spare a scan of the text)
    for match in _VARIABLE_COMMAND.finditer(text):
        if "_" in match["key"] or match["key"].isupper():
            yield from _variable_value(redactor, text, match)


def _env_item(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _ENV_ITEM.finditer(text):
        yield from _variable_value(redactor, text, match)


def _variable_value(redactor: Redactor, text: str, match: re.Match[str]) -> Iterator[Finding]:
    """The value of a variable set by a command, when its name names a secret and it is no reference."""
    key = match["key"]
    start, end = _strip_quotes(*match.span("value"), match["value"])
    value = text[start:end]
    if value[:1] in "$%-" or not redactor.is_secret_key(key):
        return  # `setx TOKEN %OLD_TOKEN%`, `export API_KEY $KEY`: a reference to where it is
    if not _is_kept(value, key, text, end):
        yield Finding(start, end, "key_value")


def _wrapper_call(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _WRAPPER_CALL.finditer(text):
        if redactor.is_secret_key(match["name"], in_text=True) and not _is_kept(
            match["secret"], "password", text, match.end()
        ):
            yield Finding(*match.span("secret"), "secret_call")


def _netrc(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _NETRC.finditer(_lowered(text)):
        value = text[match.start("secret") : match.end("secret")].rstrip(".,;)")
        lowered = value.lower()
        if lowered in _STATUS_WORDS or lowered in _PROSE_WORDS or lowered in _DESCRIBING_WORDS:
            continue
        if match["user"].lower() in _STATUS_WORDS or match["user"].lower() in _PROSE_WORDS:
            continue  # `login failed, passwd: x`: the key-value rule reads the pair
        found = _value_finding(text, match.start("secret"), match.start("secret") + len(value), "netrc")
        if not _is_kept(text[found.start : found.end], match["key"], text, match.end()):
            yield found


def _url_userinfo(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _URL_USERINFO.finditer(text):
        if match["secret"].strip("*"):  # (`app:***@db`: a password SQLAlchemy or Celery already masked)
            yield Finding(*match.span("secret"), "url_userinfo")


def _url_token_user(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _URL_TOKEN_USER.finditer(text):
        if match["prefixed"] or _token_like(match["secret"]) or _decoded_credentials(match["secret"]):
            yield Finding(*match.span("secret"), "url_userinfo")


def _token_like(value: str) -> bool:
    """A run of letters and digits that reads like a generated token, not a name: letters and digits
    alternate at least four times (`a1B2...`, 40 hex), where a name has a number at most at its end;
    or 24+ hex digits with both (a Sentry DSN's key)."""
    kinds = [c.isdigit() for c in value if c != "_"]
    if len(value) >= 24 and any(kinds) and not all(kinds) and _HEX_RUN.fullmatch(value):
        return True
    return sum(1 for a, b in itertools.pairwise(kinds) if a != b) >= 4


_HEX_RUN: Final = compile_lazily(r"[0-9a-fA-F]{24,256}")


def _well_known(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _WELL_KNOWN.finditer(text):
        name = match.lastgroup or "well_known_token"
        yield Finding(*match.span(name), name)


# An element named by its attribute: Java's properties XML `<entry key="db.password">x</entry>`, Spring's
# and Ant's `<property name="password">x</property>`, `<param name="token">`, `<setting name="ApiKey">`.
_NAMING_ATTRIBUTE: Final = compile_lazily(
    r"(?<![\w\-])(?:key|name)[ \t]{0,8}=[ \t]{0,8}[\"'](?P<name>[^\"'<>]{1,128})[\"']"
)


def _xml_element(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _XML_ELEMENT.finditer(text):
        group = "value" if match["value"] is not None else "cdata"  # `<![CDATA[x]]>`: its content
        key, value = match["key"], match[group]
        if match["attributes"] and (named := _NAMING_ATTRIBUTE.search(match["attributes"])) is not None:
            key = named["name"]
        if _xml_secret(redactor, key, value.strip(), text, match.end()):
            yield Finding(*match.span(group), "xml_element")


def _xml_secret(redactor: Redactor, name: str, value: str, text: str, end: int) -> bool:
    """Whether an XML `value` (stripped; `end`: where its reading ends in `text`) under `name` is a
    secret: the name is a secret's, the value not one kept, and either the name is one a text names
    secrets by or the value looks like one."""
    if not value or not redactor.is_secret_key(name) or _is_kept(value, name, text, end):
        return False
    return redactor.is_secret_key(name, in_text=True) or _looks_secret(value)


# A name and its value in elements of their own: sibling elements (Hadoop's and Hive's `<name>x.password
# </name><value>x</value>`, a property list's `<key>Password</key><string>x</string>`), or a `<value>`
# child of an element that the name attribute names (.NET's `<setting name="ApiKey"><value>x</value>`).
_XML_SIBLING: Final = compile_lazily(
    r"<(?P<ntag>name|key)>[ \t]{0,8}(?P<name>[^<>\n]{1,128}?)[ \t]{0,8}</(?P=ntag)>\s{0,64}"
    r"<(?P<vtag>value|string|data)>(?P<value>[^<]{1,4096})</(?P=vtag)>"
    r"|<[\w.\-:]{1,64}[ \t](?:[^<>]{0,512}?[ \t])?name[ \t]{0,8}=[ \t]{0,8}"
    r"[\"'](?P<aname>[^\"'<>]{1,128})[\"'][^<>]{0,512}>\s{0,64}<value>(?P<avalue>[^<]{1,4096})</value>"
)


def _xml_sibling(redactor: Redactor, text: str) -> Iterator[Finding]:
    """The value of `_XML_SIBLING`'s pairs under a secret's name (as `_xml_element` reads one element)."""
    for match in _XML_SIBLING.finditer(text):
        name, group = (match["name"], "value") if match["name"] is not None else (match["aname"], "avalue")
        start, end = match.span(group)
        value = text[start:end]
        start, end = start + len(value) - len(value.lstrip()), end - len(value) + len(value.rstrip())
        if _xml_secret(redactor, name, text[start:end], text, end):
            yield Finding(start, end, "xml_element")


def _named_value(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _NAMED_VALUE.finditer(text):
        name = match["name"]
        if not (redactor.is_secret_key(name) or "securestring" in match["between"].lower()):
            continue
        found = _VALUE.match(text, _after_bytes_prefix(text, match.end()))
        if found is None:
            continue
        start, end = _strip_quotes(*found.span(), found.group())
        if not _is_kept(text[start:end], name, text, found.end()):
            yield Finding(start, end, "named_value")
    if "value" in text.lower():  # (a trigger made this text's reading: `value` is in most that hold one)
        for match in _VALUE_THEN_NAME.finditer(text):
            name = match["name"]
            if redactor.is_secret_key(name) or "securestring" in match["between"].lower():
                start, end = _strip_quotes(*match.span("value"), match["value"])
                if not _is_kept(text[start:end], name, text, match.end("value")):
                    yield Finding(start, end, "named_value")


# Other languages' dumps of a value under its name, where the value does not follow the name's separator:
# PHP's `var_dump` (`["password"]=>` then `string(9) "x"` on the next line) and Xdebug's (`'password' =>
# string 'x' (length=9)`), Erlang's and Elixir's tuples and binaries (`{password,"x"}`,
# `{password,<<"x">>}`, `password => <<"x">>`, `password: <<"x">>`).
_DUMPED_VALUE: Final = compile_lazily(
    r"\[(?P<kq>[\"'])(?P<php>[^\"'\n]{1,64})(?P=kq)\][ \t]{0,8}=>\s{0,64}string\([0-9]{1,9}\)[ \t]{0,8}"
    r"\"(?P<phpvalue>[^\"\n]{1,4096})\""
    r"|(?P<xq>')(?P<xdebug>[^'\n]{1,64})'[ \t]{0,8}=>[ \t]{0,8}string[ \t]{1,8}"
    r"'(?P<xdebugvalue>[^'\n]{1,4096})'[ \t]{0,8}\(length="
    r"|\{[ \t]{0,8}(?P<erlang>[a-z][\w@]{0,63}|'[^'\n]{1,64}'),[ \t]{0,8}"
    r"(?P<lt><<)?\"(?P<erlangvalue>[^\"\n]{1,4096})\"(?(lt)>>)[ \t]{0,8}\}"
)
_DUMPED_BINARY: Final = compile_lazily(  # (apart: its name, a word, would be tried at every word)
    r"(?<![\w\-])(?P<binary>[a-z][\w@]{0,63}|'[^'\n]{1,64}'|\"[^\"\n]{1,64}\")(?:[ \t]{1,8}=>|:)[ \t]{1,8}"
    r"<<\"(?P<binaryvalue>[^\"\n]{1,4096})\">>"
)


def _dumped_value(redactor: Redactor, text: str) -> Iterator[Finding]:
    matches = _DUMPED_VALUE.finditer(text)
    if '<<"' in text:
        matches = itertools.chain(matches, _DUMPED_BINARY.finditer(text))
    for match in matches:
        groups = match.groupdict()
        name = next(group for group in ("php", "xdebug", "erlang", "binary") if groups.get(group) is not None)
        value = match[name + "value"]
        if (
            redactor.is_secret_key(match[name].strip("'\""))
            and value != REDACTED
            and not _PLACEHOLDER.fullmatch(value)
        ):
            yield Finding(*match.span(name + "value"), "dumped_value")


# `user:password` given to a word of signing in, apart by a blank or after `=`: HAProxy's `stats auth
# admin:X`, Squid's `login=bob:X`, `basic_auth bob:X`, `--creds bob:X` (a time, a port, an id pair or a
# digest's `sha256:` is not one).
_AUTH_PAIR: Final = compile_lazily(
    r"(?i)(?<![\w\-./])(?:[a-z]{1,16}[_\-])?"
    r"(?:auth|login|basic[_\-]?auth|userpass|user[_\-]?pass|credentials?|creds)"
    r"(?:[ \t]{1,8}|[ \t]{0,8}=[ \t]{0,8})(?P<q>[\"']?)(?P<user>[^\s:\"'@/=]{1,128})"
    r":(?P<secret>[^\s\"'@]{1,512})(?P=q)"
    r"(?=[\s\"',;)]|\Z)"
)
_NOT_A_USER: Final = compile_lazily(
    r"(?i)[0-9]{1,16}|sha[0-9]{0,3}|md5|https?|basic|bearer|digest|ntlm|negotiate"
)


def _auth_pair(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _AUTH_PAIR.finditer(text):
        secret = match["secret"]
        if _NOT_A_USER.fullmatch(match["user"]) or secret.isdigit() or secret == REDACTED:
            continue
        yield Finding(*match.span("secret"), "auth_pair")


# A configuration directive that names a secret, its value apart by blanks: daemons' (keepalived's
# `auth_pass X`, slapd's `rootpw X`, nslcd's `bindpw X`, SSSD's `ldap_default_authtok X`), HAProxy's
# `insecure-password X`; network devices' (`key-string X`, `pre-shared-key X`, `password 0 X`, `secret 5
# $1$...`, `key 7 X`, `authentication-key 1 md5 X`, `snmp-server user u g v3 auth sha X priv aes 128 Y`),
# where a type or a key number stands between (`0`, `7`, `ascii`, `md5`, `sha`, `aes 128`).
# (found by the name's last word, its first words read back: a pattern that began with them would be
# tried at every word of a text)
_DIRECTIVE_VALUE: Final = compile_lazily(
    r"(?i)(?P<name>pass(?:word|wd|phrase)?|pw|rootpw|bindpw|secret|key(?:-string)?|psk|authtok|auth|priv)"
    r"(?![\w\-])"
    r"(?P<marks>(?:[ \t]{1,8}(?:[0-9]{1,3}|ascii|hex|md5|sha(?:1|224|256|384|512)?"
    r"|aes(?:[ \t]{1,8}(?:128|192|256))?|3?des|plain-text|encrypted|enc)(?![^\s]))*)"
    r"[ \t]{1,8}(?P<q>[\"']?)(?P<value>[^\s\"'=:(\-][^\s\"']{0,511})(?P=q)(?P<end>[ \t]{0,64}(?:\r?$|\n))?"
)
_NAME_WORDS_BEFORE: Final = compile_lazily(r"(?<![\w\-./])(?:[A-Za-z][A-Za-z0-9]{0,31}[_\-]){1,4}\Z")
_LETTER_MARK: Final = compile_lazily(r"[ \t][A-Za-z]")
# (a bare `key X` only on a network device's lines that take a shared key, last on its line or before
# the peer's `address`)
_SHARED_KEY_LINE: Final = compile_lazily(
    r"(?i)[ \t]{0,16}(?:radius-server|tacacs-server|crypto[ \t]{1,8}isakmp|server-private|server)\b"
    r"[^\n]{0,256}\Z"
)
# (what stands before a directive on its line: blanks, or HAProxy's `user NAME`)
_DIRECTIVE_HEAD: Final = compile_lazily(r"[ \t]{0,64}(?:user[ \t]{1,8}[^\s]{1,256}[ \t]{1,8})?")
_DIRECTIVE_WORDS: Final = frozenset({"rootpw", "bindpw", "authtok", "authpass"})
_DEVICE_TYPES: Final = frozenset({"0", "5", "7", "8", "9"})  # (a Cisco password's type: `password 7 X`)


def _line_start(text: str, pos: int) -> int:
    """Where the line holding `pos` begins (after a real line break, or an escaped one of a JSON string),
    looked for in the 512 characters before it (a directive's line is short): -1 when further."""
    floor = max(0, pos - 512)
    escaped = text.rfind("\\n", floor, pos)
    start = max(text.rfind("\n", floor, pos) + 1, escaped + 2 if escaped >= 0 else 0)
    return start if start > 0 or floor == 0 else -1


def _directive_start(text: str, match: re.Match[str]) -> int:
    """Where the directive's whole name begins, whose last word the match found (`auth_pass`,
    `pre-shared-key`), or -1 when that word ends another word (`bypass`) or a path (`/etc/pw`)."""
    start = match.start()
    if start == 0 or text[start - 1] not in "_-":
        before = text[start - 1 : start]
        return -1 if before.isalnum() or before in (".", "/") else start
    words = _NAME_WORDS_BEFORE.search(text, max(0, start - 132), start)
    return -1 if words is None else words.start()


def _directive_value(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _DIRECTIVE_VALUE.finditer(text):
        name_start = _directive_start(text, match)
        if name_start < 0:
            continue
        name, marks = text[name_start : match.end("name")].lower(), match["marks"]
        value = match["value"].rstrip(".,;:!?")
        if not value or value == REDACTED or _PLACEHOLDER.fullmatch(value) or _is_file_path(value):
            continue
        lettered = _LETTER_MARK.search(marks) is not None
        if name in ("auth", "priv") and not lettered:
            continue  # (SNMPv3's `auth sha X`, `priv aes 128 X`: a protocol first)
        if not marks:
            line_start = _line_start(text, name_start)
            if line_start < 0:
                continue  # (a line longer than a directive's)
            if name == "key":
                if match["end"] is None and not text.startswith(" address", match.end()):
                    continue
                if _SHARED_KEY_LINE.match(text, line_start, name_start) is None or not _looks_secret(value):
                    continue
            elif (
                match["end"] is None  # (the directive's one argument, last on its line)
                or _DIRECTIVE_HEAD.fullmatch(text, line_start, name_start) is None
                or ("_" not in name and "-" not in name and name not in _DIRECTIVE_WORDS)
                or not (redactor.is_secret_key(name) and _looks_secret_word(value))
            ):
                continue  # (`password X` alone: `_key_space_value`'s reading, prose and all)
        elif not (
            lettered
            or _looks_secret_word(value)
            or (marks.strip() in _DEVICE_TYPES and match["end"] is not None)
        ):
            continue  # `password 3 times`; a plain word after a type only last on its line (`password 0 x`)
        yield Finding(match.start("value"), match.start("value") + len(value), "directive_value")


# The private lines of a PuTTY key file (`.ppk`): the base64 lines after `Private-Lines: N`.
_PUTTY_PRIVATE_LINES: Final = compile_lazily(
    r"(?mi)(?:^|(?<=\\n))Private-Lines:[ \t]{0,8}[0-9]{1,4}[ \t]{0,8}(?:\r?\n|(?:\\r)?\\n)"
    r"(?P<secret>[A-Za-z0-9+/=]{1,128}(?:(?:\r?\n|(?:\\r)?\\n)[A-Za-z0-9+/=]{1,128}(?=\s|\\[rn]|\Z)){0,512})"
)
# Calls that take a secret, as a traceback's source line shows them: a string literal passed as the
# password or key (the positional argument's index, or a keyword) is hidden; a name passed stays.
_SECRET_CALL: Final = compile_lazily(
    r"(?:\b(?P<auth>(?:HTTP)?(?:Basic|Digest|Proxy)Auth)|\.(?P<login>login)|\bjwt\.(?P<jwt>encode|decode)"
    r"|\bhmac\.(?P<hmac>new|digest)|\b(?P<keyring>keyring)\.set_password|\.(?P<setpw>set_password|pass_)"
    r"|\b(?P<makepw>make_password|check_password)"
    # a cipher's or a signer's constructor, given its key first (`Fernet(b"...")`, `AES.new(b"...", mode)`,
    # itsdangerous' `URLSafeTimedSerializer("...")`)
    r"|\b(?P<cipher>(?:Multi)?Fernet|AES(?:GCM|CCM|OCB3|SIV)|ChaCha20Poly1305"
    r"|(?:AES|DES3?|ChaCha20|Salsa20|Blowfish|ARC4|CAST)\.new"
    r"|(?:URLSafe)?(?:Timed)?(?:JSONWebSignature)?Serializer|(?:Timestamp)?Signer))[ \t]{0,8}\("
)
_CIPHER_TRIGGERS: Final = (
    "fernet(", "aesgcm(", "aesccm(", "aesocb3(", "aessiv(", "poly1305(", "new(", "serializer(", "signer(",
)  # fmt: skip
_SECRET_CALL_TRIGGERS: Final = (
    "auth(", "login(", "jwt.", "hmac.", "set_password", "pass_(", "make_password", "check_password",
    *_CIPHER_TRIGGERS,
)  # fmt: skip
_SECRET_ARGUMENT: Final = {
    "auth": (1, ("password",)),
    "login": (1, ("password", "passwd")),
    "jwt": (1, ("key",)),
    "hmac": (0, ("key",)),
    "keyring": (2, ("password",)),
    "setpw": (0, ("raw_password", "password", "pswd")),
    "makepw": (0, ("password",)),
    "cipher": (0, ("key", "secret_key")),
}
_CALL_ARGUMENT: Final = compile_lazily(
    r"[ \t]{0,8}(?:(?P<name>[A-Za-z_]\w{0,63})[ \t]{0,8}=(?!=)[ \t]{0,8})?"
    r"(?:[bBrRuU]{0,2}(?P<q>[\"'])(?P<literal>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)"
    r"|(?:[^,()\[\]{}\"'\n]|\([^()\n]{0,256}\)|\[[^\[\]\n]{0,256}\]|\{[^{}\n]{0,256}\}){0,1024})"
    r"[ \t]{0,8}(?P<end>[,)])"
)


def _secret_call(_: Redactor, text: str) -> Iterator[Finding]:
    """`HTTPBasicAuth('bob', 'x')`, `smtp.login(u, 'x')`, `jwt.encode(p, 'x')`, `hmac.new(b'x', ...)`,
    `user.set_password('x')`: the string literal a call takes as its secret."""
    for call in _SECRET_CALL.finditer(text):
        index, names = _SECRET_ARGUMENT[call.lastgroup or "auth"]
        position, positional = call.end(), 0
        for _count in range(16):  # arguments, at most
            argument = _CALL_ARGUMENT.match(text, position)
            if argument is None:
                break
            name = argument["name"]
            literal = argument["literal"]
            if (
                literal
                and (name in names if name else positional == index)
                and not _is_kept(literal, "password", text, 0)
            ):
                yield Finding(*argument.span("literal"), "secret_call")
            positional += name is None
            position = argument.end()
            if argument["end"] == ")":
                break


# A setter given a name then its value as literals (`config.set('db', 'password', 'x')`, `setattr(o,
# 'token', 'x')`, Java's `props.setProperty("password", "x")`, `os.putenv('API_KEY', 'x')`): the literal
# after one that names a secret is hidden.
_SETTER_CALL: Final = compile_lazily(
    r"(?i)(?<![\w])(?:set(?:default|attr|env|item|property|_property|_value|_option|_config)?|put(?:env)?"
    r"|store)[ \t]{0,8}\("
)
_NAME_LITERAL: Final = compile_lazily(r"[^\W\d][\w.\-]{0,127}")


def _setter_call(redactor: Redactor, text: str) -> Iterator[Finding]:
    for call in _SETTER_CALL.finditer(text):
        position, named = call.end(), False
        for _count in range(16):  # arguments, at most
            argument = _CALL_ARGUMENT.match(text, position)
            if argument is None:
                break
            literal = argument["literal"]
            if named and literal and not _is_kept(literal, "password", text, argument.end()):
                yield Finding(*argument.span("literal"), "secret_call")
            named = bool(
                literal and _NAME_LITERAL.fullmatch(literal) and redactor.is_secret_key(literal, in_text=True)
            )
            position = argument.end()
            if argument["end"] == ")":
                break


# A call whose callee names a login, an authentication, a bind, a connection or credentials: the password
# it takes by position stands in a different place in each API (`login(user, pw)`, `connect(host, user,
# pw, db)`, `paramiko`'s `connect(host, port, user, pw)`, `LogonUser(user, domain, pw)`), so every
# string literal passed by position after the first (the user, or the host) is hidden, unless it reads
# as a host name, a path, a URL, an LDAP DN or a number; a user or database name hidden with it is the
# safe failure.
# (found by the word, then read back to the callee's start: a pattern that began with the callee's
# first letters would be tried at every letter of a text)
# (searched in the lower-cased text: a pattern that ignores case is tried at every character)
_SIGN_IN_CALL: Final = compile_lazily(
    r"(?:log_?in|log_?on|sign_?in|auth|credential|creds|connect|bind_s|kinit|ftp)\w{0,24}[ \t]{0,8}\("
)
_IDENTIFIER_END: Final = compile_lazily(r"\w{1,64}\Z")
_SIGN_IN_LAST_WORDS: Final = frozenset(
    {
        "login",
        "logon",
        "auth",
        "authenticate",
        "credential",
        "credentials",
        "creds",
        "connect",
        "kinit",
        "ftp",
    }
)
_NOT_A_PASSWORD_ARGUMENT: Final = compile_lazily(
    r"[0-9]{1,12}|localhost|[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63}){1,8}|[A-Za-z][\w+.\-]{0,31}://[^\s@]{0,512}"
    r"|/[^\s]{0,512}|[A-Za-z]{1,16}=[^,=]{1,256}(?:,[A-Za-z]{1,16}=[^,=]{1,256}){0,16}"
)


def _names_sign_in(callee: str) -> bool:
    """`login`, `do_login`, `sign_in`, `BasicAuth`, `PlainCredentials`, `SMBConnection`, `LogonUser`,
    `simple_bind_s`, `FTP_TLS`; not `AuthError` or `login_user` (whose last word names another thing)."""
    words = key_words(callee)
    last = words[-1]
    return (
        last in _SIGN_IN_LAST_WORDS
        or last.endswith(("auth", "connection", "credentials", "login"))
        or words[-2:] in (["log", "in"], ["sign", "in"], ["log", "on"], ["bind", "s"], ["ftp", "tls"])
        or "logon" in words
    )


def _sign_in_call(_: Redactor, text: str) -> Iterator[Finding]:
    """A sign-in call's string literals by position after its first argument, once a literal or a name
    of a user stands before them (`login('bob', X)`, `connect(host, user, X)`; `signal.connect(handler,
    'clicked')` names no user)."""
    lowered = _lowered(text)
    for call in _SIGN_IN_CALL.finditer(lowered):
        callee = _callee(text, call)
        if callee is None or not _names_sign_in(callee):
            continue
        for argument, user_before in _positional_literals(text, call.end()):
            literal = argument["literal"]
            if user_before and not (
                _NOT_A_PASSWORD_ARGUMENT.fullmatch(literal) or _is_kept(literal, "password", text, 0)
            ):
                yield Finding(*argument.span("literal"), "secret_call")


def _callee(text: str, call: re.Match[str]) -> str | None:
    """The name called at a call found by its last word (read back to the identifier's start)."""
    head = _IDENTIFIER_END.search(text, max(0, call.start() - 40), call.start())
    callee = text[head.start() if head else call.start() : call.end() - 1].rstrip(" \t")
    return callee if callee and not callee[0].isdigit() else None


# A name passed by position that holds a user (`user`, `self.username`, `cfg.login`, `email`).
_USER_WORDS: Final = frozenset({"user", "username", "usr", "login", "email", "account", "principal", "uid"})


_USER_AND_PASSWORD: Final = compile_lazily(
    r"[ \t]{0,8}\([ \t]{0,8}[bu]?(?P<uq>[\"'])[^\"'\n]{1,256}(?P=uq)[ \t]{0,8},[ \t]{0,8}"
    r"[bu]?(?P<q>[\"'])(?P<literal>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)[ \t]{0,8}\)[ \t]{0,8}[,)]"
)


def _positional_literals(text: str, position: int) -> Iterator[tuple[re.Match[str], bool]]:
    """The string literals a call's argument list (from `position`) passes by position after its first
    argument (and the second of a pair of literals, `(user, X)`), each with whether a literal or a name
    of a user stands before it."""
    index, user_before = 0, False
    for _count in range(16):  # arguments, at most
        argument = _CALL_ARGUMENT.match(text, position)
        if argument is None:
            return
        if argument["name"] is None:
            literal = argument["literal"]
            if literal is not None and index:
                yield argument, user_before
            pair = _USER_AND_PASSWORD.match(text, argument.start(), argument.end()) if index else None
            if pair is not None:  # `JIRA(url, ('bob', X))`: a user and a password in a tuple
                yield pair, True
            words = key_words(text[argument.start() : argument.end() - 1].strip()) if literal is None else []
            user_before = user_before or literal is not None or bool(words and words[-1] in _USER_WORDS)
            index += 1
        position = argument.end()
        if argument["end"] == ")":
            return


# A client of a service, made with its credentials by position (`Client('bob', X)`, `MongoClient(u, X)`,
# `redis.Redis('h', 6379, 0, X)`, `Minio(host, KEY_ID, X)`): the callee names no sign-in, so a literal
# after the first argument is hidden only when it reads like a credential (six or more characters with
# a digit, a symbol or inner capitals, not a slug, a version, a host or a path: `boto3.client('s3',
# 'us-east-1')` stays), or when a name of a user stands right before it (`Client(host, user, X)`).
_CLIENT_CALL: Final = compile_lazily(
    r"(?:client|session|pool|engine|redis|smtp|smtp_ssl|imap4|imap4_ssl|pop3|pop3_ssl|minio|database|db"
    r"|jira|github|gitlab|elasticsearch|opensearch)[ \t]{0,8}\("
)
_CLIENT_WORDS: Final = frozenset(
    {
        "client", "session", "pool", "engine", "redis", "smtp", "imap4", "pop3", "minio", "database", "db",
        "jira", "github", "gitlab", "elasticsearch", "opensearch", "ssl",
    }
)  # fmt: skip
_SLUG_OR_VERSION: Final = compile_lazily(
    # `us-east-1`, `my_bucket`, `MyApp.Default`, `v2`, `1.0.3rc`
    r"[A-Za-z][A-Za-z0-9]{0,31}(?:[\-_.][A-Za-z0-9]{1,32}){1,8}|v?[0-9]{1,8}(?:\.[0-9]{1,8}){0,4}[a-z]{0,8}"
)


def _client_call(_: Redactor, text: str) -> Iterator[Finding]:
    lowered = _lowered(text)
    for call in _CLIENT_CALL.finditer(lowered):
        callee = _callee(text, call)
        if callee is None or key_words(callee)[-1] not in _CLIENT_WORDS or _names_sign_in(callee):
            continue  # (a sign-in callee is `_sign_in_call`'s)
        previous_end = call.end()
        for argument, _user_before in _positional_literals(text, call.end()):
            literal = argument["literal"]
            before = key_words(text[previous_end : argument.start()].strip(" \t,"))
            previous_end = argument.end()
            if _NOT_A_PASSWORD_ARGUMENT.fullmatch(literal) or _is_kept(literal, "password", text, 0):
                continue
            told_by_user = bool(before) and before[-1] in _USER_WORDS
            if told_by_user or _credential_literal(literal):
                yield Finding(*argument.span("literal"), "secret_call")


def _credential_literal(literal: str) -> bool:
    """A string literal that reads like a credential: six or more characters, no blank, with a digit, a
    symbol or inner capitals, and not a slug, a version or a name in code."""
    return (
        len(literal) >= 6
        and " " not in literal
        and _looks_secret_word(literal)
        and (_random_looking(literal) or not _SLUG_OR_VERSION.fullmatch(literal))
    )


def _form_field(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _FORM_FIELD.finditer(text):
        if "filename" in match["rest"].lower() or not redactor.is_secret_key(match["name"]):
            continue
        if not _is_kept(match["value"], match["name"], text, match.end()):
            yield Finding(*match.span("value"), "form_field")


# A value that reads like a generated secret under a key that names nothing (`sig_v2=...`, `"dsn": "..."`,
# `hmac: ...`): 24+ token characters mixing lower and upper case and digits, spread like random ones
# (Shannon entropy, digits among letters), under a key that is no id, hash or version. Also looked for
# before the rules in a text without a trigger word.
# (found by its separator and value, the key read back: a pattern that began with the key would be tried
# at every word of a text; `key: value`, not the `a:b:c` of an ARN or a URN)
_RANDOM_VALUE: Final = compile_lazily(
    r"[=:](?:(?<==)|(?=[ \t\"']))[ \t]{0,8}[\"']?(?P<value>(?=[A-Za-z0-9+/_\-]{0,4096}?[0-9])"
    r"(?=[A-Za-z0-9+/_\-]{0,4096}?[a-z])(?=[A-Za-z0-9+/_\-]{0,4096}?[A-Z])"
    r"[A-Za-z0-9+/_\-]{24,4096}={0,2})(?![A-Za-z0-9+/=_\-])"
)
# What every generated value's pair holds, searched before the rules in a text without a trigger word (a
# set first, no look-around: a quarter of the trigger scan's cost a character).
_RANDOM_VALUE_GATE: Final = compile_lazily(r"[=:][ \t]{0,8}[\"']?[A-Za-z0-9+/_\-]{24}")
# A JSON Web Key's public members (a modulus, an exponent, a curve point, a thumbprint), and (`_jwk`) its
# private ones: RSA's `d`, `p`, `q`, `dp`, `dq`, `qi` (and `oth`'s), EC's and OKP's `d`, a symmetric `k`.
_JWK_PUBLIC_MEMBERS: Final = frozenset({"n", "e", "x", "y", "x5t", "x5t#S256"})
_JWK_PRIVATE_NAMES: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_JWK_PRIVATE_MEMBER: Final = compile_lazily(
    r"(?P<q>\\?[\"'])(?:d|p|q|dp|dq|qi|k|r|t)(?P=q)[ \t]{0,8}(?:=>|:)[ \t]{0,8}(?P<vq>\\?[\"'])"
    r"(?P<secret>[A-Za-z0-9_\-]{4,8192}={0,2})(?P=vq)"
)


def _jwk(_: Redactor, text: str) -> Iterator[Finding]:
    """A JSON Web Key's private members, in a text that names a key type (`"kty"`)."""
    if _JWK_KEY_TYPE.search(text) is None:
        return
    for match in _JWK_PRIVATE_MEMBER.finditer(text):
        yield Finding(*match.span("secret"), "jwk_private_member")


_JWK_KEY_TYPE: Final = compile_lazily(r"[\"']kty\\?[\"'][ \t]{0,8}(?:=>|:)")
_KEY_BEFORE_VALUE: Final = compile_lazily(
    r"(?<![\w.\-])(?P<kq>[\"']?)(?P<key>[A-Za-z_][\w.\-]{0,63})(?P=kq)[ \t]{0,8}\Z"
)
_NAME_SEPARATORS: Final = compile_lazily(r"[\-_./]")  # (and a path's)
_WORD_PART: Final = compile_lazily(
    r"[a-z]{2,32}|(?:[A-Z][a-z]{1,32}){1,4}|[A-Z]{2,6}|[A-Z][a-z]{0,32}[0-9]{1,4}[A-Z]?[a-z]{0,32}"
)
# A lower-case letter alone between others (`aB3x`): random text has several, a camel-case name none.
_LONE_LOWER: Final = compile_lazily(r"(?<![a-z])[a-z](?![a-z])")

# Keys whose value is random but no secret: ids, digests, versions, names, places.
_ID_WORDS: Final = frozenset(
    {
        "id", "ids", "uuid", "guid", "uid", "hash", "sha", "sha1", "sha256", "sha512", "md5", "digest",
        "etag", "checksum", "crc", "commit", "rev", "revision", "version", "trace", "span", "request",
        "correlation", "fingerprint", "path", "file", "filename", "url", "uri", "name", "block", "blk",
        "ref", "tag", "image", "build", "run", "job", "msg", "message", "object", "oid", "cid",
        "sid", "host", "node", "instance", "container", "pod", "task", "upload", "arn", "address",
        "content", "bytes", "body", "payload", "blob", "preset", "marker", "cursor", "page", "data",
        "identifier", "identifiers", "requestid", "link", "subnet", "vpc", "policy", "group", "location",
        "prefix", "iterator", "public", "certificate", "cert", "integrity",
    }
)  # fmt: skip


def _random_value(_: Redactor, text: str) -> Iterator[Finding]:
    jwk = "kty" in text
    for match in _RANDOM_VALUE.finditer(text):
        key = _KEY_BEFORE_VALUE.search(text, max(0, match.start() - 74), match.start())
        if key is None or (jwk and key["key"] in _JWK_PUBLIC_MEMBERS):
            continue
        words = key_words(key["key"])
        payload = len(match["value"]) > 64  # (`nonce_data=<32>`: a key's size; a payload is longer)
        if not words or (words[-1] in _ID_WORDS and (words[-1] != "data" or payload)):
            continue
        if (len(words) > 1 and words[-2] in _ID_WORDS) or _is_cursor(words) or _is_websocket_handshake(words):
            continue
        if words[-1] in _STATUS_WORDS or words[-1] in _PROSE_WORDS or words[-1] in _RESULT_WORDS:
            continue  # `login rejected: ...`: a message, whose value the found secrets' copies are matched to
        value = match["value"]
        if text.startswith("(", match.end()):
            continue  # `maps = convertUFO1OrUFO2KerningToUFO3Kerning(`: a call
        if value.startswith((_BASE64_ARMOUR, *_BASE64_FILE_MAGIC)) or value.startswith(
            ("sha256-", "sha384-", "sha512-")
        ):
            continue  # a certificate or public key in base64 (a private one: `_base64_pem`), an SRI
            # digest, a file's bytes (an image's thumbnail, a PDF)
        parts = [part for part in _NAME_SEPARATORS.split(value) if not _HEX_RUN.fullmatch(part + "0" * 24)]
        if _generated(value) and _generated("".join(parts)):  # (a name with a UUID in it is no secret)
            yield Finding(*match.span("value"), "random_value")


def _generated(value: str) -> bool:
    """A run of token characters that reads like generated randomness: lower and upper case and digits
    mixed, digits spread among letters, not words of a name or a path, and about 3.5 bits of entropy a
    character or more (a camel-case name or a path repeats its letters)."""
    if not (
        any(c.islower() for c in value) and any(c.isupper() for c in value) and any(map(str.isdigit, value))
    ):
        return False
    if not _token_like(value.replace("/", "").replace("+", "")) or _LONE_LOWER.search(value) is None:
        return False  # (`fontInfoVersion2OpenTypeOS2PanoseValidator`: words of a name, and numbers)
    parts = _NAME_SEPARATORS.split(value)
    words = sum(1 for part in parts if _WORD_PART.fullmatch(part))
    if len(parts) >= 3 and words >= 2 and 2 * words >= len(parts):
        return False  # `Microsoft-Windows-PlatformUpdate-Win7-SRV08R2-Package`: a name of words
    counts = collections.Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values()) >= 3.5


def _paired_secret(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _PAIRED_SECRET.finditer(text):
        name = match.lastgroup or "paired_secret"
        yield Finding(*match.span(name), name)


# --- values a tool printed apart from their names (tracebacks with variables, validation errors) ----

# A loguru / better_exceptions `diagnose` annotation: bars, then `└ value` under the name it belongs
# to in the source line above the block.
_ANNOTATION: Final = compile_lazily(r"(?m)^(?P<bars>[ \t│|]{0,256})└[ \t](?P<value>[^\n]{1,4096})")
# `secret.encode`: `secret`, and `encode` under its own
_NAME_AT: Final = compile_lazily(r"[A-Za-z_]\w{0,127}")
_TRAILING_NAME: Final = compile_lazily(r"[A-Za-z_]\w{0,127}(?=(?:\(\))?[ \t]*\Z)")


def _names_secret(redactor: Redactor, name: str, value: str) -> bool:
    """A variable or field `name` holds a secret `value` (a weak name, `key`, only a secret-looking one);
    a dict or list printed whole is not one value (its own keys are read as pairs)."""
    name = _last_segment(name)
    if value.startswith(("{", "[")):
        return False
    if not redactor.is_secret_key(name) or _is_kept(value, name, value, len(value)):
        return False
    strong = redactor.is_secret_key(name, in_text=True) or key_words(name)[-1] not in _WEAK_NAMES
    return strong or _looks_secret(value)


# Names of variables and fields that hold ids and objects as often as secrets (`key`, `session`).
_WEAK_NAMES: Final = frozenset({"key", "session", "private", "auth"})


def _value_finding(text: str, start: int, end: int, rule: str) -> Finding:
    """The finding of a printed value: its content when quoted, else the whole of it."""
    raw = text[start:end].rstrip()
    start, end = _strip_quotes(start, start + len(raw), raw)
    return Finding(start, end, rule)


def _diagnose_annotation(redactor: Redactor, text: str) -> Iterator[Finding]:
    """`password` in a source line, and `└ 'x'` below it (loguru and better_exceptions print each
    variable's value under its name): the value of a name that names a secret."""
    source, block_end = "", -2
    for match in _ANNOTATION.finditer(text):
        if match.start() != block_end + 1:  # the first annotation under a source line
            above = text.rfind("\n", 0, max(match.start() - 1, 0)) + 1
            source = text[above : max(match.start() - 1, above)]
        block_end = match.end()
        name = _NAME_AT.match(source, len(match["bars"]))
        if name is None:
            continue
        found = _value_finding(text, *match.span("value"), "diagnose_annotation")
        if found.end > found.start and _names_secret(redactor, name.group(), text[found.start : found.end]):
            yield found


def _pytest_where(redactor: Redactor, text: str) -> Iterator[Finding]:
    """pytest's `+  where 'x' = settings.password`: the value of an expression named like a secret."""
    for match in _PYTEST_WHERE.finditer(text):
        line_end = _line_end(text, match.end())
        equals = text.find(" = ", match.end(), line_end)
        if equals < 0:
            continue
        name = _TRAILING_NAME.search(text[max(equals + 3, line_end - 160) : line_end])
        if name is None:
            continue
        found = _value_finding(text, match.end(), equals, "pytest_where")
        if _names_secret(redactor, name.group(), text[found.start : found.end]):
            yield found


_PYTEST_WHERE: Final = compile_lazily(r"\+[ \t]{1,8}where[ \t]")
# pydantic's `input_value=...` below the location line of the field it is for (`password`,
# `db.api_key`, `body.0.token`), and FastAPI's `{'loc': ('body', 'password'), ..., 'input': ...}`.
_INPUT_VALUE: Final = compile_lazily(r"\binput_value=")
_LOCATION_LINE: Final = compile_lazily(r"(?P<loc>[\w\-]{1,128}(?:\.[\w\-]{1,128}){0,16})[ \t]*\r?\n")
_ERROR_LOCATION: Final = compile_lazily(
    r"[\"']loc[\"']:[ \t]{0,8}[(\[](?:[^()\[\]\n]{0,512}?[,(\[][ \t]{0,8})?"
    r"[\"'](?P<loc>[\w\-]{1,128})[\"'],?[)\]][^{}\n]{0,1024}?[\"']input[\"']:[ \t]{0,8}"
)


def _validation_input(redactor: Redactor, text: str) -> Iterator[Finding]:
    """The input a validation error echoes for a field that names a secret (pydantic, FastAPI)."""
    for match in _INPUT_VALUE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        location = _LOCATION_LINE.match(text, text.rfind("\n", 0, max(line_start - 1, 0)) + 1)
        if location is None or location.end() != line_start:
            continue
        end = text.find(", input_type=", match.end(), match.end() + 8192)
        end = end if end >= 0 else _line_end(text, match.end())
        found = _value_finding(text, match.end(), end, "validation_input")
        if _names_secret(redactor, location["loc"], text[found.start : found.end]):
            yield found
    for match in _ERROR_LOCATION.finditer(text):
        value = _VALUE.match(text, match.end())
        if value is None or value.group().startswith("{"):
            continue  # a missing field's whole parent object: its own keys are read as pairs
        found = _value_finding(text, *value.span(), "validation_input")
        if _names_secret(redactor, match["loc"], text[found.start : found.end]):
            yield found


# A Kubernetes Secret (`kind: Secret`) as YAML or JSON: every value under its `data` / `stringData`.
_SECRET_KIND: Final = compile_lazily(r"[\"']?kind[\"']?[ \t]{0,8}:[ \t]{0,8}[\"']?Secret\b")
_YAML_DATA: Final = compile_lazily(r"(?m)^(?P<indent>[ \t]{0,64})(?:data|stringData):[ \t]{0,8}\r?\n")
_YAML_ENTRY: Final = compile_lazily(
    r"(?P<indent>[ \t]{0,64})[^\s:#][^:\n]{0,252}:[ \t]{1,8}(?P<value>[^\n]{1,65536})"
)
_JSON_DATA: Final = compile_lazily(r"[\"'](?:data|stringData)[\"'][ \t]{0,8}:[ \t]{0,8}\{")
_JSON_ENTRY: Final = compile_lazily(
    r"\s{0,64}[\"'][^\"'\n]{1,253}[\"'][ \t]{0,8}:[ \t]{0,8}"
    r"[\"'](?P<value>[^\"'\n]{0,65536})[\"'][ \t]{0,8},?"
)


def _kubernetes_secret(_: Redactor, text: str) -> Iterator[Finding]:
    """The values of a Kubernetes Secret's `data` and `stringData` (base64 or plain, any key name)."""
    if _SECRET_KIND.search(text) is None:
        return
    for block in _YAML_DATA.finditer(text):
        position = block.end()
        while (entry := _YAML_ENTRY.match(text, position)) is not None:
            if len(entry["indent"]) <= len(block["indent"]):
                break
            yield _value_finding(text, *entry.span("value"), "kubernetes_secret")
            position = entry.end() + 1
    for block in _JSON_DATA.finditer(text):
        position = block.end()
        while (entry := _JSON_ENTRY.match(text, position)) is not None:
            if entry["value"]:
                yield Finding(*entry.span("value"), "kubernetes_secret")
            position = entry.end()


# SQLAlchemy's `[SQL: ...]` then `[parameters: (...)]`: positional parameters (`?`, `%s`, `$1`, `:1`)
# are named by the statement only, by the INSERT's column list or by the `column =` before each.
_SQL_STATEMENT: Final = compile_lazily(r"\[SQL:[ \t]")
_SQL_PARAMETERS: Final = compile_lazily(r"\][ \t]{0,8}(?:\r?\n|\\n)?[ \t]{0,8}\[parameters:[ \t]{0,8}")
_PLACEHOLDER_IN_SQL: Final = compile_lazily(r"\?|%s|\$[0-9]{1,4}|(?<![\w:]):[0-9]{1,4}\b")
_INSERT_COLUMNS: Final = compile_lazily(
    r"(?i)\bINSERT[ \t\n]{1,8}INTO[ \t\n]{1,8}[\w.\"`\[\]]{1,256}[ \t\n]{0,8}\((?P<columns>[^()]{1,4096})\)"
    r"[ \t\n]{0,8}VALUES[ \t\n]{0,8}\("
)
_COLUMN_BEFORE: Final = compile_lazily(
    r"(?P<column>[\w\"`\[\]]{1,128})[ \t\n]{0,8}(?:=|<>|!=|\b(?i:LIKE))[ \t\n]{0,8}\Z"
)


def _secret_placeholders(redactor: Redactor, sql: str) -> set[int]:
    """Which positional parameters of a statement (counted from 0) a secret column's name stands by."""
    columns: list[str] = []
    insert = _INSERT_COLUMNS.search(sql)
    if insert is not None:
        columns = [column.strip(' \t\n"`[]') for column in insert["columns"].split(",")]
    values_at = insert.end() if insert is not None else len(sql)
    values_end = sql.find(")", values_at)  # placeholders are plain in VALUES (...): `?`, `%s`, `$1`
    secret: set[int] = set()
    for number, placeholder in enumerate(_PLACEHOLDER_IN_SQL.finditer(sql)):
        if values_at <= placeholder.start() and (values_end < 0 or placeholder.start() < values_end):
            name = columns[number] if number < len(columns) else ""  # the VALUES list holds only these
        else:
            before = _COLUMN_BEFORE.search(sql[max(0, placeholder.start() - 160) : placeholder.start()])
            name = before["column"].strip('"`[]') if before is not None else ""
        index = int(placeholder.group()[1:]) - 1 if placeholder.group()[0] in "$:" else number
        if name and redactor.is_secret_key(name):
            secret.add(index)
    return secret


def _sql_parameters(redactor: Redactor, text: str) -> Iterator[Finding]:
    parameters: re.Match[str] | None = None
    for statement in _SQL_STATEMENT.finditer(text):
        if parameters is None or parameters.start() < statement.end():
            parameters = _SQL_PARAMETERS.search(text, statement.end())  # each part of the text once
            if parameters is None:
                return
        if parameters.start() - statement.end() > 16384 or _SQL_STATEMENT.search(
            text, statement.end(), parameters.start()
        ):
            continue  # too far, or a later statement's parameters
        secret = _secret_placeholders(redactor, text[statement.end() : parameters.start()])
        if secret:
            yield from _tuple_items(text, parameters.end(), secret, "sql_parameters")


_REPR_ITEM: Final = compile_lazily(
    r"[ \t]{0,8}(?P<item>[bru]{0,2}'(?:[^'\\\n]|\\.){0,4096}'|[bru]{0,2}\"(?:[^\"\\\n]|\\.){0,4096}\""
    r"|[^,()\[\]{}'\"\n]{0,4096})[ \t]{0,8}(?P<end>[,)\]])"
)


def _tuple_items(text: str, pos: int, secret: set[int], rule: str) -> Iterator[Finding]:
    """The items at the `secret` positions of the tuple repr at `pos`, or of each tuple of a list of
    them (executemany); an item that is itself a container is not read."""
    for _ in range(4096):  # tuples of a list, at most
        while pos < len(text) and text[pos] in "[, \t\n":
            pos += 1
        if not text.startswith("(", pos):
            return
        pos += 1
        for number in range(4096):
            item = _REPR_ITEM.match(text, pos)
            if item is None:
                return
            if number in secret and item["item"].strip():
                start = item.start("item") + len(item["item"]) - len(item["item"].lstrip("bru"))
                yield _value_finding(text, start, item.end("item"), rule)
            pos = item.end()
            if item["end"] != ",":
                break


# PostgreSQL's `DETAIL:  Key (api_token)=(x) already exists.` (and `is not present in table`, `is still
# referenced`, `conflicts with`): the values of a unique or foreign key, named by its columns.
_KEY_DETAIL: Final = compile_lazily(
    r"\bKey[ \t]\((?P<columns>[^()\n]{1,1024})\)=\((?P<values>[^\n]{0,2048}?)\)"
    r"(?=[ \t](?:already|is|conflicts)\b|\.?[ \t]*(?:\r?\n|$))"
)
# MySQL's `Duplicate entry 'x' for key 'users.api_token'`: the entry of a unique index named for a column.
_DUPLICATE_ENTRY: Final = compile_lazily(
    r"\bDuplicate[ \t]entry[ \t]'(?P<value>(?:[^'\\\n]|\\.|''){1,4096})'"
    r"[ \t]for[ \t]key[ \t]'(?P<key>[^'\n]{1,192})'"
)


def _sql_key_values(redactor: Redactor, text: str) -> Iterator[Finding]:
    for match in _KEY_DETAIL.finditer(text):
        columns = [column.strip(' "') for column in match["columns"].split(",")]
        secret = [i for i, column in enumerate(columns) if column and redactor.is_secret_key(column)]
        if not secret:
            continue
        values = match["values"].split(", ")
        if len(values) != len(columns):  # a value with `, ` in it: which is which is unknown
            yield Finding(*match.span("values"), "sql_key_values")
            continue
        at = match.start("values")
        for i, value in enumerate(values):
            if i in secret and value:
                yield Finding(at, at + len(value), "sql_key_values")
            at += len(value) + 2
    for match in _DUPLICATE_ENTRY.finditer(text):
        if redactor.is_secret_key(_last_segment(match["key"])):
            yield Finding(*match.span("value"), "sql_key_values")


def _sql_insert_literals(redactor: Redactor, text: str) -> Iterator[Finding]:
    """An INSERT's literal values under the columns that name a secret (each row of a multi-row VALUES)."""
    for insert in _INSERT_COLUMNS.finditer(text):
        columns = [column.strip(' \t\n"`[]') for column in insert["columns"].split(",")]
        secret = {i for i, column in enumerate(columns) if redactor.is_secret_key(column)}
        if secret:
            for found in _tuple_items(text, insert.end() - 1, secret, "sql_literal"):
                value = text[found.start : found.end]
                if value != REDACTED and not _PLACEHOLDER.fullmatch(value) and value.upper() != "NULL":
                    yield found


# A PEM private key encoded in base64 whole (kubeconfig's `client-key-data`, a Secret's `tls.key`, an
# environment variable): `-----BEGIN ` is `LS0tLS1CRUdJTi` in base64, and the first characters decoded
# name a private key (a certificate's or a public key's stay).
_BASE64_ARMOUR: Final = "LS0tLS1CRUdJTi"
# The base64 of a file known by its first bytes: JPEG, PNG, GIF, PDF, RIFF (WebP, WAV), gzip, zip, an XML
# or SVG text, ICO; its bytes are content, random-looking as they are (a PKCS#12 bundle, whose first bytes
# are a DER SEQUENCE's, is `_PRIVATE_KEY_BODY`'s).
_BASE64_FILE_MAGIC: Final = (
    "/9j/", "iVBORw0KGgo", "R0lGOD", "JVBERi0", "UklGR", "H4sI", "UEsDB", "PD94bWwg", "PHN2Zy", "AAABAA",
)  # fmt: skip
_BASE64_PEM: Final = compile_lazily(
    r"(?<![A-Za-z0-9+/])LS0tLS1CRUdJTi[A-Za-z0-9+/]{8,65536}={0,2}(?![A-Za-z0-9+/=])"
)


def _base64_pem(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _BASE64_PEM.finditer(text):
        head = match.group()[:64]
        try:
            armour = binascii.a2b_base64(head[: len(head) // 4 * 4])
        except binascii.Error:
            continue
        if b"PRIVATE KEY" in armour.split(b"\n", 1)[0]:
            yield Finding(*match.span(), "private_key_body")


# A private key's END line with no BEGIN before it (a message cut at its head keeps its tail): the base64
# lines above it, real or escaped line breaks, up to a line that is not base64 through (of which its
# trailing run: `...[cut]Kx3m...`).
_KEY_END: Final = compile_lazily(rf"(?:-----|---- )END {_SECRET_KEY_KIND}(?:-----| ----)")
_LINE_BREAK_BEFORE: Final = compile_lazily(r"(?:\r?\n|(?:\\r)?\\n)[ \t]{0,64}\Z")
_BASE64_LINE_END: Final = compile_lazily(r"[A-Za-z0-9+/]{1,128}={0,2}[ \t\r]{0,8}\Z")


_KEY_BEGIN: Final = compile_lazily(r"-----BEGIN|---- BEGIN")


def _private_key_tail(_: Redactor, text: str) -> Iterator[Finding]:
    previous = 0  # the end of the last END line: a BEGIN after it is this one's
    for end in _KEY_END.finditer(text):
        began = _KEY_BEGIN.search(text, previous, end.start()) is not None
        previous = end.end()
        if began:
            continue  # its BEGIN is there: `_private_key_block` reads it
        start = tail_end = position = end.start()
        for _line in range(512):  # lines, at most
            brk = _LINE_BREAK_BEFORE.search(text, max(0, position - 72), position)
            if brk is None:
                break
            floor = max(0, brk.start() - 200)  # (a line of a key is shorter: no scan back over the text)
            escaped = text.rfind("\\n", floor, brk.start())
            line_start = max(text.rfind("\n", floor, brk.start()) + 1, escaped + 2 if escaped >= 0 else floor)
            run = _BASE64_LINE_END.search(text, max(line_start, brk.start() - 136), brk.start())
            if run is None or run.end() - run.start() < 4:
                break
            if tail_end == end.start():
                tail_end = run.start() + len(run.group().rstrip(" \t\r"))
            start = position = run.start()
            if text[line_start : run.start()].strip(" \t"):
                break  # the line began otherwise: its run was the key's first characters left
        if start < tail_end:
            yield Finding(start, tail_end, "private_key_body")


# A private key's BEGIN line cut at its head (`GP PRIVATE KEY BLOCK-----`, `ATE KEY-----`: a message cut
# short at its start, or a key split over records): its lines are hidden to its END line or the text's end.
_KEY_HEAD_CUT: Final = compile_lazily(
    # (its first words cut anywhere, `PRIVATE`/`SECRET` too: `E KEY BLOCK-----`, `ATE KEY-----`; a whole
    # `-----BEGIN` is `_private_key_block`'s, and an END line none's)
    r"(?m)(?:^|(?<=\\n))(?!-----BEGIN |---- BEGIN |[\- ]{0,5}END )(?:[A-Za-z0-9 \-]{0,80}[ \-])?"
    r"(?:(?:(?:(?:(?:(?:P?R)?I)?V)?A)?T)?E|(?:(?:(?:(?:S?E)?C)?R)?E)?T) KEY(?: BLOCK)?"
    r"(?:-----| ----)[ \t\r]{0,8}(?=\n|\\n|\Z)"
)


def _private_key_cut_head(_: Redactor, text: str) -> Iterator[Finding]:
    hidden = 0  # the end of the last key hidden (an END searched for once per key: linear)
    for head in _KEY_HEAD_CUT.finditer(text):
        if head.start() < hidden:
            continue
        end = _KEY_END.search(text, head.end())
        hidden = end.start() if end is not None else len(text)
        if text[head.end() : hidden].strip():
            yield Finding(head.end(), hidden, "private_key_body")
        if end is not None:
            hidden = end.end()


# `user:password` written in base64 or hex with no word naming it (a Basic credential copied without its
# scheme, a proxy's or a broker's header value logged bare): a run of 12+ base64 or 16+ hex characters
# whose bytes read as a user name, a colon and a password of printable characters. (Random bytes, a digest
# or an image's base64 almost never decode to printable text with a colon.)
_ENCODED_RUN: Final = compile_lazily(
    r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/]{12,1024}={0,2}(?![A-Za-z0-9+/=_\-])"
)
_DECODED_CREDENTIALS: Final = compile_lazily(r"[A-Za-z0-9_.@+\-]{1,64}:(?P<pw>[!-~]{4,256})")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
# The base64 of printable ASCII begins each group of four with one of these (a byte below 0x80 shifted
# right by two), and has `+` and `/` only last in a group: most words and every path fail at once.
_GROUP_STARTS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef")
# Before the rules, a text without a trigger word is read for these only where a run ends with base64's
# padding (a search led by `=`) or a `3a` (hex's colon) stands: a scan of every run of every line cost a
# third of an ordinary line's redaction.
_PADDED_END: Final = compile_lazily(r"=(?<=[A-Za-z0-9+/]=)=?(?![A-Za-z0-9+/=_\-])")


def _may_be_base64_text(run: str) -> bool:
    slash, plus = run.find("/"), run.find("+")
    return (
        _GROUP_STARTS.issuperset(run[::4]) and (slash < 0 or slash % 4 == 3) and (plus < 0 or plus % 4 == 3)
    )


_URL_SAFE: Final = str.maketrans("-_", "+/")


def _decoded_credentials(run: str) -> bool:
    """Whether a base64 or hex run is the encoding of `user:password` (not of `host:port`)."""
    if ("-" in run or "_" in run) and "+" not in run and "/" not in run:
        run = run.translate(_URL_SAFE)  # base64url (RFC 4648 section 5): `-` and `_` for `+` and `/`
    try:
        if len(run) >= 16 and len(run) % 2 == 0 and _HEX_DIGITS.issuperset(run):
            raw = binascii.a2b_hex(run)
        elif _may_be_base64_text(run.rstrip("=")):
            raw = binascii.a2b_base64(run + "=" * (-len(run) % 4), strict_mode=True)
        else:
            return False
    except (binascii.Error, ValueError):
        return False
    found = _DECODED_CREDENTIALS.fullmatch(raw.decode("latin-1"))
    return found is not None and not found["pw"].isdigit()


def _encoded_credentials(_: Redactor, text: str) -> Iterator[Finding]:
    for run in _ENCODED_RUN.finditer(text):
        if _decoded_credentials(run.group()):
            yield Finding(*run.span(), "encoded_credentials")


# The words that make a triggered text worth reading for unpadded base64 runs (each run of a 20-frame
# traceback read and its candidates decoded cost 3% of its redaction).
_CREDENTIAL_WORDS: Final = _trie_pattern(
    ("cred", "auth", "pass", "basic", "login", "user", "token", "secret")
)


def _encoded_credentials_rule(redactor: Redactor, text: str) -> Iterator[Finding]:
    if (
        "3a" in text
        or "3A" in text
        or ("=" in text and _PADDED_END.search(text) is not None)
        or _CREDENTIAL_WORDS.search(_lowered(text)) is not None
    ):
        yield from _encoded_credentials(redactor, text)


def _private_key_block(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _PRIVATE_KEY_BLOCK.finditer(text):
        start, end = match.span("secret")
        if text[start:end] != REDACTED:
            yield Finding(start, end, "private_key_block")


# --- the ninth sweep's rules: shapes whose secret no word right before it names ------------------------

# Ansible Vault's ciphertext (`$ANSIBLE_VAULT;1.1;AES256` and its lines of hex, in a file or under a YAML
# `!vault |`): the key is elsewhere, but the lines are the secret as the playbook holds it.
_ANSIBLE_VAULT: Final = compile_lazily(
    r"\$ANSIBLE_VAULT;[0-9.]{1,8};[A-Z0-9]{1,16}(?:;[\w.\-]{1,64})?[ \t]{0,8}(?:\r?\n|\\r?\\n)[ \t]{0,64}"
    r"(?P<secret>[0-9a-f]{2,160}(?:(?:\r?\n|\\r?\\n)[ \t]{0,64}[0-9a-f]{2,160}){0,4096})"
)
# A wallet's recovery words (BIP39: 12 to 24 words of 3 to 8 lower-case letters) under a name for them
# (`recovery phrase: ...`, `seed phrase = ...`, `mnemonic: ...`), which prose on its own line never is.
_SEED_PHRASE: Final = compile_lazily(
    r"(?i:(?:seed|recovery|backup|wallet|secret|mnemonic)[ \t_\-]?phrase|mnemonic(?:[ \t_\-]?words)?)"
    r"[\"']?[ \t]{0,8}[:=][ \t]{0,8}[\"']?(?P<secret>[a-z]{3,8}(?:[ \t]{1,4}[a-z]{3,8}){11,23})(?![\w\-])"
)
# A password stored in the clear under a scheme's name, as Dovecot's and nginx's password files write it
# (`bob:{PLAIN}x`, `{CLEARTEXT}x`, `{PLAIN-TRUNC}x`): the rest after the scheme.
_PLAIN_SCHEME: Final = compile_lazily(
    r"\{(?i:PLAIN(?:-TRUNC)?|CLEARTEXT|CLEAR)\}(?P<secret>[^\s:\"'<>]{1,512})"
)
_PLAIN_SCHEME_TRIGGERS: Final = ("plain}", "plain-trunc}", "cleartext}", "clear}")
# A SASL PLAIN message (RFC 4616: `[authzid] NUL authcid NUL passwd`), as a bytes repr or a debug dump
# prints what Kafka, AMQP, LDAP, SMTP, IMAP or XMPP clients send (`b'\x00bob\x00x'`, JSON's
# `\u0000bob\u0000x`, or the NUL characters themselves): the password after the second NUL.
_SASL_PLAIN: Final = compile_lazily(
    r"(?P<nul>\\x00|\\u0000|\x00)[^\s\"'\\\x00]{1,256}(?P=nul)"
    # (last in its message: a startup packet's `\x00user\x00app\x00database\x00...` names, no password)
    r"(?P<secret>[^\s\"'\\\x00]{1,512})(?=[\"']|\\r|\\n|\s|\Z)"
)
_SASL_TRIGGERS: Final = ("\\x00", "\\u0000", "\x00")


def _sasl_plain(_: Redactor, text: str) -> Iterator[Finding]:
    if "\\x00" in text or "\x00" in text or "\\u0000" in text:  # (`_SASL_TRIGGERS`, written out)
        for match in _SASL_PLAIN.finditer(text):
            yield Finding(*match.span("secret"), "sasl_plain")


def _plain_scheme(_: Redactor, text: str) -> Iterator[Finding]:
    if "}" in text:
        for match in _PLAIN_SCHEME.finditer(text):
            yield Finding(*match.span("secret"), "password_hash")


def _seed_phrase(_: Redactor, text: str) -> Iterator[Finding]:
    if "hrase" in text or "nemonic" in text or "HRASE" in text or "NEMONIC" in text:
        for match in _SEED_PHRASE.finditer(text):
            yield Finding(*match.span("secret"), "seed_phrase")


# A Wi-Fi network's QR code text (`WIFI:T:WPA;S:name;P:password;;`): the `P:` field.
_WIFI_QR: Final = compile_lazily(
    r"\bWIFI:(?:[A-Z]{1,2}:(?:[^;\\\n]|\\.){0,256};){0,8}?P:(?P<secret>(?:[^;\\\n]|\\.){1,256})"
)
# ipsec.secrets' private key lines with their passphrase (`: RSA key.pem "x"`, `: ECDSA`, `: P12`) and
# its user secrets (`bob : EAP "x"`, `XAUTH`, `NTLM`); `: PSK "x"` is `psk`'s, `%prompt` asks for it.
_IPSEC_SECRET: Final = compile_lazily(
    r"(?<![\w:]):[ \t]{1,8}(?:(?:RSA|ECDSA|BLISS|PKCS12|P12|PKCS8|PKCS11)[ \t]{1,8}"
    r"(?:\"[^\"\n]{1,1024}\"|[^\s\"]{1,1024})[ \t]{1,8}|(?:EAP|XAUTH|NTLM)[ \t]{1,8})"
    r"(?P<q>\"?)(?P<secret>(?!%prompt)[^\s\"]{1,512}|(?<=\")[^\"\n]{1,512})(?P=q)"
)
# A program that answers a password prompt for another (`SSH_ASKPASS`, `SUDO_ASKPASS`, `GIT_ASKPASS`), its
# answer reported (`askpass script printed: x`).
_ASKPASS_ANSWER: Final = compile_lazily(
    r"(?i)askpass\b[^\n]{0,64}?\b(?:printed|returned|output|answered|replied|gave|wrote|said)"
    r"[ \t]{0,8}:?[ \t]{1,8}(?P<q>[\"']?)(?P<secret>[^\s\"']{1,512})(?P=q)"
)
# Redis Sentinel's password of a monitored master (`sentinel auth-pass NAME x`, `SENTINEL SET NAME
# auth-pass x`) and a Redis ACL rule's password (`user bob on >x ~* +@all`, `ACL SETUSER bob on >x`).
_SENTINEL_AUTH_PASS: Final = compile_lazily(
    r"(?i)\bsentinel[ \t]{1,8}"
    r"(?:auth-pass[ \t]{1,8}[^\s]{1,256}|set[ \t]{1,8}[^\s]{1,256}[ \t]{1,8}auth-pass)"
    r"[ \t]{1,8}(?P<secret>[^\s]{1,512})"
)
# (a rule of a user's ACL: `on`, `nopass`, `~keys*`, `+@all`, `&channel`, `%R~key`; `user NAME` needs one
# before its `>password`: `user bob logged on >5 times` is prose)
_ACL_RULE: Final = (
    r"(?:on|off|nopass|reset[a-z]{0,16}|all(?:keys|channels|commands)|nocommands|[~&%+\-#<!][^\s]{0,256})"
)
# (searched in the lower-cased text: a pattern that ignores case is tried at every character)
_REDIS_ACL: Final = compile_lazily(
    r"(?:\bacl[ \t]{1,8}setuser[ \t]{1,8}[^\s]{1,256}(?:[ \t]{1,8}" + _ACL_RULE + r"){0,16}"
    r"|\buser[ \t]{1,8}[^\s]{1,256}(?:[ \t]{1,8}" + _ACL_RULE + r"){1,16})"
    r"[ \t]{1,8}>(?P<secret>[^\s]{1,512})"
)


def _redis_acl(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _REDIS_ACL.finditer(_lowered(text)):
        yield Finding(*match.span("secret"), "redis_auth")


# chrony's and ntpd's key files: `ID TYPE KEY` (`1 SHA256 HEX:...`, `10 MD5 ASCII:x`, `2 SHA1 x`); the
# key is hidden when it is written as HEX:/ASCII: or reads like a credential (`1 SHA256 mismatch` stays).
_NTP_KEY_LINE: Final = compile_lazily(
    r"(?m)^[ \t]{0,8}[0-9]{1,10}[ \t]{1,8}(?:MD5|SHA1|SHA224|SHA256|SHA384|SHA512|SHA3-(?:224|256|384|512)"
    r"|RMD(?:128|160|256|320)|TIGER|WHIRLPOOL|AES128|AES256|AES-(?:128|256)-CMAC)[ \t]{1,8}"
    r"(?P<secret>(?P<form>HEX:|ASCII:)?[^\s#]{1,512})[ \t]{0,8}(?:#[^\n]{0,256})?\r?$"
)


_NTP_KEY_TYPES: Final = ("MD5", "SHA", "AES", "RMD", "TIGER", "WHIRLPOOL")


def _ntp_key_line(_: Redactor, text: str) -> Iterator[Finding]:
    if not any(kind in text for kind in _NTP_KEY_TYPES):
        return  # (a few substring tests: a trie of the types searched in every triggered text cost more)
    for match in _NTP_KEY_LINE.finditer(text):
        if match["form"] or _looks_secret_word(match["secret"]):
            yield Finding(*match.span("secret"), "ntp_key")


# A WebSocket subprotocol list carrying a token (`Sec-WebSocket-Protocol: access_token, x`, `bearer, x`;
# Kubernetes' `base64url.bearer.authorization.k8s.io.x`): the item after one naming a token.
_SUBPROTOCOLS: Final = compile_lazily(r"(?i)sec-websocket-protocol[\"']?[ \t]{0,8}[:=,][ \t]{0,8}[\"']?")
_SUBPROTOCOL: Final = compile_lazily(r"[ \t]{0,8}(?P<item>[^\s,\"']{1,8192})[ \t]{0,8}(?P<end>,?)")
_TOKEN_PROTOCOLS: Final = frozenset(
    {"access_token", "access-token", "accesstoken", "token", "bearer", "auth", "authorization", "jwt"}
)
_K8S_BEARER_PROTOCOL: Final = "base64url.bearer.authorization.k8s.io."


def _websocket_protocol(_: Redactor, text: str) -> Iterator[Finding]:
    for header in _SUBPROTOCOLS.finditer(text):
        position, after_name = header.end(), False
        for _count in range(16):  # items, at most
            item = _SUBPROTOCOL.match(text, position)
            if item is None:
                break
            value, start = item["item"], item.start("item")
            if value.lower().startswith(_K8S_BEARER_PROTOCOL):
                yield Finding(start + len(_K8S_BEARER_PROTOCOL), item.end("item"), "authorization_header")
            elif after_name and not _is_kept(value, "token", text, item.end("item")):
                yield Finding(start, item.end("item"), "authorization_header")
            after_name = value.lower() in _TOKEN_PROTOCOLS
            position = item.end()
            if not item["end"]:
                break


# A header value an HTTP client refused, as its error prints it: requests' `InvalidHeader: Invalid
# leading whitespace, reserved character(s), or return character(s) in header value: 'x\n'`, http.client's
# (and so urllib3's) `ValueError: Invalid header value b'x\r\n'`, and requests' `Header part (12345) from
# ('X-Api-Key', 12345) must be of type str or bytes`. The value is what the program tried to send, most
# often a credential read with its line end (`Authorization`, `X-Api-Key`, `Cookie`), and the first two
# messages do not name the header: a value is hidden unless it reads as a few plain words (`keep-alive`,
# `text/html; charset=utf-8`). A leading scheme stays (`Bearer [REDACTED]\n`), as do the escapes that
# made the value invalid. (A header's name, refused as well, is never a secret.)
_REFUSED_HEADER_VALUE: Final = compile_lazily(
    r"(?:\bin header value: |\bInvalid header value )b?(?P<q>['\"])"
    r"(?P<value>(?:(?!(?P=q))[^\\\n]|\\.){1,8192})(?P=q)"
)
_REFUSED_HEADER_PART: Final = compile_lazily(
    r"\bHeader part \((?P<part>[^\n]{1,4096}?)\) from \(b?(?P<q>['\"])[^'\"\n]{0,256}(?P=q), "
    r"(?P<value>[^\n]{1,4096}?)\) must be of type"
)
_VALUE_ESCAPES: Final = compile_lazily(r"(?:[ \t]|\\[rnt0]|\\x[0-9a-fA-F]{2})+")
# (a plain word of a header value: letters, a capital only first; or a small number, `utf-8`, `max-age=0`)
_PLAIN_HEADER_WORD: Final = compile_lazily(r"[A-Za-z][a-z]{0,15}|[a-z]{1,16}|[0-9]{1,4}")
_HEADER_WORD_BREAKS: Final = compile_lazily(r"[ \t,;/=.\-*()\"'\[\]]+")


def _plain_header_value(value: str) -> bool:
    """A header value that reads as a few plain words (`gzip, deflate`, `no-cache`): no credential."""
    words = [word for word in _HEADER_WORD_BREAKS.split(_VALUE_ESCAPES.sub(" ", value)) if word]
    return len(value) <= 64 and all(_PLAIN_HEADER_WORD.fullmatch(word) for word in words)


def _within_escapes(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of a quoted value without its leading and trailing blanks and escapes (`\\r\\n`)."""
    leading = _VALUE_ESCAPES.match(text, start, end)
    if leading is not None:
        start = leading.end()
    trailing = _VALUE_ESCAPES.search(text, start, end)
    while trailing is not None and trailing.end() != end:  # (the last run of them, if it ends the value)
        trailing = _VALUE_ESCAPES.search(text, trailing.end(), end)
    return start, trailing.start() if trailing is not None else end


def _refused_header_value(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _REFUSED_HEADER_VALUE.finditer(text):
        if _plain_header_value(match["value"]):
            continue
        start, end = _within_escapes(text, *match.span("value"))
        scheme = _SCHEME_WORD.match(text, start, end)
        if scheme is not None:
            start = scheme.end()
        if end > start and not _is_redacted(text[start:end]):
            yield Finding(start, end, "authorization_header")
    for match in _REFUSED_HEADER_PART.finditer(text):
        if match["part"] == match["value"] and not _plain_header_value(match["value"]):
            yield Finding(*match.span("part"), "authorization_header")
            yield Finding(*match.span("value"), "authorization_header")


# A mapping of hosts to credentials under a key naming their kind (composer's auth.json: `"github-oauth":
# {"github.com": "x"}`, `"bearer": {"repo.x.io": "x"}`, `"gitlab-token"`): each member's string is hidden.
_CREDENTIAL_MAP: Final = compile_lazily(
    r"(?P<kq>\\?[\"'])(?P<key>[^\W\d][\w.\-]{0,63})(?P=kq)[ \t]{0,8}(?::|=>)[ \t]{0,8}\{"
)
_MAP_MEMBER: Final = compile_lazily(
    r"[ \t\r\n]{0,64}(?P<mq>\\?[\"'])[^\"'\\\n]{1,253}(?P=mq)[ \t]{0,8}(?::|=>)[ \t]{0,8}"
    r"(?:(?P<vq>\\?[\"'])(?P<value>(?:(?!(?P=vq))[^\\\n]|\\[^\"'\n]){1,4096})(?P=vq)|(?P<other>[{\[]))"
    r"[ \t\r\n]{0,64}(?P<end>[,}]?)"
)
# (as a key's last word, of a mapping: `oauth_client_id` names none; `max_tokens=4096` counts tokens)
_CREDENTIAL_KINDS: Final = frozenset({"oauth", "bearer", "tokens", "passwords", "secrets", "apikeys"})


def _names_credentials(redactor: Redactor, key: str) -> bool:
    """A key whose value, a mapping, holds credentials: it names a secret, or its last word a kind of
    credential (`github-oauth`, `bearer`, `api_tokens`)."""
    words = key_words(key)
    return bool(words) and (words[-1] in _CREDENTIAL_KINDS or redactor.is_secret_key(key))


def _credential_map(redactor: Redactor, text: str) -> Iterator[Finding]:
    if ": {" not in text and ":{" not in text and "=> {" not in text:
        return  # (three substring tests: cheaper than a trie of them in every triggered text)
    for match in _CREDENTIAL_MAP.finditer(text):
        if not _names_credentials(redactor, match["key"]):
            continue
        position = match.end()
        for _count in range(64):  # members, at most
            member = _MAP_MEMBER.match(text, position)
            if member is None or member["other"]:
                break  # (a nested mapping's own keys name what they hold: `http-basic`'s `password`)
            if not _is_kept(member["value"], "token", text, member.end("value")):
                yield Finding(*member.span("value"), "key_value")
            position = member.end()
            if member["end"] != ",":
                break


# An exception's arguments as `str()` prints a tuple of them (`AuthError: ('login failed', 'bob', 'x')`):
# when the class or the message names a sign-in or a secret, a later argument that reads like a
# credential is hidden (a user name or a plain word stays).
# (and the message alone, as a document's `error.message` holds it: `('login failed', 'bob', 'x')`)
_EXCEPTION_ARGS: Final = compile_lazily(
    r"(?:(?P<name>[A-Za-z_][\w.]{0,127}):[ \t]{1,8}|\A)\((?=[ \t]{0,8}[bu]?[\"'])"
)
_SIGN_IN_WORDS: Final = frozenset(
    {
        "auth", "authentication", "authenticate", "authorization", "login", "logon", "signin", "credential",
        "credentials", "creds", "password", "passwd", "token", "secret", "unauthorized", "unauthenticated",
    }
)  # fmt: skip


# An exception raised by a statement that passes a secret under its name (`int(api_token)`,
# `open(client_secret)`, `Role(secret)`, `sessions[token]`, `password.encode("ascii")`): its message quotes
# the value it was given (`invalid literal for int() with base 10: 'x'`, `No such file or directory: 'x'`,
# `'x' is not a valid Role`, `KeyError: 'x'`). `traceback` prints that statement as the innermost frame's
# source line, or, where a library raised (enum's `raise ve_exc`), as the innermost line of the program's
# own code; what such a line passes is every name in it that is neither called, assigned nor a keyword's.
# Each quoted value of the message is hidden, but for what the statements wrote themselves (`getattr(os,
# api_key)`: `module 'os' has no attribute 'x'`) and a builtin's name (`'str' object`, `(not "int")`).
_SOURCE_FRAME: Final = compile_lazily(
    r'(?m)^[ \t]{1,8}File "(?P<path>[^"\n]{1,1024})", line [0-9]{1,9}, in [^\n]{1,256}\n'
    r'[ \t]{1,64}(?!File ")(?P<line>[^\n]{1,1024})\n(?:[ \t]{1,1024}[~^][~^ \t]{0,1024}\n){0,3}'
)
_RAISED: Final = compile_lazily(r"(?:[A-Za-z_]\w{0,127}\.){0,8}[A-Z]\w{0,127}: (?P<message>[^\n]{1,4096})")
_LIBRARY_PATH: Final = compile_lazily(r"[\\/]lib[\\/]python[0-9]|[\\/]Lib[\\/]|-packages[\\/]|\A<frozen ")
_STRING_LITERAL: Final = compile_lazily(
    r"""[rbfuRBFU]{0,2}(?:'(?:[^'\\\n]|\\.){0,1024}'|"(?:[^"\\\n]|\\.){0,1024}")"""
)
# (a name that is not a callee, `int(`; nor assigned to or a keyword, `password=`; a method's receiver is
# passed: `password.encode(` reads as `password`)
_PASSED_NAME: Final = compile_lazily(
    r"(?<![\w.])[A-Za-z_]\w{0,127}(?:\.[A-Za-z_]\w{0,127}){0,8}(?![\w(])(?![ \t]{0,4}=(?!=))"
)
_QUOTED_IN_MESSAGE: Final = compile_lazily(
    r"(?:(?<!\w)b(?=['\"])|(?<!\w))(?P<q>['\"])(?P<value>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)(?!\w)"
)
_BUILTIN_NAMES: Final = frozenset(dir(builtins)) | {"NoneType", "function", "module", "method"}


def _passes_a_secret(redactor: Redactor, line: str) -> bool:
    """A source line that passes a value under a secret's name (`int(api_token)`, `keys.pop(api_key)`)."""
    code = _STRING_LITERAL.sub(" ", line)
    return any(redactor.is_secret_key(_last_segment(name)) for name in _PASSED_NAME.findall(code))


def _quoted_secret_values(text: str, message: re.Match[str], statements: list[str]) -> Iterator[Finding]:
    for quoted in _QUOTED_IN_MESSAGE.finditer(text, *message.span("message")):
        value = quoted["value"]
        written = any(value in statement for statement in statements)
        if not written and value not in _BUILTIN_NAMES and not _is_redacted(value):
            yield Finding(*quoted.span("value"), "key_value")


def _raised_with_a_secret(redactor: Redactor, text: str) -> Iterator[Finding]:
    if "'" not in text and '"' not in text:
        return
    frames: list[re.Match[str]] = []  # the frames of the traceback read so far, outermost first
    for frame in _SOURCE_FRAME.finditer(text):
        frames.append(frame)
        message = _RAISED.match(text, frame.end())
        if message is None:
            continue
        own = next((f for f in reversed(frames) if _LIBRARY_PATH.search(f["path"]) is None), frame)
        statements = list(dict.fromkeys((frame["line"], own["line"])))
        if any(_passes_a_secret(redactor, statement) for statement in statements):
            yield from _quoted_secret_values(text, message, statements)
        frames = []


_TRACEBACK_HEAD: Final = "Traceback (most recent call last):"


def _raised_message_findings(redactor: Redactor, message: str, trace: str) -> list[Finding]:
    """What `_raised_with_a_secret` hides of an exception's message where its stack trace prints it, as
    spans of the message alone (a document's `error.message`, which shows no statement that raised it)."""
    line = message.partition("\n")[0]
    at = trace.rfind(": " + line) + 2 if line else -1
    if at < 2:
        return []
    block = max(trace.rfind(_TRACEBACK_HEAD, 0, at), 0)  # (the last traceback's, a chain's last)
    raised = trace[block : at + len(line)]
    if not redactor.might_contain_secret(raised):
        return []
    start = at - block
    return [
        Finding(finding.start - start, finding.end - start, finding.rule)
        for finding in _raised_with_a_secret(redactor, raised)
        if finding.start >= start
    ]


def _exception_args(redactor: Redactor, text: str) -> Iterator[Finding]:
    if "('" not in text and '("' not in text and "(b" not in text and "(u" not in text:
        return  # (likewise)
    for match in _EXCEPTION_ARGS.finditer(text):
        first = _CALL_ARGUMENT.match(text, match.end())
        if first is None or first["literal"] is None or first["end"] == ")":
            continue
        named = _SIGN_IN_WORDS.intersection(key_words(match["name"] or "")) or any(
            redactor.is_secret_key(word) or word in _SIGN_IN_WORDS for word in key_words(first["literal"])
        )
        if not named:
            continue
        for argument, _user_before in _positional_literals(text, match.end()):
            literal = argument["literal"]
            if _credential_literal(literal) and not _NOT_A_PASSWORD_ARGUMENT.fullmatch(literal):
                yield Finding(*argument.span("literal"), "secret_call")


# An e-mail address and its password joined by a colon (Postfix's `sasl_passwd` lines, `[smtp.x.io]:587
# bob@x.io:x`, and every credential list written `address:password`); a port, a path or a repository
# after the colon stays (`postgres@db.x.io:5432`, `git@host.x.io:repo.git`, `bob@host.x.io:~/backup`).
# (found from its `@`, the local part read back: a pattern led by the local part was tried at every
# character of every text with an `@`; the domain's run is possessive: an address without a colon after
# it fails at once)
_ADDRESS_PASSWORD: Final = compile_lazily(
    r"@(?=[A-Za-z0-9\-]{1,63}\.)[A-Za-z0-9.\-]{3,253}+"
    r":(?P<secret>[^\s:@/~\"'<>()\[\]{},;]{4,256})(?=[\s\"',;)\]}>]|\Z)"
)
_LOCAL_PART: Final = compile_lazily(r"(?<![\w.+\-])[\w.+\-]{1,64}\Z")
_FILE_NAME: Final = compile_lazily(r"[\w\-]{1,128}(?:\.[\w\-]{1,128}){0,8}\.[a-z][a-z0-9]{0,7}")


def _address_password(_: Redactor, text: str) -> Iterator[Finding]:
    for match in _ADDRESS_PASSWORD.finditer(text):
        secret = match["secret"]
        if secret.isdigit() or _FILE_NAME.fullmatch(secret) or secret == REDACTED.strip("[]"):
            continue
        at = match.start()
        if at and _LOCAL_PART.search(text, max(0, at - 64), at) is not None:
            yield Finding(*match.span("secret"), "url_userinfo")


_URL_TRIGGERS: Final = ("://", ":\\/\\/")
# (`password` in other languages: what `_FOREIGN_PASSWORD` begins with)
_FOREIGN_TRIGGERS: Final = (*_FOREIGN_STEMS["password"], *_FOREIGN_WHOLE_WORDS["password"], "mot de passe")
_SCRIPT_TRIGGERS: Final = (
    "パスワード", "暗証番号", "密码", "密碼", "口令", "비밀번호", "암호", "패스워드", "トークン", "令牌",
    "密钥", "密鑰",
    "秘密鍵", "アクセスキー", "كلمة", "رمز",
    "पासवर्ड", "סיסמ", "รหัสผ่าน", "khẩu", "khau", "sandi", "laluan", "κωδικ",
    "lozink", "гасло", "parool", "slaptažod", "geslo", "şifreniz", "parolanız", "parolă", "токен",
    "シークレット", "apiキー", "秘钥", "秘鑰", "密匙", "凭证", "憑證", "토큰", "비번", "시크릿", "키", "ключ",
    "секрет",
    "geheimnis", "jeton", "clé", "clave", "chave", "segredo",
)  # fmt: skip
_WELL_KNOWN_TRIGGERS: Final = (
    "akia", "asia", "aiza", "ya29.", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "gldt-", "glptt-", "glrt-", "glcbt-", "gloas-", "glsoat-", "glft-", "glimt-", "glagent-", "atbb",
    "xox", "xapp-", "sk_", "rk_", "sk-", "npm_", "pypi-", "sg.", "hf_", ":aa", "eyj", "whsec_", "hvs.",
    "hvb.", "hvr.", "dapi", "shp", "_v1_", "glsa_", "glc_", "pmak-", "secret-key-", "lin_api_", "key-",
    "django-insecure-", "gocspx-", "atatt3", "gsk_", "xai-", "r8_", "pplx-", "dp.st.", "dp.sa.",
    "dp.ct.", "dp.pt.", "dp.scim.", "dp.audit.", "nrak-", "sbp_", "figd_", "ntn_", "secret_", "fo1_", "sq0",
    "eaaa", "-us", "akid", "sntry", "ops_", "ed25519-v3:", "prv",
)  # fmt: skip
# (`Q~`, an Entra ID client secret's, and `1//0`, a Google refresh token's, are looked for as written by
# `might_contain_secret`: a trie word that begins with a digit would be tried at every digit of every line.)
_IPSEC_TRIGGERS: Final = (
    ": rsa", ": ecdsa", ": bliss", ": pkcs", ": p12", ": eap", ": xauth", ": ntlm",
)  # fmt: skip
_CLIENT_TRIGGERS: Final = (
    "client(", "session(", "pool(", "engine(", "redis(", "smtp(", "smtp_ssl(", "imap4(", "imap4_ssl(",
    "pop3(", "pop3_ssl(", "minio(", "database(", "db(", "jira(", "github(", "gitlab(", "search(",
)  # fmt: skip
_PRIVATE_KEY_BODY_TRIGGERS: Final = ("mii", "mhcc", "mc4caqaw", "b3blbnnz")
_ORACLE_TRIGGERS: Final = (
    "oracle",
    "sqlplus",
    "sqlldr",
    "expdp",
    "impdp",
    "rman target",
    "dgmgrl",
    "sql> conn",
)
_SHORT_FLAG_TRIGGERS: Final = (
    "mysql", "mariadb", "mongo", "login", "sshpass", "redis-cli", "zip", "openssl", "ldap", "7z", "useradd",
    "usermod", "ncftp", "sqlcmd", "osql", "isql", "bcp", "ssh-keygen", "rar ", "ipmitool", "mosquitto_",
    "snmp",
)  # fmt: skip
DEFAULT_RULES: Final = (
    Rule("private_key_block", _private_key_block, ("-----begin", "---- begin")),
    Rule("private_key_body", _private_key_tail, ("-----end", "---- end")),
    Rule("private_key_body", _private_key_cut_head, ("----",)),
    _pattern_rule("private_key_body", _SIGNING_SECRET_KEY, ("untrusted comment",)),
    Rule("private_key_body", _base64_pem, ("ls0tls1crudjtib",)),
    Rule("url_userinfo", _url_userinfo, _URL_TRIGGERS),
    Rule("url_userinfo", _url_token_user, _URL_TRIGGERS),
    Rule("table_row", _table_row, ("|", "│", "┃", "║")),
    Rule("delimited_row", _delimited, _DELIMITED_TRIGGERS),
    Rule("piped_password", _piped_password, ("<<<", "|")),
    Rule("url_query_param", _query_param, ("=",)),
    Rule("authorization_header", _header, ("authorization", "cookie")),
    Rule("key_value", _key_value, ("=", ":", ",")),
    Rule("xml_element", _xml_element, ("</",)),
    Rule("xml_element", _xml_sibling, ("</name>", "</key>", "<value>")),
    Rule("named_value", _named_value, ("value",)),
    Rule("flag_value", _flag_value, ("-",)),
    Rule(
        "key_space_value",
        _key_space_value,
        (
            "pass",
            "pwd",
            "secret",
            "token",
            "key",
            "cred",
            "identified",
            "masterauth",
            "psk",
            *_FOREIGN_TRIGGERS,
        ),
    ),
    Rule("key_space_value", _key_told, ("key",)),
    Rule("key_space_value", _script_password, _SCRIPT_TRIGGERS),
    Rule("netrc", _netrc, ("login", "user")),  # (after: where both find a value, theirs is named)
    Rule("prompt_answer", _prompt_answer, ("for",)),
    Rule("value_below", _value_below, ("\n",)),
    Rule("sql_parameters", _sql_parameters, ("[sql:",)),
    Rule("sql_key_values", _sql_key_values, (")=(", "duplicate entry")),
    Rule("sql_literal", _sql_insert_literals, ("insert",)),
    _pattern_rule("pgpass_line", _PGPASS_LINE, _PGPASS_TRIGGERS),
    Rule("kubernetes_secret", _kubernetes_secret, ("secret",)),
    Rule("bearer_token", _bearer, ("bearer",)),
    Rule("diagnose_annotation", _diagnose_annotation, ("└",)),
    Rule("pytest_where", _pytest_where, ("where",)),
    Rule("validation_input", _validation_input, ("input",)),
    Rule("basic_credentials", _basic, ("basic",)),
    Rule("short_password_flag", _short_password_flag, _SHORT_FLAG_TRIGGERS),
    _pattern_rule("redis_auth", _REDIS_AUTH, ('"auth"',)),
    Rule("redis_auth", _redis_auth_line, ("auth",)),
    Rule("redis_auth", _redis_command_auth, ("auth",)),
    Rule("option_error", _option_error, ("argument ", "invalid value for")),
    Rule(
        "protocol_login",
        _protocol_login,
        ("auth plain", "auth xoauth2", "auth oauthbearer", "pass ", "login ", "ugfzc3dvcmq6"),
    ),
    Rule("prompt_expression", _prompt_expression, ("(pdb)", ">>>", "in [")),
    Rule("config_set", _config_set, ("set",)),
    Rule(
        "positional_password",
        _positional_password,
        (
            "rabbitmqctl",
            "htpasswd",
            "mosquitto_passwd",
            "chpasswd",
            "password-stdin",
            "net user",
            "smbclient",
            "net use",
            "vault",
            "mysqladmin",
            "lftp",
            "smbpasswd",
            "mc ",
            "wpa_passphrase",
            "_pw ",
        ),
    ),
    _pattern_rule("one_time_code", _ONE_TIME_CODE, ("otp", "code")),
    _pattern_rule("sql_password", _SQL_PASSWORD, ("password(", "identified")),
    Rule("form_field", _form_field, ("form-data",)),
    _pattern_rule("private_key_body", _PUTTY_PRIVATE_LINES, ("private-lines",)),
    Rule(
        "secret_call",
        _secret_call,
        _SECRET_CALL_TRIGGERS,
    ),
    Rule(
        "secret_call",
        _sign_in_call,
        (
            "log_in",
            "login",
            "logon",
            "sign_in",
            "signin",
            "auth",
            "cred",
            "connect",
            "bind_s",
            "kinit",
            "ftp",
        ),
    ),
    Rule(
        "secret_call",
        _client_call,
        _CLIENT_TRIGGERS,
    ),
    _pattern_rule("short_password_flag", _OPENSSL_PASS, ("pass:",)),
    Rule("user_password_flag", _user_password_flag, ("-u", "--user", "-proxy-user")),
    Rule("short_password_flag", _user_and_p, ("-u",)),
    Rule("short_password_flag", _host_and_p, ("-p",)),
    Rule("positional_password", _echo_to_passwd, ("passwd",)),
    Rule("windows_secret", _windows_secret, ("securestring", "/p:")),
    Rule("url_userinfo", _schemeless_userinfo, ("@",)),
    Rule("url_userinfo", _bare_userinfo, ("@",)),
    _pattern_rule("oracle_credentials", _ORACLE, (*_ORACLE_TRIGGERS, "userid=", "sql> conn")),
    _pattern_rule("snmp_community", _SNMP_COMMUNITY, ("snmp", "mmunit", "m2sec")),
    _pattern_rule("expect_send", _EXPECT_SEND, ("expect",)),
    _pattern_rule("cookie", _COOKIE_REPR, ("<cookie ",)),
    Rule("key_value", _setenv, ("setenv", "set -")),
    Rule("key_value", _variable_command, ("set", "export")),
    Rule("key_value", _env_item, ("-item",)),
    Rule("secret_call", _setter_call, ("set", "put", "store")),
    Rule("secret_call", _wrapper_call, ("('", '("', "(b'", '(b"', "(value", "(secret", "(raw", "(_value")),
    _pattern_rule("user_password_flag", _AUTH_A_FLAG, ("-a ", "-a\t")),
    Rule(
        "webhook_url",
        _webhook,
        ("hooks.slack", "webhooks", "webhook.office", "/hooks/", "api.telegram.org/", "maker.ifttt"),
    ),
    _pattern_rule("private_key_body", _PRIVATE_KEY_BODY, _PRIVATE_KEY_BODY_TRIGGERS),
    _pattern_rule("password_hash", _PASSWORD_HASH, _PASSWORD_HASH_TRIGGERS),
    Rule("paired_secret", _paired_secret, ("akia", "asia", "ac")),
    Rule("random_value", _random_value, ("=", ":")),
    Rule(
        "well_known_token",
        _well_known,
        (*_WELL_KNOWN_TRIGGERS, "1//0", "q~"),
    ),
    # the eighth sweep's, after the others: where one finds what another found, the other's name is kept
    Rule("dumped_value", _dumped_value, ("]=>", "=> string", ',"', ', "', ",<<", ", <<", '<<"')),
    Rule("auth_pair", _auth_pair, ("auth", "login", "cred", "userpass", "user_pass", "user-pass")),
    Rule(
        "directive_value",
        _directive_value,
        tuple(  # (its name's last word, then the blank before its value or its type)
            word + blank
            for word in (
                "pass",
                "password",
                "passwd",
                "passphrase",
                "pw",
                "secret",
                "key",
                "key-string",
                "psk",
                "authtok",
                "auth",
                "priv",
            )
            for blank in (" ", "\t")
        ),
    ),
    Rule("encoded_credentials", _encoded_credentials_rule, ()),  # (its gate is its own)
    Rule("jwk_private_member", _jwk, ('kty"', "kty'", 'kty\\"')),
    # the ninth sweep's
    _pattern_rule("ansible_vault", _ANSIBLE_VAULT, ("$ansible_vault",)),
    _pattern_rule("wifi_qr", _WIFI_QR, ("wifi:",)),
    # (the tenth sweep's: each looks for its own words, a few substring tests cheaper than a trie's search)
    Rule("sasl_plain", _sasl_plain, ()),
    Rule("password_hash", _plain_scheme, ()),
    Rule("seed_phrase", _seed_phrase, ()),
    _pattern_rule("ipsec_secret", _IPSEC_SECRET, (": ",)),
    _pattern_rule("askpass_answer", _ASKPASS_ANSWER, ("askpass",)),
    _pattern_rule("redis_auth", _SENTINEL_AUTH_PASS, ("auth-pass",)),
    Rule("redis_auth", _redis_acl, ("user ",)),
    Rule("ntp_key", _ntp_key_line, ()),  # (its words are looked for by the rule: cheaper than a trie)
    Rule("authorization_header", _websocket_protocol, ("sec-websocket-protocol",)),
    Rule("authorization_header", _refused_header_value, ("header value", "header part (")),
    Rule("key_value", _credential_map, ()),  # (likewise)
    Rule("secret_call", _exception_args, ()),  # (likewise)
    Rule("key_value", _raised_with_a_secret, ('", line ',)),
    Rule("url_userinfo", _address_password, ("@",)),
    _pattern_rule("well_known_token", _SERVICE_TOKEN, _SERVICE_TOKEN_TRIGGERS),
    # last: where it finds what another rule found, the other's name is kept
    Rule("argv_repr", _argv_repr, ("['", '["')),
)
RULE_NAMES: Final = tuple(rule.name for rule in DEFAULT_RULES)

# Every secret the rules above find contains one of these (lower-cased): looking for them first (one
# search of their trie, about a microsecond for a log line) spares ordinary messages the rules.
_TRIGGERS: Final = (
    *_URL_TRIGGERS, "pass", "pwd", "secret", "token", "key", "cred", "auth", "priv", "session", "cookie",
    "sig", "bearer", "basic", "-----begin", *_WELL_KNOWN_TRIGGERS, "mysql", "mariadb", "login", "-u",
    "-----end", "ls0tls1crudjtib",  # a private key's tail without its head; a PEM in base64
    "---- begin", "---- end",  # RFC 4716's armour (an SSH2 private key)
    "psk", "securestring", "mc ", "freerdp",
    "pin=", "pin:", 'pin"', "pin'", "pin ", "pin\t", "pin_c", "pincode",  # a PIN (`user_pin=4829`)
    # (an exception's arguments are read only where a sign-in's or a secret's word, a trigger, names them;
    # chrony's rarer types are left to their `HEX:`: each word costs every line's scan a little)
    "$ansible_vault", "wifi:", *_IPSEC_TRIGGERS, "hex:", "ascii:", "md5 ", "sha1 ", "sha256 ", "sha512 ",
    "setuser", "on >",
    "header value", "header part (",  # a header value an HTTP client refused (`_refused_header_value`)
    # the tenth sweep's: SASL PLAIN's NULs, recovery words, clear-text schemes, ciphers' constructors
    *_SASL_TRIGGERS, "phrase", "mnemonic", *_PLAIN_SCHEME_TRIGGERS, *_CIPHER_TRIGGERS,
    *_SERVICE_TOKEN_TRIGGERS,
    "snmp", "mmunit", "m2sec", "-a ", "-a\t",  # SNMP communities (`community`, `com2sec`), `http -a`
    # a secret's name misspelt by a letter left out or two swapped (`_misspellings`), where none of the
    # words above stands in it (and expect's `assword:` prompts); parts chosen whose first two letters
    # are rare in text (each word is tried where its first letters stand: `apik` for `apikye` would be
    # tried at every `/api/` of an access log, and cost 0.3% of an ordinary line's redaction)
    "sword", "swd", "pasws", "phras", "spshr", "horiz", "autoh", "autor", "cerd", "cede", "reden", "rcede",
    "crde", "cree", "secr", "cret", "sece", "rcet", "scer", "otken", "tkoen", "toekn", "tokn", "toen", "tken",
    *_ORACLE_TRIGGERS, "jwt", "code=", "identified", "sessid", *_PRIVATE_KEY_BODY_TRIGGERS,
    'kty"', "kty'", 'kty\\"',  # a JSON Web Key's private members (`_jwk`)
    "hooks", "webhook.office", "api.telegram.org/", "maker.ifttt",  # URLs holding a credential (`_WEBHOOK`)
    *_PASSWORD_HASH_TRIGGERS, "redis-cli", *_PGPASS_TRIGGERS, "pin for", "rabbitmqctl", "net user",
    "smbclient", "mongo", "otp", "code", "net use", "hmac", "sudo", "kinit", "cryptsetup",
    "_pw ", "rar ", "ipmitool", "mosquitto_",  # password flags and arguments (pdftk's `user_pw X`)
    # calls that sign in with literals passed by position (`_SIGN_IN_CALL`; `login`, `auth`, `cred` above)
    "log_in", "logon", "sign_in", "signin", "connect(", "connection(", "bind_s(", "ftp(", "ftp_tls(",
    # clients made with credentials by position (`_CLIENT_CALL`; `session` above)
    "client(", "pool(", "engine(", "redis(", "smtp(", "smtp_ssl(", "imap4(", "imap4_ssl(", "pop3(",
    "pop3_ssl(", "minio(", "database(", "db(", "jira(", "github(", "gitlab(", "search(",
    # zip/unzip -P, 7z -pX, openssl -k/-K, the LDAP tools' -w (their commands' names would each add a
    # first letter to the trie every line is searched with: 7% more per ordinary line); vault: `login`
    "-p", "-k", "-w",
    # `password` abbreviated and in other languages (`_SECRET_WORDS`, `_FOREIGN_STEMS`)
    "pw", "pswd", "mdp", *_SCRIPT_TRIGGERS, "رمز", "palavra", "passe",
    *(stem for stems in _FOREIGN_STEMS.values() for stem in stems),
    *(word for words in _FOREIGN_WHOLE_WORDS.values() for word in words if len(word) > 4),
    # short names of a secret (`tok`, `psw`), and those that stand inside ordinary words (`task`, `path`,
    # `cycle`) only before what ends a key (`sk=`, `'pat'`, `cle_api`)
    "tok", "tkn", "psw", "sess", "clé", "klíč",
    *(name + end for name in ("sk", "pat", "cle", "cles", "klic") for end in ("=", ":", " =", "'", '"', "_")),
)  # fmt: skip


# The words written with other letters than ASCII's (`пароль`, `密码`, `şifre`) are looked for only in a
# text that has such letters (`str.isascii()` costs nothing): the ASCII trie every log line is searched
# with stays small, and is searched with a bitmap of its first letters.
_ASCII_TRIGGERS: Final = tuple(word for word in _TRIGGERS if word.isascii())
_TRIGGER_PATTERN: Final = _trie_pattern(_ASCII_TRIGGERS)
_OTHER_LETTERS_TRIGGER_PATTERN: Final = _trie_pattern(word for word in _TRIGGERS if not word.isascii())


# Full-width forms (`password=x` typed in full-width letters, as CJK input methods do) and the blanks
# other than a space (no-break, narrow, ideographic) read as their ASCII letters and a space: one
# character for one, so a span found in the folded text holds in the text as written.
_WIDE_OR_BLANK: Final = compile_lazily(r"[\uff01-\uff5e\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_TO_ASCII: Final = {
    **{0xFF01 + offset: 0x21 + offset for offset in range(94)},
    **dict.fromkeys((0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000), 0x20),
}


def _folded(text: str) -> str:
    """The text with full-width forms and other blanks as ASCII (the very text when it has none)."""
    return text.translate(_TO_ASCII) if _WIDE_OR_BLANK.search(text) is not None else text


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in order, overlapping ones merged (the first rule's name kept)."""
    merged: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            if finding.end > last.end:
                merged[-1] = Finding(last.start, finding.end, last.rule)
            continue
        merged.append(finding)
    return merged


# --- the redactor -------------------------------------------------------------------------------------

# The parts of an ECS document whose keys a user chose (extras, context, environment variables): a
# key there that names a secret hides its whole value. Elsewhere keys are the schema's own.
FREE_FORM_FIELDS: Final = frozenset({"extra", "logloop.context", "logloop.env.vars", "labels"})
# Fields that never hold user text: skipped by the document pass.
_SKIPPED_FIELDS: Final = frozenset(
    {"@timestamp", "ecs", "event.id", "event.dataset", "event.kind", "log.level", "error.grouping_key"}
)
# The document pass remembers what it made of short texts: host, process, argv, frames and titles
# come back in every error event of a program, and a look-up costs a fiftieth of the trigger scan.
_REMEMBERED: Final = 2048  # texts, at most (then forgotten all at once)
_REMEMBERED_LENGTH: Final = 1024  # characters of a text worth remembering, at most
_LONG_LISTS: Final = 8  # longer lists of strings remembered (argv), at most
_LONG_LIST_LENGTH: Final = 64 * 1024  # characters of such a list, at most


@dataclass(frozen=True)
class Redactor:
    """The default rules plus a user's: `keys` are extra key names that hold secrets (matched by
    words, as `pin` matches `customer_pin`), `patterns` regular expressions whose match (or group
    `secret`) is hidden wherever it stands. Build it with `Redactor.build()` to have them checked."""

    keys: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    _user_words: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _rules: tuple[Rule, ...] = field(default=DEFAULT_RULES, init=False, repr=False, compare=False)
    _triggers: re.Pattern[str] = field(default=_TRIGGER_PATTERN, init=False, repr=False, compare=False)
    _remembered: dict[str | tuple[str, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _long_lists: dict[tuple[str, ...], list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        words = frozenset("".join(key_words(key)) for key in self.keys) - {""}
        user_rules = tuple(
            _pattern_rule(f"user_pattern_{number}", _compile_user_pattern(pattern), ())
            for number, pattern in enumerate(self.patterns, start=1)
        )
        object.__setattr__(self, "_user_words", words)
        object.__setattr__(self, "_rules", DEFAULT_RULES + user_rules)
        object.__setattr__(self, "_triggers", _trie_pattern((*_ASCII_TRIGGERS, *sorted(words))))

    @classmethod
    def build(cls, *, keys: Sequence[str] = (), patterns: Sequence[str] = ()) -> Redactor:
        """A redactor with the user's key names and patterns, checked: a ConfigurationError names a
        bad one."""
        for name, values in (("redact_keys", keys), ("redact_patterns", patterns)):
            if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
                raise ConfigurationError(f"{name}={values!r}: give a list of non-empty strings")
        for key in keys:
            if not key_words(key):
                raise ConfigurationError(f"redact_keys: {key!r} has no letters or digits to match keys by")
        return cls(keys=tuple(keys), patterns=tuple(patterns))

    # -- keys ----------------------------------------------------------------------------------------

    def is_secret_key(self, key: str, *, in_text: bool = False) -> bool:
        """True when a mapping key, variable or flag name looks like it holds a secret.

        `in_text=True` is the stricter reading for `name=value` pairs found inside free text.
        """
        if _OPERATION_NAME.fullmatch(key):
            return False
        words = key_words(key)
        if self._user_words and (
            "".join(words) in self._user_words or any(w in self._user_words for w in words)
        ):
            return True
        return _default_secret_key(words, in_text)

    # -- text ----------------------------------------------------------------------------------------

    def might_contain_secret(self, text: str) -> bool:
        if len(self._rules) > len(DEFAULT_RULES):
            return True  # a user pattern may match anything
        if not text.isascii():
            text = _folded(text)
        lowered = text.lower()
        if self._triggers.search(lowered) is not None:
            return True
        if not text.isascii() and _OTHER_LETTERS_TRIGGER_PATTERN.search(lowered) is not None:
            return True
        if (
            ("=" in text or ":" in text)
            and (run := _RANDOM_VALUE_GATE.search(text)) is not None
            and _RANDOM_VALUE.search(text, run.start()) is not None  # (cases and digits: the rule's reading)
        ):
            return True  # a generated value under a key that names nothing (`_random_value`)
        if ("3a" in lowered or ("=" in text and _PADDED_END.search(text) is not None)) and next(
            _encoded_credentials(self, text), None
        ) is not None:
            return True  # `user:password` in base64 or hex, bare
        if "Q~" in text or "1//0" in text:  # (an Entra ID client secret; a Google refresh token, bare)
            return True
        if "@" in text:
            if ("'" in text or '"' in text) and _SCHEMELESS_USERINFO.search(text) is not None:
                return (
                    True  # `'bob:pw@host'` without its scheme, in a library's error (`_schemeless_userinfo`)
                )
            if _USERINFO_TAIL.search(text) is not None and next(_bare_userinfo(self, text), None) is not None:
                return True  # `elastic:pw@localhost:9200` bare
            if ":" in text and next(_address_password(self, text), None) is not None:
                return True  # `bob@x.io:pw`
        # a trigger written with escapes (`https%3A%2F%2F`, `\u0022password`)
        return (
            # (`_has_escapes`, written out: a call costs 2% of an ordinary line's redaction)
            (
                "%" in text
                or "\\" in text
                or ("&" in text and ";" in text and _REFERENCE.search(text) is not None)
            )
            and (decoded := _decoded(text)) is not None
            and (
                self._triggers.search(lowered := decoded[0].lower()) is not None
                or _OTHER_LETTERS_TRIGGER_PATTERN.search(lowered) is not None
            )
        )

    def findings(self, text: str) -> list[Finding]:
        """The secrets in a text, in order, overlapping findings merged."""
        if not text or not self.might_contain_secret(text):
            return []
        return self._findings(text)

    def _findings(self, text: str, decodings: int = 2) -> list[Finding]:
        if decodings == 2 and not text.isascii():
            text = _folded(text)  # (character for character: the spans hold in the text as written)
        if decodings == 2 and "\x1b[" in text and (coloured := _without_colours(text)) is not None:
            # A coloured log (`colorlog`, rich, a terminal's copy): a colour code between a key and its
            # value breaks the pair's shape (or is taken for the value), so the rules read the text
            # without its codes, and each secret found there is hidden in the text as written, the
            # codes around it kept.
            plain, origin = coloured
            return [Finding(origin[f.start], origin[f.end - 1] + 1, f.rule) for f in self._findings(plain)]
        found = self._unescaped_findings(text)
        if decodings and _has_escapes(text) and (decoded := _decoded(text)) is not None:
            # `token%3D...`, `\u0022password\u0022`: the rules read the text decoded too; spans are
            # mapped back onto the escapes
            plain, origin = decoded
            found = _merge(
                [
                    *found,
                    *(
                        Finding(origin[f.start], origin[f.end], f.rule)
                        for f in self._findings(plain, decodings - 1)
                    ),
                ]
            )
        return found

    def _unescaped_findings(self, text: str) -> list[Finding]:
        if "'\n" in text or '"\n' in text:
            joined = _join_literals(text)
            if joined is not None:  # the rules read the strings whole; spans are mapped back
                rows = list(_delimited(self, text))  # (quoted cells end lines: read apart)
                return _merge(
                    [*(_unjoin(found, joined[1]) for found in self._rule_findings(joined[0])), *rows]
                )
        return self._rule_findings(text)

    def _rule_findings(self, text: str) -> list[Finding]:
        lowered = text.lower()
        found: list[Finding] = []
        for rule in self._rules:
            if rule.applies(lowered):
                found.extend(rule.find(self, text))
        merged = _merge(f for f in found if not _is_redacted(text[f.start : f.end]))
        if merged and any(_stands_again(text, _lowered(text), finding) for finding in merged):
            merged = _merge([*merged, *_repeated(text, merged)])
        return _to_value_ends(text, merged)

    def redact_text(self, text: str) -> str:
        """The text with every finding replaced by `[REDACTED]`."""
        if not text or not self.might_contain_secret(text):
            return text
        return self._redact_triggered(text)

    def redact_texts(self, texts: Sequence[str]) -> list[str]:
        """`redact_text` of each (the very object when nothing is hidden). Looking the trigger words
        up once in the joined batch was tried: some forty scans of the whole batch cost as much as
        forty per message."""
        redact = self.redact_text
        return [redact(text) for text in texts]

    def _redact_triggered(self, text: str) -> str:
        return _hide(text, self._findings(text))

    def redact_message(self, message: str, template: str | None) -> str:
        """`redact_text` of a formatted log message, and also the arguments its %-template puts under
        a secret name (`%(password)s`) or right after a secret key (`token=%s`, `password: %s`), which
        the message alone no longer shows as such. When the message cannot be laid over its template
        (cut, or an argument holding the next literal text), all after the template's first
        literal text is hidden."""
        if template is None or "%" not in template:
            return self.redact_text(message)
        layout = self._remembered.get(("%", template))
        if layout is None:
            layout = self._remember(("%", template), _template_layout(self, template), len(template))
        if not layout:  # no argument under a secret name: the common case
            return self.redact_text(message)
        literals, secret = layout
        spans = _argument_spans(message, literals)
        if spans is None:
            hide = [(len(literals[0]), len(message))] if message.startswith(literals[0]) else []
        else:
            hide = [span for span, is_secret in zip(spans, secret, strict=True) if is_secret]
        arguments = [
            Finding(start, end, "format_argument")
            for start, end in hide
            if end > start
            and not _PLACEHOLDER.fullmatch(message[start:end])
            and not _is_redacted(message[start:end])
        ]
        found = self._findings(message) if self.might_contain_secret(message) else []
        return _hide(message, _merge([*found, *arguments]))

    def redact_argv(self, argv: Sequence[str]) -> list[str]:
        """Command-line arguments with `--password X`, `--token=X` and URL credentials hidden, and what
        the rules find in the command line they make (`["mysql", "-pX"]`: a `-p` that only the command
        makes a password)."""
        redacted: list[str] = []
        hide_next = False
        in_line = self._argv_findings(argv)
        for index, arg in enumerate(argv):
            if hide_next and not arg.startswith("-") and not _is_file_path(arg):
                redacted.append(REDACTED)
                hide_next = False
                continue
            hide_next = False
            name, equals, _ = arg.lstrip("-").partition("=")
            if arg.startswith("-") and name and self.is_secret_key(name):
                if equals:
                    redacted.append(f"{arg.split('=', 1)[0]}={REDACTED}")
                    continue
                hide_next = True
            found = in_line.get(index)
            redacted.append(
                self.redact_text(arg) if found is None else _hide(arg, _merge([*self.findings(arg), *found]))
            )
        return redacted

    def _argv_findings(self, argv: Sequence[str]) -> dict[int, list[Finding]]:
        """What the rules find in the arguments joined into one command line, as spans of each argument
        (by its index)."""
        if len(argv) < 2:
            return {}
        line = " ".join(argv)
        if not self.might_contain_secret(line):
            return {}
        starts = list(itertools.accumulate((len(arg) + 1 for arg in argv[:-1]), initial=0))
        spans: dict[int, list[Finding]] = {}
        for finding in self._findings(line):
            index = bisect.bisect_right(starts, finding.start) - 1
            while index < len(argv) and starts[index] < finding.end:
                start = max(finding.start - starts[index], 0)
                end = min(finding.end - starts[index], len(argv[index]))
                if end > start:
                    spans.setdefault(index, []).append(Finding(start, end, finding.rule))
                index += 1
        return spans

    # -- structures ----------------------------------------------------------------------------------

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with secret keys hidden at every depth and every string redacted.

        Expects already JSON-safe input (dicts, lists, scalars); it does not guard against cycles.
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return self.redact_mapping(value)
        if isinstance(value, list | tuple):
            return self._redact_list(value)
        return value

    def redact_mapping(self, mapping: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the mapping where values under secret-looking keys are `[REDACTED]`; a
        `{"name": ..., "value": ...}` object (HAR headers) whose name is secret loses its value."""
        named = _pair_name(mapping)
        jwk = "kty" in mapping  # a JSON Web Key: its private members are named by a letter or two
        redacted: dict[str, Any] = {}
        for key, value in mapping.items():
            named_secret = (named is not None and key == named[0] and self.is_secret_key(named[1])) or (
                jwk and key in _JWK_PRIVATE_NAMES
            )
            shown = self.redact_text(key) if isinstance(key, str) else key  # a key can hold a secret too
            if isinstance(value, Mapping) and _names_credentials(self, str(key)):
                named_secret = True  # composer's `github-oauth`: hosts and their tokens
            if (named_secret or self.is_secret_key(str(key))) and not _never_secret(key, value):
                redacted[shown] = REDACTED
            else:
                redacted[shown] = self.redact_value(value)
        return redacted

    def _redact_list(self, items: Sequence[Any]) -> list[Any]:
        """Items redacted; a `[name, value]` pair whose name is secret loses its value; a list of
        strings is also read as argv (`["mysql", "--password", "s3cret"]`)."""
        if len(items) == 2 and isinstance(items[0], str) and self.is_secret_key(items[0]):
            return [items[0], items[1] if _never_secret(items[0], items[1]) else REDACTED]
        if not items:
            return []
        key = tuple(items)
        try:  # (looked up first: only lists of strings are remembered, so a hit is one)
            found = self._remembered.get(key) or self._long_lists.get(key)
        except TypeError:  # an unhashable item: not a list of strings
            found = None
        if found is None and all(isinstance(item, str) for item in items):
            length = sum(map(len, items))
            if length <= _REMEMBERED_LENGTH:
                found = self._remember(key, self.redact_argv(items), length)
            else:
                found = self._long_list(key, length)
        if found is not None:
            return list(found)
        return [self.redact_value(item) for item in items]

    def _long_list(self, items: tuple[str, ...], length: int) -> list[str]:
        """`redact_argv` of a long list of strings, remembered: a program's argv (its facts, up to
        `environment.ARGV_KEPT` characters: 20,000 file names) goes with every document, and read anew
        it cost a record some 2 ms; a few such lists are kept, never one past `_LONG_LIST_LENGTH`."""
        found = self._long_lists.get(items)
        if found is None:
            found = self.redact_argv(items)
            if length <= _LONG_LIST_LENGTH:
                if len(self._long_lists) >= _LONG_LISTS:
                    self._long_lists.clear()
                self._long_lists[items] = found
        return found

    def _remember(self, key: str | tuple[str, ...], redacted: Any, length: int) -> Any:
        if length <= _REMEMBERED_LENGTH:
            if len(self._remembered) >= _REMEMBERED:
                self._remembered.clear()
            self._remembered[key] = redacted
        return redacted

    def redact_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a finished ECS document with every secret hidden (see the module docstring)."""
        changed: list[tuple[Any, Any]] = []  # (original, redacted) of each part redaction changed
        redacted = self._redact_fields(document, "", changed)
        self._redact_raised_message(document, redacted, changed)
        message, logloop = document.get("message"), document.get("logloop")
        template = logloop.get("template") if isinstance(logloop, Mapping) else None
        if isinstance(message, str) and isinstance(template, str) and "%" in template:
            redacted["message"] = self.redact_message(message, template)
            if redacted["message"] != message:
                changed.append((message, redacted["message"]))
        if not changed:
            return redacted
        values: list[str] = []
        for original, hidden in changed:
            _found_values(self, original, hidden, values)
        return _hide_repeated(redacted, values) if values else redacted

    def _redact_raised_message(
        self, document: Mapping[str, Any], redacted: dict[str, Any], changed: list[tuple[Any, Any]]
    ) -> None:
        """`error.message` redacted also as its stack trace shows it raised: a value passed under a
        secret's name (`int(api_token)`: `invalid literal for int() with base 10: 'x'`) is hidden."""
        error, shown = document.get("error"), redacted.get("error")
        if not isinstance(error, Mapping) or not isinstance(shown, dict):
            return
        message, trace = error.get("message"), error.get("stack_trace")
        if not isinstance(message, str) or not isinstance(trace, str):
            return
        found = _raised_message_findings(self, message, trace)
        if found:
            shown["message"] = _hide(message, _merge([*self.findings(message), *found]))
            changed.append((message, shown["message"]))

    def _redact_fields(
        self, node: Mapping[str, Any], path: str, changed: list[tuple[Any, Any]]
    ) -> dict[str, Any]:
        redacted: dict[str, Any] = {}
        hidden: Any
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            if dotted in _SKIPPED_FIELDS:
                redacted[key] = value
                continue
            if dotted in FREE_FORM_FIELDS:
                hidden = self.redact_value(value)
            elif isinstance(value, str):  # first: the most common, and never a Mapping (a slow check)
                hidden = self._remembered.get(value)
                if hidden is None:
                    hidden = self._remember(value, self.redact_text(value), len(value))
            elif isinstance(value, Mapping):
                redacted[key] = self._redact_fields(value, dotted, changed)
                continue
            elif isinstance(value, list | tuple):
                hidden = self._redact_list(value)
            else:
                hidden = value
            if hidden is not value and hidden != value:
                changed.append((value, hidden))
            redacted[key] = hidden
        return redacted


def _found_values(redactor: Redactor, original: Any, redacted: Any, values: list[str]) -> None:
    """The secrets redaction found in a document's texts (those that changed), at most `_REPEATED`."""
    if isinstance(original, str):
        if original is not redacted and original != redacted:
            whole = [Finding(0, len(original), "key_value")] if redacted == REDACTED else []  # under its key
            for value in _secret_values(original, whole or redactor.findings(original)):
                if value not in values and len(values) < _REPEATED:
                    values.append(value)
    elif isinstance(original, Mapping) and isinstance(redacted, Mapping):
        for key, value in original.items():
            if key in redacted:  # (a key that held a secret itself is redacted too: no pair)
                _found_values(redactor, value, redacted[key], values)
    elif isinstance(original, list | tuple) and isinstance(redacted, list) and len(original) == len(redacted):
        for item, redacted_item in zip(original, redacted, strict=True):
            _found_values(redactor, item, redacted_item, values)


def _hide_repeated(node: Any, values: list[str], path: str = "") -> Any:
    """The redacted document with every other copy of a secret found in one of its texts hidden too
    (a value in a traceback's locals, and again in the exception's message or the event's title)."""
    if isinstance(node, str):
        copies = list(_copies(node, values))
        return _hide(node, _merge(copies)) if copies else node
    if isinstance(node, Mapping):
        hidden = {}
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            hidden[key] = value if dotted in _SKIPPED_FIELDS else _hide_repeated(value, values, dotted)
        return hidden
    if isinstance(node, list):
        return [_hide_repeated(item, values, path) for item in node]
    return node


# Where a pretty-printer split a string into adjacent literals over lines (pprint: `'Bearer '` then
# `'abc...'` on the next line, indented): a quote, a line break and the same quote.
_LITERAL_JOINT: Final = compile_lazily(r"(?P<q>['\"])[ \t]{0,8}\r?\n[ \t]{0,256}(?P=q)")


Joints = tuple[list[int], list[int]]  # where each joint is in the joined text; characters removed before it


def _join_literals(text: str) -> tuple[str, Joints] | None:
    """The text with split string literals joined (`'ab'\\n  'cd'` -> `'abcd'`), and its joints:
    each one's position in the joined text, and the characters taken by it and all before it; None
    when there is no joint."""
    parts: list[str] = []
    positions: list[int] = []
    removed: list[int] = [0]
    position = 0
    for joint in _LITERAL_JOINT.finditer(text):
        parts.append(text[position : joint.start()])
        positions.append(joint.start() - removed[-1])
        removed.append(removed[-1] + joint.end() - joint.start())
        position = joint.end()
    if not positions:
        return None
    parts.append(text[position:])
    return "".join(parts), (positions, removed)


def _unjoin(finding: Finding, joints: Joints) -> Finding:
    """A finding in the joined text as a span of the original (covering the joints inside it)."""
    positions, removed = joints
    start = finding.start + removed[bisect.bisect_right(positions, finding.start)]
    end = finding.end + removed[bisect.bisect_left(positions, finding.end)]
    return Finding(start, end, finding.rule)


# A percent escape (`%3D`, and `%253D` decoded twice), a `\u00XX` / `\x3d` escape of a JSON or bytes
# repr, or an HTML/XML character reference (`&quot;`, `&lt;`, `&#61;`, `&#x3D;`: a payload echoed into a
# page or an XML document): a secret's key, separator or quotes may be written so.
_ESCAPE: Final = compile_lazily(
    # (and `\\"`, a JSON quote escaped again by a repr: `b'{"a": "{\\"password\\": ..."}'`)
    r"%[0-9A-Fa-f]{2}|\\u00[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|\\\\\\\"|\\\\\""
    r"|&(?:quot|apos|lt|gt|amp|#[0-9]{2,3}|#[xX][0-9A-Fa-f]{2});"
)
_ENTITIES: Final = {"&quot;": '"', "&apos;": "'", "&lt;": "<", "&gt;": ">", "&amp;": "&"}


def _escaped_character(escape: str) -> str:
    if escape.endswith('"'):
        # (`\\\"`, `\\"`: a quote of JSON inside a JSON string inside another, read one level less deep)
        return '"'
    if escape[0] != "&":
        return chr(int(escape[-2:], 16))
    if escape[1] != "#":
        return _ENTITIES[escape]
    number = int(escape[3:-1], 16) if escape[2] in "xX" else int(escape[2:-1])
    return chr(number) if number < 128 else "\ufffd"  # (beyond ASCII: no character shapes a pair)


def _has_escapes(text: str) -> bool:
    """Whether `_decoded` can find an escape in the text (a cheap look first: a query string's `&` is
    mostly not a character reference's)."""
    return (
        "%" in text or "\\" in text or ("&" in text and ";" in text and _REFERENCE.search(text) is not None)
    )


_REFERENCE: Final = compile_lazily(r"&(?:quot|apos|lt|gt|amp|#[0-9]{2,3}|#[xX][0-9A-Fa-f]{2});")


# The characters whose escapes can hide a pair's shape (blanks, quotes, separators, brackets) or a key's
# word (`\u0070assword`, `api\u005fkey`: an ASCII letter, digit or `_` escaped): a text whose escapes
# are all of others (`%C3%A9`, `\x00`) is not read again.
_SHAPE_CHARACTERS: Final = frozenset(
    " \t\"'=:&;,?/@#{}[]()<>%_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


# A terminal's colour or style code (SGR and the other CSI sequences `colorlog` and rich write).
_COLOUR_CODE: Final = compile_lazily(r"\x1b\[[0-9;?]{0,32}[A-Za-z]")


def _without_colours(text: str) -> tuple[str, list[int]] | None:
    """The text without its colour codes, and where each of its characters stands in `text`; None
    when it holds none."""
    return _without_matches(_COLOUR_CODE, text)


def _decoded(text: str) -> tuple[str, list[int]] | None:
    """The text with its escapes decoded, and where each of its characters (and its end) stands in
    `text`; None when no escape writes a character that shapes a pair. One pass over the text."""
    parts: list[str] = []
    origin: list[int] = []
    position, shaping = 0, False
    for escape in _ESCAPE.finditer(text):
        character = _escaped_character(escape.group())
        shaping = shaping or character in _SHAPE_CHARACTERS
        parts.append(text[position : escape.start()])
        origin.extend(range(position, escape.start()))
        parts.append(character)
        origin.append(escape.start())
        position = escape.end()
    if not shaping:
        return None
    parts.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return "".join(parts), origin


_REPEATED: Final = 16  # distinct secrets looked for again in a text, at most (one scan of it each)


# Letters, underscores and dots only: a name in code (`SECRET`, `settings.TOKEN`), not a credential.
_NAME: Final = compile_lazily(r"[A-Za-z_][A-Za-z_.]*")


def _secret_values(text: str, found: list[Finding]) -> list[str]:
    """The distinct secrets found in a text worth looking for again (6+ characters that read like a
    credential or a passphrase, not a word or a name in code), at most `_REPEATED`; of a long token
    (16+ characters), its first `_PREFIX`, so that a copy cut at another width is found too."""
    values: list[str] = []
    for finding in found:
        value = text[finding.start : finding.end].strip().rstrip("…").removesuffix("...")
        if len(value) >= 6 and (_looks_secret(value) or " " in value) and not _NAME.fullmatch(value):
            whole = value
            cut = len(value) >= 16 and " " not in value and not value.startswith(_BASE64_ARMOUR)
            value = value[:_PREFIX] if cut else value  # (a base64 PEM's first characters: every PEM's)
            # (and the whole of one whose run its first characters do not reach: `ab&cd`, `x'y`)
            for wanted in (value, whole) if _COPY_RUN.fullmatch(whole) is None else (value,):
                if wanted not in values:
                    values.append(wanted)
            if len(values) >= _REPEATED:
                break
    return values[:_REPEATED]


_PREFIX: Final = 12  # characters of a long secret looked for: a copy cut at another width starts alike
_COPY_RUN: Final = compile_lazily(r"[A-Za-z0-9+/=_\-.~%]{1,8192}")  # a token's characters


def _stands_again(text: str, lowered: str, finding: Finding) -> bool:
    """The first characters of a found secret, or either half of it (a copy split by a line break keeps
    one half whole), stand elsewhere in the text too, in any case, as found or escaped another way (a
    few `find`s: the common case, a secret said once, is told cheaply)."""
    for needle, _ in _needles([text[finding.start : finding.end]]):
        half = len(needle) // 2
        ends = [needle[:_PREFIX], needle[:half], needle[-half:]] if len(needle) >= _PREFIX else [needle]
        for end in ends:
            if lowered.find(end, finding.end) >= 0 or lowered.find(end, 0, finding.start + len(end) - 1) >= 0:
                return True
    return False


def _lowered(text: str) -> str:
    """The text in lower case, where that keeps every character at its place (else the text itself)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def _repeated(text: str, found: list[Finding]) -> Iterator[Finding]:
    """Where a secret found once stands again in the same text, not next to its name (pytest's `assert
    'x' == ...` above `where 'x' = cfg.password`, a value both in a locals table and a message)."""
    starts = [finding.start for finding in found]
    for copy in _copies(text, _secret_values(text, found)):
        before = bisect.bisect_right(starts, copy.start) - 1
        # not the secret itself, where it was found; but a copy split by a line break that runs on past
        # the part another rule found (`token X` before the break, the rest below) is one
        if before < 0 or found[before].end <= copy.start or _split_past(text, found, found[before], copy):
            yield copy


def _split_past(text: str, found: list[Finding], finding: Finding, copy: Finding) -> bool:
    """A copy split by a line break that runs on past a finding, and is (the start of) a secret found
    whole elsewhere: not the run of the next line's words after a short secret."""
    if finding.end >= copy.end or _BREAK.search(text, copy.start, copy.end) is None:
        return False
    joined = _BREAK.sub("", text[copy.start : copy.end]).lower()
    return any(text[f.start : f.end].lower().startswith(joined) for f in found if f is not finding)


def _copies(text: str, values: list[str]) -> Iterator[Finding]:
    """Each copy of the values in the text, in any case and escaped as JSON, a repr or a URL writes
    it: a whole word, or from a long secret's first characters to the end of the run of characters it
    stands in; also a copy a line break splits (real or escaped, the next line indented)."""
    needles = _needles(values)
    yield from _copies_of(text, needles)
    if "\n" in text or "\\n" in text:
        broken = _without_breaks(text)
        if broken is not None:
            joined, origin = broken
            for copy in _copies_of(joined, needles):
                start, end = origin[copy.start], origin[copy.end - 1] + 1
                if end - start != copy.end - copy.start:  # a break inside: not a copy found above
                    yield Finding(start, end, copy.rule)


def _needles(values: list[str]) -> list[tuple[str, bool]]:
    """What to look for of each value, lower-cased: itself (and itself unescaped, when it was found
    escaped) and its JSON, repr and percent escapes, each with whether it is a long secret's first
    characters (a copy runs on to the end of its run)."""
    needles: list[tuple[str, bool]] = []
    for value in values:
        prefix = len(value) == _PREFIX and " " not in value
        if _ESCAPED_ALIKE.fullmatch(value):  # (the common case: every escape writes it the same)
            if (value.lower(), prefix) not in needles:
                needles.append((value.lower(), prefix))
            continue
        for base in (value, *_unescaped(value)):
            for variant in (base, json.dumps(base)[1:-1], repr(base)[1:-1], quote(base, safe="")):
                needle = (variant.lower(), prefix)
                if needle not in needles:
                    needles.append(needle)
    return needles


# A value that JSON, a repr and percent-encoding all write as it is.
_ESCAPED_ALIKE: Final = compile_lazily(r"[A-Za-z0-9_.~\-]*")


def _unescaped(value: str) -> list[str]:
    """The value as it reads unescaped, when it was found escaped (inside a JSON string, a URL)."""
    unescaped = [unquote(value)] if "%" in value else []
    if "\\" in value:
        try:
            unescaped.append(json.loads(f'"{value}"'))
        except ValueError:
            unescaped.append(value.replace("\\\\", "\\").replace("\\'", "'").replace('\\"', '"'))
    return unescaped


def _copies_of(text: str, needles: list[tuple[str, bool]]) -> Iterator[Finding]:
    lowered = _lowered(text)
    for needle, prefix in needles:
        at = lowered.find(needle)
        while at >= 0:
            end = at + len(needle)
            if not (at and text[at - 1].isalnum()):
                if prefix and (run := _COPY_RUN.match(text, at)):
                    end = max(end, run.end())
                    yield Finding(at, end, "repeated_secret")
                elif not (end < len(text) and text[end].isalnum()):
                    yield Finding(at, end, "repeated_secret")
            at = lowered.find(needle, end)


# A line break inside a copy (real, or escaped in a JSON or repr string), and the next line's indent.
_BREAK: Final = compile_lazily(r"(?:\r?\n|(?:\\r)?\\n)[ \t]{0,64}")


def _without_breaks(text: str) -> tuple[str, list[int]] | None:
    """The text with its line breaks (and the indents after them) taken out, and where each of its
    characters stands in `text`; None when there is none. One pass over the text."""
    return _without_matches(_BREAK, text)


def _without_matches(pattern: re.Pattern[str], text: str) -> tuple[str, list[int]] | None:
    """The text with every match of `pattern` taken out, and where each of its characters (and its end)
    stands in `text`; None when nothing matches. One pass over the text."""
    parts: list[str] = []
    origin: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(text[position : match.start()])
        origin.extend(range(position, match.start()))
        position = match.end()
    if not parts:
        return None
    parts.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return "".join(parts), origin


def _hide(text: str, found: list[Finding]) -> str:
    """The text with each (merged, ordered) finding replaced by `[REDACTED]`."""
    if not found:
        return text
    parts: list[str] = []
    position = 0
    for finding in found:
        parts.append(text[position : finding.start])
        parts.append(REDACTED)
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


# A %-conversion of a log template (`%s`, `%(name)s`, `%-8.3f`, `%%`).
_CONVERSION: Final = compile_lazily(
    r"%(?:\((?P<name>[^)]{0,128})\))?[-#0 +]{0,8}(?:\*|\d{1,8})?(?:\.(?:\*|\d{1,8}))?[hlL]?"
    r"(?P<type>[diouxXeEfFgGcrsa%])"
)
# A template's literal text that ends with a secret key and its separator, before an argument.
_KEY_BEFORE_ARGUMENT: Final = compile_lazily(
    rf"(?P<key>{_KEY})(?P<q>[\"']?)[ \t]{{0,8}}(?:=>|[:=])[ \t]{{0,8}}(?P=q)\Z"
    r"|(?i:pass(?:word|wd|phrase)|pwd|secret|token|api[ _-]?key|secret[ _-]?key|private[ _-]?key"
    r"|credentials?)[ \t]{1,8}(?:(?:is|was|of):?[ \t]{1,8})?\Z"
)


def _template_layout(redactor: Redactor, template: str) -> tuple[list[str], list[bool]] | tuple[()]:
    """A template's literal texts (one more than its arguments) and, per argument, whether it holds
    a secret; `()` when none does."""
    literals: list[str] = []
    secret: list[bool] = []
    current: list[str] = []
    position = 0
    for conversion in _CONVERSION.finditer(template):
        current.append(template[position : conversion.start()])
        position = conversion.end()
        if conversion["type"] == "%":
            current.append("%")
            continue
        literal = "".join(current)
        literals.append(literal)
        current = []
        name = conversion["name"]
        if name is not None:
            secret.append(bool(name) and redactor.is_secret_key(name))
        else:
            before = _KEY_BEFORE_ARGUMENT.search(literal[-160:])
            secret.append(
                before is not None
                and (before["key"] is None or redactor.is_secret_key(before["key"], in_text=True))
            )
    literals.append("".join([*current, template[position:]]))
    return (literals, secret) if any(secret) else ()


def _argument_spans(message: str, literals: list[str]) -> list[tuple[int, int]] | None:
    """Where each argument stands in a message formatted from a template with these literal texts
    (each argument ends at the first place the next literal text follows, the last where the message's
    end is), or None if the message does not fit the template."""
    if not message.startswith(literals[0]):
        return None
    position = len(literals[0])
    spans: list[tuple[int, int]] = []
    for number, literal in enumerate(literals[1:], start=2):
        if number == len(literals):
            end = len(message) - len(literal)
            if end < position or not message.endswith(literal):
                return None
        else:
            end = message.find(literal, position) if literal else -1  # two arguments side by side: unknown
            if end < 0:
                return None
        spans.append((position, end))
        position = end + len(literal)
    return spans


# The members of a name and its value given apart, as they are spelt (AWS's `{"Name": ..., "Value": ...}` in
# ECS task definitions and SSM parameters, CloudFormation's `ParameterKey`/`ParameterValue`).
_VALUE_MEMBERS: Final = ("value", "Value", "ParameterValue", "parameter_value")
_NAME_MEMBERS: Final = ("name", "key", "Name", "Key", "ParameterKey", "ParameterName", "parameter_key")
_PAIR_MEMBERS: Final = 8  # members of such an object, at most (SSM's parameter has seven)


def _pair_name(mapping: Mapping[str, Any]) -> tuple[str, str] | None:
    """The value's member and the name of a `{"name": "Authorization", "value": "..."}` object, else
    None; a parameter store's `SecureString` type names its value a secret whatever its name."""
    if len(mapping) > _PAIR_MEMBERS:
        return None
    value = next((member for member in _VALUE_MEMBERS if member in mapping), None)
    if value is None:
        return None
    if "SecureString" in (mapping.get("Type"), mapping.get("type")):
        return value, "secret"
    name = next((mapping[member] for member in _NAME_MEMBERS if member in mapping), None)
    return (value, name) if isinstance(name, str) else None


def _compile_user_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)  # (eager: a bad user pattern is a ConfigurationError now)
    except re.error as exc:
        raise ConfigurationError(f"redact_patterns: {pattern!r} is not a regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise ConfigurationError(
            f"redact_patterns: {pattern!r} matches the empty string; make it match the secret itself"
        )
    return compiled


def options_from_config(section: Mapping[str, Any]) -> dict[str, list[str]]:
    """The handler options (`redact_keys`, `redact_patterns`) of a TOML `[redaction]` section."""
    unknown = set(section) - {"keys", "patterns"}
    if unknown:
        known = "known: keys, patterns"
        raise ConfigurationError(f"unknown key(s) in [redaction]: {', '.join(sorted(unknown))}; {known}")
    options: dict[str, list[str]] = {}
    for name, option in (("keys", "redact_keys"), ("patterns", "redact_patterns")):
        values = section.get(name, [])
        if not isinstance(values, list):
            raise ConfigurationError(f"[redaction] {name} = {values!r}: give a list of strings")
        options[option] = values
    Redactor.build(keys=options["redact_keys"], patterns=options["redact_patterns"])  # checked now
    return options


DEFAULT: Final = Redactor()

# The default redactor's methods, for callers without user rules.
is_secret_key = DEFAULT.is_secret_key
might_contain_secret = DEFAULT.might_contain_secret
findings = DEFAULT.findings
redact_text = DEFAULT.redact_text
redact_message = DEFAULT.redact_message
redact_argv = DEFAULT.redact_argv
redact_value = DEFAULT.redact_value
redact_mapping = DEFAULT.redact_mapping
redact_document = DEFAULT.redact_document
