"""The fifteenth session's redaction classes: a secret's name in other languages (inflected, with and
without diacritics), short names of secrets in code (`tok`, `psw`, `sk_live`, `pw1`, `dbpass`), and a
secret alone on the line below a label that names it; the ordinary texts beside them that must stay;
the cost of the new readings."""

# ruff: noqa: E501  (tables of cases: each text stays on its line, as written)
from __future__ import annotations

import pytest
from helpers.redacted import assert_hidden, assert_linear_time

from shipper.redaction import REDACTED, Redactor, redact_document, redact_text

# --- a secret's name in other languages -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("parole=Lv9parPw", ["Lv9parPw"], ["parole="], id="latvian-kv"),
        pytest.param("DB_PAROLE: Lv4Db!pw", ["Lv4Db!pw"], ["DB_PAROLE"], id="latvian-compound"),
        pytest.param(
            "Passwort: Gx7Kw!q2, Benutzer bob", ["Gx7Kw!q2"], ["Passwort:", "bob"], id="german-colon"
        ),
        pytest.param(
            '{"kennwort": "Kw8nnW0rt", "user": "bob"}', ["Kw8nnW0rt"], ['"user": "bob"'], id="german-json"
        ),
        pytest.param("Passwörter=Pw9Plural!", ["Pw9Plural!"], ["Passwörter"], id="german-plural"),
        pytest.param(
            "{'mot de passe': 'Fr4ncePw', 'id': 7}", ["Fr4ncePw"], ["'id': 7"], id="french-dict-repr"
        ),
        pytest.param("mot de passe=Fr7Egal!x", ["Fr7Egal!x"], ["mot de passe="], id="french-kv"),
        pytest.param("    contraseña_bd = 'Es9Pw!x'", ["Es9Pw!x"], ["contraseña_bd"], id="spanish-local"),
        pytest.param("contrasena: Es2SinTilde", ["Es2SinTilde"], [], id="spanish-no-diacritic"),
        pytest.param("senhaDoBanco=Pt7SenhaX", ["Pt7SenhaX"], ["senhaDoBanco"], id="portuguese-camel"),
        pytest.param("parola_d_ordine: It4Pw9x", ["It4Pw9x"], [], id="italian"),
        pytest.param("wachtwoord=Nl8Ww0rd", ["Nl8Ww0rd"], [], id="dutch"),
        pytest.param("hasła: Pl5Hasl0", ["Pl5Hasl0"], ["hasła"], id="polish-inflected"),
        pytest.param('heslo_uzivatele = "Cz3Hes!o"', ["Cz3Hes!o"], [], id="czech"),
        pytest.param('{"heslo": "Sk7Heslo2"}', ["Sk7Heslo2"], [], id="slovak-json"),
        pytest.param("salasanat: Fi9Sala5", ["Fi9Sala5"], [], id="finnish-plural"),
        pytest.param("jelszava=Hu2Jelsz0", ["Hu2Jelsz0"], [], id="hungarian-possessive"),
        pytest.param("admin_jelszo: Hu7NoAccent", ["Hu7NoAccent"], [], id="hungarian-no-diacritic"),
        pytest.param("lozinku: Hr4Loz1nk", ["Hr4Loz1nk"], [], id="croatian"),
        pytest.param("лозинка = 'Rs6Lozinka'", ["Rs6Lozinka"], ["лозинка"], id="serbian-cyrillic"),
        pytest.param("пароля: Ru3Parol!", ["Ru3Parol!"], [], id="russian-genitive"),
        pytest.param("гасло=Ua8Hasl0", ["Ua8Hasl0"], [], id="ukrainian"),
        pytest.param("şifresi: Tr7Sifre!", ["Tr7Sifre!"], [], id="turkish-possessive"),
        pytest.param("kullanici_parolasi=Tr2Parola9", ["Tr2Parola9"], [], id="turkish-parola"),
        pytest.param("κωδικός: Gr5Kwd!k", ["Gr5Kwd!k"], [], id="greek"),
        pytest.param("parolă=Ro3Parola", ["Ro3Parola"], [], id="romanian"),
        pytest.param("slaptazodis: Lt8Slap!", ["Lt8Slap!"], [], id="lithuanian-no-diacritic"),
        pytest.param("parool: Ee4Parool", ["Ee4Parool"], [], id="estonian"),
        pytest.param("geheimnis: De9Geheim", ["De9Geheim"], [], id="german-secret"),
        pytest.param("Geheimer_Schluessel=De2Schl!", ["De2Schl!"], [], id="german-secret-key"),
        pytest.param("clave_secreta: Es5Clave!", ["Es5Clave!"], [], id="spanish-secret-key"),
        pytest.param("chiave_segreta = 'It8Chiave'", ["It8Chiave"], [], id="italian-secret-key"),
        pytest.param("chave_api: Pt3ChaveApi9", ["Pt3ChaveApi9"], [], id="portuguese-api-key"),
        pytest.param("clé_api=Fr7CleApi2", ["Fr7CleApi2"], [], id="french-api-key"),
        pytest.param("ключ_api: Ru9KlyuchApi", ["Ru9KlyuchApi"], [], id="russian-api-key"),
        pytest.param("tajny_klucz: Pl4Tajny!", ["Pl4Tajny!"], [], id="polish-secret-key"),
        pytest.param("salainen_avain=Fi7Avain9", ["Fi7Avain9"], [], id="finnish-secret-key"),
        pytest.param("jeton: Fr2Jeton99x", ["Fr2Jeton99x"], [], id="french-token"),
        pytest.param("Zugangscode=De6Zugang!", ["De6Zugang!"], [], id="german-access-code"),
        pytest.param(
            "Traceback (most recent call last):\n  File \"app.py\", line 9, in login\n    parole = 'Lv7Trace!'\n    user = 'bob'\nValueError: no",
            ["Lv7Trace!"],
            ["user = 'bob'", "ValueError: no"],
            id="latvian-traceback-local",
        ),
        pytest.param("│ jelszó = 'Hu9Rich!x' │", ["Hu9Rich!x"], ["│ jelszó = '"], id="hungarian-rich-local"),
        pytest.param("set parola Tr5Set!Pw", ["Tr5Set!Pw"], ["set parola"], id="turkish-told"),
    ],
)
def test_a_secrets_name_in_other_languages(text: str, secrets: list[str], kept: list[str]) -> None:
    """`password`, `secret`, `token`, `credentials` and `key` in other languages (inflected, with and
    without diacritics, joined into compounds) name a secret in `key=value`, `key: value`, JSON, dict
    reprs and a traceback's locals, as the English words do."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "key",
    [
        "parole",
        "Passwörter",
        "hasła",
        "jelszava",
        "salasanat",
        "пароля",
        "şifresi",
        "lozinku",
        "senha_db",
        "geheimnis",
        "токен_api",
        "credenciales",
    ],
)
def test_foreign_names_hide_a_mappings_value(key: str) -> None:
    """In extras a key named in another language hides its whole value, plain words and all."""
    redacted = redact_document({"extra": {key: "two plain words", "user": "bob"}})
    assert redacted["extra"] == {key: REDACTED, "user": "bob"}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Passwort vergessen? Klicken Sie hier", id="german-prose"),
        pytest.param("mot de passe oublié pour alice", id="french-prose"),
        pytest.param("la contraseña es incorrecta", id="spanish-prose"),
        pytest.param("parole hearing scheduled for monday", id="english-parole"),
        pytest.param("assigned_secretary=alice-smith", id="secretary"),
        pytest.param("gesloten: 2026-01-01 winkel", id="dutch-closed"),
        pytest.param("klicken: 3 mal", id="german-click"),
        pytest.param("cycle=42 article: 7 vehicle_id=9", id="cle-inside-words"),
        pytest.param("task: backup disk: sda1 risk: low", id="sk-inside-words"),
        pytest.param("path: /var/lib/x pattern: *.log", id="pat-inside-words"),
        pytest.param("bypass: cache compass: north", id="english-pass-words"),
        pytest.param("OLDPWD=/home/bob/src", id="previous-directory"),
        pytest.param("schlüssel: id_rsa.pub", id="key-file-name"),
        pytest.param("    tok = 'if'", id="parser-token"),
        pytest.param("Schlüssel wurde erneuert", id="german-key-prose"),
        pytest.param("jelszó megváltozott", id="hungarian-prose"),
        pytest.param("пароль изменён успешно", id="russian-prose"),
        pytest.param("clave: primaria", id="spanish-key-word"),
    ],
)
def test_ordinary_texts_with_those_names_stay(text: str) -> None:
    """A name in prose without a value, an ordinary word that begins or holds a stem or a short name,
    and a weak name before a value that reads as a name, stay as they are."""
    assert redact_text(text) == text


# --- short names of secrets in code ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("    tok = 'Tk9LocalAbc'", ["Tk9LocalAbc"], ["tok = '"], id="tok-local"),
        pytest.param("│ pw1 = 'Pw1Rich!x' │", ["Pw1Rich!x"], ["pw1"], id="numbered-pw-rich"),
        pytest.param("{'sk': 'Sk9DictVal', 'user': 'bob'}", ["Sk9DictVal"], ["'user': 'bob'"], id="sk-dict"),
        pytest.param("Client(host='x', psw='Ps9Kw!x')", ["Ps9Kw!x"], ["host='x'"], id="psw-kwarg"),
        pytest.param("dbpass=Db9Pass!x", ["Db9Pass!x"], ["dbpass="], id="glued-pass"),
        pytest.param('{"rootPwd": "Ro9tPwd!"}', ["Ro9tPwd!"], [], id="glued-pwd-camel"),
        pytest.param("jwt='Jw7TokAbc.x'", ["Jw7TokAbc.x"], [], id="jwt-key"),
        pytest.param("refreshTok: Rf5Tok!xyz", ["Rf5Tok!xyz"], [], id="tok-camel"),
        pytest.param("    gh_pat = 'Gh8PatValue9'", ["Gh8PatValue9"], [], id="pat-local"),
        pytest.param("token2=Tk2Second!", ["Tk2Second!"], [], id="numbered-token"),
        pytest.param("accessTkn: Ac9Tkn!x", ["Ac9Tkn!x"], [], id="tkn"),
        pytest.param("sk_live = 'Sk7LiveKey9'", ["Sk7LiveKey9"], [], id="sk-live"),
        pytest.param("pw_new='Pn3wPass!'", ["Pn3wPass!"], [], id="pw-new"),
        pytest.param("cred: Cr8dVal!x", ["Cr8dVal!x"], [], id="cred"),
        pytest.param("sess = 'Se5sVal9x'", ["Se5sVal9x"], [], id="sess"),
    ],
)
def test_short_names_of_secrets(text: str, secrets: list[str], kept: list[str]) -> None:
    """Short and abbreviated names of a secret (`tok`, `tkn`, `psw`, `sk`, `pat`, `sess`, `cred`,
    `jwt`), names glued to `pass`/`pwd`, numbered names and a weak name before `new`/`live` hide their
    value in a traceback's locals, dict reprs, keyword arguments and `key=value` pairs."""
    assert_hidden(text, secrets, kept)


