"""Secrets given by a separator prose uses, by a command line's position or pipe, by a call's position,
in scripts without blanks between words and as a URL's user name; and the ordinary lines around the
same words (`token count 12`, `docker run -u 1000:1000`, `パスワードを忘れた場合`) that must stay."""

from __future__ import annotations

import random
import string
import subprocess

import pytest

from shipper.redaction import REDACTED, findings, redact_text


def _secrets(seed: int, *, plain: bool = True, symbols: str = "!@#%^*_+=~.") -> list[str]:
    """Fake secrets of several shapes: letters and digits, with symbols, base64-like, hex, and (when the
    shape gives the value by a separator that assigns) a plain lower-case word."""
    rng = random.Random(seed)

    def pick(alphabet: str, size: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(size))

    found = [
        "Fk4" + pick(string.ascii_letters + string.digits, 7),
        "Fk4" + pick(string.ascii_letters + string.digits + symbols, 17),
        "Fk4" + pick(string.ascii_letters + string.digits + "+/", 40) + "=",
        "fk4" + pick("0123456789abcdef", 29),
    ]
    return [*found, "fk" + pick(string.ascii_lowercase, 10)] if plain else found


def _assert_hidden(text: str, secret: str, kept: list[str]) -> None:
    redacted = redact_text(text)
    assert secret not in redacted, redacted
    assert [word for word in kept if word not in redacted] == [], redacted
    assert redact_text(redacted) == redacted  # idempotent


def _cases(shapes: list[str], seed: int, **options: object) -> list[object]:
    """Each shape (`{s}` where the secret goes) with each fake secret, with the shape's index in the id."""
    return [
        pytest.param(shape.replace("{s}", secret), secret, id=f"{n}-{len(secret)}")
        for n, shape in enumerate(shapes)
        for secret in _secrets(seed + n, **options)  # type: ignore[arg-type]
    ]


# --- separators ---------------------------------------------------------------------------------------

_ASSIGNING = [
    "password -> {s}",
    "db password => {s}",
    "password\t{s}",
    "PASSWORD\t\t{s}\nUSER\tbob",
    "your password is: {s}",
    "Password : {s}",
    "パスワード：{s}",
    "密码＝{s}",
    "reset done, new password -> {s} (temporary)",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_ASSIGNING, 10))
def test_a_separator_that_assigns_hides_even_a_plain_word(text: str, secret: str) -> None:
    """After `->`, `=>`, a tab, a full-width colon or `is:`, the word is the value whatever its shape (a
    plain lower-case password too), as after `password:`."""
    _assert_hidden(text, secret, [text.split(secret)[0].rstrip(" \t\n：＝")])


_DASHES = [
    "password - {s}",
    "Password — {s}",
    "password – {s}",
    "пароль - {s}",
    "пароль — {s}",
    "token - {s} used",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_DASHES, 20, plain=False))
def test_a_dash_between_a_password_and_a_credential(text: str, secret: str) -> None:
    """`password - X` (hyphen, en and em dash) hides a value that reads like a credential."""
    _assert_hidden(text, secret, [text.split(" ")[0]])


@pytest.mark.parametrize(
    "text",
    [
        "Forgot password - Acme Corp",
        "Change Password — MyApp",
        "token - expired",
        "password -> reset",
        "passwd: password updated successfully",
        "secret: token expired yesterday",
        "password\tchanged",
        "the password is incorrect",
    ],
)
def test_titles_and_statuses_after_a_separator_stay(text: str) -> None:
    """A page title after a dash, and a word of status (or a noun then a status) after any separator,
    are not a password."""
    assert redact_text(text) == text


_PREFIXED_LITERALS = [
    "{'password': u'{s}', 'user': u'bob'}",
    "{'token': r'{s}'}",
    "Config(api_key=rb'{s}')",
    "password=U'{s}'",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_PREFIXED_LITERALS, 30, symbols="!@#%^*_+=~."))
def test_string_literals_with_a_prefix(text: str, secret: str) -> None:
    """A value written as a Python 2 unicode literal or a raw or raw-bytes literal (`u'x'`, `r'x'`,
    `rb'x'`) is hidden whole, not only its prefix letter."""
    _assert_hidden(text, secret, [REDACTED + "'"])


