"""A probe of redaction on shapes the corpus and the tests did not hold (the seventh and the eighth
sweeps' batches): leaks and over-redaction, counted and listed.

    python bench/probe_redaction.py [--baseline-rev REV] [--verbose]

Each case is a text with planted secrets (a leak: one of them still stands after `redact_text`, or a
text around them that must stay was lost) or an ordinary text (over-redaction: it changed). The cases
were written before the rules that fix them, as a list of shapes nobody had tried: secrets in reprs
(requests, dataclasses, namedtuples, dicts with bytes keys, `SecretStr`-like objects), escaped and
percent-encoded forms, connection strings of many drivers, credential files (`.netrc`, `.pgpass`,
docker's `auths`, kubeconfig), env dumps, cookies, curl command lines, PEM in JSON, secrets in other
encodings; and the values that must stay (digests, UUIDs, ids, paths, colours, versions).
"""

# ruff: noqa: E501  (a table of cases: each text stays on its line, as written)
from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shipper import redaction  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from bench_redaction import baseline_redact  # noqa: E402

Case = tuple[str, str, list[str], list[str]]  # id, text, secrets, kept


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Vx9Qp3mK"
PEM_TAIL = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXY="

SECRET_CASES: list[Case] = [
    # --- left by the last sweep -------------------------------------------------------------------
    ("typo-pasword", "login with pasword=Hunter2xyz failed", ["Hunter2xyz"], ["login with", "failed"]),
    ("typo-passwrod", "config: passwrod: Tr0ub4dor&3", ["Tr0ub4dor&3"], ["config:"]),
    ("typo-secert", "SECERT_KEY=f9Q2mZ7pLx4vB8nR", ["f9Q2mZ7pLx4vB8nR"], []),
    ("typo-credentails", '{"credentails": "Cr3dzV4lue"}', ["Cr3dzV4lue"], []),
    ("typo-pssword", "pssword: Zz9pw0rdQ", ["Zz9pw0rdQ"], []),
    ("typo-toekn", "toekn=abcDEF123ghiJKL456", ["abcDEF123ghiJKL456"], []),
    ("json-u-escaped-key", '{"\\u0070assword": "Esc4pedPw"}', ["Esc4pedPw"], []),
    ("json-u-escaped-key-2", '{"api\\u005fkey": "Esc4pedKey99"}', ["Esc4pedKey99"], []),
    ("maven-encrypted", "<password>{COQLCE6DU6GtcS5P=}</password>", ["COQLCE6DU6GtcS5P"], ["<password>"]),
    (
        "maven-settings-server",
        "<server><id>nexus</id><username>deploy</username><password>{jSMOWnoPFgsHVpMvz5VrIt5kRbzGpI8u+9EF1iFQyJQ=}</password></server>",
        ["jSMOWnoPFgsHVpMvz5VrIt5kRbzGpI8u"],
        ["<id>nexus</id>", "deploy"],
    ),
    (
        "snmp-community-v",
        "snmpwalk -v2c -c s3cr3tCommunity 10.0.0.1 system",
        ["s3cr3tCommunity"],
        ["snmpwalk", "10.0.0.1"],
    ),
    ("snmp-community-config", "snmp-server community Pr1vComm RW", ["Pr1vComm"], ["snmp-server community"]),
    ("snmp-rocommunity", "rocommunity N0tPublic99 default", ["N0tPublic99"], ["rocommunity"]),
    ("snmpget-c", "snmpget -v 2c -c MyC0mmStr 192.168.1.1 sysUpTime.0", ["MyC0mmStr"], ["snmpget"]),
    ("expect-send", 'expect "Password:"\nsend "Xp3ctPw!\\r"', ["Xp3ctPw!"], ['expect "Password:"']),
    ("expect-send-2", 'expect -re "assword" { send "Hid3Me99\\r" }', ["Hid3Me99"], []),
    (
        "google-refresh-bare",
        "refreshed with 1//0gLx3vT9dQ2kR8mP1zYwCgYIARAAGBASNwF-L9IrXyzAbcDeFgH1jK2lM3nO4pQ",
        ["1//0gLx3vT9dQ2kR8mP1zYwCgYIARAAGBASNwF"],
        ["refreshed with"],
    ),
    (
        "google-access-bare",
        "got ya29.a0AfH6SMBx7Qw2Er4Ty6Ui8Op0AsDfGhJkLzXcVbNm12345 for the call",
        ["ya29.a0AfH6SMBx7Qw2Er4Ty6Ui8Op0AsDfGhJkLzXcVbNm12345"],
        ["for the call"],
    ),
    # --- reprs in tracebacks' locals --------------------------------------------------------------
    (
        "request-repr-headers",
        "request = Request(method='GET', url='https://api.example.com/v1', headers={'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig0123abc', 'Accept': 'application/json'})",
        ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig0123abc"],
        ["Request(method='GET'", "'Accept': 'application/json'"],
    ),
    (
        "dataclass-repr",
        "cfg = DbConfig(host='db.internal', port=5432, user='app', password='Dc9reprPw', timeout=30)",
        ["Dc9reprPw"],
        ["host='db.internal'", "timeout=30"],
    ),
    (
        "namedtuple-repr",
        "creds = Credentials(username='svc', api_key='nt7KeyValue123', region='eu-west-1')",
        ["nt7KeyValue123"],
        ["region='eu-west-1'"],
    ),
    (
        "dict-bytes-keys",
        "headers = {b'authorization': b'Basic dXNlcjpwYXNzd29yZDEyMw==', b'host': b'example.com'}",
        ["dXNlcjpwYXNzd29yZDEyMw=="],
        ["b'host': b'example.com'"],
    ),
    (
        "dict-bytes-key-token",
        "{b'x-api-token': b'Bt7zzTokenValue88', b'content-length': b'12'}",
        ["Bt7zzTokenValue88"],
        ["b'content-length': b'12'"],
    ),
    (
        "secretstr-repr-broken",
        "Settings(db_password=SecretStr('Pyd4nticPw'), debug=False)",
        ["Pyd4nticPw"],
        ["debug=False"],
    ),
    (
        "secret-wrapper-repr",
        "value = Secret(value='Wr4pped!Val')",
        ["Wr4pped!Val"],
        [],
    ),
    (
        "locals-line",
        "    token = 'ghx_Loc4lTok3nValue'\n    user = 'bob'",
        ["ghx_Loc4lTok3nValue"],
        ["user = 'bob'"],
    ),
    (
        "sentry-vars",
        "Local variables:\n  self = <Client at 0x7f>\n  secret = 'Loc4lSecretVal'\n  retries = 3",
        ["Loc4lSecretVal"],
        ["retries = 3"],
    ),
    (
        "kwargs-repr",
        "called with kwargs={'client_secret': 'Kw4rgsSecret', 'scope': 'read'}",
        ["Kw4rgsSecret"],
        ["'scope': 'read'"],
    ),
    (
        "httpx-headers-repr",
        "Headers({'host': 'api.x.io', 'x-api-key': 'Hx7apiKeyValue9'})",
        ["Hx7apiKeyValue9"],
        ["'host': 'api.x.io'"],
    ),
    (
        "prepared-request-list-of-tuples",
        "headers=[('Authorization', 'Token 9f8e7d6c5b4a39281706f5e4d3c2b1a0'), ('Accept', '*/*')]",
        ["9f8e7d6c5b4a39281706f5e4d3c2b1a0"],
        ["('Accept', '*/*')"],
    ),
    (
        "attrs-repr",
        "Config(name='svc', password=b'Byt3sPw99', retries=2)",
        ["Byt3sPw99"],
        ["retries=2"],
    ),
    # --- escaped and encoded ----------------------------------------------------------------------
    (
        "query-urlencoded-value",
        "GET /cb?state=xyz&access_token=ya29%2Ea0AfH6SM%2Bk%2Fq9Zz&x=1",
        ["ya29%2Ea0AfH6SM%2Bk%2Fq9Zz", "a0AfH6SM"],
        ["state=xyz", "x=1"],
    ),
    (
        "query-encoded-key",
        "GET /login?user=bob&pass%77ord=Enc0dedPw1&next=%2Fhome",
        ["Enc0dedPw1"],
        ["user=bob"],
    ),
    (
        "query-double-encoded",
        "redirect=https%253A%252F%252Fx.io%252Fcb%253Ftoken%253DDbl3ncTok99",
        ["Dbl3ncTok99"],
        ["redirect="],
    ),
    (
        "form-body-encoded",
        "body: grant_type=password&username=bob&password=P%40ss%21word9&client_id=web",
        ["P%40ss%21word9"],
        ["client_id=web"],
    ),
    (
        "url-userinfo-encoded",
        "connecting to postgresql://app:p%40ss%3Aw0rd@db:5432/app",
        ["p%40ss%3Aw0rd"],
        ["db:5432/app"],
    ),
    ("hex-encoded-password", "password_hex=48756e746572326d", ["48756e746572326d"], []),
    (
        "basic-b64-userpass-bare",
        f"creds {_b64('admin:Sup3rS3cret!')} sent",
        [_b64("admin:Sup3rS3cret!")],
        ["sent"],
    ),
    (
        "json-escaped-pem",
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\n'
        + PEM_BODY
        + "\\n"
        + PEM_TAIL
        + '\\n-----END PRIVATE KEY-----\\n"}',
        [PEM_BODY, PEM_TAIL],
        ['"private_key"'],
    ),
    (
        "json-escaped-pem-other-field",
        '{"cert": "x", "key_pem": "-----BEGIN RSA PRIVATE KEY-----\\r\\n'
        + PEM_BODY
        + '\\r\\n-----END RSA PRIVATE KEY-----"}',
        [PEM_BODY],
        ['"cert": "x"'],
    ),
    (
        "json-unicode-escaped-value",
        '{"password": "\\u0048unter\\u00322xyz"}',
        ["unter", "2xyz"],
        ['"password"'],
    ),
    # --- connection strings -----------------------------------------------------------------------
    (
        "odbc-pwd",
        "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:db.x.net,1433;DATABASE=app;UID=svc;PWD=Odbc9Pw!x;Encrypt=yes",
        ["Odbc9Pw!x"],
        ["DATABASE=app", "Encrypt=yes"],
    ),
    (
        "odbc-pwd-braced",
        "Driver={PostgreSQL};Server=db;Uid=app;Pwd={br;ace}}d9Pw};",
        ["br;ace", "d9Pw"],
        ["Server=db"],
    ),
    (
        "ado-net",
        "Server=myServer;Database=myDb;User Id=myUser;Password=Ad0NetPw#1;TrustServerCertificate=True",
        ["Ad0NetPw#1"],
        ["Database=myDb", "TrustServerCertificate=True"],
    ),
    (
        "jdbc-password-param",
        "jdbc:postgresql://db:5432/app?user=app&password=Jdbc9Pw&ssl=true",
        ["Jdbc9Pw"],
        ["ssl=true"],
    ),
    (
        "jdbc-sqlserver-semicolon",
        "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=JdbcSq1Pw;encrypt=true",
        ["JdbcSq1Pw"],
        ["encrypt=true"],
    ),
    (
        "jdbc-oracle-thin",
        "jdbc:oracle:thin:scott/T1gerPw@db.x:1521/ORCL",
        ["T1gerPw"],
        ["1521/ORCL"],
    ),
    (
        "mongo-srv",
        "mongodb+srv://admin:M0ngoSrvPw@cluster0.ab1cd.mongodb.net/test?retryWrites=true",
        ["M0ngoSrvPw"],
        ["cluster0.ab1cd.mongodb.net"],
    ),
    ("amqp", "amqps://guest:Amqp9Pw@rabbit:5671/vhost", ["Amqp9Pw"], ["rabbit:5671"]),
    (
        "kafka-jaas",
        'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="kuser" password="Kafk4Pw";',
        ["Kafk4Pw"],
        ['username="kuser"'],
    ),
    (
        "kafka-jaas-scram",
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username='alice' password='Scr4mPw!';",
        ["Scr4mPw!"],
        [],
    ),
    (
        "netrc-line",
        "machine api.heroku.com login me@x.io password 01234567-89ab-cdef-0123-456789abcdef",
        ["01234567-89ab-cdef-0123-456789abcdef"],
        ["machine api.heroku.com"],
    ),
    (
        "netrc-multiline",
        "machine github.com\n  login bob\n  password Ntrc9Pw",
        ["Ntrc9Pw"],
        ["machine github.com"],
    ),
    (
        "pgpass-line",
        "db.internal:5432:appdb:appuser:PgP4ssw0rd",
        ["PgP4ssw0rd"],
        ["db.internal:5432:appdb:appuser"],
    ),
    ("pgpass-port-other", "10.0.0.5:6432:*:report:R3portPw", ["R3portPw"], []),
    (
        "docker-auths",
        '{"auths": {"registry.x.io": {"auth": "' + _b64("ci:D0ckerPw9") + '"}}}',
        [_b64("ci:D0ckerPw9")],
        ["registry.x.io"],
    ),
    (
        "docker-identitytoken",
        '{"auths": {"x.azurecr.io": {"identitytoken": "eyJ0eXAiOi.Jhb.GciOi"}}}',
        ["eyJ0eXAiOi.Jhb.GciOi"],
        [],
    ),
    (
        "kubeconfig-token",
        "users:\n- name: admin\n  user:\n    token: kub3T0kenValue9abc",
        ["kub3T0kenValue9abc"],
        ["name: admin"],
    ),
    (
        "kubeconfig-client-key-data",
        "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NB",
        ["LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NB"],
        [],
    ),
    (
        "kubeconfig-auth-provider",
        "      auth-provider:\n        config:\n          id-token: eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl\n          refresh-token: Rfr3shT0k99",
        ["eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl", "Rfr3shT0k99"],
        [],
    ),
    (
        "aws-credential-process",
        '{"Version": 1, "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SessionToken": "IQoJb3JpZ2luX2VjEGAaCXVzLWVhc3QtMSJHMEUCIQ", "Expiration": "2026-12-05T10:00:00Z"}',
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEGAaCXVzLWVhc3QtMSJHMEUCIQ"],
        ['"Version": 1', "2026-12-05T10:00:00Z"],
    ),
    (
        "azure-sas",
        "PUT https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=rw&se=2026-12-06T00:00:00Z&st=2026-12-05T00:00:00Z&spr=https&sig=Xz9%2BabCDefGHijKLmnOPqrSTuvWXyz0123456789%3D",
        ["Xz9%2BabCDefGHijKLmnOPqrSTuvWXyz0123456789%3D"],
        ["sv=2022-11-02", "sp=rw"],
    ),
    (
        "azure-conn-string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Az9key+ABCdefGHIjklMNOpqrSTUvwxYZ0123==;EndpointSuffix=core.windows.net",
        ["Az9key+ABCdefGHIjklMNOpqrSTUvwxYZ0123=="],
        ["AccountName=acct"],
    ),
    (
        "azure-servicebus",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=Sb9keyABCdefGHIjklMNOpqrSTUvwx0123=",
        ["Sb9keyABCdefGHIjklMNOpqrSTUvwx0123="],
        ["SharedAccessKeyName=RootManageSharedAccessKey"],
    ),
    (
        "gcp-sa-json",
        '{"type": "service_account", "project_id": "proj-1", "private_key_id": "0123456789abcdef0123456789abcdef01234567", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
        + PEM_BODY
        + '\\n-----END PRIVATE KEY-----\\n", "client_email": "sa@proj-1.iam.gserviceaccount.com"}',
        [PEM_BODY, "0123456789abcdef0123456789abcdef01234567"],
        ['"project_id": "proj-1"', "sa@proj-1.iam.gserviceaccount.com"],
    ),
    (
        "redis-url",
        "redis://:R3disPw@cache:6379/0",
        ["R3disPw"],
        ["cache:6379/0"],
    ),
    (
        "sqlalchemy-url-in-repr",
        "Engine(mysql+pymysql://app:MyS9lPw@db/app)",
        ["MyS9lPw"],
        ["Engine(mysql+pymysql://app:"],
    ),
    (
        "ldap-bind",
        "ldapsearch -x -D 'cn=admin,dc=x,dc=org' -w Ld4pPw -H ldap://ldap",
        ["Ld4pPw"],
        ["cn=admin,dc=x,dc=org"],
    ),
    (
        "smb-conn",
        "mount -t cifs //srv/share /mnt -o username=bob,password=Cifs9Pw,vers=3.0",
        ["Cifs9Pw"],
        ["vers=3.0"],
    ),
    (
        "rabbit-uri-in-env",
        "CELERY_BROKER_URL=amqp://celery:C3leryPw@mq:5672//",
        ["C3leryPw"],
        ["mq:5672"],
    ),
    # --- env dumps --------------------------------------------------------------------------------
    ("env-line-db-pass", "DB_PASS=EnvDbPw9", ["EnvDbPw9"], ["DB_PASS="]),
    (
        "export-line",
        "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ["ghp_abcdefghijklmnopqrstuvwxyz0123456789"],
        ["export GITHUB_TOKEN="],
    ),
    (
        "export-quoted",
        "export STRIPE_SECRET='sk_live_51Habcdefghijklmnop'",
        ["sk_live_51Habcdefghijklmnop"],
        [],
    ),
    (
        "env-npm-token",
        "NPM_TOKEN=npm_abcdefghijklmnopqrstuvwxyz0123456789",
        ["npm_abcdefghijklmnopqrstuvwxyz0123456789"],
        [],
    ),
    (
        "env-dump-multi",
        "HOME=/root\nPATH=/usr/bin:/bin\nMYSQL_ROOT_PASSWORD=R00tPw9\nLANG=C.UTF-8",
        ["R00tPw9"],
        ["HOME=/root", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"],
    ),
    (
        "env-sentry-dsn",
        "SENTRY_DSN=https://abcdef0123456789abcdef0123456789@o1.ingest.sentry.io/42",
        ["abcdef0123456789abcdef0123456789"],
        [],
    ),
    ("env-set-windows", "set DB_PASSWORD=W1nEnvPw", ["W1nEnvPw"], []),
    ("env-powershell", '$env:API_KEY = "Ps7ApiKey99"', ["Ps7ApiKey99"], []),
    (
        "docker-run-env",
        "docker run -e POSTGRES_PASSWORD=D0ckEnvPw postgres:16",
        ["D0ckEnvPw"],
        ["postgres:16"],
    ),
    (
        "env-vault-token",
        "VAULT_TOKEN=hvs.CAESIJabcdefghijklmnopqrstuvwxyz",
        ["hvs.CAESIJabcdefghijklmnopqrstuvwxyz"],
        [],
    ),
    ("env-private-key-ssh-agent", "PGPASSWORD=PgEnvPw9 psql -h db", ["PgEnvPw9"], ["psql -h db"]),
    # --- cookies ----------------------------------------------------------------------------------
    (
        "cookie-header",
        "Cookie: sessionid=abc123Sess; csrftoken=Csrf9TokValue",
        ["abc123Sess", "Csrf9TokValue"],
        ["Cookie:"],
    ),
    (
        "set-cookie",
        "Set-Cookie: __Host-sid=S3tC00kieVal; Path=/; Secure; HttpOnly; SameSite=Lax",
        ["S3tC00kieVal"],
        ["Path=/", "SameSite=Lax"],
    ),
    ("cookie-lower-dict", "{'cookie': 'remember_token=Rem3mberTok|xyz'}", ["Rem3mberTok"], []),
    (
        "cookie-jar-repr",
        "<Cookie connect.sid=s%3AabcD3fSess.sig for example.com/>",
        ["abcD3fSess"],
        ["example.com"],
    ),
    (
        "requests-cookie-jar",
        "<RequestsCookieJar[<Cookie JSESSIONID=8F3A1B2C3D4E5F60718293A4B5C6D7E8 for app.x/>]>",
        ["8F3A1B2C3D4E5F60718293A4B5C6D7E8"],
        [],
    ),
    # --- curl -------------------------------------------------------------------------------------
    ("curl-u", "curl -u admin:Curl9Pw https://api.x.io/v1", ["Curl9Pw"], ["https://api.x.io/v1"]),
    ("curl-user-long", "curl --user 'deploy:C9rlPw!' -X POST https://x", ["C9rlPw!"], []),
    (
        "curl-header-auth",
        "curl -H 'Authorization: Bearer abcDEF123.ghiJKL456.mnoPQR789' https://x.io",
        ["abcDEF123.ghiJKL456.mnoPQR789"],
        ["https://x.io"],
    ),
    ("curl-header-apikey", 'curl -H "X-Api-Key: Xk9ApiKeyVal" https://x.io', ["Xk9ApiKeyVal"], []),
    (
        "curl-data-password",
        "curl --data 'username=bob&password=Dat4Pw' https://x.io/login",
        ["Dat4Pw"],
        ["username=bob"],
    ),
    ("curl-data-json", 'curl -d \'{"user":"bob","password":"J50nPw9"}\' https://x.io', ["J50nPw9"], []),
    (
        "curl-data-urlencode",
        "curl --data-urlencode 'client_secret=Cl1entS3c' https://x.io/token",
        ["Cl1entS3c"],
        [],
    ),
    ("curl-oauth2-bearer", "curl --oauth2-bearer Oa2BearerTok9 https://x.io", ["Oa2BearerTok9"], []),
    ("curl-cookie", "curl -b 'session=CurlSessV4l' https://x.io", ["CurlSessV4l"], []),
    ("wget-password", "wget --http-user=bob --http-password=Wg3tPw https://x.io/f", ["Wg3tPw"], []),
    ("httpie-auth", "http -a bob:H77pieP https://x.io", ["H77pieP"], []),
    ("curl-proxy-user", "curl -x http://proxy:3128 -U pxuser:Pr0xyPw https://x", ["Pr0xyPw"], []),
    # --- other shapes -----------------------------------------------------------------------------
    ("yaml-secret-nested", "database:\n  host: db\n  password: YamlNest9", ["YamlNest9"], ["host: db"]),
    ("toml-secret", 'api_token = "T0mlTokVal"', ["T0mlTokVal"], []),
    ("ini-secret", "[db]\npassword = IniPw99\nhost = db", ["IniPw99"], ["host = db"]),
    (
        "properties-secret",
        "spring.datasource.password=Spr1ngPw",
        ["Spr1ngPw"],
        ["spring.datasource.password="],
    ),
    (
        "git-credential",
        "https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r.git",
        ["ghs_abcdefghijklmnopqrstuvwxyz0123456789"],
        ["github.com/o/r.git"],
    ),
    (
        "slack-webhook",
        "posting to https://hooks.slack.com/services/T0000/B0000/XXXXabcdXXXXabcdXXXXabcd",
        ["XXXXabcdXXXXabcdXXXXabcd"],
        [],
    ),
    (
        "stripe-bare",
        "charge failed with key sk_live_51H8abcdefGHIJKLmnopQRST",
        ["sk_live_51H8abcdefGHIJKLmnopQRST"],
        [],
    ),
    (
        "openai-bare",
        "using sk-proj-abcdEFGHijklMNOPqrstUVWX0123456789",
        ["sk-proj-abcdEFGHijklMNOPqrstUVWX0123456789"],
        [],
    ),
    (
        "x-auth-token",
        "X-Auth-Token: 3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5",
        ["3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5"],
        [],
    ),
    ("proxy-authorization", "Proxy-Authorization: Basic " + _b64("p:Pr0xyHdr"), [_b64("p:Pr0xyHdr")], []),
    ("mysql-cli-glued", "mysql -uroot -pMysqlGlu3d -h db", ["MysqlGlu3d"], ["-h db"]),
    ("psql-conninfo", "psql 'host=db user=app password=Ps9lConn dbname=app'", ["Ps9lConn"], ["dbname=app"]),
    (
        "libpq-keyword",
        "connection to server failed: host=db port=5432 user=app password=Lpq9Pw sslmode=require",
        ["Lpq9Pw"],
        ["sslmode=require"],
    ),
    (
        "htpasswd-line",
        "bob:$apr1$abcdefgh$ABCDEFGHIJKLMNOPQRSTUV",
        ["$apr1$abcdefgh$ABCDEFGHIJKLMNOPQRSTUV"],
        [],
    ),
    (
        "shadow-line",
        "root:$6$rounds=5000$saltsalt$Hh3xR8kL0pQz9mN7bV5cX3zA1sD4fG6hJ8kL0pQ2wE4rT6yU8iO0pA2sD4fG6hJ8kL0pQ2wE4rT6yU8iO0pA2:19000:0:99999:7:::",
        ["Hh3xR8kL0pQz9mN7bV5cX3zA1sD4fG6hJ8kL0pQ2wE4rT6yU8iO0pA2sD4fG6hJ8kL0pQ2wE4rT6yU8iO0pA2"],
        [],
    ),
    (
        "openvpn-auth-user-pass-inline",
        "<auth-user-pass>\nvpnuser\nVpnPw9x\n</auth-user-pass>",
        ["VpnPw9x"],
        [],
    ),
    (
        "http-auth-digest",
        'Authorization: Digest username="bob", realm="x", nonce="abc", response="6629fae49393a05397450978507c4ef1"',
        ["6629fae49393a05397450978507c4ef1"],
        [],
    ),
    (
        "graphql-vars",
        '{"query": "mutation Login($p: String!)", "variables": {"email": "a@b.c", "password": "Gql9Pw"}}',
        ["Gql9Pw"],
        ['"email": "a@b.c"'],
    ),
    (
        "python-call-kw",
        "client = boto3.client('s3', aws_secret_access_key='wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzz')",
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzz"],
        [],
    ),
    ("sshpass-cli", "sshpass -p 'Sshp4ss!' ssh bob@host", ["Sshp4ss!"], ["ssh bob@host"]),
    (
        "htpasswd-cmd",
        "htpasswd -b /etc/nginx/.htpasswd bob Htp4sswdPw",
        ["Htp4sswdPw"],
        ["/etc/nginx/.htpasswd"],
    ),
    ("useradd-p", "chpasswd <<< 'bob:Chp4sswd9'", ["Chp4sswd9"], []),
    (
        "secret-in-error-arg",
        "ValueError: invalid token 'Zq8vL2mX9pR4tK7w'",
        ["Zq8vL2mX9pR4tK7w"],
        ["ValueError: invalid token"],
    ),
    ("api-key-in-json-list", '{"headers": [["X-API-KEY", "L1stApiKey9"]]}', ["L1stApiKey9"], []),
    (
        "pydantic-error",
        "1 validation error for Settings\npassword\n  String should have at most 8 characters [type=string_too_long, input_value='Pyd4nticTooLong', input_type=str]",
        ["Pyd4nticTooLong"],
        ["validation error for Settings"],
    ),
    # --- a second batch, written after the first fixes -------------------------------------------
    (
        "asgi-headers-bytes",
        "scope['headers'] = [(b'host', b'x.io'), (b'authorization', b'Bearer Asg1Bear3rTok')]",
        ["Asg1Bear3rTok"],
        ["(b'host', b'x.io')"],
    ),
    (
        "nested-dataclass",
        "AppConfig(name='svc', db=DbConfig(host='db', password='N3stedPw'), debug=True)",
        ["N3stedPw"],
        ["debug=True"],
    ),
    ("declare-x", 'declare -x API_KEY="D3clareKey99"', ["D3clareKey99"], ["declare -x API_KEY="]),
    ("csh-setenv", "setenv DB_PASSWORD Csh3nvPw", ["Csh3nvPw"], ["setenv DB_PASSWORD"]),
    ("dockerfile-env", "ENV SECRET_KEY=D0ckerf1leSecret", ["D0ckerf1leSecret"], []),
    ("docker-build-arg", "docker build --build-arg NPM_TOKEN=Bu1ldArgTok .", ["Bu1ldArgTok"], []),
    (
        "k8s-env-list",
        "env:\n- name: DB_PASSWORD\n  value: K8sEnvPw9\n- name: LOG_LEVEL\n  value: info",
        ["K8sEnvPw9"],
        ["value: info"],
    ),
    ("k8s-env-list-real-newlines", 'env:\n- name: API_TOKEN\n  value: "K8sEnvTok9"', ["K8sEnvTok9"], []),
    ("cookie-mixed", "Cookie: _ga=GA1.2.345.678; auth_token=Ck9AuthTok; theme=dark", ["Ck9AuthTok"], []),
    ("curl-header-cookie", "curl -H 'Cookie: sid=CurlS1dVal' https://x.io", ["CurlS1dVal"], []),
    ("curl-header-eq", "curl --header='X-Auth-Token: CurlH3adTok' https://x.io", ["CurlH3adTok"], []),
    ("curl-u-token-colon", "curl -u Tok3nOnlyValue99: https://api.x.io", ["Tok3nOnlyValue99"], []),
    (
        "kafka-props",
        "ssl.keystore.password=Ks9Pw\nssl.key.password=Kp9Pw\nsasl.password=Sp9Pw",
        ["Ks9Pw", "Kp9Pw", "Sp9Pw"],
        [],
    ),
    ("jdbc-mysql-userinfo", "jdbc:mysql://app:JdbcMyPw9@db:3306/app", ["JdbcMyPw9"], []),
    ("jdbc-braced", "jdbc:sqlserver://db;user=sa;password={Br;aced9Pw}", ["Br;aced9Pw", "aced9Pw"], []),
    ("pgpass-wildcards", "*:*:*:postgres:PgW1ldPw", ["PgW1ldPw"], []),
    ("docker-login-p", "docker login -u ci -p D0ckLoginPw registry.x.io", ["D0ckLoginPw"], ["registry.x.io"]),
    ("kubectl-token-flag", "kubectl --token=Kub3ctlTok99 get pods", ["Kub3ctlTok99"], ["get pods"]),
    (
        "aws-configure-set",
        "aws configure set aws_secret_access_key Aws9SecretAccessKeyValue00",
        ["Aws9SecretAccessKeyValue00"],
        [],
    ),
    (
        "azure-sas-header",
        "Authorization: SharedAccessSignature sr=x.servicebus.windows.net&sig=Sas9Sig%3D&se=1700000000&skn=Root",
        ["Sas9Sig%3D"],
        [],
    ),
    (
        "oauth-client-json",
        '{"installed": {"client_id": "123.apps.googleusercontent.com", "client_secret": "0authCl1entSecret"}}',
        ["0authCl1entSecret"],
        ["123.apps.googleusercontent.com"],
    ),
    (
        "refresh-token-json",
        '{"refresh_token": "1//0eRfr3shT0kenValueThatIsQuiteLongAbcdefghijkl", "scope": "email"}',
        ["1//0eRfr3shT0kenValueThatIsQuiteLongAbcdefghijkl"],
        ['"scope": "email"'],
    ),
    (
        "x-amz-security-token",
        "GET /b/k?X-Amz-Security-Token=IQoJb3JpZ2luX2VjAmzTok&X-Amz-Signature=abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
        ["IQoJb3JpZ2luX2VjAmzTok", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"],
        [],
    ),
    ("url-encoded-json-in-query", "GET /cb?data=%7B%22password%22%3A%22Qry9JsonPw%22%7D", ["Qry9JsonPw"], []),
    ("secret-in-dict-repr-py2", "{u'password': u'Py2UnicodePw'}", ["Py2UnicodePw"], []),
    ("typo-passowrd-json", '{"passowrd": "Tp9Passowrd"}', ["Tp9Passowrd"], []),
    ("typo-authorisation", "Authorisation: Bearer Br1tishBearerTok", ["Br1tishBearerTok"], []),
    ("typo-secrte-env", "APP_SECRTE=Secrte9Value", ["Secrte9Value"], []),
    ("basic-auth-tuple", "auth=('bob', 'Tupl3AuthPw')", ["Tupl3AuthPw"], []),
    ("smtp-login-repr", "server.login('bob@x.io', 'Smtp9LoginPw')", ["Smtp9LoginPw"], []),
    (
        "hex-api-key-header",
        "X-API-KEY: 6f1ed002ab5595859014ebf0951522d9",
        ["6f1ed002ab5595859014ebf0951522d9"],
        [],
    ),
    (
        "pem-in-yaml-block",
        "tls.key: |\n  -----BEGIN EC PRIVATE KEY-----\n  MHcCAQEEIBx9abc\n  -----END EC PRIVATE KEY-----",
        ["MHcCAQEEIBx9abc"],
        [],
    ),
]

NEGATIVE_CASES: list[tuple[str, str]] = [
    ("git-sha", "deployed commit 3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a291 to prod"),
    ("git-short-sha", "HEAD is now at 9fceb02 fix the parser"),
    ("sha256-digest", "pulled image sha256:9b2f5a8e1c3d4f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"),
    ("docker-digest", "nginx@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    ("uuid", "order 123e4567-e89b-12d3-a456-426614174000 shipped"),
    ("uuid-key", "key=123e4567-e89b-12d3-a456-426614174000 not found in cache"),
    ("request-id", "X-Request-Id: 7f3b2c1a-9d8e-4f6a-b5c4-3d2e1f0a9b8c"),
    ("long-identifier", "AbstractSingletonProxyFactoryBeanConfigurationManager started"),
    (
        "java-class",
        "at org.springframework.security.authentication.ProviderManager.authenticate(ProviderManager.java:199)",
    ),
    ("file-path", "cannot open /var/lib/app/secrets/config.yaml: permission denied"),
    ("file-path-token", "read /etc/kubernetes/pki/token-cache/2026/12/05/index.json"),
    ("windows-path", r"C:\Users\bob\AppData\Local\Temp\tokens\cache.db locked"),
    ("css-color", "color: #ff00aa; background-color: #1a2b3c;"),
    ("version", "upgraded requests 2.31.0 -> 2.32.3 (python 3.12.1)"),
    ("semver-build", "version: 1.4.0-rc.2+build.20261205"),
    ("auth-user-pass-path", "openvpn --config client.ovpn --auth-user-pass /etc/openvpn/creds.txt"),
    ("auth-user-pass-path-config", "auth-user-pass /etc/openvpn/auth.txt"),
    ("key-pair-id", "Key-Pair-Id: APKAEIBAERJR2EXAMPLE"),
    ("cloudfront-signed-cookie-name", "CloudFront-Key-Pair-Id=APKAEIBAERJR2EXAMPLE; Path=/"),
    ("token-count", "prompt used token_count=1532 of max_tokens=4096"),
    ("password-changed", "password changed for user bob at 10:42"),
    ("password-policy", "password policy: min length 12, requires digits"),
    ("secret-name", "mounted secret db-credentials into /etc/creds"),
    ("key-not-found", "KeyError: 'user_id'"),
    ("cache-key", "cache miss for key=user:42:profile"),
    ("jwt-mentioned", "JWT expired at 2026-12-05T09:00:00Z, refreshing"),
    ("auth-method", "auth method: oauth2, scope: read write"),
    ("session-ended", "session ended after 3600 s for user 42"),
    ("base64-image", "icon: data:image/png;base64,iVBORw0KGgo"),
    ("ip-port", "connected to 10.0.0.7:5432 in 35 ms"),
    ("etag", 'ETag: "33a64df551425fcc55e4d42a148795d9f25f89d4"'),
    ("md5-checksum", "md5 d41d8cd98f00b204e9800998ecf8427e  file.tar.gz"),
    ("k8s-pod-name", "pod api-7d9f8b6c5d-x2k4p restarted"),
    ("aws-arn", "arn:aws:iam::123456789012:role/app-role assumed"),
    ("s3-key", "uploaded s3://bucket/uploads/2026/12/05/report-final.pdf"),
    ("tracing-ids", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7"),
    ("hex-colour-list", "palette=['#FFAA00', '#00FF7F', '#123456']"),
    (
        "npm-integrity",
        "integrity sha512-Q7n0x1Pzq4Zs8N2m6kYt5V3c9B1xW7a2d4F6h8J0l2N4p6R8t0V2x4Z6b8D0f2H4j6L8n0P2r4T6v8X0z2B4d6F8===",
    ),
    ("go-module-hash", "h1:Ml4a6dJsR0XNsTGQf8VXKbyUhB2BL5WfW6Cdw7hP3wE="),
    ("pip-hash", "--hash=sha256:3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4"),
    ("pgpass-doc", "PGPASSFILE=/home/app/.pgpass"),
    ("password-file-flag", "mysql --defaults-extra-file=/etc/mysql/creds.cnf"),
    ("password-env-ref", "password: ${DB_PASSWORD}"),
    ("token-url", "POST https://oauth2.googleapis.com/token 200"),
    ("cookie-policy", "Set-Cookie header missing SameSite attribute"),
    ("curl-plain", "curl -sSL -o /tmp/x.tar.gz https://example.com/x.tar.gz"),
    ("curl-header-accept", "curl -H 'Accept: application/json' https://api.x.io/v1/items"),
    ("env-path", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"),
    ("env-home", "export HOME=/home/app LANG=en_US.UTF-8"),
    ("dataclass-plain", "Point(x=1, y=2, label='origin')"),
    ("namedtuple-plain", "User(id=42, name='bob', email='bob@example.com')"),
    ("bytes-dict", "{b'content-type': b'application/json', b'content-length': b'42'}"),
    ("query-plain", "GET /search?q=hello%20world&page=2&sort=desc"),
    ("utm-params", "GET /landing?utm_source=newsletter&utm_medium=email&utm_campaign=dec2026"),
    ("mongo-no-creds", "mongodb+srv://cluster0.ab1cd.mongodb.net/test?retryWrites=true&w=majority"),
    ("jdbc-no-creds", "jdbc:postgresql://db:5432/app?ssl=true&sslmode=verify-full"),
    ("odbc-no-pwd", "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db;Trusted_Connection=yes"),
    ("docker-auths-empty", '{"auths": {"registry.x.io": {}}, "credsStore": "desktop"}'),
    ("kubeconfig-plain", "contexts:\n- context:\n    cluster: prod\n    user: admin\n  name: prod"),
    ("snmp-oid", "snmpwalk -v2c 10.0.0.1 1.3.6.1.2.1.1"),
    ("expect-send-plain", 'expect "$ "\nsend "ls -la\\r"'),
    ("hex-number", "register 0x7ffde3a4b2c0 = 0xdeadbeef"),
    ("iso-dates", "window 2026-12-05T09:00:00Z .. 2026-12-05T10:00:00Z"),
    ("passed-tests", "passed=128 failed=2 skipped=4"),
    ("secretary", "secretary role granted to user 42"),
    ("key-value-plain", "key=orders-2026.12.05 shard=3 state=STARTED"),
    ("signature-algorithm", "signature_algorithm=RS256 verified"),
    ("sentry-event-id", "event_id=fc6d8c0c43fc4630ad850ee518f1b9d0 sent"),
    ("long-base64-like-name", "loaded model bert-base-multilingual-cased-finetuned-conll03-english"),
    ("authorization-missing", "Authorization header missing"),
    ("bearer-prose", "requires a bearer token in the request"),
    ("path-with-key-dir", "wrote /srv/keys/public/server.pub"),
    ("ssh-fingerprint", "ECDSA key fingerprint is SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8."),
    ("emoji-text", "user said: thanks! 🎉 password reset worked"),
    ("sql-no-secret", "SELECT id, name FROM users WHERE email = 'a@b.c' LIMIT 10"),
    ("urls-with-at", "see https://github.com/org/repo/blob/main/README.md#install and @alice"),
    ("json-numbers", '{"token_count": 512, "max_tokens": 4096, "key_count": 7}'),
    # --- a second batch ---------------------------------------------------------------------------
    ("identity-file", "IdentityFile ~/.ssh/id_ed25519"),
    ("key-file-flag", "nginx: ssl_certificate_key /etc/ssl/private/server.key"),
    ("key-path-flag", "openssl req -new -key /etc/ssl/private/server.key -out server.csr"),
    ("password-file-flag-path", "docker login --password-stdin < /run/secrets/registry"),
    ("secret-manager-resource", "accessing projects/my-proj/secrets/db-password/versions/3"),
    ("gpg-key-id", "gpg: key 0x1234ABCD5678EF90: public key imported"),
    ("version-beta", "running app v1.2.3-beta.4 on node-7"),
    ("digest-key", "digest: sha256:3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4"),
    ("commit-key", "commit=3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a291 branch=main"),
    ("rgba", "fill: rgba(255, 0, 170, 0.5); stroke: #abcdef"),
    ("session-id-number", "session_id=42 closed"),
    ("token-expired-at", "token expired at 2026-12-05T09:00:00Z"),
    ("typo-near-words", "passed: 12, secrets loaded: 3, tokens: 40, taken: 5"),
    ("secretary-key", "assigned_secretary=alice-smith"),
    ("credentials-loaded", "credentials loaded from environment"),
    ("authorization-ok", "authorization: granted"),
    ("expect-plain", 'expect "login:"\nsend "bob\\r"'),
    ("cookie-repr-prose", "<Cookie policy default>"),
    ("snmp-trap-no-community", "snmptrap -v 3 -u admin -l authPriv 10.0.0.1"),
    ("wrapper-class-names", "Token(type='NAME', value='foo') at line 3"),
    ("odbc-dict-repr", "{'dsn': {'driver': 'x'}}, 'mode': 'ro'}"),
    ("name-like-under-auth", "auth=oauth2-client-credentials"),
    ("http-a-flag", "http -a stdin x.io"),
    ("maven-placeholder", "<password>{env.DB_PASSWORD}</password>"),
    ("format-placeholder", "password={0} user={1}"),
    # --- a third batch ---------------------------------------------------------------------------
    ("docker-password-warning", "WARNING! Using --password via the CLI is insecure. Use --password-stdin."),
    ("password-hash-algorithm", "password_hash_algorithm=argon2id"),
    (
        "access-log",
        '10.0.0.7 - - [05/Dec/2026:09:00:00 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 512 "-" "curl/8.4.0"',
    ),
]


# --- the eighth sweep's batch: shapes no earlier test or probe case had ------------------------------
# Database drivers' and tools' DSNs in more dialects (Oracle's `user/pw@`, Go's `@tcp(...)`), cloud SDKs'
# connection strings and signed URLs, webhooks and bot URLs, HTTP headers and cookies of more frameworks,
# HTML/XML-escaped payloads, JWKs, armoured keys of other kinds (SSH2, OpenVPN, minisign, Tor, BIP32),
# credential files and daemons' and network devices' configuration lines, env dumps, other languages'
# dumps (PHP, Erlang/Elixir, Go, Ruby, Kotlin), keyword arguments split over lines, command flags and
# positional passwords of more tools, keys in more languages; and ordinary texts of the same places.
SECRET_CASES_8: list[Case] = [
    # database drivers / DSNs
    (
        "oracle-ezconnect-connect",
        "cx_Oracle.connect('scott/T1gerOra9@db.internal:1521/ORCLPDB1')",
        ["T1gerOra9"],
        ["db.internal:1521"],
    ),
    ("oracle-jdbc-thin", "jdbc:oracle:thin:scott/T1gerJdbc9@//db:1521/ORCL", ["T1gerJdbc9"], []),
    (
        "oracle-alter-user-unquoted",
        "ALTER USER scott IDENTIFIED BY Unq9tedOra;",
        ["Unq9tedOra"],
        ["ALTER USER scott"],
    ),
    (
        "mysql-create-user",
        "CREATE USER 'app'@'%' IDENTIFIED BY 'MyCr3ateUsr';",
        ["MyCr3ateUsr"],
        ["CREATE USER 'app'@'%'"],
    ),
    (
        "mysql-identified-with",
        "ALTER USER 'app'@'localhost' IDENTIFIED WITH mysql_native_password BY 'N4tivePw9';",
        ["N4tivePw9"],
        [],
    ),
    (
        "redis-url-empty-user",
        "redis.exceptions.AuthenticationError: invalid password for redis://:R3disOnlyPw@cache:6379/0",
        ["R3disOnlyPw"],
        ["cache:6379/0"],
    ),
    (
        "clickhouse-dsn",
        "clickhouse_driver.errors.NetworkError: Code: 210. clickhouse://default:Cl1ckPw9@ch:9000/default",
        ["Cl1ckPw9"],
        [],
    ),
    (
        "snowflake-url",
        "sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string 'snowflake://svc:Sn0wPw9!@acme-xy12345/db/public?warehouse=wh'",
        ["Sn0wPw9!"],
        ["warehouse=wh"],
    ),
    (
        "mssql-pyodbc-error",
        "pyodbc.InterfaceError: ('28000', \"[28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user 'sa'. (18456)\") conn='DRIVER={ODBC Driver 18 for SQL Server};SERVER=db;UID=sa;PWD=Ms5qlPw9;TrustServerCertificate=yes'",
        ["Ms5qlPw9"],
        ["TrustServerCertificate=yes"],
    ),
    (
        "libpq-conninfo-quoted",
        "psycopg.OperationalError: invalid connection option in \"host=db user=app password='Lib pq9 Pw' dbname=app\"",
        ["Lib pq9 Pw", "pq9"],
        ["dbname=app"],
    ),
    (
        "cassandra-auth-provider",
        "auth_provider = PlainTextAuthProvider(username='cassandra', password='Cass4ndraPw')",
        ["Cass4ndraPw"],
        [],
    ),
    (
        "neo4j-auth-tuple",
        'driver = GraphDatabase.driver("bolt://db:7687", auth=("neo4j", "Ne04jPw9x"))',
        ["Ne04jPw9x"],
        ["bolt://db:7687"],
    ),
    (
        "es-basic-auth-tuple",
        "es = Elasticsearch('https://es:9200', basic_auth=('elastic', 'El4sticPw9'))",
        ["El4sticPw9"],
        [],
    ),
    (
        "es-api-key-tuple",
        "Elasticsearch(hosts, api_key=('VuaCfGcBCdbkQm-e5aOx', 'ui2lp2axTNmsyakw9tvNnw'))",
        ["ui2lp2axTNmsyakw9tvNnw"],
        [],
    ),
    (
        "ldap3-connection-positional",
        "conn = Connection(server, 'cn=admin,dc=example,dc=org', 'Ld4pBindPw', auto_bind=True)",
        ["Ld4pBindPw"],
        ["cn=admin,dc=example,dc=org"],
    ),
    (
        "smb-url-domain",
        "smbprotocol.exceptions.LogonFailure: smb://CORP;bob:Smb4UrlPw@fs01/share",
        ["Smb4UrlPw"],
        [],
    ),
    (
        "go-dsn-mysql",
        "dial tcp: app:GoMy5qlPw@tcp(db:3306)/app?parseTime=true",
        ["GoMy5qlPw"],
        ["parseTime=true"],
    ),
    ("sqlserver-url-go", "sqlserver://sa:Go5qlSrvPw@db:1433?database=app", ["Go5qlSrvPw"], []),
    # cloud
    (
        "azure-cosmos-conn",
        "AccountEndpoint=https://acme.documents.azure.com:443/;AccountKey=C0smosKeyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789==;",
        ["C0smosKeyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789=="],
        ["AccountEndpoint=https://acme.documents.azure.com:443/"],
    ),
    (
        "azure-iothub-conn",
        "HostName=acme.azure-devices.net;DeviceId=dev1;SharedAccessKey=I0tHubKeyAbCdEfGhIjKlMnOpQrStUvWx=",
        ["I0tHubKeyAbCdEfGhIjKlMnOpQrStUvWx="],
        ["DeviceId=dev1"],
    ),
    (
        "azure-blob-sas-url",
        "HttpResponseError: https://acme.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-06T00:00:00Z&spr=https&sig=Zk3%2Fq9RtY2u%2BAbCdEf0123456789xyzXYZ%3D",
        ["Zk3%2Fq9RtY2u%2BAbCdEf0123456789xyzXYZ%3D", "Zk3"],
        ["sv=2022-11-02"],
    ),
    (
        "azure-eventhub-sas-token",
        "SharedAccessSignature sig=Ev3ntHubS1g%2Bxyz%3D&se=1733400000&skn=RootManageSharedAccessKey&sr=acme.servicebus.windows.net",
        ["Ev3ntHubS1g"],
        [],
    ),
    (
        "gcs-signed-url",
        "GET https://storage.googleapis.com/bkt/o.bin?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=svc%40proj.iam.gserviceaccount.com%2F20261205%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20261205T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ["0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"],
        ["X-Goog-Expires=900"],
    ),
    (
        "aws-presigned-v2",
        "https://bkt.s3.amazonaws.com/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1733400000&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
        ["vjbyPxybdZaNmGa%2ByT272YEAiv4%3D", "vjbyPxybdZaNmGa"],
        ["Expires=1733400000"],
    ),
    (
        "aws-credentials-file",
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws_session_token = IQoJb3JpZ2luX2VjEMz//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEMz"],
        ["[default]"],
    ),
    (
        "gcp-sa-json-escaped",
        '{"type": "service_account", "private_key_id": "1f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDGcpXyz\\n-----END PRIVATE KEY-----\\n", "client_email": "svc@proj.iam.gserviceaccount.com"}',
        [
            "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDGcpXyz",
            "1f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4",
        ],
        ["svc@proj.iam.gserviceaccount.com"],
    ),
    (
        "telegram-bot-url",
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://api.telegram.org/bot7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
        ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"],
        ["sendMessage"],
    ),
    (
        "discord-webhook",
        "POST https://discord.com/api/webhooks/1234567890123456789/Dx9kLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPq 404",
        ["Dx9kLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPq"],
        [],
    ),
    (
        "teams-webhook",
        "webhook failed: https://acme.webhook.office.com/webhookb2/1b2c3d4e-aaaa-bbbb-cccc-123456789abc@9f8e7d6c-aaaa-bbbb-cccc-123456789abc/IncomingWebhook/5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b/1a2b3c4d-aaaa-bbbb-cccc-123456789abc",
        ["5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"],
        [],
    ),
    (
        "twilio-basic-url",
        "TwilioRestException: https://AC0123456789abcdef0123456789abcdef:Tw1l1oAuthTok3nAbCdEf0123456789ab@api.twilio.com/2010-04-01",
        ["Tw1l1oAuthTok3nAbCdEf0123456789ab"],
        [],
    ),
    (
        "sendgrid-key-bare",
        "sendgrid: using 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 for mail",
        ["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", "TwL2iGABf9DHoTf"],
        ["for mail"],
    ),
    (
        "vault-token-bare",
        "vault: using hvs.CAESIJlWh1Kv9xQ2xZ3yA4bC5dE6fG7hI8jK9lM0nO1pQ2rS3tGh4KHGh2cy5QbW5xV2x for renew",
        ["hvs.CAESIJlWh1Kv9xQ2xZ3yA4bC5dE6fG7hI8jK9lM0nO1pQ2rS3tGh4KHGh2cy5QbW5xV2x"],
        [],
    ),
    (
        "databricks-token-bare",
        "databricks: 403 for dapi0123456789abcdef0123456789abcdef-3",
        ["dapi0123456789abcdef0123456789abcdef"],
        [],
    ),
    (
        "age-secret-key",
        "AGE-SECRET-KEY-1QQPQ0QGX3N7VQXHZLVNUV5FQ7XZ6L6X6E5WZQ3R0Q4V0JTY7VUSQ5QXTGH",
        ["AGE-SECRET-KEY-1QQPQ0QGX3N7VQXHZLVNUV5FQ7XZ6L6X6E5WZQ3R0Q4V0JTY7VUSQ5QXTGH", "QQPQ0QGX3N7"],
        [],
    ),
    (
        "xprv-bare",
        "wallet restored from xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
        [
            "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
        ],
        ["wallet restored from"],
    ),
    # HTTP
    (
        "ocp-apim-header",
        "Ocp-Apim-Subscription-Key: 3f9a2b7c4d1e8f6a5b0c9d2e7f4a1b8c",
        ["3f9a2b7c4d1e8f6a5b0c9d2e7f4a1b8c"],
        [],
    ),
    (
        "private-token-header",
        "headers={'PRIVATE-TOKEN': 'Gl4bPr1vTok3n', 'Accept': '*/*'}",
        ["Gl4bPr1vTok3n"],
        ["'Accept': '*/*'"],
    ),
    (
        "x-functions-key",
        "x-functions-key: Fn4zureKeyAbCdEf0123456789==",
        ["Fn4zureKeyAbCdEf0123456789=="],
        [],
    ),
    ("proxy-authorization-basic", "Proxy-Authorization: Basic Ym9iOlByMHh5UHc5", ["Ym9iOlByMHh5UHc5"], []),
    (
        "authorization-token-scheme",
        "Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
        ["9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"],
        [],
    ),
    (
        "authorization-sso-key",
        "Authorization: sso-key Gd9KeyAbc:Gd9SecretXyz",
        ["Gd9KeyAbc:Gd9SecretXyz", "Gd9SecretXyz"],
        [],
    ),
    (
        "header-list-of-tuples",
        "[('Host', 'api.x.io'), ('Authorization', 'Bearer Tupl3H3aderTok'), ('Accept', '*/*')]",
        ["Tupl3H3aderTok"],
        ["('Accept', '*/*')"],
    ),
    (
        "aiohttp-url-userinfo",
        "aiohttp.client_exceptions.ClientResponseError: 401, message='Unauthorized', url=URL('https://bob:A1ohttpPw@api.x.io/v1')",
        ["A1ohttpPw"],
        ["message='Unauthorized'"],
    ),
    (
        "set-cookie-next-auth",
        "Set-Cookie: __Secure-next-auth.session-token=N3xtAuthSessTok.abc; Path=/; HttpOnly; Secure",
        ["N3xtAuthSessTok"],
        ["Path=/"],
    ),
    (
        "set-cookie-connect-sid",
        "set-cookie: connect.sid=s%3AC0nnectS1dValue.xYz; Path=/",
        ["C0nnectS1dValue"],
        [],
    ),
    (
        "cookie-laravel",
        "Cookie: XSRF-TOKEN=eyJpdiI6IlhzcmZ; laravel_session=eyJpdiI6IkxhcmF2ZWxTZXNz",
        ["eyJpdiI6IkxhcmF2ZWxTZXNz"],
        [],
    ),
    (
        "cookie-jsessionid",
        "Cookie: JSESSIONID=A1B2C3D4E5F60718293A4B5C6D7E8F90; lang=en",
        ["A1B2C3D4E5F60718293A4B5C6D7E8F90"],
        ["Cookie: JSESSIONID="],
    ),
    (
        "oidc-fragment",
        "redirect to https://app.x.io/cb#id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.Fr4gSig&access_token=Fr4gAcc3ssTok&token_type=Bearer",
        ["Fr4gSig", "Fr4gAcc3ssTok"],
        ["token_type=Bearer"],
    ),
    (
        "multipart-password",
        'Content-Disposition: form-data; name="password"\r\n\r\nMult1partPw\r\n--boundary',
        ["Mult1partPw"],
        ['name="password"'],
    ),
    (
        "multipart-password-lf",
        'Content-Disposition: form-data; name="api_key"\n\nMult1KeyVal9\n------WebKitFormBoundary',
        ["Mult1KeyVal9"],
        [],
    ),
    (
        "soap-wsse",
        '<wsse:UsernameToken><wsse:Username>svc</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">W5seSoapPw</wsse:Password></wsse:UsernameToken>',
        ["W5seSoapPw"],
        ["<wsse:Username>svc</wsse:Username>"],
    ),
    (
        "appsettings-add-key",
        '<add key="ApiKey" value="Ap9SettingsKeyVal" />',
        ["Ap9SettingsKeyVal"],
        ['<add key="ApiKey"'],
    ),
    (
        "html-escaped-json",
        "body: {&quot;password&quot;: &quot;Ht5mlEscPw&quot;, &quot;user&quot;: &quot;bob&quot;}",
        ["Ht5mlEscPw"],
        [],
    ),
    ("xml-escaped-element", "payload=&lt;password&gt;X5mlEscPw&lt;/password&gt;", ["X5mlEscPw"], []),
    ("double-json-escaped", 'msg="{\\\\\\"password\\\\\\": \\\\\\"Dbl3scPw\\\\\\"}"', ["Dbl3scPw"], []),
    # private keys
    (
        "jwk-rsa-private",
        '{"kty":"RSA","kid":"k1","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","d":"X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q","p":"83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVnwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XOuVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs"}',
        ["X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH", "83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQ"],
        ['"e":"AQAB"'],
    ),
    (
        "jwk-ec-private",
        "{'kty': 'EC', 'crv': 'P-256', 'x': 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', 'y': 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', 'd': 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI'}",
        ["jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"],
        ["'crv': 'P-256'"],
    ),
    (
        "jwk-oct",
        '{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg","alg":"HS256"}',
        ["GawgguFyGrWKav7AX4VKUg"],
        ['"alg":"HS256"'],
    ),
    (
        "putty-ppk-v3",
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: bob@host\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIJ2wX3\nqkPq9z\nPrivate-Lines: 1\nAAAAIGJ2wX3PuttyPrivBody0123456789abcdef\nPrivate-MAC: 8f2b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
        ["AAAAIGJ2wX3PuttyPrivBody0123456789abcdef"],
        ["Comment: bob@host"],
    ),
    (
        "openvpn-static-key",
        "<tls-auth>\n-----BEGIN OpenVPN Static key V1-----\ne5f0a8d2c4b6a1f3e7d9c2b4a6f8e0d1\n3c5b7a9f1e2d4c6b8a0f9e7d5c3b1a2f\n-----END OpenVPN Static key V1-----\n</tls-auth>",
        ["e5f0a8d2c4b6a1f3e7d9c2b4a6f8e0d1", "3c5b7a9f1e2d4c6b8a0f9e7d5c3b1a2f"],
        ["<tls-auth>"],
    ),
    (
        "wireguard-psk",
        "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nPresharedKey = /UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak=\nAllowedIPs = 10.0.0.2/32",
        ["/UwcSPg38hW/D9Y3tcS1FOV0K1wuURMbS0sesJEP5ak="],
        ["AllowedIPs = 10.0.0.2/32"],
    ),
    (
        "encrypted-pem-dek",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89AB\n\nEnc4yptedPemB0dyAbCdEfGhIjKlMnOpQrStUvWx\n-----END RSA PRIVATE KEY-----",
        ["Enc4yptedPemB0dyAbCdEfGhIjKlMnOpQrStUvWx"],
        [],
    ),
    (
        "ssh-private-key-json-escaped-no-begin",
        '"ssh_key": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\\nQyNTUxOQAAACBq"',
        ["b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"],
        [],
    ),
    (
        "minisign-secret-key",
        "untrusted comment: minisign encrypted secret key\nRWRTY0IyMinis1gnS3cretKeyBodyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        ["RWRTY0IyMinis1gnS3cretKeyBodyAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"],
        [],
    ),
    (
        "tor-hidden-service-key",
        "HiddenServiceKey ED25519-V3:0H/jnBeWzMoU1MGNRQPnmd8JqlpTNS3UeTiDOMyPTGGXXpLd0KinCtQbcgZ2NVAzm8aO2ptKG3hxx1q1ZtUAqHY=",
        ["0H/jnBeWzMoU1MGNRQPnmd8JqlpTNS3UeTiDOMyPTGGXXpLd0KinCtQbcgZ2NVAzm8aO2ptKG3hxx1q1ZtUAqHY="],
        [],
    ),
    # config files pasted
    (
        "npmrc-auth-base64",
        "//registry.x.io/:_auth=Ym9iOk5wbVJjUHc5\n//registry.x.io/:always-auth=true",
        ["Ym9iOk5wbVJjUHc5"],
        ["always-auth=true"],
    ),
    (
        "npmrc-password",
        "//registry.x.io/:username=bob\n//registry.x.io/:_password=TnBtUGFzc3dvcmQ5",
        ["TnBtUGFzc3dvcmQ5"],
        ["username=bob"],
    ),
    (
        "composer-github-oauth",
        '{"github-oauth": {"github.com": "C0mposerGhTokenValue9"}}',
        ["C0mposerGhTokenValue9"],
        [],
    ),
    ("composer-gitlab-token", '{"gitlab-token": {"gitlab.x.io": "C0mposerGlTok9"}}', ["C0mposerGlTok9"], []),
    ("composer-bearer", '{"bearer": {"repo.x.io": "C0mposerBearerTok9"}}', ["C0mposerBearerTok9"], []),
    ("postfix-sasl-passwd", "[smtp.x.io]:587 bob@x.io:S4slPasswdPw", ["S4slPasswdPw"], ["[smtp.x.io]:587"]),
    ("ipsec-secrets-psk", '%any %any : PSK "Ips3cPskVal9"', ["Ips3cPskVal9"], []),
    (
        "ipsec-secrets-rsa",
        ': RSA "/etc/ipsec.d/private/key.pem" "Rsa9Passphr"',
        ["Rsa9Passphr"],
        ["/etc/ipsec.d/private/key.pem"],
    ),
    (
        "haproxy-userlist",
        "userlist admins\n  user bob insecure-password H4proxyPw",
        ["H4proxyPw"],
        ["userlist admins"],
    ),
    ("haproxy-stats-auth", "listen stats\n  stats auth admin:H4Stat5Pw", ["H4Stat5Pw"], []),
    (
        "rclone-conf",
        "[remote]\ntype = sftp\nhost = h\nuser = bob\npass = Rcl0neObscuredPassV4lue",
        ["Rcl0neObscuredPassV4lue"],
        ["type = sftp"],
    ),
    (
        "gradle-properties",
        "ossrhPassword=Gr4dleOssrh\nsigning.password=Gr4dleSign\nsigning.keyId=24875D73",
        ["Gr4dleOssrh", "Gr4dleSign"],
        ["signing.keyId=24875D73"],
    ),
    (
        "msmtprc",
        "account default\nhost smtp.x.io\nuser bob\npassword Msmtp9Pw",
        ["Msmtp9Pw"],
        ["host smtp.x.io"],
    ),
    (
        "k8s-stringdata",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  DB_PASS: K8sStr1ngData\n  url: postgres://app:K8sUrlPw@db/app",
        ["K8sStr1ngData", "K8sUrlPw"],
        ["name: db"],
    ),
    (
        "k8s-secret-data-custom-key",
        "kind: Secret\ndata:\n  config.json: eyJhdXRoIjoiazhzU2VjcmV0RGF0YSJ9\n  tls.crt: LS0tLS1CRUdJTg==",
        ["eyJhdXRoIjoiazhzU2VjcmV0RGF0YSJ9"],
        [],
    ),
    (
        "docker-config-identitytoken",
        '{"auths": {"x.azurecr.io": {"auth": "MDAwMDAwMDAtMDAwMDpBY3JQdw==", "identitytoken": "Ac4IdentTokVal9"}}}',
        ["MDAwMDAwMDAtMDAwMDpBY3JQdw==", "Ac4IdentTokVal9"],
        [],
    ),
    # env dumps
    (
        "env-borg-passphrase",
        "BORG_PASSPHRASE=B0rgPassphr4se\nBORG_REPO=/backup",
        ["B0rgPassphr4se"],
        ["BORG_REPO=/backup"],
    ),
    (
        "env-consul-token",
        "CONSUL_HTTP_TOKEN=6a0b9c8d-1e2f-3a4b-5c6d-7e8f9a0b1c2d",
        ["6a0b9c8d-1e2f-3a4b-5c6d-7e8f9a0b1c2d"],
        [],
    ),
    (
        "env-docker-auth-config",
        'DOCKER_AUTH_CONFIG={"auths":{"r.x.io":{"auth":"Ym9iOkRvY2tBdXRoQ2ZnOQ=="}}}',
        ["Ym9iOkRvY2tBdXRoQ2ZnOQ=="],
        [],
    ),
    (
        "env-java-opts",
        "JAVA_TOOL_OPTIONS=-Djavax.net.ssl.keyStorePassword=J4vaKsPw -Xmx512m",
        ["J4vaKsPw"],
        ["-Xmx512m"],
    ),
    (
        "env-sentry-dsn",
        "SENTRY_DSN=https://9f8e7d6c5b4a39281706f5e4d3c2b1a0@o123456.ingest.sentry.io/4500000",
        ["9f8e7d6c5b4a39281706f5e4d3c2b1a0"],
        [],
    ),
    (
        "env-ansible-become",
        "ansible-playbook site.yml -e 'ansible_become_pass=B3comeP4ss'",
        ["B3comeP4ss"],
        [],
    ),
    # reprs in various languages
    (
        "go-plus-v",
        "config: {Host:db Port:5432 User:app Password:G0PlusVPw SSLMode:disable}",
        ["G0PlusVPw"],
        ["SSLMode:disable"],
    ),
    (
        "php-var-dump",
        'array(2) {\n  ["user"]=>\n  string(3) "bob"\n  ["password"]=>\n  string(9) "PhpV4rDmp"\n}',
        ["PhpV4rDmp"],
        ['string(3) "bob"'],
    ),
    ("erlang-proplist", '[{host,"db"},{password,"Erl4ngPw"},{port,5432}]', ["Erl4ngPw"], ["{port,5432}"]),
    ("erlang-binary", '#{password => <<"Erl4ngBinPw">>, user => <<"bob">>}', ["Erl4ngBinPw"], []),
    (
        "ruby-inspect-ivar",
        '#<Settings:0x000055d5 @host="db", @password="Rub4IvarPw", @port=5432>',
        ["Rub4IvarPw"],
        ["@port=5432"],
    ),
    (
        "python-orderdict",
        "OrderedDict([('user', 'bob'), ('password', 'Ord3redPw')])",
        ["Ord3redPw"],
        ["('user', 'bob')"],
    ),
    (
        "urlparse-netloc",
        "ParseResult(scheme='https', netloc='bob:P4rseResPw@api.x.io', path='/v1', params='', query='', fragment='')",
        ["P4rseResPw"],
        ["path='/v1'"],
    ),
    ("splitresult-password-attr", "u.username='bob' u.password='Spl1tResPw'", ["Spl1tResPw"], []),
    (
        "java-tostring-braces",
        "DataSourceProperties{url='jdbc:postgresql://db/app', username='app', password='J4vaToStrPw'}",
        ["J4vaToStrPw"],
        ["username='app'"],
    ),
    (
        "kotlin-data-class",
        "DbConfig(url=jdbc:postgresql://db/app, user=app, password=K0tlinDcPw, pool=10)",
        ["K0tlinDcPw"],
        ["pool=10"],
    ),
    ("rust-debug-pretty", 'Config {\n    host: "db",\n    password: "Ru5tDbgPw",\n}', ["Ru5tDbgPw"], []),
    ("csharp-anon", "{ Server = db, UserId = sa, Password = Cs4nonPw }", ["Cs4nonPw"], ["Server = db"]),
    (
        "python-keyword-split-line",
        "    conn = connect(\n        host='db',\n        password=\n            'Spl1tL1nePw',\n    )",
        ["Spl1tL1nePw"],
        ["host='db'"],
    ),
    (
        "python-string-concat-split",
        "    token = ('Tok3nP4rtOne'\n             'Tok3nP4rtTwo')",
        ["Tok3nP4rtOne", "Tok3nP4rtTwo"],
        [],
    ),
    (
        "locals-dict-nested",
        "locals: {'self': <Client>, 'kwargs': {'auth': ('bob', 'L0calsAuthPw'), 'timeout': 5}}",
        ["L0calsAuthPw"],
        ["'timeout': 5"],
    ),
    # commands
    ("smbclient-percent", "smbclient //fs01/share -U bob%Smb4Cli9Pw -c ls", ["Smb4Cli9Pw"], ["-c ls"]),
    ("lftp-comma", "lftp -u bob,Lftp9CommaPw sftp://files.x.io", ["Lftp9CommaPw"], ["sftp://files.x.io"]),
    (
        "mosquitto-capital-p",
        "mosquitto_pub -h broker -u bob -P Mq7tPw9 -t x -m hi",
        ["Mq7tPw9"],
        ["-t x -m hi"],
    ),
    ("sqlcmd-capital-p", "sqlcmd -S db -U sa -P Sq1cmdPw9 -Q 'select 1'", ["Sq1cmdPw9"], ["select 1"]),
    (
        "ipmitool",
        "ipmitool -I lanplus -H 10.0.0.9 -U admin -P Ipm1Pw9 chassis status",
        ["Ipm1Pw9"],
        ["chassis status"],
    ),
    (
        "snmpv3-auth-priv",
        "snmpwalk -v3 -l authPriv -u admin -a SHA -A Snmp3AuthPw -x AES -X Snmp3PrivPw 10.0.0.1",
        ["Snmp3AuthPw", "Snmp3PrivPw"],
        ["10.0.0.1"],
    ),
    (
        "kubectl-from-literal",
        "kubectl create secret generic db --from-literal=password=K8sL1teralPw",
        ["K8sL1teralPw"],
        [],
    ),
    (
        "kubectl-docker-password",
        "kubectl create secret docker-registry r --docker-username=bob --docker-password=K8sD0ckerPw",
        ["K8sD0ckerPw"],
        ["--docker-username=bob"],
    ),
    (
        "helm-set",
        "helm upgrade app ./chart --set postgresql.auth.password=H3lmSetPw --set replicas=2",
        ["H3lmSetPw"],
        ["replicas=2"],
    ),
    (
        "terraform-var",
        "terraform apply -var 'db_password=Tf9VarPw' -auto-approve",
        ["Tf9VarPw"],
        ["-auto-approve"],
    ),
    ("rabbitmqctl-add-user", "rabbitmqctl add_user bob R4bbitPw9", ["R4bbitPw9"], []),
    ("rabbitmqctl-change-password", "rabbitmqctl change_password bob R4bbitNewPw", ["R4bbitNewPw"], []),
    ("mysqladmin-password", "mysqladmin -u root password N3wRootPw", ["N3wRootPw"], []),
    (
        "pdftk-user-pw",
        "pdftk in.pdf output out.pdf user_pw Pdf9UserPw owner_pw Pdf9OwnerPw",
        ["Pdf9UserPw", "Pdf9OwnerPw"],
        [],
    ),
    ("x11vnc-passwd", "x11vnc -display :0 -passwd Vnc9Pw -forever", ["Vnc9Pw"], ["-forever"]),
    ("wpa-passphrase-cmd", "wpa_passphrase HomeWifi Wp4PassPhr9", ["Wp4PassPhr9"], ["HomeWifi"]),
    ("curl-oauth2-bearer", "curl --oauth2-bearer C0authBearerTok https://api.x.io", ["C0authBearerTok"], []),
    ("wget-http-password", "wget --http-user=bob --http-password=Wg3tPw9 https://x.io/f", ["Wg3tPw9"], []),
    ("net-user-add", "net user bob N3tUs3rPw /add", ["N3tUs3rPw"], ["/add"]),
    (
        "gpg-passphrase",
        "gpg --batch --passphrase Gpg9Passphr --decrypt f.gpg",
        ["Gpg9Passphr"],
        ["--decrypt f.gpg"],
    ),
    ("unrar-p", "unrar x -pUnr4rPw9 archive.rar", ["Unr4rPw9"], ["archive.rar"]),
    (
        "psql-conn-uri-arg",
        "CalledProcessError: Command '['pg_dump', '--dbname=postgresql://app:PgDumpPw9@db/app']' returned non-zero exit status 1.",
        ["PgDumpPw9"],
        [],
    ),
    # non-English keys
    ("italian-parola", "parola_d_ordine=It4lParola9", ["It4lParola9"], []),
    ("turkish-parola", "kullanici=bob parola=Tr4Parola9", ["Tr4Parola9"], ["kullanici=bob"]),
    ("spanish-clave", "usuario=bob clave=Es4Clave9x", ["Es4Clave9x"], ["usuario=bob"]),
    ("chinese-miyao", "密钥: Zh4MiYao9xyz", ["Zh4MiYao9xyz"], []),
    ("german-geheimnis", "Geheimnis=De4Geheim9x", ["De4Geheim9x"], []),
    ("russian-secret", "секрет: Ru4Sekret9x", ["Ru4Sekret9x"], []),
    ("vietnamese-mat-khau", "mật khẩu: Vi4MatKhau9", ["Vi4MatKhau9"], []),
    ("indonesian-kata-sandi", "kata sandi: Id4Sandi9x", ["Id4Sandi9x"], []),
    ("arabic-password", "كلمة المرور: Ar4Pw9xyz", ["Ar4Pw9xyz"], []),
    ("japanese-himitsu", "秘密鍵: Ja4Himitsu9", ["Ja4Himitsu9"], []),
    ("catalan-contrasenya", "contrasenya=Ca4Contra9", ["Ca4Contra9"], []),
    ("polish-haslo-json", '{"hasło": "Pl4Haslo9"}', ["Pl4Haslo9"], []),
    # misc
    ("netrc-one-line-machine-default", "default login anonymous password N3trcDefPw", ["N3trcDefPw"], []),
    (
        "git-credential-fill",
        "protocol=https\nhost=github.com\nusername=bob\npassword=G1tCredFillPw",
        ["G1tCredFillPw"],
        ["host=github.com"],
    ),
    (
        "git-credential-oauth-refresh",
        "protocol=https\nhost=github.com\noauth_refresh_token=ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498",
        ["ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498"],
        [],
    ),
    (
        "url-encoded-password-in-json",
        '{"url": "postgres://app:p%40ss%3AW0rd9@db/app"}',
        ["p%40ss%3AW0rd9", "W0rd9"],
        [],
    ),
    (
        "password-in-exception-args-tuple",
        "AuthError: ('login failed', 'bob', 'Exc4rgsPw9')",
        ["Exc4rgsPw9"],
        [],
    ),
    ("ssh-askpass-echo", "SSH_ASKPASS script printed: Ask9PassOut", ["Ask9PassOut"], []),
    ("mqtt-url", "paho: mqtts://bob:Mqtt9UrlPw@broker.x.io:8883", ["Mqtt9UrlPw"], []),
    ("sftp-url-userinfo-at-in-user", "sftp://bob@corp.com:Sftp9Pw@files.x.io/in", ["Sftp9Pw"], []),
    (
        "bearer-in-websocket-subprotocol",
        "Sec-WebSocket-Protocol: access_token, Ws9SubprotoTokAbc123",
        ["Ws9SubprotoTokAbc123"],
        [],
    ),
    (
        "grpc-metadata",
        "metadata=[('authorization', 'Bearer Grpc9MetaTok'), ('x-request-id', 'abc')]",
        ["Grpc9MetaTok"],
        ["('x-request-id', 'abc')"],
    ),
    ("graphql-auth-header-json", '{"headers": {"authorization": "Bearer Gq9HdrTok"}}', ["Gq9HdrTok"], []),
    (
        "sql-log-parameters-dict",
        "INSERT INTO users (email, password_hash) VALUES (%(email)s, %(password_hash)s) {'email': 'a@b.c', 'password_hash': 'Pl4inNotHashPw'}",
        ["Pl4inNotHashPw"],
        ["'email': 'a@b.c'"],
    ),
    # (written after the first fixes, to see whether they hold for shapes of the same classes)
    ("html-numeric-entities", "value=&#34;password&#34;&#58; &#34;HtmlNum9Pw&#34;", ["HtmlNum9Pw"], []),
    ("html-hex-entity-eq", "q=api_key&#x3D;HtmlHex9Key", ["HtmlHex9Key"], []),
    ("html-amp-query", '<a href="https://x.io/cb?a=1&amp;access_token=H7mlAmpTok9">', ["H7mlAmpTok9"], []),
    (
        "xml-escaped-attr",
        "&lt;add key=&quot;Password&quot; value=&quot;XmlAttr9Pw&quot;/&gt;",
        ["XmlAttr9Pw"],
        [],
    ),
    (
        "ssh2-key",
        '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20261205"\nP2/56wAAAi4AAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfSxlbmNyeXB0e3JzYS1wa2NzMXYyLW9hZXB9fQ==\n---- END SSH2 ENCRYPTED PRIVATE KEY ----',
        ["P2/56wAAAi4AAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfSxlbmNyeXB0e3JzYS1wa2NzMXYyLW9hZXB9fQ=="],
        [],
    ),
    (
        "openvpn-static-cut-head",
        "5f3c1a2b4d6e8f0a1b2c3d4e5f6a7b8c\n9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a\n-----END OpenVPN Static key V1-----",
        ["9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a"],
        [],
    ),
    (
        "pgp-secret-key-block",
        "-----BEGIN PGP SECRET KEY BLOCK-----\n\nlQOYBGXabc0BCADPgpSecBody9\n=abcd\n-----END PGP SECRET KEY BLOCK-----",
        ["lQOYBGXabc0BCADPgpSecBody9"],
        [],
    ),
    (
        "signify-secret-key",
        "untrusted comment: signify secret key\nRWRCSwAAAAD5Sig9nifySecretKeyBodyAbCdEfGhIjKlMnOpQrStUvWx0123456789",
        ["RWRCSwAAAAD5Sig9nifySecretKeyBodyAbCdEfGhIjKlMnOpQrStUvWx0123456789"],
        [],
    ),
    (
        "tor-add-onion",
        "250-ServiceID=abcdefghijklmnop\n250-PrivateKey=ED25519-V3:yLSDc8b11PaIHTtNtvi9lNW99IME2mdrO4k381zDkHv//WRUGrkBALBQ9MbHy2SLA/NmfS7YxmcR/FY8ppRfIA==",
        ["yLSDc8b11PaIHTtNtvi9lNW99IME2mdrO4k381zDkHv"],
        [],
    ),
    (
        "tprv-testnet",
        "key: tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF",
        [
            "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF"
        ],
        [],
    ),
    (
        "telegram-file-url",
        "GET https://api.telegram.org/file/bot5566778899:AAF3xQ9zKpLmNoPqRsTuVwXyZ0123456789/photos/file_1.jpg",
        ["AAF3xQ9zKpLmNoPqRsTuVwXyZ0123456789"],
        ["photos/file_1.jpg"],
    ),
    (
        "mattermost-hook",
        "POST https://chat.x.io/hooks/xi5ngd8s7jbdfpd3ykuqrb1i4w failed: 500",
        ["xi5ngd8s7jbdfpd3ykuqrb1i4w"],
        ["failed: 500"],
    ),
    (
        "go-dsn-unix",
        "Error 1045: Access denied; dsn=app:GoUn1xPw@unix(/var/run/mysqld/mysqld.sock)/app",
        ["GoUn1xPw"],
        [],
    ),
    (
        "oracle-userid",
        "sqlldr userid=scott/Ld9rPw@orcl control=load.ctl log=load.log",
        ["Ld9rPw"],
        ["control=load.ctl"],
    ),
    ("oracle-rman", "rman target sys/Rm4nSysPw@prod catalog rco/Rc9Pw@rcat", ["Rm4nSysPw", "Rc9Pw"], []),
    (
        "jwk-set-okp",
        '{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}',
        ["nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"],
        ["11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"],
    ),
    (
        "jwk-python-repr",
        "jwk = {'kty': 'oct', 'k': 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow'}",
        ["AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"],
        [],
    ),
    ("ipmitool-lan", "ipmitool -I lan -H bmc1 -U root -P C4lvin9x sel list", ["C4lvin9x"], ["sel list"]),
    (
        "snmptrap-v3",
        "snmptrap -v 3 -u traps -a SHA -A TrapAuth9x -x AES -X TrapPriv9x -l authPriv 10.0.0.2 '' 1.3.6",
        ["TrapAuth9x", "TrapPriv9x"],
        [],
    ),
    ("rar-hp", "rar a -hpR4rHead9 -m5 backup.rar /srv/data", ["R4rHead9"], ["backup.rar"]),
    (
        "php-var-dump-token",
        'array(1) {\n  ["api_token"]=>\n  string(20) "PhpT0kenValue9xyzAbc"\n}',
        ["PhpT0kenValue9xyzAbc"],
        [],
    ),
    (
        "erlang-tuple-secret",
        '{ok,[{client_id,"app"},{client_secret,"Erl4ngCs9"}]}',
        ["Erl4ngCs9"],
        ['{client_id,"app"}'],
    ),
    ("elixir-keyword-binary", 'config: [username: "bob", password: <<"Ex1rBin9">>]', ["Ex1rBin9"], []),
    (
        "python-kw-next-line-double",
        "    client = Minio(\n        'play.min.io',\n        secret_key=\n            \"M1nioSplitKey9\",\n    )",
        ["M1nioSplitKey9"],
        ["'play.min.io'"],
    ),
    (
        "keepalived-block",
        "vrrp_instance VI_1 {\n    authentication {\n        auth_type PASS\n        auth_pass K33pAl1v\n    }\n}",
        ["K33pAl1v"],
        ["auth_type PASS"],
    ),
    (
        "cisco-username-secret",
        "username netops privilege 15 secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
        ["$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM", "nhEmQVczB7dqsO"],
        ["username netops privilege 15"],
    ),
    (
        "cisco-tacacs-key",
        "tacacs server ISE\n address ipv4 10.0.0.9\n key 7 094F471A1A0A",
        ["094F471A1A0A"],
        ["address ipv4 10.0.0.9"],
    ),
    (
        "bgp-neighbor-password-7",
        "neighbor 192.0.2.1 password 7 02050D480809",
        ["02050D480809"],
        ["neighbor 192.0.2.1"],
    ),
    (
        "slapd-rootpw",
        'database mdb\nsuffix "dc=example,dc=org"\nrootpw Sl4pdR00t',
        ["Sl4pdR00t"],
        ["database mdb"],
    ),
    (
        "sssd-authtok",
        "[domain/default]\nldap_default_bind_dn = cn=svc,dc=x\nldap_default_authtok = Sss4dAuthTok",
        ["Sss4dAuthTok"],
        ["cn=svc,dc=x"],
    ),
    ("haproxy-stats-auth-2", "    stats auth ops:St4tsOps9", ["St4tsOps9"], []),
    (
        "squid-login",
        "cache_peer upstream.x 3128 0 no-query login=proxyuser:Sq9uidProxy",
        ["Sq9uidProxy"],
        ["no-query"],
    ),
    (
        "turkish-parola-json",
        '{"kullanici": "bob", "parola": "Tr9ParolaJ"}',
        ["Tr9ParolaJ"],
        ['"kullanici": "bob"'],
    ),
    ("catalan-contrasenya-yaml", "usuari: bob\ncontrasenya: Ca9ContraY", ["Ca9ContraY"], ["usuari: bob"]),
    ("wpa-passphrase-quoted", "wpa_passphrase 'Cafe Guest' 'Wp4 Quoted9'", ["Wp4 Quoted9"], ["Cafe Guest"]),
    # (a third set, written after the second set's fixes)
    ("html-entity-netrc", "machine api.x.io login bob password &quot;N3trc&amp;Pw9&quot;", ["N3trc"], []),
    ("html-entity-yaml-in-pre", "<pre>db:\n  password: &#39;Pre9YamlPw&#39;\n</pre>", ["Pre9YamlPw"], []),
    (
        "jwk-oth",
        '{"kty":"RSA","n":"abc","e":"AQAB","d":"Dm9PrivExp","oth":[{"r":"Oth9R","d":"Oth9D","t":"Oth9T"}]}',
        ["Dm9PrivExp", "Oth9D", "Oth9T"],
        [],
    ),
    ("jwk-ruby-hash", '{"kty"=>"oct", "k"=>"Rb9JwkSymmetricKey"}', ["Rb9JwkSymmetricKey"], []),
    (
        "openvpn-secret-inline",
        "<secret>\n-----BEGIN OpenVPN Static key V1-----\n0a1b2c3d4e5f60718293a4b5c6d7e8f9\n-----END OpenVPN Static key V1-----\n</secret>",
        ["0a1b2c3d4e5f60718293a4b5c6d7e8f9"],
        [],
    ),
    (
        "ssh2-private-unencrypted",
        "---- BEGIN SSH2 PRIVATE KEY ----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQDSsh2Priv9\n---- END SSH2 PRIVATE KEY ----",
        ["AAAAB3NzaC1yc2EAAAADAQABAAABAQDSsh2Priv9"],
        [],
    ),
    (
        "go-dsn-postgres-kv",
        'pq: password authentication failed; dsn="host=db user=app password=GoPqKv9 sslmode=disable"',
        ["GoPqKv9"],
        [],
    ),
    ("go-dsn-tcp-in-quotes", 'sql.Open("mysql", "root:GoQ9Pw@tcp(127.0.0.1:3306)/test")', ["GoQ9Pw"], []),
    (
        "oracle-tns-connect-string",
        "cx_Oracle.connect('system/Sys9TnsPw@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521))(CONNECT_DATA=(SID=ORCL)))')",
        ["Sys9TnsPw"],
        [],
    ),
    ("sqlplus-connect-cmd", "SQL> connect scott/Sqlp9Conn@orcl", ["Sqlp9Conn"], []),
    ("impdp-parfile", "impdp system/Imp9Pw@pdb1 directory=dp dumpfile=x.dmp", ["Imp9Pw"], []),
    (
        "slack-workflow-hook",
        "https://hooks.slack.com/triggers/T0123ABCD/4567890123/abcdef0123456789abcdef0123456789",
        ["abcdef0123456789abcdef0123456789"],
        [],
    ),
    (
        "google-chat-webhook",
        "POST https://chat.googleapis.com/v1/spaces/AAAAx/messages?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=Gch9TokAbCdEfGh",
        ["Gch9TokAbCdEfGh"],
        [],
    ),
    (
        "php-print-r-nested",
        "Array\n(\n    [db] => Array\n        (\n            [password] => PrR9Nest\n        )\n)",
        ["PrR9Nest"],
        [],
    ),
    ("php-var-export", "array (\n  'password' => 'PhpExp9Pw',\n)", ["PhpExp9Pw"], []),
    ("erlang-record", '#state{user = "bob", password = "Erl9Rec"}', ["Erl9Rec"], []),
    ("elixir-struct", '%MyApp.Repo.Config{hostname: "db", password: "Ex9Struct"}', ["Ex9Struct"], []),
    ("clojure-map", '{:db {:user "bob", :password "Clj9Pw"}}', ["Clj9Pw"], []),
    ("lua-table", '{ host = "db", password = "Lua9Pw" }', ["Lua9Pw"], []),
    ("perl-dumper", "$VAR1 = {\n          'password' => 'Perl9Dmp',\n        };", ["Perl9Dmp"], []),
    (
        "split-kw-dict-call",
        "    settings = dict(\n        api_key=\n            'Sp9DictKey'\n    )",
        ["Sp9DictKey"],
        [],
    ),
    ("split-kw-fstring", '    token = (\n        f"Fs9Prefix{suffix}"\n    )', ["Fs9Prefix"], []),
    (
        "juniper-encrypted-password",
        'set system login user ops authentication encrypted-password "$6$Kz9s$Jnp9HashValueAbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnop"',
        ["Jnp9HashValue"],
        [],
    ),
    (
        "juniper-secret",
        'set protocols bgp group ext authentication-key "$9$Jun9SecretKeyX"',
        ["Jun9SecretKeyX"],
        [],
    ),
    ("mikrotik-password", "/user add name=ops group=full password=Mkt9Pw", ["Mkt9Pw"], []),
    ("fortigate-set-password", "    set password ENC Fgt9EncValueAbCd==", ["Fgt9EncValueAbCd"], []),
    (
        "cisco-enable-secret-8",
        "enable secret 8 $8$dsYGNam3K1SIJO$7nv/35M/qr6t.dVc7UY9zrJDWRVqncHub1PE9UlMQFs",
        ["dsYGNam3K1SIJO"],
        [],
    ),
    ("cisco-snmp-community-in-show-run", "snmp-server community Cm9Str RO 10", ["Cm9Str"], []),
    ("aruba-psk", "   wpa-passphrase Aru9Passphrase", ["Aru9Passphrase"], []),
    ("postgresql-conf-ssl-passphrase", "ssl_passphrase_command = 'echo Pg9SslPass'", ["Pg9SslPass"], []),
    ("redis-sentinel-auth-pass", "sentinel auth-pass mymaster Sen9AuthPw", ["Sen9AuthPw"], []),
    (
        "mongod-conf",
        "security:\n  keyFile: /etc/mongo/key\nnet:\n  tls:\n    certificateKeyFilePassword: Mg9TlsPw",
        ["Mg9TlsPw"],
        [],
    ),
    (
        "nginx-auth-basic-user-file-inline",
        'proxy_set_header Authorization "Basic Ym9iOk5namlueFB3OQ==";',
        ["Ym9iOk5namlueFB3OQ=="],
        [],
    ),
    ("pam-mysql", "auth sufficient pam_mysql.so user=pam passwd=PamMy9Pw host=db", ["PamMy9Pw"], []),
    ("ipsec-conf-psk", "conn home\n    authby=secret\n    leftpsk=Ips9LeftPsk", ["Ips9LeftPsk"], []),
    ("strongswan-swanctl", "secrets {\n   ike-1 {\n      secret = Swn9IkeSec\n   }\n}", ["Swn9IkeSec"], []),
    (
        "chrony-keys",
        "1 SHA256 HEX:Chr9A1B2C3D4E5F60718293A4B5C6D7E8F",
        ["Chr9A1B2C3D4E5F60718293A4B5C6D7E8F"],
        [],
    ),
    ("samba-smbpasswd-cmd", "echo -e 'Smb9Pw\\nSmb9Pw' | smbpasswd -s -a bob", ["Smb9Pw"], []),
    ("turkish-sifre-directive", "şifre Tr9SifreDir", ["Tr9SifreDir"], []),
    ("italian-parola-chiave-cfg", "parola_chiave: It9ParolaCh", ["It9ParolaCh"], []),
    ("portuguese-senha-json-escaped", '{\\"senha\\": \\"Pt9SenhaEsc\\"}', ["Pt9SenhaEsc"], []),
    ("auth-pair-quoted", "auth 'deploy:Q9uotedPair'", ["Q9uotedPair"], []),
    ("mosquitto-passwd-cmd", "mosquitto_passwd -b /etc/mosquitto/passwd bob Mq9PwdB", ["Mq9PwdB"], []),
    ("rar-quoted", 'rar x -p"Rar9 Quoted" a.rar', ["Rar9 Quoted"], []),
]

NEGATIVE_CASES_8: list[tuple[str, str]] = [
    ("env-ssh-auth-sock", "SSH_AUTH_SOCK=/tmp/ssh-XXXXabcd/agent.12345"),
    ("env-dbus-session", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"),
    ("env-xdg-session", "XDG_SESSION_ID=3 XDG_SESSION_TYPE=wayland XDG_SESSION_CLASS=user"),
    ("env-session-manager", "SESSION_MANAGER=local/host:@/tmp/.ICE-unix/1234,unix/host:/tmp/.ICE-unix/1234"),
    ("env-xauthority", "XAUTHORITY=/run/user/1000/gdm/Xauthority"),
    ("env-gac-path", "GOOGLE_APPLICATION_CREDENTIALS=/etc/gcp/sa.json"),
    ("env-password-store-dir", "PASSWORD_STORE_DIR=/home/bob/.password-store"),
    ("env-kubeconfig", "KUBECONFIG=/home/bob/.kube/config"),
    (
        "chage-output",
        "Last password change\t\t\t\t\t: Dec 05, 2026\nPassword expires\t\t\t\t\t: never\nPassword inactive\t\t\t\t\t: never",
    ),
    ("sudo-prompt", "[sudo] password for bob: "),
    ("pem-pass-prompt", "Enter PEM pass phrase:"),
    ("mysql-cli-warning", "mysql: [Warning] Using a password on the command line interface can be insecure."),
    ("password-none", "password=None token=None api_key=''"),
    (
        "pg-duplicate-key",
        'ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(bob@x.io) already exists.',
    ),
    (
        "sshd-accepted-publickey",
        "sshd[123]: Accepted publickey for bob from 10.0.0.1 port 50522 ssh2: ED25519 SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
    ),
    (
        "pam-auth-failure",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1  user=bob",
    ),
    ("sudo-log", "sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/apt update"),
    ("tokenizer-info", "Tokenizer(vocab_size=32000, model_max_length=4096) loaded; max_new_tokens=256"),
    ("keyboard-interrupt", "KeyboardInterrupt: key press Enter ignored"),
    ("secrets-module", "from secrets import token_urlsafe; token_urlsafe(32) called"),
    ("passport", "passport_number missing for applicant 42; bypass=true; compass heading 270"),
    ("jwt-kid", 'JWT header {"alg": "RS256", "kid": "2026-12-key-1", "typ": "JWT"}'),
    ("pytest-passed", "tests/test_auth.py::test_password_reset PASSED [ 42%]"),
    (
        "amz-content-sha",
        "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    ("password-expire", "Your password will expire in 7 days"),
    ("wrong-password-count", "login failed: wrong password (attempt 3 of 5)"),
    ("token-budget", "rate limit: 1000 tokens per minute, 20 requests per second"),
    ("auth-header-scheme-only", 'WWW-Authenticate: Bearer realm="api", error="invalid_token"'),
    ("basic-realm", 'WWW-Authenticate: Basic realm="Restricted Area", charset="UTF-8"'),
    ("signed-headers", "X-Amz-SignedHeaders=host;x-amz-date&X-Amz-Expires=3600"),
    ("keycloak-realm", "realm=master client_id=admin-cli grant_type=password"),
    ("oauth-grant-type", "POST /token grant_type=client_credentials&scope=read"),
    ("csrf-middleware", "Forbidden (CSRF cookie not set.): /login/"),
    (
        "public-key-openssh",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bob@host",
    ),
    (
        "cert-pem",
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----",
    ),
    ("k8s-secret-ref", "valueFrom:\n  secretKeyRef:\n    name: db-credentials\n    key: password"),
    ("vault-path", "vault kv get -field=password secret/data/app/db"),
    ("helm-set-plain", "helm upgrade app ./chart --set replicas=2 --set image.tag=1.4.2"),
    ("terraform-plain", "terraform apply -var 'region=eu-west-1' -auto-approve"),
    ("smbclient-no-pass", "smbclient -L //fs01 -U bob -N"),
    ("mosquitto-plain", "mosquitto_sub -h broker -p 8883 -t 'sensors/#' -v"),
    ("sqlcmd-plain", "sqlcmd -S db -E -Q 'select 1'"),
    ("ipmitool-plain", "ipmitool -I lanplus -H 10.0.0.9 sensor list"),
    ("net-user-plain", "net user bob /domain"),
    ("gpg-list", "gpg --list-secret-keys --keyid-format LONG"),
    ("passwd-status", "passwd: password expiry information changed."),
    ("go-struct-plain", "config: {Host:db Port:5432 User:app SSLMode:disable}"),
    ("php-var-dump-plain", 'array(1) {\n  ["user"]=>\n  string(3) "bob"\n}'),
    ("erlang-plain", '[{host,"db"},{port,5432}]'),
    ("multipart-plain", 'Content-Disposition: form-data; name="username"\r\n\r\nbob\r\n--boundary'),
    ("html-escaped-plain", "body: {&quot;user&quot;: &quot;bob&quot;}"),
    (
        "jwk-public",
        '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}',
    ),
    (
        "wireguard-public",
        "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 10.0.0.2/32",
    ),
    ("italian-prose", "la parola chiave è stata trovata nel testo"),
    ("spanish-prose", "la clave del éxito es la constancia"),
    ("chinese-prose", "请输入密码"),
    ("telegram-api-method", "POST https://api.telegram.org/file/ 404"),
    ("discord-channel-url", "https://discord.com/channels/1234567890123456789/9876543210987654321"),
    ("oracle-plain-connect", "connecting to db.internal:1521/ORCLPDB1 as scott"),
    ("ruby-inspect-plain", '#<Settings:0x000055d5 @host="db", @port=5432>'),
    ("rabbitmqctl-plain", "rabbitmqctl list_users"),
    ("sql-grant", "GRANT SELECT ON app.* TO 'reporter'@'%';"),
    ("openvpn-prose", "OpenVPN 2.6.8 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4]"),
    ("html-entities-plain", "title=&quot;Orders &amp; Returns&quot; &lt;b&gt;bold&lt;/b&gt;"),
    ("html-amp-query-plain", '<a href="/items?page=2&amp;sort=desc">next</a>'),
    ("rman-prose", "German permanent rman backup completed"),
    ("oracle-connect-plain", "oracledb.connect(user='scott', dsn='db/orcl')"),
    (
        "ssh2-public-key",
        '---- BEGIN SSH2 PUBLIC KEY ----\nComment: "bob"\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n---- END SSH2 PUBLIC KEY ----',
    ),
    (
        "jwk-rsa-public",
        '{"kty":"RSA","e":"AQAB","kid":"k1","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64t"}',
    ),
    ("hooks-admin-path", "GET https://gitlab.x.io/admin/hooks/12/edit 200"),
    ("erlang-ok-tuple", '{ok,"connected"} {error,"timeout"}'),
    ("php-var-dump-int", 'array(1) {\n  ["user_id"]=>\n  int(42)\n}'),
    ("python-kw-next-line-plain", "    client = Client(\n        timeout=\n            30,\n    )"),
    ("auth-time", "last login 10:42 from 10.0.0.5; login at 12:05:33"),
    ("docker-login-registry-port", "docker login registry.x.io:5000"),
    ("auth-required-prose", "auth required for /admin; login page served"),
    ("keepalived-auth-type", "    auth_type PASS"),
    ("cisco-no-password", "no service password-encryption\nservice password-encryption"),
    ("password-3-times", "wrong password 3 times, account locked"),
    ("key-prose", "missing key user_id in payload; KeyError for key order42"),
    ("directive-path", "    password_file /etc/mosquitto/passwd"),
    ("ssh-keygen-output", "Your identification has been saved in /home/bob/.ssh/id_ed25519"),
    ("parola-prose", "la parola chiave è stata trovata"),
    ("user-pw-prose", "set user_pw policy to strict"),
    ("xdg-session-env", "XDG_SESSION_ID=12 XDG_SESSION_DESKTOP=gnome"),
    ("passwd-expiry", "passwd: password expiry information changed."),
    ("vault-field", "vault kv get -field=password secret/data/app/db"),
    ("unrar-list", "unrar l archive.rar"),
    ("mosquitto-sub-plain", "mosquitto_sub -h broker -t 'a/#' -v -q 1"),
    (
        "jwk-public-set",
        '{"keys":[{"kty":"RSA","kid":"abc","use":"sig","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}',
    ),
    ("html-prose", "<p>Enter your password &amp; click &quot;Sign in&quot;</p>"),
    ("php-var-dump-user", 'array(1) {\n  ["username"]=>\n  string(3) "bob"\n}'),
    ("erlang-proplist-plain", '[{timeout,5000},{retries,3},{name,"svc"}]'),
    (
        "cisco-show-run-plain",
        "interface GigabitEthernet0/1\n ip address 10.0.0.1 255.255.255.0\n no shutdown",
    ),
    ("cisco-service-password", "service password-encryption\nno service pad"),
    ("key-chain-prose", "key chain OSPF-KEYS\n key 1"),
    ("auth-line-pam", "auth required pam_unix.so nullok"),
    ("keepalived-state", "    state MASTER\n    priority 100"),
    ("telegram-docs", "see https://core.telegram.org/bots/api for the bot API"),
    ("webhook-prose", "webhook delivered to https://example.com/hooks/github"),
    ("go-tcp-dial", "dial tcp 10.0.0.5:3306: connect: connection refused"),
    ("oracle-error", "ORA-01017: invalid username/password; logon denied"),
    ("sqlplus-help", "sqlplus -s /nolog @script.sql"),
    ("snmp-v3-noauth", "snmpget -v3 -l noAuthNoPriv -u guest 10.0.0.1 sysName.0"),
    ("rar-list", "rar l -v archive.rar"),
    ("pdftk-plain", "pdftk a.pdf b.pdf cat output merged.pdf"),
    (
        "wpa-supplicant-status",
        "wpa_supplicant: wlan0: CTRL-EVENT-CONNECTED - Connection to 00:11:22:33:44:55 completed",
    ),
    ("user-pass-prose", "user passed the check; user_pass_count=3"),
    ("session-number-ecs", "user.session=7 process.pid=4242"),
    ("cookie-session-prose", "session cookie expired after 3600 s"),
]
# The eighth batch's leaks left (see the closing note): a secret under a key naming only its host
# (composer's `github-oauth`, `bearer`), postfix's `sasl_passwd` line, an ipsec RSA key's passphrase,
# an exception's positional arguments, a helper's printed answer, a token as a WebSocket subprotocol; an
# f-string below an opening parenthesis, Redis Sentinel's `auth-pass NAME X`, chrony's key file.
KNOWN_LEAKS_8: Final = (
    "composer-github-oauth", "composer-bearer", "postfix-sasl-passwd", "ipsec-secrets-rsa",
    "password-in-exception-args-tuple", "ssh-askpass-echo", "bearer-in-websocket-subprotocol",
    "split-kw-fstring", "redis-sentinel-auth-pass", "chrony-keys",
)  # fmt: skip


BATCHES: Final = {
    "seventh": (SECRET_CASES, NEGATIVE_CASES),
    "eighth": (SECRET_CASES_8, NEGATIVE_CASES_8),
}


def cases(batch: str = "seventh") -> tuple[list[Case], list[tuple[str, str]]]:
    return BATCHES[batch]


def score(redact: Callable[[str], str], batch: str = "seventh") -> tuple[list[str], list[str]]:
    secret_cases, negative_cases = BATCHES[batch]
    leaks = []
    for case_id, text, secrets, kept in secret_cases:
        out = redact(text)
        if any(s in out for s in secrets) or not all(k in out for k in kept):
            leaks.append(case_id)
    over = [case_id for case_id, text in negative_cases if redact(text) != text]
    return leaks, over


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline-rev", help="also score shipper/redaction.py at this git revision")
    parser.add_argument("--verbose", action="store_true", help="print each leak's and change's text")
    args = parser.parse_args()
    runs = [("now", redaction.redact_text)]
    if args.baseline_rev:
        baseline = baseline_redact(args.baseline_rev)
        if baseline is None:
            parser.error(f"git cannot show shipper/redaction.py at {args.baseline_rev}")
        runs.insert(0, (args.baseline_rev, baseline))
    for batch, (secret_cases, negative_cases) in BATCHES.items():
        by_id = {c[0]: c for c in secret_cases} | {c[0]: (c[0], c[1], [], []) for c in negative_cases}
        for name, redact in runs:
            leaks, over = score(redact, batch)
            print(
                f"{batch} batch, {name}: leaks {len(leaks)}/{len(secret_cases)}, "
                f"ordinary texts changed {len(over)}/{len(negative_cases)}"
            )
            for case_id in leaks + over:
                print(f"  {case_id}")
                if args.verbose:
                    print(f"    in:  {by_id[case_id][1]!r}\n    out: {redact(by_id[case_id][1])!r}")


if __name__ == "__main__":
    main()