def test_a_flag_glued_to_its_value_is_no_numbered_name() -> None:
    """`-pUnr4rPw9` is a flag glued to its value: the word after it is no secret's (its name is not read
    without its digits when another word of it holds one)."""
    assert redact_text("unrar x -pUnr4rPw9 archive.rar") == f"unrar x -p{REDACTED} archive.rar"


# --- a secret on the line below its label ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param(
            "password set for alice:\n    Hn7Below!", ["Hn7Below!"], ["password set for alice:"], id="set-for"
        ),
        pytest.param(
            "Your new token is:\n  Tk9NewLine22",
            ["Tk9NewLine22"],
            ["Your new token is:"],
            id="token-is-colon",
        ),
        pytest.param(
            "Generated API key\n  Ak7GenLine9Q", ["Ak7GenLine9Q"], ["Generated API key"], id="no-colon-random"
        ),
        pytest.param(
            "Neues Passwort für bob:\n\n  De4Below!",
            ["De4Below!"],
            ["Neues Passwort"],
            id="german-blank-line",
        ),
        pytest.param(
            "Temporary password for carol\r\nTm9Pw!x2\r\n", ["Tm9Pw!x2"], ["carol"], id="crlf-no-colon"
        ),
        pytest.param("Votre mot de passe est :\n  Fr8Dessous!", ["Fr8Dessous!"], [], id="french-est"),
        pytest.param("Your verification code is:\n  482913", ["482913"], [], id="verification-code"),
        pytest.param("Das Kennwort lautet\n  Kw5Lautet9", ["Kw5Lautet9"], [], id="german-lautet"),
        pytest.param(
            "2026-12-05 10:00:01 INFO root password:\n\tcorrecthorse\n2026-12-05 10:00:02 INFO done",
            ["correcthorse"],
            ["INFO done"],
            id="log-line-plain-word",
        ),
        pytest.param("Here is your PIN:\n  7316", ["7316"], [], id="pin"),
    ],
)
def test_a_secret_alone_below_its_label(text: str, secrets: list[str], kept: list[str]) -> None:
    """A secret alone on the line below a label that names it (ending with a colon or `is`, or a random
    value below a bare name), after up to two blank lines, is hidden; the label stays."""
    assert_hidden(text, secrets, kept)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("password reset for alice:\n    link sent to her mail", id="sentence-below"),
        pytest.param("Token:\n    expired", id="status-below"),
        pytest.param("Changing password for bob.\nNew password:\nRetype new password:", id="passwd-prompts"),
        pytest.param("    if password:\n        pass", id="code-if"),
        pytest.param("    def set_token(self, tok):\n        return tok", id="code-def"),
        pytest.param("password policy for admins:\n  strict", id="about-word"),
        pytest.param("failed to refresh token\nTraceback (most recent call last):", id="traceback-below"),
        pytest.param("failed to refresh token\nConnectionResetError", id="error-name-below"),
        pytest.param("Password:\n********", id="mask-below"),
        pytest.param("Password:\nSorry, try again.", id="sudo-retry"),
        pytest.param("Here is your PIN:\n  sent", id="pin-status"),
        pytest.param("Your token is\nvalid until monday", id="is-then-sentence"),
        pytest.param("secrets:\n  db:\n    user: bob", id="nested-label"),
        pytest.param("Missing secrets:\n  DB_PASSWORD\n  API_TOKEN", id="names-of-secrets-below"),
    ],
)
def test_ordinary_lines_below_a_name_stay(text: str) -> None:
    """A sentence, a status, a mask, code, a nested label or an error's name below a secret's name, or a
    label that names something about the secret, stays as it is."""
    assert redact_text(text) == text


