"""The default rules, in the order they run (where two find the same span, the first one's name is
kept), and the trigger words: a text that holds none of them is spared the rules, at the cost of one
search of their trie.
"""

from __future__ import annotations

from typing import Final

from shipper.redaction.code import (
    _CIPHER_TRIGGERS,
    _FILL_TRIGGERS,
    _SECRET_CALL_TRIGGERS,
    _SQL_DOLLAR_PASSWORD,
    _SQL_PASSWORD,
    _SQL_SECRET_CALL_TRIGGERS,
    _client_call,
    _compared_literal,
    _diagnose_annotation,
    _exception_args,
    _fallback_literal,
    _field_fill,
    _form_field,
    _pytest_where,
    _raised_with_a_secret,
    _secret_call,
    _setter_call,
    _sign_in_call,
    _sql_bare_password,
    _sql_insert_literals,
    _sql_key_values,
    _sql_parameters,
    _sql_secret_argument,
    _template_default,
    _validation_input,
    _wrapper_call,
)
from shipper.redaction.commands import (
    _ADD_MASK,
    _ASKPASS_ANSWER,
    _AUTH_A_FLAG,
    _EXPECT_SEND,
    _OPENSSL_PASS,
    _ORACLE,
    _PRINTS_A_SECRET_TRIGGERS,
    _REDIS_AUTH,
    _SASL_TRIGGERS,
    _SECRET_SUBCOMMAND_TRIGGERS,
    _SENTINEL_AUTH_PASS,
    _SNMP_COMMUNITY,
    _VALUE_FLAG_TRIGGERS,
    _argv_repr,
    _config_set,
    _echo_to_passwd,
    _env_item,
    _host_and_p,
    _numbered_reply,
    _option_error,
    _piped_password,
    _positional_password,
    _printed_secret,
    _prompt_expression,
    _protocol_login,
    _redis_acl,
    _redis_auth_line,
    _redis_command_auth,
    _sasl_plain,
    _secret_subcommand,
    _setenv,
    _short_password_flag,
    _user_and_p,
    _user_password_flag,
    _value_flag,
    _variable_command,
    _windows_secret,
)
from shipper.redaction.formats import (
    _DELIMITED_TRIGGERS,
    _IPSEC_SECRET,
    _PGPASS_LINE,
    _PGPASS_TRIGGERS,
    _WIFI_QR,
    _auth_pair,
    _column_row,
    _credential_map,
    _delimited,
    _directive_value,
    _dumped_value,
    _kubernetes_secret,
    _label_line,
    _named_value,
    _netrc,
    _ntp_key_line,
    _table_row,
    _xml_element,
    _xml_sibling,
    _yaml_secret_list,
)
from shipper.redaction.keys import _FOREIGN_STEMS, _FOREIGN_WHOLE_WORDS
from shipper.redaction.model import FLAG_VALUE, Rule, _pattern_rule, _trie_pattern
from shipper.redaction.pairs import (
    _CHANGED_TRIGGERS,
    _ONE_TIME_CODE,
    _changed_value,
    _env_line,
    _flag_value,
    _given_value,
    _key_space_value,
    _key_told,
    _key_value,
    _prompt_answer,
    _script_password,
    _value_below,
)
from shipper.redaction.tokens import (
    _ANSIBLE_VAULT,
    _DISCORD_TOKEN_TRIGGERS,
    _PASSWORD_HASH,
    _PASSWORD_HASH_TRIGGERS,
    _PLAIN_SCHEME_TRIGGERS,
    _PRIVATE_KEY_BODY,
    _PUTTY_PRIVATE_LINES,
    _SERVICE_TOKEN,
    _SERVICE_TOKEN_TRIGGERS,
    _SIGNING_SECRET_KEY,
    _base64_pem,
    _discord_token,
    _encoded_credentials_rule,
    _jwk,
    _paired_secret,
    _plain_scheme,
    _private_key_block,
    _private_key_cut_head,
    _private_key_tail,
    _random_value,
    _seed_phrase,
    _well_known,
)
from shipper.redaction.web import (
    _COOKIE_REPR,
    _LINK_TRIGGERS,
    _PROSE_USERINFO_TRIGGERS,
    _address_password,
    _bare_userinfo,
    _basic,
    _bearer,
    _header,
    _link_token,
    _prose_userinfo,
    _query_param,
    _refused_header_value,
    _schemeless_userinfo,
    _url_loose_password,
    _url_token_user,
    _url_userinfo,
    _webhook,
    _websocket_protocol,
)