@pytest.mark.parametrize(
    ("text", "secret"),
    _cases(['password" : "{s}", "user": "bob"}', 'secret":"{s}", "id": 7}', "token' : '{s}'"], 40),
)
def test_a_key_whose_opening_quote_was_cut(text: str, secret: str) -> None:
    """A JSON or repr pair cut before its key's opening quote (`password" : "x"`) hides its value."""
    _assert_hidden(text, secret, ['" : "' if '" : "' in text else ":"])


# --- command lines ------------------------------------------------------------------------------------

_POSITIONAL = [
    ("htpasswd bob {s}", "htpasswd bob"),
    ("htpasswd -B bob {s}", "htpasswd -B bob"),
    ("htpasswd -b /etc/nginx/.htpasswd bob {s}", ".htpasswd bob"),
    ("htpasswd -nb bob {s}", "-nb bob"),
    ("mysqladmin -u root password {s}", "mysqladmin -u root password"),
    ("mysqladmin -uroot -h db password '{s}'", "password '"),
    ("smbpasswd -a bob {s}", "smbpasswd -a bob"),
    ("lftp -u bob,{s} sftp://files", "-u bob,"),
    ("useradd -m -p {s} bob", " bob"),
    ("usermod -p '{s}' bob", " bob"),
    ("sqlcmd -S db -U sa -P {s} -Q 'select 1'", "-U sa -P"),
    ("bcp dbo.t out t.dat -S db -U sa -P {s}", "-U sa -P"),
    ("ncftp -u bob -p {s} files.example.com", "files.example.com"),
    ("ssh-keygen -t ed25519 -N {s} -f key", "-f key"),
    ("ssh-keygen -p -P old -N '{s}' -f key", "-f key"),
    ("curl -ubob:{s} https://api.example.com", "https://api.example.com"),
]


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(shape.replace("{s}", secret), secret, kept, id=f"{shape.split()[0]}-{n}-{len(secret)}")
        for n, (shape, kept) in enumerate(_POSITIONAL)
        for secret in _secrets(50 + n, symbols="!@#%^*_+=~." if "," not in shape else "!@#%^*_+=~")
    ],
)
def test_passwords_commands_take_by_position(text: str, secret: str, kept: str) -> None:
    """A password a command takes as a positional argument after a user or a subcommand (htpasswd,
    mysqladmin, smbpasswd, lftp's `-u user,X`) or by a flag only that command makes a password (useradd
    and ncftp `-p`, sqlcmd and bcp `-P`, ssh-keygen `-N`/`-P`, curl's glued `-ubob:X`) is hidden."""
    _assert_hidden(text, secret, [kept])


_PIPED = [
    ("echo {s} | sudo -S apt-get update", "| sudo -S apt-get update"),
    ("echo '{s}' | sudo -k -S systemctl restart app", "| sudo -k -S"),
    ('echo "{s}" | sudo --stdin ls', "| sudo --stdin ls"),
    ("echo {s} | passwd --stdin bob", "passwd --stdin bob"),
    ("(echo {s}; echo {s}) | smbpasswd -s -a bob", "smbpasswd -s -a bob"),
    ("echo -e '{s}\\n{s}' | smbpasswd -a -s bob", "smbpasswd -a -s bob"),
    ("printf 'bob:{s}' | chpasswd", "'bob:"),
    ("echo bob:{s} | sudo chpasswd", "echo bob:"),
    ("chpasswd <<< 'bob:{s}'", "'bob:"),
    ("passwd --stdin bob <<< {s}", "passwd --stdin bob <<<"),
    ("kinit bob@EXAMPLE.COM <<< '{s}'", "kinit bob@EXAMPLE.COM"),
    (
        "echo {s} | docker login registry.example.com -u bob --password-stdin",
        "docker login registry.example.com",
    ),
    ("printf '{s}' | helm registry login ghcr.io --username bob --password-stdin", "--password-stdin"),
    ("docker login -u bob --password-stdin <<< '{s}'", "docker login -u bob --password-stdin <<<"),
    ("gh auth login --with-token <<< {s}", "gh auth login --with-token <<<"),
    ("openssl rsa -in key.pem -out plain.pem -passin stdin <<< {s}", "-passin stdin <<<"),
    ("vault login - <<< {s}", "vault login - <<<"),
]


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        pytest.param(shape.replace("{s}", secret), secret, kept, id=f"{n}-{len(secret)}")
        for n, (shape, kept) in enumerate(_PIPED)
        for secret in _secrets(70 + n, symbols="@#%^*_+=~.")
    ],
)
def test_passwords_fed_to_a_command_on_its_standard_input(text: str, secret: str, kept: str) -> None:
    """What `echo`/`printf` pipes (alone or from a subshell) into a command that reads a password on its
    standard input (sudo -S, passwd --stdin, smbpasswd -s, chpasswd, kinit, or one an option tells to:
    `--password-stdin`, `--with-token`, `-passin stdin`, `vault login -`), or a here-string given to
    one, is hidden; chpasswd's user name stays."""
    _assert_hidden(text, secret, [kept])


