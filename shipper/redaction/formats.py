"""Secrets in what programs write out whole: structured formats (XML, `{"name": ..., "value": ...}`
objects, tables and delimited rows, .netrc and .pgpass lines, other languages' dumps, configuration
directives, Kubernetes Secrets), code as a traceback shows it (a literal passed to a call that takes a
secret, SQL that sets a password, an exception's arguments), and values a tool printed apart from their
names (a traceback's variables, a validation error's input, SQL parameters).
"""

from __future__ import annotations

import builtins
import itertools
import re
from collections.abc import Generator, Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _ABOUT_WORDS,
    _DESCRIBING_WORDS,
    _NAME_AT,
    _PLACEHOLDER,
    _PROSE_WORDS,
    _STATUS_WORDS,
    _TRAILING_NAME,
    _WEAK_TAILS,
    _is_file_path,
    _is_kept,
    _last_segment,
    _looks_secret,
    _looks_secret_word,
    _names_secret,
    _random_looking,
    key_words,
)
from shipper.redaction.model import (
    _BARE,
    _KEY,
    _QUOTED,
    _VALUE,
    REDACTED,
    Finding,
    RuleRunner,
    _after_bytes_prefix,
    _is_redacted,
    _lowered,
    _strip_quotes,
    _trie_pattern,
    _value_finding,
)
from shipper.redaction.pairs import _line_end

# --- structured formats: XML, name/value objects, tables, dumps, configuration files ------------------------
# A .pgpass line, `host:port:database:user:password` (each field may be `*`; `\:` escapes a colon):
# the fifth field, when the line holds no more.
_PGPASS_LINE: Final = compile_lazily(
    r"(?m)(?:^|(?<=[\s\"']))(?:\*|(?=[\w.\-]{0,252}[A-Za-z.])[\w.\-]{1,253}):(?:[0-9]{1,5}|\*)"
    r"(?::(?:[^\s:\\]|\\.){1,128}){2}:(?P<secret>(?:[^\s:\\]|\\.){1,512})(?=[\s\"']|\Z)"
)
_PGPASS_TRIGGERS: Final = ("pgpass", ":5432:", ":*:")
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


