"""A probe of secrets set by a command's grammar (a verb or a flag names the secret, the value sits
in a known argument place) and of Basic credentials in base64 without their padding: leaks counted
over many shapes, many fake secrets and several log prefixes, and ordinary texts that must stay.

    PYTHONPATH=. python bench/probe_command_secrets.py [--verbose]

A case leaks when its secret still stands after `redact_text`; a kept text is over-redacted when it
changes. The shapes were written before the rules that fix them.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shipper import redaction  # noqa: E402

SECRETS = ("hunter2", "s3cr3tPw", "Tr0ub4dor&3", "correcthorse", "P@ssw0rd!", "xK9#mq2Lz", "abc123XYZ")
PREFIXES = ("", "$ ", "running: ", "2026-12-06 01:02:03 INFO exec: ", "+ ", "cmd=[", "> ")
USERS = ("bob", "deploy", "svc_app")

# {s}: the secret; {u}: a user name. One shape per grammar: a verb or flag that names a secret.
SHAPES: dict[str, str] = {
    "set-name-space": "set db_password {s}",
    "set-password-space": "set password {s}",
    "SET-upper-space": "SET DB_PASSWORD {s}",
    "setx-space": "setx DB_PASSWORD {s}",
    "setx-quoted": 'setx API_TOKEN "{s}"',
    "setx-machine": "setx /M DB_PASSWORD {s}",
    "cmd-set-eq": "SET PGPASSWORD={s}",
    "cmd-set-quoted": 'set "PGPASSWORD={s}"',
    "export-space": "export API_TOKEN {s}",
    "setenv-csh": "setenv DB_PASSWORD {s}",
    "fish-set": "set -x DB_PASSWORD {s}",
    "fish-set-gx": "set -gx API_SECRET {s}",
    "powershell-env": '$env:DB_PASSWORD = "{s}"',
    "powershell-setitem": 'Set-Item -Path Env:DB_PASSWORD -Value "{s}"',
    "powershell-envvar": '[Environment]::SetEnvironmentVariable("DB_PASSWORD", "{s}", "User")',
    "docker-e": "docker run -e DB_PASSWORD={s} postgres:16",
    "docker-env": "docker run --env DB_PASSWORD={s} postgres:16",
    "docker-e-space": "docker run -e 'POSTGRES_PASSWORD={s}' postgres",
    "kubectl-literal": "kubectl create secret generic db --from-literal=password={s}",
    "redis-config-set": "CONFIG SET requirepass {s}",
    "redis-config-masterauth": "CONFIG SET masterauth {s}",
    "redis-auth-user": "AUTH default {s}",
    "redis-auth": "AUTH {s}",
    "redis-cli-a": "redis-cli -h 127.0.0.1 -a {s} ping",
    "long-password-space": "mytool --password {s} --host db",
    "long-password-eq": "mytool --password={s} --host db",
    "long-db-password": "migrate --db-password {s} up",
    "long-api-key": "deploy --api-key {s} --env prod",
    "long-token": "gh auth login --with-token {s}",
    "short-p-space-mysql": "mysql -u {u} -p {s} -h db",
    "short-p-generic-h": "mytool -u {u} -p {s} -h db",
    "short-p-glued": "mysql -u{u} -p{s} db",
    "mysqladmin": "mysqladmin -u root -p{s} status",
    "sql-alter-identified": "ALTER USER {u} IDENTIFIED BY '{s}'",
    "sql-create-user": "CREATE USER '{u}'@'%' IDENTIFIED BY '{s}';",
    "sql-create-role": "CREATE ROLE {u} LOGIN PASSWORD '{s}'",
    "sql-alter-role": "ALTER ROLE {u} WITH PASSWORD '{s}';",
    "sql-set-password": "SET PASSWORD FOR '{u}'@'localhost' = '{s}';",
    "sql-mssql-login": "CREATE LOGIN {u} WITH PASSWORD = '{s}';",
    "sql-identified-dq": 'ALTER USER {u} IDENTIFIED BY "{s}"',
    "keytool-storepass": "keytool -list -keystore k.jks -storepass {s}",
    "keytool-keypass": "keytool -genkey -alias x -keypass {s} -keystore k.jks",
    "openssl-passin": "openssl pkcs12 -in a.p12 -passin pass:{s} -nokeys",
    "openssl-passout": "openssl genrsa -aes256 -passout pass:{s} 2048",
    "openssl-k": "openssl enc -aes-256-cbc -k {s} -in a -out b",
    "sshpass-p": "sshpass -p {s} ssh {u}@host",
    "sshpass-p-glued": "sshpass -p'{s}' scp a {u}@host:",
    "htpasswd-b": "htpasswd -b /etc/nginx/.htpasswd {u} {s}",
    "htpasswd-bc": "htpasswd -bc .htpasswd {u} {s}",
    "curl-u": "curl -u {u}:{s} https://api.example.com",
    "curl-user": "curl --user {u}:{s} https://api.example.com",
    "curl-u-quoted": "curl -u '{u}:{s}' https://x",
    "wget-password": "wget --user={u} --password={s} https://x/file",
    "wget-http-password": "wget --http-user {u} --http-password {s} https://x",
    "smbclient-U": "smbclient //srv/share -U {u}%{s}",
    "net-use": "net use Z: \\\\srv\\share {s} /user:{u}",
    "runas-savecred": "psexec \\\\host -u {u} -p {s} cmd",
    "chpasswd": "echo '{u}:{s}' | chpasswd",
    "passwd-stdin": "echo {s} | passwd --stdin {u}",
    "git-credential": "git clone https://{u}:{s}@github.com/o/r.git",
    "docker-login-p": "docker login -u {u} -p {s} registry.example.com",
    "docker-login-password": "docker login --username {u} --password {s} reg.io",
    "helm-repo": "helm repo add x https://x --username {u} --password {s}",
    "vault-login": "vault login -method=userpass username={u} password={s}",
    "ldapsearch-w": "ldapsearch -x -D cn=admin,dc=ex -w {s} -b dc=ex",
    "mongo-p": "mongosh --username {u} --password {s} --authenticationDatabase admin",
    "pg-env-prefix": "PGPASSWORD={s} psql -h db -U {u}",
    "ftp-user-cmd": "USER {u}\nPASS {s}",
    "useradd-p": "useradd -m -p {s} {u}",
    "zip-P": "zip -P {s} out.zip file.txt",
    "unzip-P": "unzip -P {s} in.zip",
    "7z-p": "7z x -p{s} archive.7z",
    "rar-hp": "rar a -hp{s} out.rar dir",
    "gpg-passphrase": "gpg --batch --passphrase {s} -d f.gpg",
    "ansible-vault": "ansible-playbook site.yml --extra-vars ansible_become_pass={s}",
    "java-D": "java -Djavax.net.ssl.keyStorePassword={s} -jar app.jar",
    "mvn-D": "mvn deploy -Drepo.password={s}",
    "set-in-sentence-quoted": "set the password to '{s}'",
    "jdbc-arg": "jdbc:mysql://db/app?user={u}&password={s}",
    "short-p-alone": "mytool -p {s} -h db",
    "redis-prompt-auth": "127.0.0.1:6379> AUTH {s}",
    "redis-hello-auth": "HELLO 3 AUTH default {s}",
    "redis-migrate-auth2": "MIGRATE 10.0.0.2 6379 key 0 5000 AUTH2 {u} {s}",
    "net-user-add": "net user {u} {s} /add",
    "ps-securestring": 'New-LocalUser {u} -Password (ConvertTo-SecureString "{s}" -AsPlainText -Force)',
    "rabbitmq-add-user": "rabbitmqctl add_user {u} {s}",
    "rabbitmq-change-password": "rabbitmqctl change_password {u} {s}",
    "mosquitto-passwd-b": "mosquitto_passwd -b /etc/mosquitto/passwd {u} {s}",
    "nmcli-wifi": "nmcli dev wifi connect HomeNet password {s}",
    "wpa-passphrase": "wpa_passphrase HomeNet {s}",
    "ipmitool-P": "ipmitool -I lanplus -H 10.0.0.9 -U admin -P {s} power status",
    "sqlcmd-P": "sqlcmd -S db01 -U sa -P {s} -Q 'select 1'",
    "sql-alter-login": "ALTER LOGIN sa WITH PASSWORD = '{s}'",
    "sql-grant-identified": "GRANT ALL ON *.* TO '{u}'@'%' IDENTIFIED BY '{s}'",
    "sql-create-user-password": "CREATE USER {u} PASSWORD '{s}'",
    "sql-set-password-fn": "SET PASSWORD = PASSWORD('{s}')",
    "openssl-pass": "openssl enc -d -aes256 -pass pass:{s} -in x",
    "jarsigner-storepass": "jarsigner -keystore k.jks -storepass {s} app.jar alias",
    "curl-proxy-user": "curl --proxy-user {u}:{s} -x http://proxy:3128 https://x",
    "ssh-keygen-N": "ssh-keygen -t ed25519 -N {s} -f id",
    "az-login-p": "az login -u {u}@example.com -p {s}",
    "oc-login-p": "oc login https://api:6443 -u {u} -p {s}",
    "xfreerdp-p": "xfreerdp /u:{u} /p:{s} /v:host",
    "usermod-password": "usermod --password {s} {u}",
    "psql-c-alter": "psql -c \"ALTER USER {u} PASSWORD '{s}'\"",
    "echo-passwd": "echo -e '{s}\\n{s}' | passwd {u}",
    "echo-password-stdin": "echo '{s}' | docker login -u {u} --password-stdin reg.io",
    "export-quoted-space": "export DB_PASSWORD '{s}'",
}


BASIC: dict[str, str] = {
    "basic-unpadded": "Authorization: Basic {b}",
    "basic-lower-nospace": "authorization:basic {b}",
    "basic-upper-spaces": "AUTHORIZATION:   BASIC   {b}",
    "basic-tab": "Authorization:\tBasic\t{b}",
    "basic-json": '{{"headers": {{"Authorization": "Basic {b}"}}}}',
    "basic-repr": "{{'authorization': 'basic {b}'}}",
    "basic-bare": "sent credentials {b} to the proxy",
    "basic-url-userinfo": "GET https://{b}@api.example.com/v1",
    "basic-header-kv": "headers=Authorization=Basic%20{b}",
    "basic-proxy": "Proxy-Authorization: Basic {b}",
    "basic-curl-H": "curl -H 'Authorization: Basic {b}' https://x",
    "basic-escaped": '"Authorization: Basic {b}\\r\\n"',
}

KEPT = (
    "set the level to debug",
    "set verbose on",
    "SET search_path TO public",
    "auth succeeded for bob",
    "AUTH OK",
    "auth failed: wrong password for bob",
    "docker run -p 8080:80 nginx",
    "python -m http.server -p 8000",
    "iperf3 -c 10.0.0.1 -p 5201",
    "ssh -p 2222 bob@host",
    "redis-cli -p 6379 ping",
    "mysql -h db -P 3306 -u bob -p app",
    "export PATH=/usr/local/bin:/usr/bin",
    "export LANG C.UTF-8",
    "setx PATH %PATH%;C:\\tools",
    "set -e",
    "set -x",
    "set -euo pipefail",
    "CONFIG SET maxmemory 2gb",
    "CONFIG GET requirepass",
    "keytool -list -keystore k.jks",
    "openssl x509 -in cert.pem -noout -text",
    "mkdir -p /var/lib/app",
    "cp -p a b",
    "curl -u bob https://x",
    "ALTER USER bob SET search_path = app",
    "CREATE ROLE readonly NOLOGIN",
    "the password was set by the admin",
    "token refreshed for user 42",
    "set password policy to strict",
    "htpasswd -D .htpasswd bob",
    "tail -n 50 /var/log/syslog",
    "ps -p 1234 -o pid,cmd",
    "sshpass -f /run/secret ssh bob@host",
    'Authorization: Basic realm="api"',
    'WWW-Authenticate: Basic realm="Restricted"',
    "git push origin main",
    "dd if=/dev/zero of=/tmp/x bs=1M count=10",
    "grep -P 'a+b' file",
    "error: AUTH failed",
    "[AUTH] user bob logged in",
    "(AUTH required)",
    "HELLO 3",
    "pg_dump -h db -p 5432 -U app app",
    "mongostat -h db -p 27017",
    "ls -h -p /tmp",
    "setx JAVA_HOME C:\\jdk",
    "export API_TOKEN=$(cat /run/secrets/token)",
    "SET DB_PASSWORD %DB_PASSWORD%",
    "export DB_PASSWORD $VAULT_PASSWORD",
    "echo done | passwd -S bob",
    "GET https://api.example.com/v1/users@latest",
)


def _b64_variants(user: str, secret: str) -> list[str]:
    raw = f"{user}:{secret}".encode()
    plain = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return sorted({plain.rstrip("="), url.rstrip("="), url})


def secret_cases() -> list[tuple[str, str, list[str]]]:
    """(shape id, text, what must not stand) for every shape, secret, prefix and user."""
    cases = []
    for (name, shape), secret, prefix, user in itertools.product(SHAPES.items(), SECRETS, PREFIXES, USERS):
        text = prefix + shape.format(s=secret, u=user) + ("]" if prefix == "cmd=[" else "")
        cases.append((name, text, [secret]))
    for (name, shape), secret, user in itertools.product(BASIC.items(), SECRETS, USERS):
        for encoded in _b64_variants(user, secret + "?~"):  # '?~' brings '_' and '/' into the text
            cases.append((name, shape.format(b=encoded), [encoded[:12], encoded[-6:]]))
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    redactor = redaction.Redactor()
    leaked: dict[str, int] = {}
    total: dict[str, int] = {}
    examples: dict[str, str] = {}
    for name, text, secrets in secret_cases():
        out = redactor.redact_text(text)
        total[name] = total.get(name, 0) + 1
        if any(s in out for s in secrets):
            leaked[name] = leaked.get(name, 0) + 1
            examples.setdefault(name, out)
    over = [(t, o) for t in KEPT if (o := redactor.redact_text(t)) != t]
    print(
        f"secret cases: {sum(total.values())}, leaked: {sum(leaked.values())} "
        f"in {len(leaked)} of {len(total)} shapes"
    )
    for name in sorted(leaked):
        example = f"  e.g. {examples[name]!r}" if args.verbose else ""
        print(f"  {name}: {leaked[name]}/{total[name]}{example}")
    print(f"kept texts: {len(KEPT)}, changed: {len(over)}")
    for text, out in over:
        print(f"  {text!r} -> {out!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