@pytest.mark.parametrize(
    "text",
    [
        "docker login --password-stdin",
        "cat token.txt | docker login --password-stdin -u bob",
        "echo done | tee build.log",
        'grep -c error <<< "$output"',
        "sort -u <<< words.txt | head -n 3",
    ],
)
def test_commands_reading_stdin_fed_no_literal_stay(text: str) -> None:
    """A command that reads its secret from stdin but is fed none in the text (a file piped in, no
    producer at all), and a here-string given to an ordinary command, stay as they are."""
    assert redact_text(text) == text


_ARGV = [
    ["htpasswd", "-b", "/etc/nginx/.htpasswd", "bob", "{s}"],
    ["smbpasswd", "-a", "bob", "{s}"],
    ["curl", "-u", "bob:{s}", "https://api.example.com"],
    ["redis-cli", "-h", "cache", "-a", "{s}", "ping"],
    ["sqlcmd", "-S", "db", "-U", "sa", "-P", "{s}"],
    ["mysqladmin", "-u", "root", "password", "{s}"],
    ["mysql", "-uroot", "-p{s}", "shop"],
    ["ssh-keygen", "-N", "{s}", "-f", "key"],
]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            str(subprocess.CalledProcessError(1, [a.replace("{s}", secret) for a in argv])),
            secret,
            id=f"{argv[0]}-{len(secret)}",
        )
        for argv in _ARGV
        for secret in _secrets(len(argv[0]), symbols="!@#%^*_+=~.")
    ]
    + [
        pytest.param(
            repr(subprocess.CompletedProcess([a.replace("{s}", secret) for a in argv], 0)),
            secret,
            id=f"completed-{argv[0]}-{len(secret)}",
        )
        for argv in _ARGV[:4]
        for secret in _secrets(len(argv[0]) + 1, plain=False)
    ],
)
def test_argv_lists_printed_by_subprocess(text: str, secret: str) -> None:
    """`CalledProcessError`'s message and `CompletedProcess`'s repr print argv as a list: the rules read
    it as the command line it makes, so a password a command takes by position or by its own flag is
    hidden, and the command and its flags stay."""
    command = text.split("[")[1].split(",")[0]
    _assert_hidden(text, secret, [command, "'-"] if "'-" in text else [command])


@pytest.mark.parametrize(
    "text",
    [
        "Command '['htpasswd', '-c', '/etc/nginx/.htpasswd', 'bob']' returned non-zero exit status 1.",
        "Command '['smbpasswd', '-x', 'bob']' returned non-zero exit status 1.",
        'Topics: ( "com.apple.private.alloy.ids", "com.apple.private.alloy.phonecontinuity" )',
        "docker run --rm -u 1000:1000 app:latest",
        "docker exec -u root:root web sh",
        "podman run --user www-data:www-data img",
        "kubectl exec -u app:staff pod -- ls",
        "curl -u 1000:1000 http://localhost/",
    ],
)
def test_list_items_and_user_groups_stay(text: str) -> None:
    """A command's flags in an argv list are not the value of a pair with the command (`'htpasswd',
    '-b'`), a list of names is not a list of pairs, and `-u uid:gid` / `user:group` is no password."""
    assert redact_text(text) == text


# --- calls that sign in with literals --------------------------------------------------------------

_SIGN_IN_CALLS = [
    "    login('bob', '{s}')",
    "    client.login('bob', '{s}')",
    "    self._auth('bob', '{s}')",
    "    authenticate('bob', '{s}')",
    "    sign_in('bob', '{s}')",
    '    user_login("bob", "{s}")',
    "    pxssh.login('db.example.com', 'bob', '{s}')",
    "    conn = pymysql.connect('db', 'bob', '{s}', 'shop')",
    "    ssh.connect('db.example.com', 22, 'bob', '{s}')",
    "    cx_Oracle.connect('bob', '{s}', 'db/orcl')",
    "    ldap.simple_bind_s('cn=admin,dc=example,dc=com', '{s}')",
    "    ldap3.Connection(server, 'cn=bob,dc=example', '{s}')",
    "    smb.SMBConnection('bob', '{s}', 'me', 'srv')",
    "    win32security.LogonUser('bob', 'CORP', '{s}', 2, 0)",
    "    pika.PlainCredentials('guest', '{s}')",
    "    ftplib.FTP('ftp.example.com', 'bob', '{s}')",
    "login('bob', '{s}') failed: 401",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_SIGN_IN_CALLS, 90, symbols="!@#%^*_+=~."))
