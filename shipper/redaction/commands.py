"""Secrets on command lines (password flags such as `mysql -pX` and `curl -u bob:X`, passwords given
by position or fed on standard input, variables set by a command, an option parser's error, an argv
list's repr) and in the transcripts of sessions and protocols (Redis's AUTH, SMTP/IMAP/POP logins,
SASL PLAIN, a debugger's or a REPL's prompt, an expect script, an askpass program).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily
from shipper.redaction.keys import (
    _STATUS_WORDS,
    _is_kept,
    _looks_secret,
    _looks_secret_word,
    _names_secret,
    _random_looking,
)
from shipper.redaction.model import (
    _BARE,
    _QUOTED,
    _QUOTED_VALUE,
    FLAG_VALUE,
    REDACTED,
    Finding,
    RuleRunner,
    _group_findings,
    _is_redacted,
    _lowered,
    _not_redacted,
    _strip_quotes,
    _value_finding,
)

# --- command lines: password flags, positional passwords, stdin-fed passwords, variables --------------------
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
    # curl's client certificate and its password (`-E cert.pem:X`, `--cert`, `--proxy-cert`)
    r"|\bcurl\b[^\n|;&]{0,512}?[ \t](?:-E|--(?:proxy-)?cert)(?:[ \t]{1,8}|=)(?P<q11>[\"']?)"
    r"(?:[A-Za-z]:[\\/])?[^\s:\"']{1,512}:(?P<curlcert>[^\s\"']{1,512})(?P=q11)"
    # `mkpasswd [options] X [SALT]`: its first positional (the options that take a value named)
    r"|\bmkpasswd(?:[ \t]{1,8}(?:-[mSRP][ \t]{0,8}[^\s\-][^\s]{0,63}"
    r"|--(?:method|salt|rounds|password-fd)(?:=|[ \t]{1,8})[^\s]{1,64}|-(?![mSRP])[A-Za-z]"
    r"|--(?!method|salt|rounds|password-fd)[\w\-]{1,32}))*"
    r"[ \t]{1,8}(?P<q12>[\"']?)(?P<mkpasswd>[^\s\-<>|;&\"'][^\s\"']{0,511})(?P=q12)"
)
# A tool's `config set KEY VALUE` (`aws configure set aws_secret_access_key X`, `npm config set
# _authToken X`, Redis `CONFIG SET requirepass X`, and as Redis's MONITOR and slow log quote each
# argument: `"CONFIG" "SET" "requirepass" "X"`).
_CONFIG_SET: Final = compile_lazily(r"(?i)\b(?:configure|config)(?P<q>[\"']?)[ \t]{1,8}(?P=q)set(?P=q)[ \t]")
_ARGUMENT: Final = compile_lazily(r"[ \t]{0,8}(?P<arg>\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s\"']{1,4096})")
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


def _short_password_flag(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _config_set(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """The argument after a secret's name in a `config set` command line (flags and their arguments
    may come between: `aws configure set --profile prod aws_session_token X`)."""
    for match in _CONFIG_SET.finditer(text):
        position, previous = match.end(), ""
        for _ in range(8):  # arguments of the command, at most
            argument = _ARGUMENT.match(text, position)
            if argument is None:
                break
            found = _value_finding(text, *argument.span("arg"), "config_set")
            name = previous.strip("\"'").rsplit(":", 1)[-1]  # `//registry.npmjs.org/:_authToken`
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


def _user_and_p(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _host_and_p(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _echo_to_passwd(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_ECHO_TO_PASSWD, text, "positional_password", ("quoted", "bare"))


# PowerShell's `ConvertTo-SecureString 'x' -AsPlainText` (a string made a SecureString: a password), and
# a Windows tool's `/p:x` (xfreerdp; msbuild's `/p:Name=Value` properties are not read).
_WINDOWS_SECRET: Final = compile_lazily(
    r"(?i:ConvertTo-SecureString)(?:[ \t]{1,8}-[A-Za-z]{1,32}){0,4}[ \t]{1,8}"
    r"(?P<q>[\"'])(?P<string>[^\"'\n]{1,512})(?P=q)"
    r"|(?<![\w/])/p:(?P<p>[^\s\"'=]{1,512})(?=[\s\"']|\Z)"
)


def _windows_secret(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_WINDOWS_SECRET, text, "windows_secret", ("string", "p"), _not_redacted)


def _user_password_flag(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _option_error(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _OPTION_ERROR.finditer(text):
        names = match["flags"] or match["names"]
        if not any(redactor.is_secret_key(name.group()) for name in _OPTION_NAME.finditer(names)):
            continue
        value = _QUOTED_VALUE.match(text, match.end())
        if value is not None and value.group():
            start, end = _strip_quotes(*value.span(), value.group())
            if end > start and text[start:end] != REDACTED:
                yield Finding(start, end, "option_error")


def _positional_password(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _POSITIONAL_PASSWORD.finditer(text):
        groups = (
            "rabbit", "htpasswd", "chpasswd", "stdin", "netuser", "smb", "netuse", "vault", "mysqladmin",
            "htpasswd2", "lftp", "mc", "wpa", "pdftk", "curlcert", "mkpasswd",
        )  # fmt: skip
        name = next(group for group in groups if match[group] is not None)
        if name == "pdftk" and "pdftk" not in text and not _looks_secret_word(match[name]):
            continue  # `set user_pw policy`: pdftk's arguments read alone only when they look like one
        if match.group(name) != REDACTED:
            yield Finding(*match.span(name), "positional_password")


def _piped_password(_: RuleRunner, text: str) -> Iterator[Finding]:
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


def _argv_repr(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


# SNMP's community string (a password sent in the clear): `snmpwalk -v2c -c X host`, Cisco's
# `snmp-server community X RO`, net-snmp's `rocommunity X`/`rwcommunity6 X` and `com2sec name source X`.
_SNMP_COMMUNITY: Final = compile_lazily(
    r"(?i)(?:\bsnmp[a-z\-]{0,32}\b[^\n|;&]{0,256}?[ \t](?-i:-c)[ \t]{0,8}"  # (`-Cc`: an application option)
    r"|\bsnmp-server[ \t]{1,8}community[ \t]{1,8}|(?<![\w\-])(?:r[ow]community6?|trapcommunity)[ \t]{1,8}"
    r"|\bcom2sec6?[ \t]{1,8}(?:-Cn[ \t]{1,8}[^\s]{1,64}[ \t]{1,8})?"
    r"[^\s]{1,64}[ \t]{1,8}[^\s]{1,64}[ \t]{1,8})"
    r"[\"']?(?P<secret>[^\s\"']{1,256})"
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


def _setenv(redactor: RuleRunner, text: str) -> Iterator[Finding]:
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


def _variable_command(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """The value a command verb gives a variable named like a secret (`setx DB_PASSWORD X`)."""
    lowered = _lowered(text)
    if not any(verb in lowered for verb in _VERBS):
        return  # (`setting`, `reset`, `setSystemUiVisibility`: four `in`s spare a scan of the text)
    for match in _VARIABLE_COMMAND.finditer(text):
        if "_" in match["key"] or match["key"].isupper():
            yield from _variable_value(redactor, text, match)


def _env_item(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _ENV_ITEM.finditer(text):
        yield from _variable_value(redactor, text, match)


def _variable_value(redactor: RuleRunner, text: str, match: re.Match[str]) -> Iterator[Finding]:
    """The value of a variable set by a command, when its name names a secret and it is no reference."""
    key = match["key"]
    start, end = _strip_quotes(*match.span("value"), match["value"])
    value = text[start:end]
    if value[:1] in "$%-" or not redactor.is_secret_key(key):
        return  # `setx TOKEN %OLD_TOKEN%`, `export API_KEY $KEY`: a reference to where it is
    if not _is_kept(value, key, text, end):
        yield Finding(start, end, "key_value")


# A command that prints a secret, and what it printed: the line after it in a shell's transcript or a CI
# job's log (`$ argocd admin initial-password` then the password, `vault kv get -field=password ...`,
# `kubectl get secret ... | base64 -d`, `aws secretsmanager get-secret-value ... --output text`, a password
# manager's or a keychain's lookup, `openssl rand -hex 32`, `cat` of a file named for a secret). The
# command may follow a prompt or a shell trace's `+`; its output is one word on the next line (or after
# one blank line). A message in words (`Error: no such secret`) is no secret.
# A shell's prompt (`$ `, `bob@host:~/src$ `) or trace (`+ `) before a command.
_SHELL_PROMPT: Final = r"(?:[$#%>+][ \t]{1,4}|[\w.@\-]{1,64}[:~\w/.\-]{0,128}[$#%>][ \t]{1,4})"
_PRINTS_A_SECRET: Final = compile_lazily(
    rf"(?m)^[ \t]{{0,8}}(?:{_SHELL_PROMPT}"
    # (words that begin prose too, `pass`, `cat`, `op read`: only after a prompt or a shell trace's `+`)
    r"(?:sudo[ \t]{1,4})?"
    r"(?:pass(?:[ \t]show)?[ \t](?!-)|op[ \t]read"
    r"|cat[ \t][^\n|;&]{0,512}(?:initialAdminPassword|node-token|/run/secrets/|password|passwd|token|secret)"
    r"[^\n/|;&]{0,128})"
    rf"|{_SHELL_PROMPT}?(?:sudo[ \t]{{1,4}})?(?:"
    r"argocd[ \t]admin[ \t]initial-password"
    r"|(?:kubectl|oc)[ \t][^\n|]{0,512}\bget[ \t]secrets?\b[^\n]{0,512}\|[ \t]{0,4}base64[ \t]{1,4}"
    r"(?:-d|--decode|-D)"
    r"|vault[ \t](?:kv[ \t]get|read)[ \t][^\n]{0,512}-field[= ]"
    r"|aws[ \t](?:secretsmanager[ \t]get-secret-value|codeartifact[ \t]get-authorization-token"
    r"|ssm[ \t]get-parameters?[ \t][^\n]{0,512}--with-decryption)[^\n]{0,512}--output[ \t=]text"
    r"|aws[ \t]ecr(?:-public)?[ \t]get-login-password"
    r"|gcloud[ \t](?:auth[ \t]print-(?:access|identity)-token|secrets[ \t]versions[ \t]access)"
    r"|az[ \t](?:keyvault[ \t]secret[ \t]show|account[ \t]get-access-token)[^\n]{0,512}"
    r"(?:-o|--output)[ \t=]tsv"
    r"|gh[ \t]auth[ \t]token|heroku[ \t](?:auth:token|config:get)"
    r"|bw[ \t]get[ \t](?:password|totp)|security[ \t]find-(?:generic|internet)-password[^\n]{0,512}[ \t]-w\b"
    r"|secret-tool[ \t]lookup|keyring[ \t]get|doppler[ \t]secrets[ \t]get[^\n]{0,512}--plain"
    r"|sops[ \t](?:-d|--decrypt)[^\n]{0,512}--extract|openssl[ \t]rand|pwgen|kubeadm[ \t]token[ \t]create"
    r"))[^\n]{0,1024}\r?\n(?:[ \t]{0,8}\r?\n)?[ \t]{0,8}(?P<secret>[^\s$#>+][^\s]{3,4095})[ \t]{0,8}"
    r"(?:\r?\n|\Z)"
)
_PRINTS_A_SECRET_TRIGGERS: Final = (
    "initial-password", "base64", "-field", "--output", "get-login-password", "print-access-token",
    "print-identity-token", "versions access", "tsv", "auth token", "auth:token", "config:get", "op read",
    "pass ", "bw get", "-password", "secret-tool", "keyring get", "--plain", "--extract", "openssl rand",
    "pwgen", "token create", "cat ",
)  # fmt: skip


def _printed_secret(_: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _PRINTS_A_SECRET.finditer(text):
        secret = match["secret"]
        if secret != REDACTED and not secret.endswith(":") and secret.lower() not in _STATUS_WORDS:
            yield Finding(*match.span("secret"), "printed_secret")


# --- transcripts of sessions and protocols: Redis, SMTP/IMAP/POP, SASL, prompts, expect ---------------------
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
# An interactive session printing an expression named like a secret, its value on the next line:
# `(Pdb) p password`, `>>> api_key`, IPython's `In [3]: token` then `Out[3]: '...'`.
_PROMPT_EXPRESSION: Final = compile_lazily(
    r"(?m)^[ \t]{0,8}(?:\(Pdb\)[ \t]{1,8}(?:pp?[ \t]{1,8}|print\()|>>>[ \t]{1,8}(?:print\()?"
    r"|In[ \t]\[[0-9]{1,6}\]:[ \t]{1,8})"
    r"(?P<name>[A-Za-z_][\w.]{0,127})\)?[ \t]*\r?\n(?:Out\[[0-9]{1,6}\]:[ \t]{1,8})?(?P<value>[^\n]{1,4096})"
)


def _prompt_expression(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for match in _PROMPT_EXPRESSION.finditer(text):
        found = _value_finding(text, *match.span("value"), "prompt_expression")
        if _names_secret(redactor, match["name"], text[found.start : found.end]):
            yield found


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


def _redis_command_auth(_: RuleRunner, text: str) -> Iterator[Finding]:
    if "AUTH" in text:
        yield from _group_findings(
            _REDIS_COMMAND_AUTH,
            text,
            "redis_auth",
            ("quoted", "secret", "quoted2", "secret2", "quoted3", "secret3"),
            lambda _, secret: secret.lower() not in _STATUS_WORDS,
        )


def _redis_auth_line(_: RuleRunner, text: str) -> Iterator[Finding]:
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


# redis-cli's array reply, an item a numbered line (`1) "requirepass"`, `2) "X"`): CONFIG GET and
# HGETALL answer with a field's name as an odd item and its value as the next, each on its own line.
_REPLY_ITEM: Final = compile_lazily(
    r'(?m)^[ \t]{0,32}(\d{1,6})\)[ \t]{1,4}"((?:[^"\\\n]|\\.){0,4096})"[ \t]*\r?$'
)


def _numbered_reply(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    """The value after a secret's name in an array reply (the value the next numbered item, on the
    next line)."""
    items = list(_REPLY_ITEM.finditer(text))
    for name, value in itertools.pairwise(items):
        number = int(name[1])
        if (
            number % 2 == 1
            and int(value[1]) == number + 1
            and text.count("\n", name.end(), value.start()) == 1
            and _names_secret(redactor, name[2], value[2])
        ):
            yield Finding(*value.span(2), "redis_reply")


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


def _protocol_login(_: RuleRunner, text: str) -> Iterator[Finding]:
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


# A command that stores a secret under a name, its value given by a flag of any value (`aws ssm
# put-parameter --name /prod/db/password --value x`, `az keyvault secret set --name db-password --value
# x`, `gh secret set TOKEN --body x`): the value, when the name, or the command's `secret set`, says so.
_VALUE_FLAG: Final = compile_lazily(
    r"(?<![\w\-])--(?:value|body|secret-string|secret-value|secret-binary)(?:[ \t]{1,8}|=)(?P<q>[\"']?)"
    r"(?P<secret>(?!-)[^\s\"']{1,4096})(?P=q)"
)
_VALUE_FLAG_TRIGGERS: Final = ("--value", "--body", "--secret-")
_STORED_UNDER: Final = compile_lazily(
    r"(?:(?<![\w\-])(?:--name|--key|--parameter-name|--secret-id|-n)(?:[ \t]{1,8}|=)[\"']?"
    r"(?P<name>[^\s\"']{1,256})|(?<![\w\-])(?P<verb>secrets?[ \t]{1,8}set)[ \t])"
)
_NAME_PARTS: Final = compile_lazily(r"[^/.:]{1,128}")


def _value_flag(redactor: RuleRunner, text: str) -> Iterator[Finding]:
    for flag in _VALUE_FLAG.finditer(text):
        earliest = max(0, flag.start() - 1024)
        line = text[max(text.rfind("\n", earliest, flag.start()) + 1, earliest) : flag.start()]
        if any(
            named["verb"] or any(map(redactor.is_secret_key, _NAME_PARTS.findall(named["name"])[-2:]))
            for named in _STORED_UNDER.finditer(line)
        ) and not _is_kept(flag["secret"], "password", text, flag.end()):
            yield Finding(*flag.span("secret"), FLAG_VALUE)


# A subcommand named for the secret it sets, the secret next (`grafana cli admin reset-admin-password x`,
# `neo4j-admin dbms set-initial-password x`, `ngrok config add-authtoken x`): a value that reads as one.
_SECRET_SUBCOMMAND: Final = compile_lazily(
    r"(?<![\w\-/.])[a-z][a-z0-9]{0,31}(?:-[a-z0-9]{1,31}){0,4}-(?:password|passwd|passphrase|authtoken|token"
    r"|secret)[ \t]{1,8}(?P<q>[\"']?)(?P<secret>(?!-)[^\s\"']{6,4096})(?P=q)"
)
_SECRET_SUBCOMMAND_TRIGGERS: Final = (
    "-password ", "-passwd ", "-passphrase ", "-authtoken ", "-token ", "-secret ",
)  # fmt: skip


def _secret_subcommand(_: RuleRunner, text: str) -> Iterator[Finding]:
    for command in _SECRET_SUBCOMMAND.finditer(text):
        secret = command["secret"]
        if (command["q"] or _looks_secret(secret)) and not _is_kept(secret, "password", text, command.end()):
            yield Finding(*command.span("secret"), "positional_password")


# GitHub Actions' workflow command that masks a value in the log from then on: the runner echoes the
# command itself, the value in it (`::add-mask::x`, and `echo "::add-mask::$X"` once the shell expanded it;
# before, `$X` and `${{ secrets.X }}` name where it comes from).
_ADD_MASK: Final = compile_lazily(r"::add-mask::(?!\$[{A-Za-z_])(?P<secret>[^\s\"'`]{1,4096})")

# An expect script (Tcl's expect, pexpect) that answers a password prompt: the `send`/`sendline` after
# an `expect` of a quoted prompt naming a password, a passphrase, a PIN, a secret or a token sends it.
_EXPECT_SEND: Final = compile_lazily(
    r"(?i)\bexpect\b[^\n\"']{0,64}[\"'][^\n\"']{0,128}?(?:assword|passphrase|passcode|\bpin\b|secret|token)"
    r"[^\n]{0,256}?"
    r"(?:\r?\n[ \t]{0,64}|\\n[ \t]{0,64}|[{;][ \t]{0,8})(?:[\w.]{0,64}\.)?send(?:line|_line)?"
    r"(?:[ \t]{1,8}--)?[ \t]{0,8}\(?[ \t]{0,8}[bru]?(?P<q>[\"'])"
    r"(?P<secret>(?:(?!(?P=q))[^\\\n]|\\(?![rn]).){1,512})"
)
# A SASL PLAIN message (RFC 4616: `[authzid] NUL authcid NUL passwd`), as a bytes repr or a debug dump
# prints what Kafka, AMQP, LDAP, SMTP, IMAP or XMPP clients send (`b'\x00bob\x00x'`, JSON's
# `\u0000bob\u0000x`, or the NUL characters themselves): the password after the second NUL.
_SASL_PLAIN: Final = compile_lazily(
    r"(?P<nul>\\x00|\\u0000|\x00)[^\s\"'\\\x00]{1,256}(?P=nul)"
    # (last in its message: a startup packet's `\x00user\x00app\x00database\x00...` names, no password)
    r"(?P<secret>[^\s\"'\\\x00]{1,512})(?=[\"']|\\r|\\n|\s|\Z)"
)
_SASL_TRIGGERS: Final = ("\\x00", "\\u0000", "\x00")


def _sasl_plain(_: RuleRunner, text: str) -> Iterator[Finding]:
    if "\\x00" in text or "\x00" in text or "\\u0000" in text:  # (`_SASL_TRIGGERS`, written out)
        yield from _group_findings(_SASL_PLAIN, text, "sasl_plain")


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


def _redis_acl(_: RuleRunner, text: str) -> Iterator[Finding]:
    return _group_findings(_REDIS_ACL, _lowered(text), "redis_auth")
