"""Secrets in structured formats: XML elements (and a name and its value in sibling elements), a name
and its value given apart (`{"name": ..., "value": ...}`), tables and delimited rows, .netrc and .pgpass
lines, other languages' dumps of a value, configuration directives, Kubernetes Secrets, Wi-Fi QR codes,
ipsec.secrets and NTP key files, maps of hosts to credentials.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Generator, Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _ABOUT_WORDS,
    _DESCRIBING_WORDS,
    _PLACEHOLDER,
    _PROSE_WORDS,
    _STATUS_WORDS,
    _WEAK_TAILS,
    _is_file_path,
    _is_kept,
    _looks_secret,
    _looks_secret_word,
    _names_secret,
    _qualifies_a_label,
    _sets_password_policy,
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
    _group_findings,
    _lowered,
    _strip_quotes,
    _trie_pattern,
    _value_finding,
)

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
# 'x'}`, whose `SecureString` type says the value is a secret whatever its name), a JSON Patch operation
# (`{"op": "replace", "path": "/spec/password", "value": "x"}`), a form's `field`.
# The parts of such a pair, in either order: the name's member, the value's member's key, and up to two
# members between them.
_PAIR_NAME: Final = (
    r"(?P<nq>\\?[\"'])?(?:(?:parameter_?)?(?:name|key)|path|field)(?(nq)(?P=nq))[ \t]{0,8}[:=][ \t]{0,8}"
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
# A row of a listing in two columns, a name and its value aligned by blanks, the value the rest of the
# line: PowerShell's `Get-ChildItem Env:` (`GITLAB_TOKEN      x`), Vault's `Key  Value` tables
# (`secret_id     x`), `env`-like dumps padded into columns. (Two blanks at least: `password reset` is
# prose; one more column after the value, `kubectl get secrets`' rows, is no pair.)
_COLUMN_ROW: Final = compile_lazily(
    r"(?m)^[ \t]{0,8}(?P<key>[^\W\d][\w.\-]{0,127})(?:[ ]{2,64}|\t{1,8})"
    r"(?P<value>[^\s]{6,512})[ \t]{0,64}\r?$"
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


# A line that labels a secret with more than a key (`**Password:** x` in Markdown, `password (temporary): x`,
# Vault's `Unseal Key 1: x`, `Secret ID = x`, `PASSWORD elastic = x`): the label's words (up to four),
# then a qualifier (a number, a parenthesis) or Markdown's emphasis, then the value, alone to the line's
# end. The key=value rule reads a label of one word and nothing between it and its separator.
_LABEL_LINE: Final = compile_lazily(
    r"(?m)^[ \t]{0,16}(?:[-*+•][ \t]{1,4})?(?P<open>\*\*|__)?"
    r"(?P<label>[^\W\d_][^\W_]{0,31}(?:[ _\-][^\W\d_][^\W_]{0,31}){0,3})"
    r"(?:[ \t]{1,4}(?P<qualifier>(?P<number>[0-9]{1,3})|\([^()\n]{1,40}\)|（[^（）\n]{1,40}）))?"
    r"[ \t]{0,4}(?P<close>\*\*|__)?[ \t]{0,4}[:=：][ \t]{0,4}(?:\*\*|__)?[ \t]{1,64}"
    r"(?P<q>[`\"']?)(?P<secret>[^\s`\"']{4,4096})(?P=q)[ \t]{0,16}(?=\r?\n|\Z)"
)


def _label_line(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for line in _LABEL_LINE.finditer(text):
        label, secret = line["label"], line["secret"]
        marked = bool(line["open"] or line["close"])
        if line["qualifier"] is None and not marked and not any(c in label for c in " \t"):
            continue  # `key: value`: the key=value rule's
        if not redactor.is_secret_key(label, in_text=True) and not (
            (line["number"] or marked) and redactor.is_secret_key(label) and _looks_secret(secret)
        ):
            continue  # (`Unseal Key 1: x`: a weak name, but numbered, and a value that looks like one)
        if (line["q"] or _looks_secret_word(secret)) and not _is_kept(
            secret, label, text, line.end("secret")
        ):
            yield Finding(*line.span("secret"), "key_value")


def _table_row(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_TABLE_ROW, text, "table_row", ("value",), _cell_keeper(redactor, text))


def _column_row(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """A row of a two-column listing, a secret's name then its value (`_COLUMN_ROW`)."""
    return _group_findings(_COLUMN_ROW, text, "table_row", ("value",), _cell_keeper(redactor, text))


def _cell_keeper(redactor: RuleRunner, text: str) -> Callable[[re.Match[str], str], bool]:
    """Whether a row's value cell, beside a cell naming its key, is a secret: the key names one (a weak
    name only for a value that looks like one), and the value is no status, reference or the like."""

    def keep(match: re.Match[str], value: str) -> bool:
        key = match["key"]
        if not redactor.is_secret_key(key) or _is_kept(value, key, text, match.end()):
            return False
        if value.lower() in _STATUS_WORDS or value == REDACTED:
            return False
        return redactor.is_secret_key(key, in_text=True) or _looks_secret(value)

    return keep