def test_literals_passed_by_position_to_a_sign_in_call(text: str, secret: str) -> None:
    """In a call whose callee names a login, an authentication, a bind, a connection or credentials, a
    string literal passed by position after the first is hidden (the password's position differs by
    API); the callee, and a host, a DN or a number, stay."""
    callee = text.strip().split("(")[0].split(" = ")[-1]
    _assert_hidden(text, secret, [callee + "("])


_CLIENT_CALLS = [
    "    c = Client('bob', '{s}')",
    "    client = MongoClient('bob', '{s}')",
    "    r = redis.Redis('cache.internal', 6379, 0, '{s}')",
    "    r = redis.StrictRedis('cache', 6379, 0, '{s}')",
    "    s3 = Minio('s3.example.com', 'AKIAEXAMPLE', '{s}')",
    "    smtp = smtplib.SMTP_SSL('mail.example.com', 465, None, None, '{s}')",
    "    jira = JIRA('https://jira.example.com', ('bob', '{s}'))",
    "    api = ApiClient(host, user, '{s}')",
    "    es = Elasticsearch('https://es:9200', 'elastic', '{s}')",
    "    conn = connect(host, user, '{s}')",
    "    conn = pymysql.connect(host, username, '{s}', 'shop')",
    "    ftp.login(user, '{s}')",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_CLIENT_CALLS, 170, plain=False, symbols="!@#%^*_+=~."))
def test_literals_passed_by_position_to_a_client_or_after_a_user(text: str, secret: str) -> None:
    """A string literal passed by position after the first argument to a client's constructor
    (`Client`, `MongoClient`, `Redis`, `Minio`, `SMTP_SSL`) when it reads like a credential, and a
    sign-in call's literal after a name of a user (`connect(host, user, X)`), are hidden."""
    callee = text.strip().split("(")[0].split(" = ")[-1]
    _assert_hidden(text, secret, [callee + "("])


@pytest.mark.parametrize(
    "text",
    [
        "    Client('https://api.example.com', 'v2')",
        "    s3 = boto3.client('s3', 'us-east-1')",
        "    session = boto3.Session('default', 'eu-west-2')",
        "    client = Client('orders', 'worker-7')",
        "    pool = ThreadPool('workers', 'round_robin')",
        "    engine = create_engine('sqlite:///app.db', 'utf-8')",
        "    db = Database('app', 'MyApp.Default')",
        "    client = Client(host, port, 'orders')",
        "    signal.connect(handler, 'clicked')",
        "    client.get('/orders', 'json')",
    ],
)
def test_client_calls_with_ordinary_literals_stay(text: str) -> None:
    """A client's literals that read as a host, a URL, a region, a slug, a version or a name in code,
    and a sign-in call's literal after a name that is no user, stay."""
    assert redact_text(text) == text, findings(text)


@pytest.mark.parametrize(
    "text",
    [
        "    conn = sqlite3.connect('app.db')",
        "    sock.connect(('10.0.0.7', 8080))",
        "    redis.connect('cache.internal', 6379)",
        "    raise AuthError('bad token', 'again')",
        "    login_user(user, remember=True)",
        "    return redirect(url_for('login', next='/orders'))",
        "    signal.connect(handler, 'clicked')",
        "    psycopg2.connect('db.example.com', '/var/run/postgresql')",
    ],
)
def test_calls_that_pass_no_password_stay(text: str) -> None:
    """A call with one literal, a tuple, a host and a port, or a callee that names something else
    (`AuthError`, `login_user`, `url_for`) keeps its arguments."""
    assert redact_text(text) == text


# --- scripts ------------------------------------------------------------------------------------------

