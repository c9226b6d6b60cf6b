"""Secrets never leave the process: pure functions that redact them from keys, text and argv.

Three rules, applied to every string the formatter ships (message, error.message, stack trace,
argv, extras, context, environment variables):

- a *key* that looks like a secret (`password`, `db_passwd`, `API-Key`, `GITHUB_TOKEN`,
  `sessionId`, `Cookie`, ...) has its whole value replaced by `[REDACTED]`; keys are split into
  words (separators and camelCase), so `keyboard`, `author` or `max_tokens` stay readable;
- credentials inside URLs (`scheme://user:pass@host`) lose the password;
- token shapes in free text lose their value: `Authorization: Bearer ...`, `password=...`,
  `"token": "..."`, `--password X`, `--token=X`, private-key blocks and a few well-known key
  prefixes (GitHub, AWS, Slack, JWT).

Over-redaction is the safe failure: a value that only looks secret is hidden too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

REDACTED: Final = "[REDACTED]"

# A key is secret when one of its words is one of these...
_SECRET_WORDS: Final = frozenset(
    {
        "password", "passwd", "passphrase", "secret", "secrets", "token",
        "apikey", "key", "credential", "credentials", "creds", "auth", "authorization",
        "private", "privkey", "session", "sessionid", "cookie", "cookies", "signature",
    }
)  # fmt: skip
# ...or when one of its words ends with one of these (`dbpassword`, `authtoken`, `clientsecret`).
_SECRET_SUFFIXES: Final = ("password", "passwd", "secret", "token", "apikey", "credential", "cookie")

# In free text `key=...` or `session: ...` is mostly not a secret ("cache miss for key=user:42"), so
# these words alone only count for mapping keys, variables and argv flags.
_WEAK_IN_TEXT: Final = frozenset({"key", "session", "private", "signature"})

_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM: Final = re.compile(r"[^A-Za-z0-9]+")


def key_words(key: str) -> list[str]:
    """The lower-case words of a key: `X-Api-Key` -> [x, api, key], `sessionId` -> [session, id]."""
    return [word.lower() for word in _NON_ALNUM.split(_CAMEL.sub(" ", key)) if word]


def is_secret_key(key: str, *, in_text: bool = False) -> bool:
    """True when a mapping key, variable or flag name looks like it holds a secret.

    `in_text=True` is the stricter reading for `name=value` pairs found inside free text.
    """
    words = key_words(key)
    weak = _WEAK_IN_TEXT if in_text else frozenset()
    if any((w in _SECRET_WORDS and w not in weak) or w.endswith(_SECRET_SUFFIXES) for w in words):
        return True
    joined = "".join(words)  # `api_key` and `API-KEY` are the same secret as `apikey`
    return "apikey" in joined or "accesskey" in joined or "privatekey" in joined


# scheme://user:password@host -> scheme://user:[REDACTED]@host
# Every repetition is bounded and every pattern anchored at a word start, so the cost stays linear
# in the text's length (a 256 KiB word must not cost quadratic time).
_URL_CREDENTIALS: Final = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^:/@\s]{0,256}):(?P<pw>[^@/\s]{1,512})@"
)
_PRIVATE_KEY_BLOCK: Final = re.compile(
    r"-----BEGIN (?P<kind>[A-Z ]*PRIVATE KEY)-----.*?(?:-----END (?P=kind)-----|\Z)", re.DOTALL
)
# A bare `Bearer <token>` outside a header; 16+ characters so that prose ("bearer bonds") stays.
_BEARER: Final = re.compile(r"(?i)\b(?P<scheme>bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{16,}")
_WELL_KNOWN_TOKENS: Final = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
# key=value, key: value, "key": "value", with an optional auth scheme before the value.
_KEY_VALUE: Final = re.compile(
    r"(?<![\w.])(?<![\w.]-)(?P<q>[\"']?)(?P<key>[A-Za-z_][\w.-]{0,127})(?P=q)"
    r"(?P<sep>[ \t]{0,8}[=:][ \t]{0,8})"
    r"(?P<scheme>(?i:bearer|basic|token|digest|apikey|negotiate)\s+)?"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"'&,;]+)"
)
# --password X (the `--flag=value` form is a key=value above)
_FLAG_VALUE: Final = re.compile(
    r"(?P<flag>(?<![\w-])--?(?P<key>[A-Za-z][\w-]{0,127}))(?P<sep>[ \t]{1,8})(?P<value>[^\s-]\S*)"
)


_PLACEHOLDER: Final = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifxXoeEgGca]|\{[^{}]*\}")


def _redact_key_value(match: re.Match[str]) -> str:
    value = match["value"].strip("\"'")
    if not is_secret_key(match["key"], in_text=True) or value == REDACTED or _PLACEHOLDER.fullmatch(value):
        return match[0]  # not a secret, already hidden, or a logging template's placeholder
    value = match["value"]
    quote = value[0] if value[:1] in ("'", '"') else ""
    q = match["q"]
    return f"{q}{match['key']}{q}{match['sep']}{match['scheme'] or ''}{quote}{REDACTED}{quote}"


def _redact_flag(match: re.Match[str]) -> str:
    if not is_secret_key(match["key"], in_text=True):
        return match[0]
    return f"{match['flag']}{match['sep']}{REDACTED}"


# Every secret the patterns above can find contains one of these (lower-cased): checking for them
# first (plain substring tests, well under a microsecond) spares ordinary messages the substitutions.
_TRIGGERS: Final = (
    "://", "pass", "pwd", "secret", "token", "key", "cred", "auth", "priv", "session", "cookie",
    "signature", "bearer", "basic", "-----begin", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
    "akia", "xox", "sk-", "eyj",
)  # fmt: skip


def might_contain_secret(text: str) -> bool:
    lowered = text.lower()
    for trigger in _TRIGGERS:  # noqa: SIM110 - a loop, not any(<generator>): it runs for every message
        if trigger in lowered:
            return True
    return False


def redact_text(text: str) -> str:
    """The text with URL credentials, auth headers, `secret=value` pairs and known tokens hidden."""
    if not text or not might_contain_secret(text):
        return text
    text = _PRIVATE_KEY_BLOCK.sub(lambda m: f"-----BEGIN {m['kind']}-----{REDACTED}", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    text = _KEY_VALUE.sub(_redact_key_value, text)
    text = _FLAG_VALUE.sub(_redact_flag, text)
    text = _BEARER.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    return _WELL_KNOWN_TOKENS.sub(REDACTED, text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Command-line arguments with `--password X`, `--token=X` and URL credentials hidden."""
    redacted: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            redacted.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        name, equals, _ = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name and is_secret_key(name):
            if equals:
                redacted.append(f"{arg.split('=', 1)[0]}={REDACTED}")
                continue
            hide_next = True
        redacted.append(redact_text(arg))
    return redacted


def redact_value(value: Any) -> Any:
    """A JSON-like value with secret keys hidden at every depth and every string redacted.

    Expects already JSON-safe input (dicts, lists, scalars); it does not guard against cycles.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def redact_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the mapping where values under secret-looking keys are `[REDACTED]`."""
    return {
        key: REDACTED if is_secret_key(str(key)) else redact_value(value) for key, value in mapping.items()
    }