def _netrc(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _NETRC.finditer(_lowered(text)):
        value = text[match.start("secret") : match.end("secret")].rstrip(".,;)")
        lowered = value.lower()
        if lowered in _STATUS_WORDS or lowered in _PROSE_WORDS or lowered in _DESCRIBING_WORDS:
            continue
        if match["user"].lower() in _STATUS_WORDS or match["user"].lower() in _PROSE_WORDS:
            continue  # `login failed, passwd: x`: the key-value rule reads the pair
        if (
            _sets_password_policy(match["key"], value)
            and not text[match.end("key") : match.start("secret")].strip()
        ):
            continue  # `ALTER USER bob PASSWORD REQUIRE CURRENT`: SQL's `USER x PASSWORD`, not a login's
        if _qualifies_a_label(text, match.start("secret") + len(value), value):
            continue  # `user bob` then `PASSWORD bob = x`: whose password, the label's (`key_value` reads x)
        found = _value_finding(text, match.start("secret"), match.start("secret") + len(value), "netrc")
        if not _is_kept(text[found.start : found.end], match["key"], text, match.end()):
            yield found


# An element named by its attribute: Java's properties XML `<entry key="db.password">x</entry>`, Spring's
# and Ant's `<property name="password">x</property>`, `<param name="token">`, `<setting name="ApiKey">`.
_NAMING_ATTRIBUTE: Final = compile_lazily(
    r"(?<![\w\-])(?:key|name)[ \t]{0,8}=[ \t]{0,8}[\"'](?P<name>[^\"'<>]{1,128})[\"']"
)


def _xml_element(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    def keep(match: re.Match[str], value: str) -> bool:
        key = match["key"]
        if match["attributes"] and (named := _NAMING_ATTRIBUTE.search(match["attributes"])) is not None:
            key = named["name"]
        return _xml_secret(redactor, key, value.strip(), text, match.end())

    # (`<![CDATA[x]]>`: its content)
    return _group_findings(_XML_ELEMENT, text, "xml_element", ("value", "cdata"), keep)


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
    return _group_findings(
        _AUTH_PAIR,
        text,
        "auth_pair",
        keep=lambda match, secret: (
            not (_NOT_A_USER.fullmatch(match["user"]) or secret.isdigit() or secret == REDACTED)
        ),
    )


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


# A YAML sequence under a secret's key (`db_passwords:` then `  - X` lines, `tokens:` then `- X` at
# the key's own indent, as YAML allows): each scalar item. (An item that is a mapping, `- name: ci`,
# has keys of its own, read as pairs; a nested mapping's lines are read past.)
_YAML_LIST_KEY: Final = compile_lazily(
    r"(?m)^(?P<indent>[ \t]{0,64})(?:-[ \t]{1,8})?(?P<q>[\"']?)(?P<key>[A-Za-z_][\w.\-]{0,127})(?P=q)"
    r"[ \t]{0,8}:[ \t]{0,8}(?:#[^\n]{0,256})?\r?\n"
)
_YAML_LINE: Final = compile_lazily(r"(?P<indent>[ \t]{0,128})(?P<content>[^\n]{0,65536})(?:\n|\Z)")
_YAML_ITEM: Final = compile_lazily(
    r"-[ \t]{1,8}(?:(?P<q>[\"'])(?P<quoted>[^\n]{0,4096}?)(?P=q)"
    r"|(?P<plain>[^\s#\"'{}\[\]&*|>!][^\n#]{0,4095}?))[ \t]*(?:[ \t]#[^\n]{0,256})?\r?\Z"
)
_YAML_MAPPING_ITEM: Final = compile_lazily(r"[^\s\"':][^:\n]{0,252}:(?:[ \t]|\Z)")
# A name written as a variable's or a file's (`db_password`, `min_length`, `api-token.txt`): Docker
# Compose's `secrets:` lists the secrets' names, not their values.
_ITEM_NAME: Final = compile_lazily(r"[A-Za-z][A-Za-z0-9]{0,63}(?:[_.\-][A-Za-z0-9]{1,64}){1,8}")


def _yaml_secret_list(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """Each scalar item of a YAML sequence under a key that names a secret (`_names_secret`)."""
    for head in _YAML_LIST_KEY.finditer(text):
        if not redactor.is_secret_key(head["key"]):
            continue
        column, position, items = len(head["indent"]), head.end(), None
        for _ in range(1024):  # lines of the sequence, at most
            line = _YAML_LINE.match(text, position)
            if line is None or line.end() == position:
                break
            content, indent = line["content"].rstrip("\r"), len(line["indent"])
            position = line.end()
            if not content.strip():
                continue
            if items is None:  # the first line under the key: a sequence, or not one to read
                if indent < column or not content.startswith("- "):
                    break
                items = indent
            if indent < items or (indent == items and not content.startswith("-")):
                break
            if indent > items:
                continue  # a mapping item's further keys, a folded item's lines
            item = _YAML_ITEM.match(content)
            if item is None or _YAML_MAPPING_ITEM.match(content, 2):
                continue
            group = "quoted" if item["quoted"] is not None else "plain"
            value = item[group].rstrip()
            offset = line.start("content")
            start = offset + item.start(group)
            if _ITEM_NAME.fullmatch(value) and not _looks_secret(value):
                continue
            if value and _names_secret(redactor, head["key"], value):
                yield Finding(start, start + len(value), "yaml_list")


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
    # (a few substring tests: a trie of the types searched in every triggered text cost more)
    if any(kind in text for kind in _NTP_KEY_TYPES):
        yield from _group_findings(
            _NTP_KEY_LINE,
            text,
            "ntp_key",
            keep=lambda match, secret: bool(match["form"]) or _looks_secret_word(secret),
        )


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