_SCRIPTS = [
    "パスワードは{s}です",
    "新しいパスワードは「{s}」です",
    "パスワード：{s}",
    "密码是{s}",
    "你的密码为{s}。",
    "密碼：{s}",
    "口令是{s}",
    "비밀번호는 {s}입니다",
    "비밀번호: {s}",
    "패스워드: {s}",
    "كلمة المرور: {s}",
    "كلمة السر هي {s}",
    "पासवर्ड: {s}",
    "पासवर्ड है {s}",
    "הסיסמה היא {s}",
    "סיסמה: {s}",
    "รหัสผ่าน: {s}",
    "Mật khẩu là {s}",
    "kata sandi: {s}",
    "κωδικός πρόσβασης: {s}",
    "lozinka: {s}",
    "гасло: {s}",
    "トークン：{s}",
    "令牌是{s}",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_SCRIPTS, 110))
def test_passwords_told_in_other_scripts(text: str, secret: str) -> None:
    """`password` (or `token`) in CJK with no blank before the value (`パスワードは`, `密码是`), in Korean,
    Arabic, Hindi, Hebrew, Thai, Vietnamese, Indonesian, Greek, Serbo-Croatian and Ukrainian, then a
    separator or copula, hides the value; the words around it stay."""
    _assert_hidden(text, secret, [text.split(secret)[0].rstrip("「 ")])


@pytest.mark.parametrize(
    "text",
    [
        "パスワードを忘れた場合",
        "パスワードは8文字以上にしてください",
        "パスワードはOKです",
        "密码错误",
        "密码长度为12",
        "密码为空",
        "비밀번호 변경",
        "비밀번호가 틀렸습니다",
        "κωδικός σφάλματος 0x80070005",
        "كلمة المرور غير صحيحة",
        "lozinka je promijenjena",
    ],
)
def test_prose_about_passwords_in_other_scripts_stays(text: str) -> None:
    """Sentences about a password in those scripts, with no value or a number of characters, stay."""
    assert redact_text(text) == text


# --- URLs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "ghp_abcd1234",
        "ghp_AbCdEfGh",
        "gho_12charsxyzw",
        "glpat-abc123xyz",
        "npm_abcdef123456",
        "hf_abcDEF123456",
        "a1b2c3d4e5f6",
        "3f2a9c1de8b7a6",
        "Ab3dEf6hIj9k",
    ],
)
def test_tokens_as_a_url_user_name(token: str) -> None:
    """A provider-prefixed token of any length, or a 12+ character run that alternates letters and
    digits like a generated token, as the user name of a URL is hidden; the host stays."""
    for text in (
        f"git clone https://{token}@github.com/org/repo.git",
        f"remote: https://{token}@gitlab.example.com/x",
    ):
        _assert_hidden(
            text, token, ["@github.com/org/repo.git" if "github" in text else "@gitlab.example.com/x"]
        )


@pytest.mark.parametrize(
    "text",
    [
        "https://bob@github.com/x/y",
        "https://git@github.com/org/repo.git",
        "https://user42@example.com",
        "ssh://deploy2024@h/x",
    ],
)
def test_user_names_in_urls_stay(text: str) -> None:
    """An ordinary user name (a name with a number at most at its end) before `@` stays."""
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "token",
    [
        "AIza" + "Zq7Wm3Xv8" * 4 + "ab",
        "npm_" + "Zq7Wm3Xv8" * 5,
        "lin_api_" + "Zq7Wm3Xv8" * 5,
        "glsa_" + "Zq7Wm3Xv8" * 4,
    ],
)
def test_provider_tokens_a_little_longer_than_their_format(token: str) -> None:
    """A provider token a few characters longer than its documented length is still hidden."""
    assert token not in redact_text(f"using {token} now")


# --- ordinary lines -----------------------------------------------------------------------------------