_URL_TRIGGERS: Final = ("://", ":\\/\\/")
# (`password` in other languages: what `_foreign_password` begins with)
_FOREIGN_TRIGGERS: Final = (*_FOREIGN_STEMS["password"], *_FOREIGN_WHOLE_WORDS["password"], "mot de passe")
_SCRIPT_TRIGGERS: Final = (
    "パスワード", "暗証番号", "密码", "密碼", "口令", "비밀번호", "암호", "패스워드", "トークン", "令牌",
    "密钥", "密鑰",
    "秘密鍵", "アクセスキー", "كلمة", "رمز",
    "पासवर्ड", "סיסמ", "รหัสผ่าน", "khẩu", "khau", "sandi", "laluan", "κωδικ",
    "lozink", "гасло", "parool", "slaptažod", "geslo", "şifreniz", "parolanız", "parolă", "токен",
    "シークレット", "apiキー", "秘钥", "秘鑰", "密匙", "凭证", "憑證", "토큰", "비번", "시크릿", "키", "ключ",
    "секрет",
    "geheimnis", "jeton", "clé", "clave", "chave", "segredo",
)  # fmt: skip
_WELL_KNOWN_TRIGGERS: Final = (
    "akia", "asia", "aiza", "ya29.", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "gldt-", "glptt-", "glrt-", "glcbt-", "gloas-", "glsoat-", "glft-", "glimt-", "glagent-", "atbb",
    "xox", "xapp-", "sk_", "rk_", "sk-", "npm_", "pypi-", "sg.", "hf_", ":aa", "eyj", "whsec_", "hvs.",
    "hvb.", "hvr.", "dapi", "shp", "_v1_", "glsa_", "glc_", "pmak-", "secret-key-", "lin_api_", "key-",
    "django-insecure-", "gocspx-", "atatt3", "gsk_", "xai-", "r8_", "pplx-", "dp.st.", "dp.sa.",
    "dp.ct.", "dp.pt.", "dp.scim.", "dp.audit.", "nrak-", "sbp_", "figd_", "ntn_", "secret_", "fo1_", "sq0",
    "eaaa", "-us", "akid", "sntry", "ops_", "ed25519-v3:", "prv",
)  # fmt: skip
# (`Q~`, an Entra ID client secret's, and `1//0`, a Google refresh token's, are looked for as written by
# `might_contain_secret`: a trie word that begins with a digit would be tried at every digit of every line.)
_IPSEC_TRIGGERS: Final = (
    ": rsa", ": ecdsa", ": bliss", ": pkcs", ": p12", ": eap", ": xauth", ": ntlm",
)  # fmt: skip
_CLIENT_TRIGGERS: Final = (
    "client(", "session(", "pool(", "engine(", "redis(", "smtp(", "smtp_ssl(", "imap4(", "imap4_ssl(",
    "pop3(", "pop3_ssl(", "minio(", "database(", "db(", "jira(", "github(", "gitlab(", "search(",
)  # fmt: skip
_PRIVATE_KEY_BODY_TRIGGERS: Final = ("mii", "mhcc", "mc4caqaw", "b3blbnnz")
_ORACLE_TRIGGERS: Final = (
    "oracle",
    "sqlplus",
    "sqlldr",
    "expdp",
    "impdp",
    "rman target",
    "dgmgrl",
    "sql> conn",
)
_SHORT_FLAG_TRIGGERS: Final = (
    "mysql", "mariadb", "mongo", "login", "sshpass", "redis-cli", "zip", "openssl", "ldap", "7z", "useradd",
    "usermod", "ncftp", "sqlcmd", "osql", "isql", "bcp", "ssh-keygen", "rar ", "ipmitool", "mosquitto_",
    "snmp",
)  # fmt: skip
DEFAULT_RULES: Final = (
    Rule("private_key_block", _private_key_block, ("-----begin", "---- begin")),
    Rule("private_key_body", _private_key_tail, ("-----end", "---- end")),
    Rule("private_key_body", _private_key_cut_head, ("----",)),
    _pattern_rule("private_key_body", _SIGNING_SECRET_KEY, ("untrusted comment",)),
    Rule("private_key_body", _base64_pem, ("ls0tls1crudjtib",)),
    Rule("discord_token", _discord_token, _DISCORD_TOKEN_TRIGGERS),
    Rule("url_userinfo", _url_userinfo, _URL_TRIGGERS),
    Rule("url_userinfo", _url_token_user, _URL_TRIGGERS),
    Rule("url_userinfo", _url_loose_password, ("://",)),
    Rule("table_row", _table_row, ("|", "│", "┃", "║")),
    Rule("table_row", _column_row, ("  ", "\t")),
    Rule("delimited_row", _delimited, _DELIMITED_TRIGGERS),
    Rule("piped_password", _piped_password, ("<<<", "|")),
    Rule("url_query_param", _query_param, ("=",)),
    Rule("url_path_token", _link_token, _LINK_TRIGGERS),
    Rule("authorization_header", _header, ("authorization", "cookie")),
    Rule("key_value", _key_value, ("=", ":", ",")),
    Rule("xml_element", _xml_element, ("</",)),
    Rule("xml_element", _xml_sibling, ("</name>", "</key>", "<value>")),
    Rule("named_value", _named_value, ("value",)),
    Rule("key_value", _changed_value, _CHANGED_TRIGGERS),
    Rule("key_value", _env_line, ("=",)),
    Rule(FLAG_VALUE, _flag_value, ("-",)),
    Rule(
        "key_space_value",
        _key_space_value,
        (
            "pass",
            "pwd",
            "secret",
            "token",
            "key",
            "cred",
            "identified",
            "masterauth",
            "psk",
            *_FOREIGN_TRIGGERS,
        ),
    ),
    Rule("key_space_value", _key_told, ("key",)),
    Rule(
        "key_space_value",
        _given_value,
        ("provided", "given", "supplied", "received", "used", "sent", "passed"),
    ),
    Rule("key_space_value", _script_password, _SCRIPT_TRIGGERS),
    Rule("netrc", _netrc, ("login", "user")),  # (after: where both find a value, theirs is named)
    Rule("prompt_answer", _prompt_answer, ("for",)),
    Rule("value_below", _value_below, ("\n",)),
    Rule("sql_parameters", _sql_parameters, ("[sql:",)),
    Rule("sql_key_values", _sql_key_values, (")=(", "duplicate entry")),
    Rule("sql_literal", _sql_insert_literals, ("insert",)),
    _pattern_rule("pgpass_line", _PGPASS_LINE, _PGPASS_TRIGGERS),
    Rule("kubernetes_secret", _kubernetes_secret, ("secret",)),
    Rule("yaml_list", _yaml_secret_list, (":\n", ":\r\n", ": \n")),
    Rule("bearer_token", _bearer, ("bearer",)),
    Rule("diagnose_annotation", _diagnose_annotation, ("└",)),
    Rule("pytest_where", _pytest_where, ("where",)),
    Rule("validation_input", _validation_input, ("input",)),
    Rule("basic_credentials", _basic, ("basic",)),
    Rule("short_password_flag", _short_password_flag, _SHORT_FLAG_TRIGGERS),
    _pattern_rule("redis_auth", _REDIS_AUTH, ('"auth"',)),
    Rule("redis_auth", _redis_auth_line, ("auth",)),
    Rule("redis_auth", _redis_command_auth, ("auth",)),
    Rule("redis_reply", _numbered_reply, (') "',)),
    Rule("printed_secret", _printed_secret, _PRINTS_A_SECRET_TRIGGERS),
    Rule("option_error", _option_error, ("argument ", "invalid value for")),
    Rule(
        "protocol_login",
        _protocol_login,
        ("auth plain", "auth xoauth2", "auth oauthbearer", "pass ", "login ", "ugfzc3dvcmq6"),
    ),
    Rule("prompt_expression", _prompt_expression, ("(pdb)", ">>>", "in [")),
    Rule("config_set", _config_set, ("set",)),
    Rule(
        "positional_password",
        _positional_password,
        (
            "rabbitmqctl",
            "htpasswd",
            "mosquitto_passwd",
            "chpasswd",
            "password-stdin",
            "net user",
            "smbclient",
            "net use",
            "vault",
            "mysqladmin",
            "lftp",
            "smbpasswd",
            "mc ",
            "wpa_passphrase",
            "_pw ",
            "curl",
            "mkpasswd",
        ),
    ),
    _pattern_rule("one_time_code", _ONE_TIME_CODE, ("otp", "code")),
    _pattern_rule("sql_password", _SQL_PASSWORD, ("password(", "identified")),
    Rule("sql_password", _sql_bare_password, ("identified",)),
    _pattern_rule("sql_password", _SQL_DOLLAR_PASSWORD, ("$",)),
    Rule("sql_password", _sql_secret_argument, _SQL_SECRET_CALL_TRIGGERS),
    Rule("form_field", _form_field, ("form-data",)),
    _pattern_rule("private_key_body", _PUTTY_PRIVATE_LINES, ("private-lines",)),
    Rule(
        "secret_call",
        _secret_call,
        _SECRET_CALL_TRIGGERS,
    ),
    Rule(
        "secret_call",
        _sign_in_call,
        (
            "log_in",
            "login",
            "logon",
            "sign_in",
            "signin",
            "auth",
            "cred",
            "connect",
            "bind_s",
            "kinit",
            "ftp",
        ),
    ),
    Rule(
        "secret_call",
        _client_call,
        _CLIENT_TRIGGERS,
    ),
    _pattern_rule("short_password_flag", _OPENSSL_PASS, ("pass:",)),
    Rule("user_password_flag", _user_password_flag, ("-u", "--user", "-proxy-user")),
    Rule("short_password_flag", _user_and_p, ("-u",)),
    Rule("short_password_flag", _host_and_p, ("-p",)),
    Rule("positional_password", _echo_to_passwd, ("passwd",)),
    Rule("windows_secret", _windows_secret, ("securestring", "/p:")),
    Rule("url_userinfo", _schemeless_userinfo, ("@",)),
    Rule("url_userinfo", _bare_userinfo, ("@",)),
    Rule("url_userinfo", _prose_userinfo, _PROSE_USERINFO_TRIGGERS),
    _pattern_rule("oracle_credentials", _ORACLE, (*_ORACLE_TRIGGERS, "userid=", "sql> conn")),
    _pattern_rule("snmp_community", _SNMP_COMMUNITY, ("snmp", "mmunit", "m2sec")),
    _pattern_rule("expect_send", _EXPECT_SEND, ("expect",)),
    _pattern_rule("add_mask", _ADD_MASK, ("::add-mask::",)),
    Rule(FLAG_VALUE, _value_flag, _VALUE_FLAG_TRIGGERS),
    Rule("positional_password", _secret_subcommand, _SECRET_SUBCOMMAND_TRIGGERS),
    _pattern_rule("cookie", _COOKIE_REPR, ("<cookie ",)),
    Rule("key_value", _setenv, ("setenv", "set -")),
    Rule("key_value", _variable_command, ("set", "export")),
    Rule("key_value", _env_item, ("-item",)),
    Rule("secret_call", _setter_call, ("set", "put", "store")),
    Rule("key_value", _fallback_literal, ("=",)),
    Rule("key_value", _template_default, ("default",)),
    Rule("key_value", _compared_literal, ("==", "!=")),
    Rule("key_value", _label_line, (":", "=", "：")),
    Rule("secret_call", _field_fill, _FILL_TRIGGERS),
    Rule("secret_call", _wrapper_call, ("('", '("', "(b'", '(b"', "(value", "(secret", "(raw", "(_value")),
    _pattern_rule("user_password_flag", _AUTH_A_FLAG, ("-a ", "-a\t")),
    Rule(
        "webhook_url",
        _webhook,
        ("hooks.slack", "webhooks", "webhook.office", "/hooks/", "api.telegram.org/", "maker.ifttt"),
    ),
    _pattern_rule("private_key_body", _PRIVATE_KEY_BODY, _PRIVATE_KEY_BODY_TRIGGERS),
    _pattern_rule("password_hash", _PASSWORD_HASH, _PASSWORD_HASH_TRIGGERS),
    Rule("paired_secret", _paired_secret, ("akia", "asia", "ac")),
    Rule("random_value", _random_value, ("=", ":")),
    Rule(
        "well_known_token",
        _well_known,
        (*_WELL_KNOWN_TRIGGERS, "1//0", "q~"),
    ),
    # the eighth sweep's, after the others: where one finds what another found, the other's name is kept
    Rule("dumped_value", _dumped_value, ("]=>", "=> string", ',"', ', "', ",<<", ", <<", '<<"')),
    Rule("auth_pair", _auth_pair, ("auth", "login", "cred", "userpass", "user_pass", "user-pass")),
    Rule(
        "directive_value",
        _directive_value,
        tuple(  # (its name's last word, then the blank before its value or its type)
            word + blank
            for word in (
                "pass",
                "password",
                "passwd",
                "passphrase",
                "pw",
                "secret",
                "key",
                "key-string",
                "psk",
                "authtok",
                "auth",
                "priv",
            )
            for blank in (" ", "\t")
        ),
    ),
    Rule("encoded_credentials", _encoded_credentials_rule, ()),  # (its gate is its own)
    Rule("jwk_private_member", _jwk, ('kty"', "kty'", 'kty\\"')),
    # the ninth sweep's
    _pattern_rule("ansible_vault", _ANSIBLE_VAULT, ("$ansible_vault",)),
    _pattern_rule("wifi_qr", _WIFI_QR, ("wifi:",)),
    # (the tenth sweep's: each looks for its own words, a few substring tests cheaper than a trie's search)
    Rule("sasl_plain", _sasl_plain, ()),
    Rule("password_hash", _plain_scheme, ()),
    Rule("seed_phrase", _seed_phrase, ()),
    _pattern_rule("ipsec_secret", _IPSEC_SECRET, (": ",)),
    _pattern_rule("askpass_answer", _ASKPASS_ANSWER, ("askpass",)),
    _pattern_rule("redis_auth", _SENTINEL_AUTH_PASS, ("auth-pass",)),
    Rule("redis_auth", _redis_acl, ("user ",)),
    Rule("ntp_key", _ntp_key_line, ()),  # (its words are looked for by the rule: cheaper than a trie)
    Rule("authorization_header", _websocket_protocol, ("sec-websocket-protocol",)),
    Rule("authorization_header", _refused_header_value, ("header value", "header part (")),
    Rule("key_value", _credential_map, ()),  # (likewise)
    Rule("secret_call", _exception_args, ()),  # (likewise)
    Rule("key_value", _raised_with_a_secret, ('", line ',)),
    Rule("url_userinfo", _address_password, ("@",)),
    _pattern_rule("well_known_token", _SERVICE_TOKEN, _SERVICE_TOKEN_TRIGGERS),
    # last: where it finds what another rule found, the other's name is kept
    Rule("argv_repr", _argv_repr, ("['", '["')),
)
RULE_NAMES: Final = tuple(rule.name for rule in DEFAULT_RULES)