def test_a_csv_header_is_no_label() -> None:
    """A CSV header ending with a secret's name is no label: the row below keeps its other cells (the
    rows' rule hides the secret's)."""
    assert redact_text("id,name,token\n1,bob,Fk9Row1x") == f"id,name,token\n1,bob,{REDACTED}"


# --- cost ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("password:\n" * 8192, id="labels"),
        pytest.param("the token is\n" + "x" * 65536, id="long-value-line"),
        pytest.param("jelszava=" * 8192, id="foreign-keys"),
        pytest.param("tok=a " * 8192, id="short-keys"),
    ],
)
def test_the_new_readings_cost_linear_time(text: str) -> None:
    """The label, foreign-name and short-name readings cost about 4x for 4x the text (a quadratic one
    would cost 16x)."""
    assert_linear_time(text, text * 4)


def test_user_keys_are_not_read_without_their_digits() -> None:
    """A user's key name with digits (`code2`) names that key only: built-in names are read without a
    number, a user's are not."""
    redactor = Redactor.build(keys=["code2"])
    assert redactor.is_secret_key("code2") and not redactor.is_secret_key("code")


# --- a key that names several secrets; a key that tells when, how often or whence -------------------


@pytest.mark.parametrize(
    ("text", "secrets", "kept"),
    [
        pytest.param("passwords=MSU8VTEv9bwUP94Js7cX", ["MSU8VTEv9bwUP94Js7cX"], ["passwords="], id="plural"),
        pytest.param(
            "db_passwords: ['Pq8FirstPw', 'x8K2mP9qL4wZ']",
            ["Pq8FirstPw", "x8K2mP9qL4wZ"],
            ["db_passwords"],
            id="list",
        ),
        pytest.param(
            '{"passphrases": ["correct horse battery", "Zz9!aa77bbQQ"], "user": "bob"}',
            ["correct horse battery", "Zz9!aa77bbQQ"],
            ['"user": "bob"'],
            id="json-list",
        ),
        pytest.param("pwds=Hunter2Hunter2", ["Hunter2Hunter2"], [], id="abbreviated"),
        pytest.param("DBPASSWORDS=Kx9Glued7Pw", ["Kx9Glued7Pw"], [], id="glued"),
        pytest.param(
            "refresh_tokens=['DHftDe8wQ29aLm3kP0xY', 'A1b2C3d4E5f6G7h8']",
            ["DHftDe8wQ29aLm3kP0xY", "A1b2C3d4E5f6G7h8"],
            ["refresh_tokens"],
            id="credential-tokens",
        ),
    ],
)
def test_a_key_naming_several_secrets_hides_each(text: str, secrets: list[str], kept: list[str]) -> None:
    """A plural of a secret's name (`passwords`, `db_passwords`, `pwds`, `refresh_tokens`) names each
    secret under it, as the singular does."""
    assert_hidden(text, secrets, kept)