ORDINARY = [
    "passing the token to handler2",
    "token count 12",
    "token count: 12",
    "password reset email sent to bob",
    "password reset requested for bob@example.com",
    "tokenizer loaded: bert-base-uncased",
    "secret santa draw done",
    "secret santa: alice -> bob",
    "max_tokens=4096 temperature=0.2",
    "Token expired for user bob",
    "the token was refreshed at 12:00",
    "password policy: min length 12",
    "password_length=12",
    "password strength: weak",
    "api key rotated by vault",
    "session started for bob from 10.0.0.7",
    "cookie consent accepted",
    "Invalid password for user admin from 10.0.0.1 port 22",
    "Failed password for root from 1.2.3.4 port 22 ssh2",
    "passwd: password updated successfully",
    "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=1.2.3.4",
    "secrets loaded: 3",
    "key: value",
    "keyboard interrupt",
    "token bucket refill 12/s",
    "grant_type=password&username=bob",
    "[pass] 12 tests",
    "forwarded the token to worker3 for validation",
    "I NotificationManager: addNotification key=0|com.example.app|121|null|10111",
    "chown -R bob:staff /srv/app",
    "ssh bob@host uptime",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_lines_with_secret_words_stay(text: str) -> None:
    """Ordinary log lines that use the words `token`, `password`, `secret`, `key`, `session`, `auth`
    about something other than a value stay exactly as they were."""
    assert redact_text(text) == text, findings(text)


# --- tables and .netrc --------------------------------------------------------------------------------

_TABLES_AND_NETRC = [
    "| password | {s} |",
    "+----------+------+\n| key      | value |\n+----------+------+\n| api_key  | {s} |\n| user     | bob |",
    "│ password │ {s} │",
    "-[ RECORD 1 ]\nusename  | bob\npasswd   | {s}\nvaluntil |",
    "client_secret | {s}",
    "machine api.example.com login bob password {s}",
    "machine api.example.com\n  login bob\n  password {s}\n",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_TABLES_AND_NETRC, 130, symbols="!@#%^*_+=~."))
def test_table_cells_and_netrc_entries(text: str, secret: str) -> None:
    """A table row whose first cell names a secret (tabulate, rich, psql's expanded display) hides the
    next cell, and a .netrc entry's password after `login user` is hidden; the names stay."""
    _assert_hidden(text, secret, ["passw" if "pass" in text else "_"])


@pytest.mark.parametrize(
    "text",
    [
        "| token_count | 12 |",
        "| password | ******** |",
        "| Password | Required |",
        "│ password │ reset │",
        "| key | value |",
        "| session | 3 |",
        "| Name | Password | Created |",
        "login bob password reset",
        "password_hash|UnsupportedDigestmodError failed",
        "parsers.decrypt_token|InvalidToken",
    ],
)
def test_tables_and_login_lines_without_a_secret_stay(text: str) -> None:
    """A row about a secret's count, a masked or required one, a header row, and a status after
    `login bob password` stay."""
    assert redact_text(text) == text


# --- a plain word told as a password, and a password's abbreviations ------------------------------

_TOLD_PLAIN = [
    "password {s}",
    "the password is {s}",
    "my password was {s} yesterday",
    "ValueError: password was {s}",
    '    raise AuthError("password was {s}")',
    "Exception: bad password {s}",
    "password {s} rejected for bob",
    "login ok, password {s} for bob",
    "passwd {s}",
    "his passphrase is {s}.",
    "pass: {s}",
    "user=bob pass: {s}",
    "pw: {s}",
    "pw={s}",
    "pass={s} host=db",
    "user bob pw {s}",
    "login bob pass {s}",
    "username=bob, passwd {s}",
    "login: bob pass: {s}",
]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(shape.replace("{s}", word), word, id=f"{n}-{word}")
        for n, shape in enumerate(_TOLD_PLAIN)
        for word in ("sunshine", "dragon", "Hunter", "letmein")
    ]
    + _cases(_TOLD_PLAIN, 140, symbols="!@#%^*_+=~"),
)
def test_a_plain_word_told_as_a_password(text: str, secret: str) -> None:
    """A plain word after `password` and a blank or `is`/`was` (ending its clause), after `pass:`/`pw=`,
    or after a user name and a password's abbreviation, is hidden; the names stay."""
    _assert_hidden(text, secret, [text.split()[0].rstrip(":=,").split("=")[0]])


@pytest.mark.parametrize(
    "text",
    [
        "password hashing uses argon2",
        'FATAL:  password authentication failed for user "bob"',
        "the password is hashed with bcrypt",
        "Your password is about to expire",
        "password is optional for guests",
        "password was rejected",
        "The password is stored in the vault",
        "password manager sync failed",
        "password prompt shown",
        "password mismatch for bob",
        "password verification failed",
        "the password was leaked in a breach",
        "passphrase is empty",
        "password complexity failed",
        "your password is safe with us",
        "password is whatever you chose",
        "password grant type not allowed",
        "password login disabled for root",
        "pass: 3 fail: 0",
        "pass: skipped",
        "pw: 0",
        "user root pwd /root",
        "user admin password reset",
        "login failed, user bob, pass rejected",
        "Accepted password for bob from 10.0.0.7 port 22 ssh2",
        "Das Passwort ist falsch",
    ],
)
def test_prose_about_a_password_and_results_stay(text: str) -> None:
    """Prose about a password (a participle, a noun it describes, an adjective, a sentence going on), a
    test's pass count, a working directory and a status after a user stay as they were."""
    assert redact_text(text) == text, findings(text)