# Every secret the rules above find contains one of these (lower-cased): looking for them first (one
# search of their trie, about a microsecond for a log line) spares ordinary messages the rules.
_TRIGGERS: Final = (
    *_URL_TRIGGERS, "pass", "pwd", "secret", "token", "key", "cred", "auth", "priv", "session", "cookie",
    "sig", "bearer", "basic", "-----begin", *_WELL_KNOWN_TRIGGERS, "mysql", "mariadb", "login", "-u",
    "-----end", "ls0tls1crudjtib",  # a private key's tail without its head; a PEM in base64
    "---- begin", "---- end",  # RFC 4716's armour (an SSH2 private key)
    "psk", "securestring", "mc ", "freerdp", "::add-mask::",
    "pin=", "pin:", 'pin"', "pin'", "pin ", "pin\t", "pin_c", "pincode",  # a PIN (`user_pin=4829`)
    # (an exception's arguments are read only where a sign-in's or a secret's word, a trigger, names them;
    # chrony's rarer types are left to their `HEX:`: each word costs every line's scan a little)
    "$ansible_vault", "wifi:", *_IPSEC_TRIGGERS, "hex:", "ascii:", "md5 ", "sha1 ", "sha256 ", "sha512 ",
    "setuser", "on >",
    "header value", "header part (",  # a header value an HTTP client refused (`_refused_header_value`)
    # the tenth sweep's: SASL PLAIN's NULs, recovery words, clear-text schemes, ciphers' constructors
    *_SASL_TRIGGERS, "phrase", "mnemonic", *_PLAIN_SCHEME_TRIGGERS, *_CIPHER_TRIGGERS,
    *_SERVICE_TOKEN_TRIGGERS, *_DISCORD_TOKEN_TRIGGERS,
    "snmp", "mmunit", "m2sec", "-a ", "-a\t",  # SNMP communities (`community`, `com2sec`), `http -a`
    # a secret's name misspelt by a letter left out or two swapped (`_misspellings`), where none of the
    # words above stands in it (and expect's `assword:` prompts); parts chosen whose first two letters
    # are rare in text (each word is tried where its first letters stand: `apik` for `apikye` would be
    # tried at every `/api/` of an access log, and cost 0.3% of an ordinary line's redaction)
    "sword", "swd", "pasws", "phras", "spshr", "horiz", "autoh", "autor", "cerd", "cede", "reden", "rcede",
    "crde", "cree", "secr", "cret", "sece", "rcet", "scer", "otken", "tkoen", "toekn", "tokn", "toen", "tken",
    *_ORACLE_TRIGGERS, "jwt", "code=", "identified", "sessid", *_PRIVATE_KEY_BODY_TRIGGERS,
    # procedures and functions given a secret by position (`_SQL_SECRET_ARGUMENTS`; the others hold a word
    # above: `pass`, `login`, `pwd`, `auth`, `cred`, `hmac`)
    "crypt(", "crypt (", "pgp_", "approle", "distributor", "dbms_crypto",
    'kty"', "kty'", 'kty\\"',  # a JSON Web Key's private members (`_jwk`)
    "hooks", "webhook.office", "api.telegram.org/", "maker.ifttt",  # URLs holding a credential (`_WEBHOOK`)
    *_LINK_TRIGGERS,  # a one-time link's token (`_link_token`)
    *_PASSWORD_HASH_TRIGGERS, "redis-cli", *_PGPASS_TRIGGERS, "pin for", "rabbitmqctl", "net user",
    "mkpasswd", "smbclient", "mongo", "otp", "seed", "code", "net use", "hmac", "sudo", "kinit", "cryptsetup",
    "_pw ", "rar ", "ipmitool", "mosquitto_",  # password flags and arguments (pdftk's `user_pw X`)
    # calls that sign in with literals passed by position (`_SIGN_IN_CALL`; `login`, `auth`, `cred` above),
    # and `user:password` after a sign-in's words in prose (`_prose_userinfo`)
    "log_in", "logon", "sign_in", "signin", "log in", "logged in", "logging in", "sign in", "signed in",
    "connect(", "connection(", "bind_s(", "ftp(", "ftp_tls(", "sensitive", "default \"", "default '",
    # commands that print a secret (`_printed_secret`; the others hold a word above)
    "openssl rand", "pwgen", "op read", "pass show", "bw get", "secret-tool", "keyring get", "initialadmin",
    # clients made with credentials by position (`_CLIENT_CALL`; `session` above)
    "client(", "pool(", "engine(", "redis(", "smtp(", "smtp_ssl(", "imap4(", "imap4_ssl(", "pop3(",
    "pop3_ssl(", "minio(", "database(", "db(", "jira(", "github(", "gitlab(", "search(",
    # zip/unzip -P, 7z -pX, openssl -k/-K, the LDAP tools' -w (their commands' names would each add a
    # first letter to the trie every line is searched with: 7% more per ordinary line); vault: `login`
    "-p", "-k", "-w",
    # `password` abbreviated and in other languages (`_SECRET_WORDS`, `_FOREIGN_STEMS`)
    "pw", "pswd", "mdp", *_SCRIPT_TRIGGERS, "رمز", "palavra", "passe",
    *(stem for stems in _FOREIGN_STEMS.values() for stem in stems),
    *(word for words in _FOREIGN_WHOLE_WORDS.values() for word in words if len(word) > 4),
    # short names of a secret (`tok`, `psw`), and those that stand inside ordinary words (`task`, `path`,
    # `cycle`) only before what ends a key (`sk=`, `'pat'`, `cle_api`)
    "tok", "tkn", "psw", "sess", "clé", "klíč",
    *(name + end for name in ("sk", "pat", "cle", "cles", "klic") for end in ("=", ":", " =", "'", '"', "_")),
)  # fmt: skip


# The words written with other letters than ASCII's (`пароль`, `密码`, `şifre`) are looked for only in a
# text that has such letters (`str.isascii()` costs nothing): the ASCII trie every log line is searched
# with stays small, and is searched with a bitmap of its first letters.
_ASCII_TRIGGERS: Final = tuple(word for word in _TRIGGERS if word.isascii())
_TRIGGER_PATTERN: Final = _trie_pattern(_ASCII_TRIGGERS)
_OTHER_LETTERS_TRIGGER_PATTERN: Final = _trie_pattern(word for word in _TRIGGERS if not word.isascii())