def _delimited(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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
    redactor: RuleRunner, text: str, cells: list[tuple[int, int]], delimiter: str, below: int
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


def _table_row(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _TABLE_ROW.finditer(text):
        key, value = match["key"], match["value"]
        if not redactor.is_secret_key(key) or _is_kept(value, key, text, match.end()):
            continue
        if value.lower() in _STATUS_WORDS or value == REDACTED:
            continue
        if redactor.is_secret_key(key, in_text=True) or _looks_secret(value):
            yield Finding(*match.span("value"), "table_row")


def _netrc(_: RuleRunner, text: str) -> Iterator[Finding]:
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


# An element named by its attribute: Java's properties XML `<entry key="db.password">x</entry>`, Spring's
# and Ant's `<property name="password">x</property>`, `<param name="token">`, `<setting name="ApiKey">`.
_NAMING_ATTRIBUTE: Final = compile_lazily(
    r"(?<![\w\-])(?:key|name)[ \t]{0,8}=[ \t]{0,8}[\"'](?P<name>[^\"'<>]{1,128})[\"']"
)


def _xml_element(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _XML_ELEMENT.finditer(text):
        group = "value" if match["value"] is not None else "cdata"  # `<![CDATA[x]]>`: its content
        key, value = match["key"], match[group]
        if match["attributes"] and (named := _NAMING_ATTRIBUTE.search(match["attributes"])) is not None:
            key = named["name"]
        if _xml_secret(redactor, key, value.strip(), text, match.end()):
            yield Finding(*match.span(group), "xml_element")


def _xml_secret(redactor: RuleRunner, name: str, value: str, text: str, end: int) -> bool:
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


def _xml_sibling(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """The value of `_XML_SIBLING`'s pairs under a secret's name (as `_xml_element` reads one element)."""
    for match in _XML_SIBLING.finditer(text):
        name, group = (match["name"], "value") if match["name"] is not None else (match["aname"], "avalue")
        start, end = match.span(group)
        value = text[start:end]
        start, end = start + len(value) - len(value.lstrip()), end - len(value) + len(value.rstrip())
        if _xml_secret(redactor, name, text[start:end], text, end):
            yield Finding(start, end, "xml_element")


def _named_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _dumped_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _auth_pair(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _directive_value(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _kubernetes_secret(_: RuleRunner, text: str) -> Iterator[Finding]:
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


# chrony's and ntpd's key files: `ID TYPE KEY` (`1 SHA256 HEX:...`, `10 MD5 ASCII:x`, `2 SHA1 x`); the
# key is hidden when it is written as HEX:/ASCII: or reads like a credential (`1 SHA256 mismatch` stays).
_NTP_KEY_LINE: Final = compile_lazily(
    r"(?m)^[ \t]{0,8}[0-9]{1,10}[ \t]{1,8}(?:MD5|SHA1|SHA224|SHA256|SHA384|SHA512|SHA3-(?:224|256|384|512)"
    r"|RMD(?:128|160|256|320)|TIGER|WHIRLPOOL|AES128|AES256|AES-(?:128|256)-CMAC)[ \t]{1,8}"
    r"(?P<secret>(?P<form>HEX:|ASCII:)?[^\s#]{1,512})[ \t]{0,8}(?:#[^\n]{0,256})?\r?$"
)


_NTP_KEY_TYPES: Final = ("MD5", "SHA", "AES", "RMD", "TIGER", "WHIRLPOOL")


def _ntp_key_line(_: RuleRunner, text: str) -> Iterator[Finding]:
    if not any(kind in text for kind in _NTP_KEY_TYPES):
        return  # (a few substring tests: a trie of the types searched in every triggered text cost more)
    for match in _NTP_KEY_LINE.finditer(text):
        if match["form"] or _looks_secret_word(match["secret"]):
            yield Finding(*match.span("secret"), "ntp_key")


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


def _names_credentials(redactor: RuleRunner, key: str) -> bool:
    """A key whose value, a mapping, holds credentials: it names a secret, or its last word a kind of
    credential (`github-oauth`, `bearer`, `api_tokens`)."""
    words = key_words(key)
    return bool(words) and (words[-1] in _CREDENTIAL_KINDS or redactor.is_secret_key(key))


def _credential_map(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


# --- code: calls given a secret, SQL, form fields, an exception's arguments ---------------------------------
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
# A constructor named for a secret given one string (`Secret('x')`, `SecretStr(value='x')`, `Password(b'x')`):
# a wrapper whose repr shows what it wraps.
_WRAPPER_CALL: Final = compile_lazily(
    r"(?<![\w.])(?P<name>[A-Z][A-Za-z0-9_]{0,63})\([ \t]{0,8}(?:(?:value|secret|secret_value|_value|raw)"
    r"[ \t]{0,8}=[ \t]{0,8})?[bBuUrR]{0,2}(?P<q>[\"'])(?P<secret>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)"
    r"[ \t]{0,8}\)"
)


def _wrapper_call(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _WRAPPER_CALL.finditer(text):
        if redactor.is_secret_key(match["name"], in_text=True) and not _is_kept(
            match["secret"], "password", text, match.end()
        ):
            yield Finding(*match.span("secret"), "secret_call")


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


def _secret_call(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _setter_call(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _sign_in_call(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _client_call(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _form_field(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _FORM_FIELD.finditer(text):
        if "filename" in match["rest"].lower() or not redactor.is_secret_key(match["name"]):
            continue
        if not _is_kept(match["value"], match["name"], text, match.end()):
            yield Finding(*match.span("value"), "form_field")


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


def _passes_a_secret(redactor: RuleRunner, line: str) -> bool:
    """A source line that passes a value under a secret's name (`int(api_token)`, `keys.pop(api_key)`)."""
    code = _STRING_LITERAL.sub(" ", line)
    return any(redactor.is_secret_key(_last_segment(name)) for name in _PASSED_NAME.findall(code))


def _quoted_secret_values(text: str, message: re.Match[str], statements: list[str]) -> Iterator[Finding]:
    for quoted in _QUOTED_IN_MESSAGE.finditer(text, *message.span("message")):
        value = quoted["value"]
        written = any(value in statement for statement in statements)
        if not written and value not in _BUILTIN_NAMES and not _is_redacted(value):
            yield Finding(*quoted.span("value"), "key_value")


def _raised_with_a_secret(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _raised_message_findings(redactor: RuleRunner, message: str, trace: str) -> list[Finding]:
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


def _exception_args(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


# --- values a tool printed apart from their names (tracebacks with variables, validation errors) ------------


# A loguru / better_exceptions `diagnose` annotation: bars, then `└ value` under the name it belongs
# to in the source line above the block.
_ANNOTATION: Final = compile_lazily(r"(?m)^(?P<bars>[ \t│|]{0,256})└[ \t](?P<value>[^\n]{1,4096})")


def _diagnose_annotation(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _pytest_where(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _validation_input(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _secret_placeholders(redactor: RuleRunner, sql: str) -> set[int]:
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


def _sql_parameters(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _sql_key_values(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _sql_insert_literals(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """An INSERT's literal values under the columns that name a secret (each row of a multi-row VALUES)."""
    for insert in _INSERT_COLUMNS.finditer(text):
        columns = [column.strip(' \t\n"`[]') for column in insert["columns"].split(",")]
        secret = {i for i, column in enumerate(columns) if redactor.is_secret_key(column)}
        if secret:
            for found in _tuple_items(text, insert.end() - 1, secret, "sql_literal"):
                value = text[found.start : found.end]
                if value != REDACTED and not _PLACEHOLDER.fullmatch(value) and value.upper() != "NULL":
                    yield found