# --- delimited rows (CSV, TSV, semicolons) -----------------------------------------------------------

_DELIMITED = [
    "password,{s}",
    "bob,password,{s}",
    "bob;pwd;{s};admin",
    "secret;{s}",
    "api_token,{s},expires,2026-12-31",
    "user,password\nbob,{s}\nalice,{s}",
    "user\tpassword\nbob\t{s}",
    "id,name,token\n1,bob,{s}\n2,alice,{s}",
    '"user","password"\n"bob","{s}"',
    "id;login;Passwort;role\n7;bob;{s};admin",
    "import failed at row 2:\nemail,db_password,host\nbob@example.com,{s},db1",
]


@pytest.mark.parametrize(("text", "secret"), _cases(_DELIMITED, 150, symbols="!@#%^*_+=~."))
def test_delimited_rows_under_a_secret_column_or_after_a_secret_cell(text: str, secret: str) -> None:
    """A cell after a cell naming a secret, and each row's cell under a header column naming one (CSV,
    TSV, semicolons, quoted cells), is hidden; the names and the other cells stay."""
    kept = [cell.strip('"') for cell in text.replace("\t", ",").replace(";", ",").split(",")[:1]]
    _assert_hidden(text, secret, kept)


@pytest.mark.parametrize(
    "text",
    [
        "id,name,email\n1,bob,bob@example.com",
        "password,length\nrequired,8",
        "password,username,email",
        "user,password",
        "token,value\nfoo,",
        "Enter password, then press OK",
        "password, please",
        "passwords, tokens and keys are rotated weekly",
        "a,b,c\n1,2,3",
        "key,cache_key\n1,user:42",
        "session_count,token_count\n3,12",
        "password;********",
        "password,[REDACTED]",
    ],
)
def test_delimited_rows_without_a_secret_stay(text: str) -> None:
    """Rows without a secret column, a header alone, a length or a count, prose with commas and a masked
    value stay as they were."""
    assert redact_text(text) == text, findings(text)


def _glued_secrets(seed: int) -> list[str]:
    """Passwords that spell a secret's name (`S3cretPw`, `MyPass…`): glued to `-p`, the flag reads as one
    named after a password."""
    rng = random.Random(seed)
    tail = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(6))
    return [f"S3cret{tail}Pw", f"MyPass{tail}", f"x{tail}Token9", f"Key{tail}!"]


@pytest.mark.parametrize(
    ("shape", "secret"),
    [
        pytest.param(shape, secret, id=f"{n}-{secret[:3]}")
        for n, shape in enumerate(
            [
                "mysql -uroot -p{s} shop",
                "mysql -u root -p{s} shop",
                str(subprocess.CalledProcessError(1, ["mysql", "-uroot", "-p{s}", "shop"])),
                repr(["mariadb", "-p{s}", "shop"]),
            ]
        )
        for secret in _glued_secrets(n)
    ],
)
def test_the_word_after_a_glued_password_flag_stays(shape: str, secret: str) -> None:
    """A password glued to its short flag (`mysql -pS3cretPw shop`) is hidden and the database after it
    stays, even when the password spells a secret's name and so made the flag look like one named
    after a password, whose value would be the next word."""
    text = shape.replace("{s}", secret)
    redacted = redact_text(text)
    assert secret not in redacted and "shop" in redacted, redacted


def test_argv_after_a_glued_password_flag_stays_and_a_named_flag_still_hides_its_value() -> None:
    """In a program's argv, the argument after `-pS3cretPw` stays, and the one after `--password` (a
    flag named after a password, its value apart) is hidden as before."""
    from shipper.redaction import Redactor

    redactor = Redactor()
    for secret in _glued_secrets(7):
        assert redactor.redact_argv(["mysql", "-uroot", f"-p{secret}", "shop"]) == [
            "mysql", "-uroot", f"-p{REDACTED}", "shop",
        ]  # fmt: skip
        assert redactor.redact_argv(["tool", "--password", secret, "shop"]) == [
            "tool", "--password", REDACTED, "shop",
        ]  # fmt: skip
