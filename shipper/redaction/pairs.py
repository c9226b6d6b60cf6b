"""A secret after the name that names it: `key=value` and `--flag value` (`password=x`, `"token": "x"`,
`('password', 'x')`, `--password x`), the value read to its real end (quoted, braced, continued on the
next lines, glued to the next pair); and prose (`the password is X`, `using key X`, a passphrase of
plain words, a prompt's answer, a secret below its label, a one-time code), in English and in other
languages and scripts (`mot de passe`, `パスワードは`, `كلمة المرور`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _ABOUT_WORDS,
    _CODE_WORDS,
    _DESCRIBING_ENDINGS,
    _DESCRIBING_WORDS,
    _DOTTED_NAME,
    _FLAG_PROSE,
    _FOREIGN_STEMS,
    _FOREIGN_WHOLE_WORDS,
    _IRREGULAR_PARTICIPLES,
    _NAME_OF_PARTS,
    _NOT_A_VALUE,
    _PLACEHOLDER,
    _PROSE_WORDS,
    _RESULT_WORDS,
    _SECRET_WORDS,
    _STATUS_WORDS,
    _YAML_TAG,
    _default_secret_key,
    _is_kept,
    _is_status_or_code,
    _is_weak_key,
    _last_segment,
    _looks_secret,
    _looks_secret_under_weak_key,
    _looks_secret_word,
    _qualifies_a_label,
    _random_looking,
    _read_words,
    _sets_password_policy,
    _tells_a_status,
    key_words,
)
from shipper.redaction.model import (
    _BARE,
    _FLAG_BARE_VALUE,
    _IS_A_KEY,
    _KEY,
    _KEY_START,
    _LONG_VALUE,
    _NAME_EQUALS,
    _QUOTE_OPENERS,
    _QUOTED,
    _QUOTED_VALUE,
    _VALUE,
    FLAG_VALUE,
    Finding,
    RuleRunner,
    _after_bytes_prefix,
    _group_findings,
    _is_redacted,
    _long_quoted,
    _strip_quotes,
    _trie,
    _value_finding,
)
from shipper.redaction.web import _HEADER_KEYS, _SCHEME_WORD, _TOKEN

# --- key=value and flags ------------------------------------------------------------------------------------

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
    # (blanks up to a column's width: `password:         x` as `kubectl describe`, `consul` and `heroku
    # config` align their values)
    r"(?P<sep>[ \t]{0,64}(?:=>|[:?+]=|=(?!=)|:(?![:/]))"
    r"(?:[ \t]{0,8}\r?\n[ \t]{0,32}(?=b?\\?[\"'])|[ \t]{0,64}(?:!!?[A-Za-z][\w:]{0,31}[ \t]{1,8})?)"
    r"|(?(kq)[ \t]{0,8},[ \t]{0,8}(?=b?\\?[\"'])|(?!)))"
)
# `--password X` and list reprs `'--password', 'X'` (the `--flag=value` form is a key=value above).
_FLAG_VALUE: Final = compile_lazily(
    r"(?<![\w\-])(?P<q>\\?[\"'])?(?P<flag>--?(?P<key>[A-Za-z][\w.\-]{0,63}))(?(q)(?P=q))"
    r"(?P<sep>(?(q)[ \t]{0,8},[ \t]{0,8}|[ \t]{1,8}))"
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


def _key_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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
        if value[:2] == "0x" and (pointed := _POINTED_STRING.match(text, vend)) is not None:
            # gdb's and lldb's `password = 0x5555555592e0 "x"`: the string the pointer points to is the value
            hidden = pointed.end("literal")
            yield Finding(*pointed.span("literal"), "key_value")
            continue
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
        yield Finding(start, end, FLAG_VALUE if match["dash"] else "key_value")


# A debugger's pointer to a string after its address (`0x5555555592e0 "x"`; Objective-C's `@"x"`).
_POINTED_STRING: Final = compile_lazily(r'[ \t]{1,8}@?"(?P<literal>(?:[^"\\\n]|\\.){1,4096})"')

# A format string's replacement field: `{}`, `{0}`, `{name.attr}`, `{db_password}`, `{TOKEN}`, `{pw!r:>8}`
# (a name with `_` or `.`, in capitals, or with a conversion: ODBC's braced `{hunter2}`, `{Pw9x}` are values).
_BRACED_FIELD: Final = compile_lazily(
    r"\{(?:[0-9]{0,3}|[a-z]{1,64}[_.][a-z0-9_.]{1,64}|[A-Z][A-Z_.]{0,63}|[a-z]{1,64}(?=[!:]))"
    r"(?:![rsa])?(?::[^{}\s]{0,32})?\}"
)
# `pass`, `pw` and `mdp` are weak names in text (`pass: 3` counts tests), but a plain word of four or more
# letters after them is a password (`pass: hunter`, `pw=sunshine`), unless it reads as a result or prose.
_ABBREVIATED_PASSWORD: Final = frozenset({"pass", "pw", "mdp"})


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


def _flag_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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
            yield Finding(start, end, FLAG_VALUE)


# --- prose, and other languages -----------------------------------------------------------------------------


# `password` in other languages, as prose writes it (`mot de passe`, `contraseña`).
# (its stems as a trie: this alternation is tried at every word of a text that holds a trigger)
@functools.cache
def _foreign_password() -> str:
    """(written when the first pattern that holds it compiles, as that pattern is: laid out at import,
    its trie and `_LABEL_NAME`'s cost every program's start-up some 2 M instructions)"""
    return (
        rf"mot[ \t]de[ \t]passe|{_trie(_FOREIGN_STEMS['password'])}\w{{0,12}}"
        rf"|(?:{'|'.join(map(re.escape, _FOREIGN_WHOLE_WORDS['password']))})(?!\w)"
    )


# The words that name a value an API refused as the one it was given (`Incorrect API key provided: x`).
_GIVEN_WORDS: Final = r"provided|given|supplied|received|used|sent|passed"
# The words that say a password *is* what follows: `is`, `was` and their German, French, Spanish,
# Italian, Portuguese, Swedish, Polish, Danish and Finnish kin.
_IS_WORDS: Final = r"is|was|ist|lautet|war|est|était|es|era|é|è|är|jest|je|er|var|oli"
# `password hunter2`, `the token is "abc"`, `set the password to X`, `the password for bob is X`,
# `password -> X`: a strong key word, a space or a connecting word, then a quoted or secret-looking
# value (prose such as "password reset" or "token expired" stays).
_KEY_SPACE_VALUE: Final = compile_lazily(
    lambda: (
        # (`secret key x`, and Redshift's `SECRET_ACCESS_KEY 'x'`)
        r"(?i)(?<![\w.\-/])(?P<key>pass(?:word|wd|phrase)|pwd|secret(?:[ _-]?(?:access[ _-]?)?key)?"
        r"|(?:api|access|auth|bearer)?[ _-]?token"
        r"|requirepass|masterauth"  # Redis's password directives (redis.conf, CONFIG SET)
        r"|psk"  # ipsec.secrets' `: PSK "x"`
        r"|api[ _-]?key|access[ _-]?key|priv(?:ate)?[ _-]?key|credentials?|creds"
        r"|(?:session|security)[ _-]token"  # (`SESSION_TOKEN 'x'`: `_token` alone is inside a word)
        r"|identified[ \t]{1,8}by"
        rf"|{_foreign_password()})"
        # (and the full-width colon and equals sign of CJK text, U+FF1A and U+FF1D; an API's refusal
        # names the value it was given: `Incorrect API key provided: x`, `client secret given: x`)
        rf"(?:(?P<colon>(?:[ \t]{{1,8}}(?:{_GIVEN_WORDS}))?"
        r"[ \t]{0,8}(?::[ \t]{1,64}|[：＝][ \t]{0,8}))|(?P<tab>\t{1,8}(?=[^\s]))|[ \t]{1,8}(?:(?:"
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
_PHRASE_KEY: Final = compile_lazily(lambda: rf"(?i)pass(?:word|phrase)|{_foreign_password()}")
_PASSPHRASE: Final = compile_lazily(
    r"(?m)[^\W\d_]{2,32}(?:[ \t]{1,4}[^\W\d_]{2,32}){2,9}(?=[ \t]{0,8}(?:[.!?,;)\]]|\r?$))"
)
# `using key X`, `signed with key X`, `the key is X`, `Invalid key provided: X`: a bare `key` is mostly
# an id in prose, so the value must read like a random key (`_random_looking`).
_KEY_TOLD: Final = compile_lazily(
    r"(?i)(?<![\w.\-])(?:(?:using|with|by)[ \t]{1,8}(?:the[ \t]{1,8})?key"
    rf"|the[ \t]{{1,8}}key[ \t]{{1,8}}(?:is|was)|key[ \t]{{1,8}}(?:{_GIVEN_WORDS})[ \t]{{0,8}}:)"
    r"[ \t]{1,8}(?P<value>[^\s\"',;()\[\]{}<>]{8,256})(?![^\s\"',;()\[\]{}<>])"
)
# A prompt answered on its line: `[sudo] password for bob: X`, `Enter passphrase for key '~/.ssh/id': X`,
# `Password for 'https://bob@host': X` (a colon then a blank ends the prompt; the answer is the rest of
# the line); and a server's line that tells a password it made (MySQL's `A temporary password is
# generated for root@localhost: X`, `password set for bob: X`).
_PROMPT_ANSWER: Final = compile_lazily(
    r"(?i)(?<![\w.\-])(?:pass(?:word|phrase)|pin|passcode)"
    r"(?:[ \t]{1,8}(?:is|was|has[ \t]{1,8}been|had[ \t]{1,8}been))?"
    r"(?:[ \t]{1,8}(?:generated|created|set|reset|changed|assigned|issued|updated))?"
    r"[ \t]{1,8}for[ \t][^\n]{1,256}?:[ \t]{1,8}"
    r"(?P<secret>[^\s][^\n]{0,511})"  # the answer is the rest of the line, blanks and all
)
# A one-time or recovery code told in a line: `OTP code: 482913`, `verification code is 123456`.
_ONE_TIME_CODE: Final = compile_lazily(
    r"(?i)\b(?:(?:otp|totp|hotp)(?:[ \t_-]codes?)?|one[- ]time[ \t](?:pass(?:word|code)|code)"
    r"|(?:verification|security|mfa|2fa"
    r"|two[- ]factor|recovery|backup|sms|login)[ \t_-]codes?)(?:[ \t]{1,8}(?:is|was))?(?:[ \t]{0,8}[:=])?"
    r"[ \t]{1,8}(?P<secret>(?=[A-Za-z\-]{0,12}[0-9])[A-Za-z0-9]{4,12}(?:-[A-Za-z0-9]{4,12}){0,3})\b"
)


def _key_space_value(_: RuleRunner, text: str) -> Iterator[Finding]:
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
        if bare and _qualifies_a_label(text, end, inner):
            continue  # `PASSWORD kibana_system = x`: whose password, the label of the value after it
        if bare and _sets_password_policy(match["key"], inner):
            continue  # `ALTER USER bob PASSWORD EXPIRE`: SQL's policy of the password, not a password
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


def _script_password(_: RuleRunner, text: str) -> Iterator[Finding]:
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
_NAMES_PASSWORD: Final = compile_lazily(lambda: rf"(?i)pass|pwd|identified|{_foreign_password()}")
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


# A value an API echoes in brackets or quotes after the secret's name and a participle (`The API key
# provided (sk-abc) is invalid`, `Password supplied "x" was rejected`; `provided: x` is
# `_KEY_SPACE_VALUE`'s): the participle is looked for first, then the one or two words before it.
_GIVEN_VALUE: Final = compile_lazily(
    rf"(?i)(?<=[ \t])(?:{_GIVEN_WORDS})[ \t]{{1,8}}"
    r"(?:\((?P<bracketed>[^\s()]{1,256})\)|(?P<q>[\"'`])(?P<quoted>(?:(?!(?P=q))[^\n]){1,256})(?P=q))"
)
_NAME_BEFORE: Final = compile_lazily(
    r"(?<![\w.\-])(?:[^\W\d][\w\-]{0,63}[ \t])?[^\W\d][\w\-]{0,63}[ \t]{1,8}\Z"
)


def _given_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    def keep(match: re.Match[str], value: str) -> bool:
        name = _NAME_BEFORE.search(text, max(0, match.start() - 136), match.start())
        if name is None or not redactor.is_secret_key(name.group().strip(), in_text=True):
            return False
        if value.lower() in _STATUS_WORDS or value.lower() in _PROSE_WORDS:
            return False  # `token received (expired)`
        bracketed = match["bracketed"] is not None  # (a word in brackets must read like a credential)
        return not _is_kept(value, "password", text, match.end()) and (
            not bracketed or _looks_secret_word(value)
        )

    return _group_findings(_GIVEN_VALUE, text, "key_space_value", ("bracketed", "quoted"), keep)


def _key_told(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _KEY_TOLD.finditer(text):
        value = match["value"].rstrip(".:!?")
        if _random_looking(value):
            yield Finding(match.start("value"), match.start("value") + len(value), "key_space_value")


# An environment file's line (`.env`, `export NAME=...`, `env`'s output): a value given without quotes
# runs to the line's end, blanks and all, as python-dotenv and Docker's env files read it
# (`GPG_PASSPHRASE=my long passphrase` hid only `my`), up to a comment after a blank. Read so where the
# line is exported, stands among other such lines, or names a passphrase: a log line's `PWD=x set` goes
# on in words of its own. A path is no such value (`PWD=/home/bob/my app`: the working directory).
_ENV_LINE: Final = compile_lazily(
    r"(?m)^[ \t]{0,16}(?P<export>export[ \t]{1,8})?(?P<key>[A-Z][A-Z0-9_]{0,127})="
    r"(?P<value>[^\s\"'#/~][^\n]{0,4095}?)[ \t]*(?=[ \t]#|\r?$)"
)
_PASSPHRASE_NAMES: Final = ("PHRASE", "MNEMONIC", "SEED")


def _env_line(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    matches = list(_ENV_LINE.finditer(text))
    for match in matches:
        value, key = match["value"], match["key"]
        if " " not in value or not redactor.is_secret_key(key):
            continue
        env_file = len(matches) > 1 or match["export"] or any(word in key for word in _PASSPHRASE_NAMES)
        if env_file and not _is_kept(value, key, text, match.end("value")):
            yield Finding(*match.span("value"), "key_value")


# A secret's change told with both values: Terraform's plan (`~ master_password = "old" -> "new"`), a
# diff's or an audit's line (`password: old => new`, `changed password from 'old' to 'new'`). The key's
# own rule hides the value after it; this hides the new one too (and, quoted after `from`, the old).
_CHANGED_VALUE: Final = compile_lazily(
    rf"(?i)(?<![\w.\-])(?:(?P<key>{_KEY})[\"']?[ \t]{{0,8}}[:=][ \t]{{0,8}}(?:{_QUOTED}|[^\s\"',;]{{1,256}})"
    r"[ \t]{1,8}(?:->|=>|→)"
    r"|(?P<told>pass(?:word|phrase)|secret|token|api[ _-]?key)[ \t]{1,8}(?:[\w@.\-]{1,64}[ \t]{1,8}){0,3}?"
    rf"from[ \t]{{1,8}}(?P<old>{_QUOTED})[ \t]{{1,8}}to)[ \t]{{1,8}}"
)
_CHANGED_TRIGGERS: Final = ("->", "=>", "→", "from ")


def _changed_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _CHANGED_VALUE.finditer(text):
        key = match["key"]
        if key is not None and not redactor.is_secret_key(key):
            continue
        spans = [match.span("old")] if match["old"] is not None else []
        found = _VALUE.match(text, match.end())
        if found is not None and (key is not None or found.group()[:1] in "\"'"):
            spans.append(found.span())
        for span in spans:
            start, end = _strip_quotes(*span, text[span[0] : span[1]])
            if start < end and not _is_kept(text[start:end], key or match["told"], text, span[1]):
                yield Finding(start, end, "key_value")


def _prompt_answer(_: RuleRunner, text: str) -> Iterator[Finding]:
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
    lambda: (
        r"(?i)(?<![\w\-])(?:pass(?:word|wd|phrase|code)s?|pwd|secrets?|tokens?"
        r"|(?:api|access|secret)[ _-]?keys?"
        r"|credentials?|creds|pin"
        r"|(?:verification|security|recovery|backup|one[ -]time|2fa|mfa|otp)[ _-]?codes?"
        rf"|{_foreign_password()}"
        rf"|{_trie((*_FOREIGN_STEMS['secret'], *_FOREIGN_STEMS['token']))}\w{{0,12}})"
        r"(?![\w\-])"
    )
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


# An aside in brackets after a blank (`Password for the elastic user (reset with `bin/...`):`, as
# Elasticsearch prints its bootstrap password): read past, as prose is (a call's brackets follow a name).
_ASIDE: Final = compile_lazily(r"[ \t]\([^()\n]{0,200}\)")


def _value_below(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _VALUE_BELOW.finditer(text):
        line_start = text.rfind("\n", max(0, match.start() - 256), match.start()) + 1
        label = text[line_start : match.start()]
        if "(" in label:
            label = _ASIDE.sub("", label)
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


_OUTCOME_WORDS: Final = frozenset({"success", "done", "error", "failure"})  # (`ok` is a status word)


def _tells_an_outcome(answer: str) -> bool:
    """A prompt's answer that is prose about the login rather than the typed secret: a word of status
    alone (`expired`), or several words one of which is a word of status or of prose (a password typed
    at a prompt is one word, or a passphrase of plain words)."""
    words = [word.strip(".,;:!?()[]").lower() for word in answer.split()]
    if len(words) == 1:  # (`Password changed for bob: success`, now that a line may tell a change)
        return words[0] in _STATUS_WORDS or words[0] in _OUTCOME_WORDS
    return any(word in _STATUS_WORDS or word in _PROSE_WORDS for word in words)
