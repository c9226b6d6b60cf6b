"""Secrets in code as a traceback shows it (a literal passed to a call that takes a secret, SQL that sets
a password, a multipart form field, an exception raised with a secret among its arguments), and values
a tool printed apart from their names (a traceback's variables as loguru and pytest print them, a
validation error's input, SQL statements' parameters and the rows their errors quote).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _NAME_AT,
    _PLACEHOLDER,
    _TRAILING_NAME,
    _is_kept,
    _last_segment,
    _looks_secret_under_weak_key,
    _looks_secret_word,
    _names_secret,
    _random_looking,
    key_words,
)
from shipper.redaction.model import (
    _VALUE,
    REDACTED,
    Finding,
    RuleRunner,
    _group_findings,
    _is_redacted,
    _lowered,
    _value_finding,
)
from shipper.redaction.web import _line_end

# --- code: calls given a secret, SQL, form fields, an exception's arguments ---------------------------------
# SQL that gives a password as a string: MySQL's `PASSWORD('x')`, `IDENTIFIED WITH plugin BY 'x'`.
_SQL_PASSWORD: Final = compile_lazily(
    r"(?i)(?:\b(?:old_)?password\([ \t]{0,8}"
    r"|\bidentified[ \t]{1,8}with[ \t]{1,8}[\w\-]{1,64}[ \t]{1,8}by[ \t]{1,8})"
    # (a quote doubled inside is SQL's escape of it: `'it''s'`)
    r"(?P<q>[\"'])(?P<secret>(?:(?P=q)(?P=q)|(?!(?P=q))[^\\\n]|\\.){1,512})(?P=q)"
)
# A password SQL gives unquoted or dollar-quoted, as a driver echoes the statement back: Oracle's
# `CREATE USER scott IDENTIFIED BY tiger` (and its old one, `REPLACE lion`; a database link's `CONNECT TO
# scott IDENTIFIED BY tiger`), PostgreSQL's `PASSWORD $$x$$` / `$pw$x$pw$`.
# A bind parameter (`%s`, `%(pw)s`, `:pw`, `?`, `$1`) stays, as do Oracle's `IDENTIFIED BY VALUES` (its
# hash follows, quoted: read by `key_space_value`) and MySQL's `IDENTIFIED BY RANDOM PASSWORD`.
_SQL_BARE_PASSWORD: Final = compile_lazily(
    # (the user's or the role's name before it, after `USER`, `ROLE` or `TO`: prose's "the row identified
    # by id 42" stays)
    r"(?i)\b(?:user|role|to)[ \t]{1,8}(?:if[ \t]{1,8}not[ \t]{1,8}exists[ \t]{1,8})?[^\s;]{1,128}[ \t]{1,8}"
    r"identified[ \t]{1,8}by[ \t]{1,8}(?!(?:values|random)\b)"
    r"(?P<secret>[^\s\"'`;,()%:?$@][^\s\"'`;,()]{0,127})"
    r"(?:[ \t]{1,8}replace[ \t]{1,8}(?P<old>[^\s\"'`;,()%:?$@][^\s\"'`;,()]{0,127}))?"
)
_SQL_DOLLAR_PASSWORD: Final = compile_lazily(
    r"(?i)\b(?:password|identified[ \t]{1,8}by|secret)[ \t]{1,8}(?P<tag>\$[A-Za-z_]{0,16}\$)"
    r"(?P<secret>[^\n]{1,512}?)(?P=tag)"
)


def _sql_bare_password(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_SQL_BARE_PASSWORD, text, "sql_password", ("secret", "old"))


# Stored procedures and functions that take a secret by its position, and the (0-based) positions of the
# arguments that are one, as their vendors document them: a literal there is hidden, a name or a call
# stays. (MySQL's `ENCODE(str, pass)` is left out: PostgreSQL's `encode(data, 'hex')` shares its name; so
# are pgcrypto's `encrypt(data, key, type)`, named like every cipher's method, and DBMS_CLOUD's
# CREATE_CREDENTIAL, whose third argument is a password or a tenancy's id by which overload is called.)
_SQL_SECRET_ARGUMENTS: Final = {
    # SQL Server: a login's password (and the old one), an application role's, a linked server's remote
    # login's, a distributor's; a passphrase; the password PWDENCRYPT hashes and PWDCOMPARE checks
    "sp_addlogin": (1,),  # loginame, passwd, defdb, ...
    "sp_password": (0, 1),  # old, new, loginame
    "sp_addlinkedsrvlogin": (4,),  # rmtsrvname, useself, locallogin, rmtuser, rmtpassword
    "sp_addapprole": (1,),  # rolename, password
    "sp_approlepassword": (1,),  # rolename, newpwd
    "sp_setapprole": (1,),  # rolename, password, ...
    "sp_adddistributor": (2,),  # distributor, heartbeat_interval, password
    "encryptbypassphrase": (0,),  # passphrase, cleartext, ...
    "decryptbypassphrase": (0,),  # passphrase, ciphertext, ...
    "pwdencrypt": (0,),  # password
    "pwdcompare": (0,),  # clear_text_password, password_hash
    # MySQL: the key of its AES and DES functions
    "aes_encrypt": (1,),  # str, key_str, ...
    "aes_decrypt": (1,),
    "des_encrypt": (1,),
    "des_decrypt": (1,),
    # PostgreSQL's pgcrypto (and every `crypt(password, salt)`: C's, PHP's, Perl's, Python's)
    "crypt": (0,),  # password, salt
    "hmac": (1,),  # data, key, type
    "pgp_sym_encrypt": (1,),  # data, psw, options
    "pgp_sym_encrypt_bytea": (1,),
    "pgp_sym_decrypt": (1,),  # msg, psw, options
    "pgp_sym_decrypt_bytea": (1,),
    "pgp_pub_decrypt": (1, 2),  # msg, key (a private key), psw
    "pgp_pub_decrypt_bytea": (1, 2),
    # Oracle: a credential's password, an SMTP login's, a cipher's key
    "dbms_credential.create_credential": (2,),  # credential_name, username, password, ...
    "dbms_scheduler.create_credential": (2,),
    "utl_smtp.auth": (2,),  # c, username, password, schemes
    "dbms_crypto.encrypt": (2,),  # src, typ, key, iv
    "dbms_crypto.decrypt": (2,),
    "dbms_crypto.mac": (2,),  # src, typ, key
}
# Every call above contains one of these (lower-cased).
_SQL_SECRET_CALL_TRIGGERS: Final = ("sp_", "crypt", "hmac", "dbms_", "utl_smtp", "pwdcompare")
# One of them called (`crypt(`) or executed (`EXEC sp_addlogin 'bob', ...`), its name maybe qualified
# (`master.dbo.sp_addlogin`, `SYS.DBMS_CRYPTO.ENCRYPT`), not inside a longer name (`bcrypt(`, `my_hmac(`).
_SQL_SECRET_CALL: Final = compile_lazily(
    lambda: (
        r"(?i)(?<![\w$#@])(?P<name>"
        + "|".join(map(re.escape, sorted(_SQL_SECRET_ARGUMENTS, key=len, reverse=True)))
        + r")(?![\w$#])(?:[ \t]{0,8}\(|[ \t]{1,8}(?=[NnEe]?'|\d|@))"
    )
)
# An argument: a string literal (its quote doubled inside, as SQL escapes it; `N'...'` and `E'...'`), or
# anything else up to the next comma (a name, a number, `NULL`, a call with its own arguments); a named
# one (T-SQL's `@passwd = 'x'`, PL/SQL's `password => 'x'`) is read by the rules of pairs.
_SQL_ARGUMENT: Final = compile_lazily(
    r"[ \t]{0,8}(?P<named>@\w{1,128}[ \t]{0,8}=|\w{1,128}[ \t]{0,8}=>)?[ \t]{0,8}"
    r"(?:[NnEe]?(?P<q>['\"])(?P<literal>(?:(?P=q)(?P=q)|(?!(?P=q))[^\\\n]|\\.){0,512})(?P=q)"
    r"|(?:[^,()'\"\n;]|\((?:[^()'\"\n]|'[^'\n]{0,256}'|\"[^\"\n]{0,256}\"){0,256}\)){0,512})"
    r"[ \t]{0,8}(?P<comma>,)?"
)


def _sql_secret_argument(_: RuleRunner, text: str) -> Iterator[Finding]:
    """`EXEC sp_addlogin 'bob', 'x'`, `crypt('x', gen_salt('bf'))`, `pgp_sym_encrypt(data, 'x')`: the
    literal a procedure or function takes by position as a password or key (`_SQL_SECRET_ARGUMENTS`)."""
    for call in _SQL_SECRET_CALL.finditer(text):
        secret = _SQL_SECRET_ARGUMENTS[call["name"].lower()]
        position = call.end()
        for index in range(max(secret) + 1):
            argument = _SQL_ARGUMENT.match(text, position)
            if argument is None or argument["named"]:
                break  # (SQL puts no argument by position after a named one)
            literal = argument["literal"]
            if index in secret and literal and not _is_kept(literal, "password", text, 0):
                yield Finding(*argument.span("literal"), "sql_password")
            if argument["comma"] is None:
                break
            position = argument.end()


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


# Wrappers named for what they do to a secret rather than for the secret: Puppet's `Sensitive('x')`,
# AWS CDK's `SecretValue.unsafe_plain_text` is a call (not here), Pulumi's `Output.secret('x')`.
_SECRET_WRAPPERS: Final = frozenset({"Sensitive", "SensitiveString", "SensitiveValue"})


def _wrapper_call(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    def keep(match: re.Match[str], secret: str) -> bool:
        return (
            match["name"] in _SECRET_WRAPPERS or redactor.is_secret_key(match["name"], in_text=True)
        ) and not _is_kept(secret, "password", text, match.end())

    return _group_findings(_WRAPPER_CALL, text, "secret_call", keep=keep)


# Calls that take a secret, as a traceback's source line shows them: a string literal passed as the
# password or key (the positional argument's index, or a keyword) is hidden; a name passed stays.
_SECRET_CALL: Final = compile_lazily(
    r"(?:\b(?P<auth>(?:HTTP)?(?:Basic|Digest|Proxy)Auth)|\.(?P<login>login)|\bjwt\.(?P<jwt>encode|decode)"
    r"|\bhmac\.(?P<hmac>new|digest)|\b(?P<keyring>keyring)\.set_password|\.(?P<setpw>set_password|pass_)"
    r"|\b(?P<makepw>make_password|check_password)"
    # a password hashed or checked (`hashlib.pbkdf2_hmac("sha256", b"...", salt, n)`, `bcrypt.hashpw(b"...",
    # salt)`, passlib's `pwd_context.verify("...", hashed)`), a zip file's (`zf.setpassword(b"...")`)
    r"|\b(?:hashlib\.)?(?P<pbkdf2>pbkdf2_hmac)|\b(?:hashlib\.)?(?P<scrypt>scrypt)"
    r"|\bbcrypt\.(?P<bcrypt>hashpw|checkpw|kdf)|\b(?P<passlib>\w{0,32}(?:pwd|password)_?(?:context|ctx|hasher))"
    r"\.(?:hash|verify|encrypt|verify_and_update)|\.(?P<zippw>setpassword)"
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
    "pbkdf2_hmac", "scrypt", "bcrypt.", "context.", "ctx.", "hasher.", "setpassword(", *_CIPHER_TRIGGERS,
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
    "pbkdf2": (1, ("password",)),
    "scrypt": (0, ("password",)),
    "bcrypt": (0, ("password",)),
    "passlib": (0, ("secret", "password")),
    "zippw": (0, ("pwd",)),
}
_CALL_ARGUMENT: Final = compile_lazily(
    r"[ \t]{0,8}(?:(?P<name>[A-Za-z_]\w{0,63})[ \t]{0,8}=(?!=)[ \t]{0,8})?"
    # (a literal made bytes where it stands: `"x".encode()`, `'x'.encode("utf-8")`)
    r"(?:[bBrRuU]{0,2}(?P<q>[\"'])(?P<literal>(?:(?!(?P=q))[^\\\n]|\\.){1,4096})(?P=q)"
    r"(?:\.encode\([^()\n]{0,32}\))?"
    r"|(?:[^,()\[\]{}\"'\n]|\([^()\n]{0,256}\)|\[[^\[\]\n]{0,256}\]|\{[^{}\n]{0,256}\}){0,1024})"
    r"[ \t]{0,8}(?P<end>[,)])"
)


def _call_arguments(text: str, position: int, at_most: int = 16) -> Iterator[re.Match[str]]:
    """The arguments of the call whose `(` ends before `position` (`_CALL_ARGUMENT` matches), up to its
    closing `)`, `at_most` of them, or to the first the pattern cannot read."""
    for _count in range(at_most):
        argument = _CALL_ARGUMENT.match(text, position)
        if argument is None:
            return
        yield argument
        if argument["end"] == ")":
            return
        position = argument.end()


def _secret_call(_: RuleRunner, text: str) -> Iterator[Finding]:
    """`HTTPBasicAuth('bob', 'x')`, `smtp.login(u, 'x')`, `jwt.encode(p, 'x')`, `hmac.new(b'x', ...)`,
    `user.set_password('x')`: the string literal a call takes as its secret."""
    for call in _SECRET_CALL.finditer(text):
        index, names = _SECRET_ARGUMENT[call.lastgroup or "auth"]
        positional = 0
        for argument in _call_arguments(text, call.end()):
            name = argument["name"]
            literal = argument["literal"]
            if (
                literal
                and (name in names if name else positional == index)
                and not _is_kept(literal, "password", text, 0)
            ):
                yield Finding(*argument.span("literal"), "secret_call")
            positional += name is None


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
        named, weak = False, False
        for argument in _call_arguments(text, call.end()):
            literal = argument["literal"]
            if (
                named
                and literal
                and (not weak or _looks_secret_under_weak_key(literal))
                and not _is_kept(literal, "password", text, argument.end())
            ):
                yield Finding(*argument.span("literal"), "secret_call")
            # A name that reads as a secret only as a key (`pass`, `pin`, `key`: `config.set('smtp', 'pass',
            # 'x')`, `cache.set('key', 'value')`) hides a value that looks like one.
            named = bool(literal and _NAME_LITERAL.fullmatch(literal) and redactor.is_secret_key(literal))
            weak = named and not redactor.is_secret_key(literal, in_text=True)


# An assignment, annotated assignment or keyword argument whose name names a secret and whose value is
# an expression, as a traceback's source line shows it: the string literals it falls back on are the
# secret (`password = settings.get("password") or "x"`, `token = config.get("api", "token",
# fallback="x")`, `db_password = getattr(settings, "DB_PASSWORD", "x")`, `password: str = "x"`,
# `token = env.str("TOKEN", default="x")`, `password = "a" if debug else "b"`); the names the expression
# looks up stay.
# (found forward, a name then `=`: a name read back from each `=` would cost a text of many `=` a
# quadratic time)
_ASSIGNED_NAME: Final = compile_lazily(
    r"(?<![\w.])(?P<name>[A-Za-z_][\w.]{0,127})(?:\[[\"'](?P<item>[^\"'\n]{1,64})[\"']\])?[ \t]{0,8}"
    r"(?::[ \t]{0,8}(?P<annotation>[A-Za-z_][\w.]{0,63}(?:\[[\w., |\[\]]{0,64}\])?)[ \t]{0,8})?:?=(?![=>])"
)
# A string literal in quotes of either kind, its groups named by the caller (`q`: the quote, `literal`:
# the text between, escapes kept).
_QUOTED_LITERAL: Final = r"(?P<{q}>[\"'])(?P<{literal}>(?:(?!(?P={q}))[^\\\n]|\\.){{1,4096}})(?P={q})"
_EXPRESSION_LITERAL: Final = compile_lazily(
    r"(?<![\w\\])[bBrRuUfF]{0,2}" + _QUOTED_LITERAL.format(q="q", literal="literal")
)
# What stands before a literal the expression falls back on: `or`, `else`, `??`, `||`, a template's
# `default` filter, a shell's `:-`, or a keyword argument that gives a default.
_FALLBACK_BEFORE: Final = compile_lazily(
    r"(?:(?<![\w.])(?:or|else|default)|\?\?|\|\||:-|(?<![\w.])(?:default|fallback|default_value|defaultValue"
    r"|initial|initial_value|value)[ \t]{0,8}=)[ \t]{0,8}\Z"
)
# A lookup whose last argument is the value it falls back on (`os.getenv("K", "x")`, `getattr(o, "k",
# "x")`, `d.get("k", "x")`, `kwargs.pop("k", "x")`, `config("K", "x")`): its name, before its `(`.
_LOOKUP_NAME: Final = compile_lazily(
    r"(?<![\w])(?:get|getenv|getattr|pop|setdefault|get_secret|get_password|get_setting|env|config|str)"
    r"[ \t]{0,8}\Z"
)
_EXPRESSION_END: Final = 1024  # characters of a right-hand side read, at most
_BEFORE_LITERAL: Final = 48  # characters before a literal read for what falls back on it


def _fallback_literal(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    read_to = 0  # the end of the last expression read: a name inside it is not read again
    for target in _ASSIGNED_NAME.finditer(text):
        if target.start() < read_to:
            continue
        name = target["item"] or _last_segment(target["name"])
        if redactor.is_secret_key(name, in_text=True):
            read_to = min(_line_end(text, target.end()), target.end() + _EXPRESSION_END)
            annotated = target["annotation"] is not None
            yield from _fallback_literals(redactor, text, name, target.end(), read_to, annotated)


def _fallback_literals(
    redactor: RuleRunner, text: str, name: str, start: int, end: int, annotated: bool
) -> Iterator[Finding]:
    """The literals the expression from `start` to `end` falls back on (see `_fallback_literal`);
    `annotated`: after a type (`password: str = "x"`), whose literal standing first is the value."""
    first = True
    for literal in _EXPRESSION_LITERAL.finditer(text, start, end):
        value = literal["literal"]
        if first and not text[start : literal.start()].strip():
            hidden = annotated  # (a literal standing first is the key=value rule's, but after a type)
        else:
            hidden = _FALLBACK_BEFORE.search(
                text, max(start, literal.start() - _BEFORE_LITERAL), literal.start()
            ) is not None or _lookup_fallback(text, start, literal.start(), literal.end())
        first = False
        if hidden and _holds_a_secret(redactor, value, name, text, literal.end()):
            yield Finding(*literal.span("literal"), "key_value")


def _holds_a_secret(redactor: RuleRunner, value: str, name: str, text: str, end: int) -> bool:
    """Whether a literal given to a secret's `name` (ending at `end`) is the secret: not hidden already,
    not another secret's name (`getattr(settings, "DB_PASSWORD")`), nothing `_is_kept` keeps."""
    return (
        value != REDACTED
        and not (_NAME_LITERAL.fullmatch(value) and redactor.is_secret_key(value))
        and not _is_kept(value, name, text, end)
    )


