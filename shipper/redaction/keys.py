"""Which keys name a secret, and which values are one: the words of a key (`X-Api-Key` -> x, api, key),
the words, suffixes and compounds that make it secret, their forms in other languages and their
misspellings, and the keys that only look so (`cache_key`, `NextToken`, `token_count`); the words of
prose that tell a sentence about a secret from the secret; what reads like a credential, and what stays
even under a secret key (placeholders, references and calls in code, paths, a session's number).
"""

from __future__ import annotations

import functools
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.model import REDACTED, RuleRunner, _trie_pattern

# --- which keys name a secret -------------------------------------------------------------------------------


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
    "mfaseed", "otpseed", "totpseed",  # the seed an authenticator app's codes are made from
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


def _by_head(stems: dict[str, tuple[str, ...]]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each stem and the English word it reads as, by the stem's first three letters, in their order
    (in one pass: a pass over every stem for each head cost every program's start-up 4 M instructions)."""
    by_head: dict[str, list[tuple[str, str]]] = {}
    for english, words in stems.items():
        for stem in words:
            by_head.setdefault(stem[:3], []).append((stem, english))
    return {head: tuple(pairs) for head, pairs in by_head.items()}


_FOREIGN_BY_HEAD: Final = _by_head(_FOREIGN_STEMS)


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
        # where a command reads the secret from, not the secret (`docker login --password-stdin HOST`,
        # `--password-fd 3`, `--password-env VAR`, `--password-prompt`; not `ssl_passphrase_command`,
        # whose command may print the secret: `echo x`)
        "stdin", "fd", "env", "prompt",
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


# (one search of a trie: a key's joined words were tried against each compound in turn, a tenth of the
# cost of reading a triggered log line's keys)
_COMPOUND: Final = _trie_pattern(_SECRET_COMPOUNDS)


# --- words that tell prose from a secret --------------------------------------------------------------------


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


# Words that go on a sentence naming a flag (docker's `WARNING! Using --password via the CLI is insecure`).
_FLAG_PROSE: Final = frozenset(
    {
        "via", "with", "without", "from", "for", "in", "on", "is", "are", "was", "as", "and", "or", "to",
        "of", "the", "flag", "option", "argument", "parameter", "instead", "directly", "requires", "must",
    }
)  # fmt: skip
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


def _looks_secret_word(value: str) -> bool:
    """An unquoted word after `password ` that is a credential rather than prose: it has a digit or a
    symbol, or mixes cases inside."""
    return any(not c.isalpha() for c in value) or any(c.isupper() for c in value[1:])


# The words after an account's PASSWORD keyword that set its policy rather than give it: MySQL's and
# MariaDB's `PASSWORD EXPIRE [INTERVAL 90 DAY | NEVER | DEFAULT]`, `PASSWORD HISTORY 5`, `PASSWORD REUSE
# INTERVAL 365 DAY`, `PASSWORD REQUIRE CURRENT`, `PASSWORD LOCK TIME`; Oracle's `PASSWORD EXPIRE`;
# PostgreSQL's `PASSWORD NULL` (a password given in SQL is quoted, and stays hidden).
_PASSWORD_POLICY_WORDS: Final = frozenset({"expire", "history", "reuse", "require", "lock", "null"})


def _sets_password_policy(key: str, word: str) -> bool:
    """Whether a bare word after `PASSWORD` is one that sets the password's policy in SQL (`EXPIRE`)."""
    return word.lower() in _PASSWORD_POLICY_WORDS and key.lower() == "password"


# --- values that are, and are not, secrets ------------------------------------------------------------------


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
_SECRET_AFTER_ID: Final = compile_lazily(r"[A-Za-z0-9+=_~.\-]{16,}")  # (`_looks_secret`'s `id:secret`)


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
    value that says its encoding (Laravel's `APP_KEY=base64:...`) is read without it. An id and a
    secret joined by a colon (Ably's and Cloudinary's `KEY=id:secret`, a key id before its secret) is
    one when what follows the last colon is a random-looking key of 16+ characters (`user:42` is not)."""
    if value.startswith(_ENCODING_PREFIXES):
        value = value.partition(":")[2]
    if _TOKEN_CHARACTERS.fullmatch(value):
        return _FILE_PATH.fullmatch(value) is None
    if ":" in value and "/" not in value:
        last = value.rpartition(":")[2]
        return _SECRET_AFTER_ID.fullmatch(last) is not None and _random_looking(last)
    if not _PASSWORD_LIKE.fullmatch(value) or not any(c.isalpha() for c in value):
        return False
    return any(not (c.isalpha() or c in "_-.") for c in value)  # `user_id` is a name


def _qualifies_a_label(text: str, end: int, value: str) -> bool:
    """Whether a word read as a secret's value, ending at `end`, names whose secret a label is (`PASSWORD
    kibana_system = x`, `user bob` then `password bob = x`): a separator and a value follow it, and it
    does not read like a credential itself."""
    return _LABEL_FOLLOWS.match(text, end) is not None and not _looks_secret(value)


# What follows a word that qualifies a label rather than being a value: a separator, then the value.
_LABEL_FOLLOWS: Final = compile_lazily(r"[ \t]{0,8}[=:][ \t]{0,8}[^\s=]")


def _looks_secret_under_weak_key(value: str) -> bool:
    """`_looks_secret`, and not a name of lower-case words and numbers (`key=orders-2026.12.05`)."""
    return _NAME_OF_PARTS.fullmatch(value) is None and _looks_secret(value)


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


# `secret.encode`: `secret`, and `encode` under its own
_NAME_AT: Final = compile_lazily(r"[A-Za-z_]\w{0,127}")
_TRAILING_NAME: Final = compile_lazily(r"[A-Za-z_]\w{0,127}(?=(?:\(\))?[ \t]*\Z)")


def _names_secret(redactor: RuleRunner, name: str, value: str) -> bool:
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
