"""Secrets in the web's shapes: a URL's user and password (also without a scheme, or an e-mail address
and its password), a token as a URL's user, webhook URLs, query strings, the Authorization and Cookie
headers (and a header value a client refused), a WebSocket subprotocol that carries a token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _PLACEHOLDER,
    _STATUS_WORDS,
    _is_kept,
    _looks_secret,
    _looks_secret_word,
    key_words,
)
from shipper.redaction.model import (
    _IS_A_KEY,
    _NAME_EQUALS,
    _QUERY_VALUE,
    _QUOTED_VALUE,
    REDACTED,
    Finding,
    RuleRunner,
    _after_bytes_prefix,
    _group_findings,
    _is_redacted,
    _strip_quotes,
)
from shipper.redaction.tokens import _decoded_credentials, _token_like

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
# A URL's password with a blank or a quote in it, as a user pastes it (or as a program that did not
# percent-encode it writes it): `postgresql://bob:pa ss@db/app`, `mysql://u:it's@h/db`. The password runs
# to the first `@` of its line that a host follows; a port and what follows it (`http://host:8080 or
# bob@x.io`) is not one, nor are strings apart (`"http://h:x", "y@z"`). `_url_userinfo` reads the
# passwords without blanks and quotes.
_URL_LOOSE_PASSWORD: Final = compile_lazily(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^:/@\s\"'\[]{0,256}:"
    r"(?!\d{1,5}(?:[\s/?#\"',;)\]}]|$))(?P<secret>[^/@\n]{1,256})"
    r"(?=@[A-Za-z0-9.\-\[\]]{0,253}(?::\d{1,5})?(?:[/?#\s\"',;)]|$))"
)

# One that holds a `/` or an `@` as well (`postgresql://bob:pa /ss@db/app`, `redis://:p@ss word@host`):
# it runs to the first `@` whose host ends the URL (a path, a port, a quote or the line's end after it;
# a blank after the host alone does not tell a host from a word of the password).
_URL_WIDE_LOOSE_PASSWORD: Final = compile_lazily(
    r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^:/@\s\"'\[]{0,256}:"
    r"(?!\d{1,5}(?:[\s/?#\"',;)\]}]|$))(?P<secret>[^\n]{1,256}?)"
    r"(?=@[A-Za-z0-9.\-\[\]]{1,253}(?::\d{1,5}(?:[/?#\s\"',;)]|$)|[/?#\"',;)]|\r?\n|$))"
)
# After a password's first `/` or `@`, at most one blank (`pa /ss`, `p@ss word`): more are prose after a
# URL whose host has a named port (`http://a:b/c and mail bob@x.io`) or no password (`redis://:pw@host for
# admin@x.io`).
_ONE_BLANK_AFTER_MARK: Final = compile_lazily(r"[^/@]{0,256}[/@][^ \t]{0,256}(?:[ \t][^ \t]{0,256})?")

_STRINGS_APART: Final = compile_lazily(r"[\"'][ \t]{0,8}[,:;+)\]}]|[,:;(\[{][ \t]{0,8}[\"']")


def _url_loose_password(_: RuleRunner, text: str) -> Iterator[Finding]:
    if "@" in text:  # (most URLs have no user: an `in` spares them the pattern)
        yield from _group_findings(_URL_LOOSE_PASSWORD, text, "url_userinfo", keep=_is_loose_password)
        yield from _group_findings(
            _URL_WIDE_LOOSE_PASSWORD, text, "url_userinfo", keep=_is_wide_loose_password
        )


def _is_loose_password(_: re.Match[str], secret: str) -> bool:
    return any(c in secret for c in " \t\"'") and not _STRINGS_APART.search(secret)


def _is_wide_loose_password(match: re.Match[str], secret: str) -> bool:
    if ("/" not in secret and "@" not in secret) or "://" in secret or not _is_loose_password(match, secret):
        return False  # (the others are `_URL_LOOSE_PASSWORD`'s)
    return _ONE_BLANK_AFTER_MARK.fullmatch(secret) is not None


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


def _webhook(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_WEBHOOK, text, "webhook_url", ("bot", "secret"))


def _header(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _bearer(_: RuleRunner, text: str) -> Iterator[Finding]:
    """`Bearer <token>` of any length; prose stays: lower-case `bearer` needs a token with a digit or
    symbol (`bearer bonds`), and a lower-case word of 5+ letters is prose (`Bearer token expired`)."""
    return _group_findings(_BEARER, text, "bearer_token", ("value",), _is_bearer_token)


def _is_bearer_token(match: re.Match[str], value: str) -> bool:
    if _NAME_EQUALS.match(value) or _CHALLENGE_PARAMETER.match(match.string, match.start("value")):
        return False  # `token_type=Bearer expires_in=3600`, `Bearer realm="api"`: pairs, not a token
    word = value.rstrip(".!?")  # (`Missing Bearer token.`: a stop ends the sentence, not the word)
    if word.isalpha() and word.islower() and len(word) >= 5:
        return False  # `Bearer authentication required`, `Bearer token expired`: prose
    return match["scheme"][0] == "B" or any(not c.isalpha() for c in value)


def _basic(_: RuleRunner, text: str) -> Iterator[Finding]:
    """`Basic <base64>` outside a header: the value must look base64 (a digit, `=`, or inner capitals)."""
    return _group_findings(
        _BASIC,
        text,
        "basic_credentials",
        ("value",),
        lambda _, value: any(c.isdigit() or c in "+/=" for c in value) or any(c.isupper() for c in value[1:]),
    )


def _query_param(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """`?token=`, `&sig=`, `&X-Amz-Signature=`: URL query parameters whose name is a secret."""
    for match in _QUERY_PARAM.finditer(text):
        key = match["key"]
        words = key_words(key)
        if (words and words[-1] in _QUERY_WORDS) or redactor.is_secret_key(key):
            found = _QUERY_VALUE.match(text, match.end())
            if found is not None and found.group() != REDACTED and not _PLACEHOLDER.fullmatch(found.group()):
                yield Finding(*found.span(), "url_query_param")


# A one-time link's token in a URL's path: whoever reads a password reset, magic sign-in, invitation or
# confirmation link can use it (Django's `/accounts/reset/MjQ/c2b4x1-b8c57aef.../`, `/auth/magic/nGX2...`,
# `/invite/...`, `/verify-email/...`): one of the two path segments after the link's word, when it reads
# like a token (16+ characters mixing letters and digits; hex too, which a path's words never are).
_LINK_TOKEN: Final = compile_lazily(
    r"(?i)/(?:[\w\-]{0,32}[_\-])?(?:reset|magic|invit(?:e|ation)|verif(?:y|ication)|confirm(?:ation)?"
    r"|activat(?:e|ion)|unsubscribe)s?(?:[_\-][\w\-]{0,32})?/"
    r"(?:(?P<first>[\w.=%\-]{1,256})/)?(?P<token>[\w.=%\-]{16,512})(?=[/?#\s\"'<>)\],;]|\Z)"
)
_FILE_NAME_END: Final = compile_lazily(r"\.[a-z][a-z0-9]{0,3}\Z")  # `app.4f3a2b1c0d9e.js`: a file
# (the link's word after a path's `/` or a word's `-`, `_`: `connection reset by peer` is no link, and
# reading a line with every rule costs some twenty times a line without a trigger word)
_LINK_TRIGGERS: Final = tuple(
    start + word
    for word in ("reset", "magic", "invit", "verif", "confirm", "activat", "unsubscribe")
    for start in "/-_"
)


def _link_token(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _LINK_TOKEN.finditer(text):
        for part in ("first", "token"):
            value = match[part]
            if value is None or len(value) < 16:
                continue
            if (
                _FILE_NAME_END.search(value) is None
                and any(c.isdigit() for c in value)
                and any(c.isalpha() for c in value)
            ):
                yield Finding(*match.span(part), "url_path_token")


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


# `user:password@host[:port]` standing bare in a text (`connecting to elastic:pw@localhost:9200`), the
# user perhaps after its domain (impacket's targets, `corp.local/alice:pw@10.0.0.5`, `CORP\\alice:pw@dc`):
# read back from each `@` to the word's start, so that a text without `user:x@` costs a few `find`s.
_BARE_USERINFO: Final = compile_lazily(
    r"(?:[A-Za-z][\w.\-]{0,127}(?:/|\\{1,2}))?"
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


def _bare_userinfo(_: RuleRunner, text: str) -> Iterator[Finding]:
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


# `user:password` standing as a word in prose after a sign-in or credentials word (`log in with
# admin:Secr3t!`, `default credentials are root:toor`, `auth failed for deploy:Pa55word on db1`): after an
# explicit word for credentials or a login any value is hidden, after `auth` alone one that looks like a
# password, letters mixed with digits or symbols (`authentication failed for scope repo:status` stays);
# a port, a time or a host's `name:tag` of digits stays.
_PROSE_USERINFO: Final = compile_lazily(
    r"(?i)\b(?:(?P<explicit>log(?:ged|ging)?[ _\-]?(?:in|on)|sign(?:ed|ing)?[ _\-]?in|credentials?|creds"
    r"|user(?:name)?[ \t]{0,4}(?:and|/|&)[ \t]{0,4}pass(?:word)?)|auth(?:entication|enticated|enticating)?)\b"
    r"[^\n:@]{0,48}?(?<![\w.:/@\-])(?P<user>[A-Za-z_][\w.\-]{0,63}):(?P<secret>[^\s:@/\"'<>()\[\]{},;]{3,128})"
    r"(?=[\s,;)]|[.!?](?:\s|\Z)|\Z)"
)
# (each is in the trigger words every text is searched with: `logging`, `signed` alone are in too many lines)
_PROSE_USERINFO_TRIGGERS: Final = (
    "login", "logon", "log_in", "log in", "logged in", "logging in", "signin", "sign_in", "sign in",
    "signed in", "cred", "auth",
)  # fmt: skip


def _prose_userinfo(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _PROSE_USERINFO.finditer(text):
        start, end = match.span("secret")
        if text.endswith(".", 0, end):
            end -= 1  # a sentence's full stop
        secret = text[start:end]
        if len(secret) < 3 or secret.isdigit() or secret == REDACTED or _PLACEHOLDER.fullmatch(secret):
            continue
        if match["explicit"] is None and not _looks_secret(secret):
            continue  # (`Auth successful for job_42 (auth:SIMPLE)`: Hadoop's method)
        yield Finding(start, end, "url_userinfo")


def _schemeless_userinfo(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(
        _SCHEMELESS_USERINFO, text, "url_userinfo", ("secret", "port"), _is_schemeless_secret
    )


def _is_schemeless_secret(match: re.Match[str], value: str) -> bool:
    if match["user"] is not None and match["user"].lower() in _ADDRESS_SCHEMES:
        return False
    return value != REDACTED and not _PLACEHOLDER.fullmatch(value)


# http.cookiejar's repr of a cookie, `<Cookie name=value for domain/path>`: every cookie may be a session.
_COOKIE_REPR: Final = compile_lazily(r"<Cookie [^\s=<>]{1,256}=(?P<secret>[^\s<>]{1,8192}) for ")


def _url_userinfo(_: RuleRunner, text: str) -> Iterator[Finding]:
    # (`app:***@db`: a password SQLAlchemy or Celery already masked)
    return _group_findings(
        _URL_USERINFO, text, "url_userinfo", keep=lambda _, secret: bool(secret.strip("*"))
    )


def _url_token_user(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(
        _URL_TOKEN_USER,
        text,
        "url_userinfo",
        keep=lambda match, secret: bool(
            match["prefixed"] or _token_like(secret) or _decoded_credentials(secret)
        ),
    )


# A WebSocket subprotocol list carrying a token (`Sec-WebSocket-Protocol: access_token, x`, `bearer, x`;
# Kubernetes' `base64url.bearer.authorization.k8s.io.x`): the item after one naming a token.
_SUBPROTOCOLS: Final = compile_lazily(r"(?i)sec-websocket-protocol[\"']?[ \t]{0,8}[:=,][ \t]{0,8}[\"']?")
_SUBPROTOCOL: Final = compile_lazily(r"[ \t]{0,8}(?P<item>[^\s,\"']{1,8192})[ \t]{0,8}(?P<end>,?)")
_TOKEN_PROTOCOLS: Final = frozenset(
    {"access_token", "access-token", "accesstoken", "token", "bearer", "auth", "authorization", "jwt"}
)
_K8S_BEARER_PROTOCOL: Final = "base64url.bearer.authorization.k8s.io."


def _websocket_protocol(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _refused_header_value(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _REFUSED_HEADER_VALUE.finditer(text):
        if _plain_header_value(match["value"]):
            continue
        start, end = _within_escapes(text, *match.span("value"))
        scheme = _SCHEME_WORD.match(text, start, end)
        if scheme is not None:
            start = scheme.end()
        if end > start and not _is_redacted(text[start:end]):
            yield Finding(start, end, "authorization_header")
    yield from _group_findings(
        _REFUSED_HEADER_PART,
        text,
        "authorization_header",
        ("part", "value"),
        lambda match, _: match["part"] == match["value"] and not _plain_header_value(match["value"]),
    )


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


def _address_password(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_ADDRESS_PASSWORD, text, "url_userinfo", keep=_follows_an_address)


def _follows_an_address(match: re.Match[str], secret: str) -> bool:
    if secret.isdigit() or _FILE_NAME.fullmatch(secret) or secret == REDACTED.strip("[]"):
        return False
    at = match.start()
    return at > 0 and _LOCAL_PART.search(match.string, max(0, at - 64), at) is not None