# A template's default for a value whose path names a secret (Helm's and Jinja's `{{ .Values.db.password
# | default "x" }}`, `{{ password | default('x') }}`, Helm's `default "x" .Values.apiToken`, as its
# errors quote it too): the literal is the secret the chart or the template ships.
_TEMPLATE_DEFAULT: Final = compile_lazily(
    r"(?P<path>[$.]?[A-Za-z_][\w.\-]{0,255})[ \t]{0,8}\|[ \t]{0,8}default[ \t]{0,8}\(?[ \t]{0,8}"
    + _QUOTED_LITERAL.format(q="q", literal="literal")
    + r"|(?<![\w.])default[ \t]{1,8}"
    + _QUOTED_LITERAL.format(q="q2", literal="literal2")
    + r"[ \t]{1,8}(?P<path2>[$.][\w.\-]{1,256})"
)


def _template_default(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _TEMPLATE_DEFAULT.finditer(text):
        second = match["literal"] is None
        path, group = (match["path2"], "literal2") if second else (match["path"], "literal")
        name = _last_segment(path.strip(".$"))
        value = match[group]
        if redactor.is_secret_key(name, in_text=True) and not _is_kept(value, name, text, match.end(group)):
            yield Finding(*match.span(group), "key_value")


# A secret's name compared with a literal, as a traceback's source line or an assertion's report shows it
# (`if password == "x":`, `assert token != 'x'`, `"x" == api_key`), and httpie's query item
# (`api_key==x`): the literal is the secret the code holds or was given.
_COMPARED_LITERAL: Final = compile_lazily(
    r"(?<![\w.])(?P<name>[A-Za-z_][\w.]{0,127})(?:\[[\"'](?P<item>[^\"'\n]{1,64})[\"']\])?[ \t]{0,8}[!=]="
    r"[ \t]{0,8}[bBrRuU]{0,2}"
    + _QUOTED_LITERAL.format(q="q", literal="literal")
    + r"|[bBrRuU]{0,2}"
    + _QUOTED_LITERAL.format(q="q2", literal="literal2")
    + r"[ \t]{0,8}[!=]=[ \t]{0,8}(?P<name2>[A-Za-z_][\w.]{0,127})(?![\w.(\[])"
    r"|(?<![\w.\-])(?P<name3>[A-Za-z_][\w\-]{0,63})==(?P<literal3>[^\s\"'&=][^\s\"'&]{0,1023})"
)


def _compared_literal(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _COMPARED_LITERAL.finditer(text):
        for name_group, group in (("name", "literal"), ("name2", "literal2"), ("name3", "literal3")):
            if match[group] is None:
                continue
            name = (
                match["item"] if name_group == "name" and match["item"] else _last_segment(match[name_group])
            )
            value = match[group]
            if redactor.is_secret_key(name, in_text=True) and _holds_a_secret(
                redactor, value, name, text, match.end(group)
            ):
                yield Finding(*match.span(group), "key_value")


def _lookup_fallback(text: str, start: int, literal_start: int, literal_end: int) -> bool:
    """Whether the literal from `literal_start` is a lookup's last argument after another (`_LOOKUP_NAME`)."""
    if not (text.startswith(")", literal_end) or text.startswith(" )", literal_end)):
        return False
    head = text[max(start, literal_start - _EXPRESSION_END // 2) : literal_start].rstrip()
    opening = head.rfind("(")
    if not head.endswith(",") or opening < 0 or ")" in head[opening:]:
        return False
    return _LOOKUP_NAME.search(head, max(0, opening - _BEFORE_LITERAL), opening) is not None


# A form field filled by a browser or UI driver, as a test's traceback shows the statement: the text
# typed into a field whose selector, name or label names a secret, given in the same call
# (`page.fill("#password", "x")`) or in the call it is chained to (`page.locator("[name=pass]").fill("x")`,
# `driver.find_element(By.ID, "pwd").send_keys("x")`, `page.get_by_label("Password").type("x")`).
_FILL_CALL: Final = compile_lazily(
    r"\.(?:fill|type|send_keys|set_value|press_sequentially|input_text|fill_in|set_text)[ \t]{0,8}\("
)
_FILL_TRIGGERS: Final = (
    ".fill(", ".type(", ".send_keys(", ".set_value(", ".press_sequentially(", ".input_text(", ".fill_in(",
    ".set_text(",
)  # fmt: skip
_SELECTOR_LITERAL: Final = compile_lazily(r"(?P<q>[\"'])(?P<literal>(?:(?!(?P=q))[^\\\n]|\\.){1,256})(?P=q)")
_SELECTOR_WORD: Final = compile_lazily(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


def _names_a_secret_field(redactor: RuleRunner, selector: str) -> bool:
    """Whether a selector, field name or label names a secret field (`#password`, `input[name=pwd]`,
    `//input[@id='pass']`, "Password")."""
    return any(redactor.is_secret_key(word[0]) for word in _SELECTOR_WORD.finditer(selector))


def _field_fill(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for call in _FILL_CALL.finditer(text):
        # (the selector, the text, options)
        literals = [argument for argument in _call_arguments(text, call.end(), 4) if argument["literal"]]
        if not literals:
            continue
        if len(literals) > 1 and _names_a_secret_field(redactor, literals[0]["literal"]):
            typed = literals[1]
        else:
            start = max(text.rfind("\n", 0, call.start()), text.rfind(";", 0, call.start())) + 1
            statement = text[max(start, call.start() - 512) : call.start()]
            if not any(
                _names_a_secret_field(redactor, selector["literal"])
                for selector in _SELECTOR_LITERAL.finditer(statement)
            ):
                continue
            typed = literals[0]
        if not _is_kept(typed["literal"], "password", text, typed.end()):
            yield Finding(*typed.span("literal"), "secret_call")


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
    def keep(match: re.Match[str], value: str) -> bool:
        if "filename" in match["rest"].lower() or not redactor.is_secret_key(match["name"]):
            return False
        return not _is_kept(value, match["name"], text, match.end())

    return _group_findings(_FORM_FIELD, text, "form_field", ("value",), keep)


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
    yield from _group_findings(
        _DUPLICATE_ENTRY,
        text,
        "sql_key_values",
        ("value",),
        lambda match, _: redactor.is_secret_key(_last_segment(match["key"])),
    )


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