def test_a_mapping_under_a_plural_secret_name_is_hidden() -> None:
    """In extras, `passwords` and `access_tokens` hide their values; `prompt_tokens` (a count) stays."""
    redacted = Redactor().redact_mapping(
        {"passwords": ["Pw9Alpha", "Pw9Beta"], "access_tokens": ["Tk9Gamma12345"], "prompt_tokens": 512}
    )
    assert redacted == {"passwords": REDACTED, "access_tokens": REDACTED, "prompt_tokens": 512}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("prompt_tokens=512 completion_tokens=20 total_tokens=532", id="model-usage"),
        pytest.param('usage: {"prompt_tokens": 512, "max_tokens": 4096}', id="model-usage-json"),
        pytest.param("tokens = ['the', 'cat', 'sat']", id="parser-tokens"),
        pytest.param("password_changed_at=2024-01-01T00:00:00Z password_attempts=3", id="when-how-often"),
        pytest.param("token_expires_in=3600 token_created_at=2024-05-01", id="expiry"),
        pytest.param("SECRET_ROTATION_DAYS=90 SECRET_TTL_SECONDS=3600", id="rotation"),
        pytest.param("PASSWORD_HASHERS=argon2,bcrypt auth_status=failed", id="hashers-status"),
        pytest.param("credentials_source=env pass_rate=0.98", id="source-rate"),
    ],
)
def test_keys_about_a_secret_or_counting_tokens_stay(text: str) -> None:
    """Keys that count a model's or a parser's tokens, or say when, how often, how or whence a secret
    was made or used, keep their values."""
    assert redact_text(text) == text
