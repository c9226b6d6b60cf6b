"""`logloop.config`: the TOML file, LOGLOOP_<SECTION>_<KEY> overrides and secrets read from files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzers.smtp_config import smtp_settings
from logloop import config
from logloop.config import load_settings
from logloop.errors import ConfigError

ENV_EXAMPLE = (Path(__file__).resolve().parent.parent / ".env.example").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "logloop.toml"
    path.write_text(text)
    return path


def test_every_section_is_overridable_from_the_environment(tmp_path: Path) -> None:
    """LOGLOOP_<SECTION>_<KEY> replaces the file's value, typed as TOML where it spells a TOML value."""
    path = _write(
        tmp_path, '[smtp]\nhost = "file.example"\nport = 25\npassword = "from-file"\n[check]\nwindow = "5m"\n'
    )
    environ = {
        "LOGLOOP_SMTP_HOST": "env.example",
        "LOGLOOP_SMTP_PORT": "587",
        "LOGLOOP_SMTP_PASSWORD": "123456",
        "LOGLOOP_SMTP_RECIPIENTS": '["a@example.com", "b@example.com"]',
        "LOGLOOP_CHECK_WARNING_RATE": "2.5",
        "LOGLOOP_RETENTION_EVENTS": "90d",
        "LOGLOOP_ELASTICSEARCH_URL": "http://127.0.0.1:1,http://127.0.0.1:2",
        "LOGLOOP_ES_SNIFF": "true",
        "LOGLOOP_INDEX_PREFIX": "team",
        "LOGLOOP_TEST_ES_URL": "http://ignored:1",  # names no section: left alone
    }
    settings = load_settings(path, environ)
    smtp = settings.section("smtp")
    assert smtp["host"] == "env.example" and smtp["port"] == 587
    assert smtp["password"] == "123456"  # secrets stay text even when they look like numbers
    assert smtp_settings(smtp).recipients == ("a@example.com", "b@example.com")
    assert settings.section("check") == {"window": "5m", "warning_rate": 2.5}
    assert settings.section("retention") == {"events": "90d"}
    assert settings.elasticsearch.urls == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert settings.elasticsearch.sniff is True
    assert settings.index_prefix == "team"


def test_secrets_are_read_from_files_named_in_the_file_or_the_environment(tmp_path: Path) -> None:
    """`password_file` (TOML) and LOGLOOP_ES_API_KEY_FILE read the secret, minus one trailing newline."""
    (tmp_path / "smtp").write_text("s3cret\n")
    (tmp_path / "es").write_text("a2V5")
    path = _write(tmp_path, f'[smtp]\npassword_file = "{tmp_path / "smtp"}"\n')
    settings = load_settings(path, {"LOGLOOP_ES_API_KEY_FILE": str(tmp_path / "es")})
    assert settings.section("smtp") == {"password": "s3cret"}
    assert settings.elasticsearch.api_key == "a2V5"


def test_the_environment_secret_replaces_the_file_path_of_the_config(tmp_path: Path) -> None:
    """LOGLOOP_SMTP_PASSWORD wins over a password_file in the TOML file (which is then not read)."""
    path = _write(tmp_path, '[smtp]\npassword_file = "/nonexistent/secret"\n')
    assert load_settings(path, {"LOGLOOP_SMTP_PASSWORD": "env"}).section("smtp") == {"password": "env"}


def test_an_unreadable_secret_file_is_named_in_the_error(tmp_path: Path) -> None:
    """A secret file that cannot be read is a ConfigError naming the key and the path."""
    with pytest.raises(ConfigError, match=r"\[smtp\] password_file = '/nonexistent/x' cannot be read"):
        load_settings(_write(tmp_path, ""), {"LOGLOOP_SMTP_PASSWORD_FILE": "/nonexistent/x"})


def test_a_top_level_value_that_is_not_a_section_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """`password = "x"` outside any section is an error that does not print the value."""
    with pytest.raises(ConfigError, match="must be a \\[section\\]") as caught:
        load_settings(_write(tmp_path, 'password = "hunter2"\n'), {})
    assert "hunter2" not in str(caught.value)


def test_a_list_of_urls_in_the_file_reaches_the_settings(tmp_path: Path) -> None:
    """`url = [..]` in [elasticsearch] gives several nodes; unknown keys are refused."""
    path = _write(tmp_path, '[elasticsearch]\nurl = ["http://127.0.0.1:1", "http://127.0.0.1:2"]\n')
    assert load_settings(path, {}).elasticsearch.urls == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(_write(tmp_path, "[elasticsearch]\nurls = 1\n"), {})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("yes", True), ("ON", True), ("true", True), ("0", False), ("no", False), ("false", False)],
)
def test_boolean_connection_settings_read_the_usual_spellings(raw: str, expected: bool) -> None:
    """LOGLOOP_ES_ALLOW_PLAIN_HTTP=no is false (not the truthy text "no"), =1 is true."""
    assert (
        load_settings(
            None, {"LOGLOOP_CONFIG": "", "LOGLOOP_ES_ALLOW_PLAIN_HTTP": raw}
        ).elasticsearch.allow_plain_http
        is expected
    )


def test_a_boolean_that_is_not_one_is_refused(tmp_path: Path) -> None:
    """A value that is neither true nor false is an error naming the key and the variable that set it."""
    expected = r"LOGLOOP_ES_VERIFY_CERTS \(\[elasticsearch\] verify_certs\) = 'maybe' must be true or false"
    with pytest.raises(ConfigError, match=expected):
        load_settings(_write(tmp_path, ""), {"LOGLOOP_ES_VERIFY_CERTS": "maybe"})


def test_a_user_without_a_home_runs_on_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no HOME and no passwd entry (`docker run --user 54321`), where `Path.home()` raises,
    there is no user file to read: the defaults apply instead of a RuntimeError out of every command."""
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(RuntimeError):
        Path.home()  # the situation the test is about
    assert config.default_config_path({}) is None
    assert config.load_settings(None, environ={}) == config.Settings()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('\ufeff[logloop]\nservice = "billing"\n', id="bom"),
        pytest.param('\ufeff[logloop]\r\nservice = "billing"\r\n', id="bom-crlf"),
    ],
)
def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path, text: str) -> None:
    """A UTF-8 file that starts with a byte-order mark (as Windows editors save it) is read like one
    without; before, it was "not valid TOML: Invalid statement (at line 1, column 1)"."""
    path = tmp_path / "logloop.toml"
    path.write_bytes(text.encode("utf-8"))
    assert load_settings(path, {}).service == "billing"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "[es]\nurl = 'http://127.0.0.1:1'\n[elasticsearch]\nurl = 'http://127.0.0.1:2'\n", id="both"
        ),
        pytest.param("[elasticsearch]\nsniff = true\n[es]\nurl = 'http://127.0.0.1:2'\n", id="both-reversed"),
    ],
)
def test_the_section_under_both_its_names_is_refused(tmp_path: Path, text: str) -> None:
    """[es] and [elasticsearch] in one file are refused; before, the later one silently replaced the
    earlier one whole (its url, its credentials)."""
    with pytest.raises(ConfigError, match=r"\[es\] and \[elasticsearch\] are the same section"):
        load_settings(_write(tmp_path, text), {})


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        pytest.param("password_file = 5", "5", id="number"),
        pytest.param("password_file = ['/run/secrets/smtp']", "['/run/secrets/smtp']", id="list"),
        pytest.param("password_file = ''", "''", id="empty"),
        pytest.param("api_key_file = true", "True", id="flag"),
    ],
)
def test_a_secret_file_that_is_no_path_is_named(tmp_path: Path, line: str, shown: str) -> None:
    """A `*_file` key that is not a path in quotes says so; before, `5` was looked up as the file "5"
    ("No such file or directory") and `''` as the working directory ("Is a directory")."""
    key = line.partition(" ")[0]
    with pytest.raises(ConfigError, match="must be the path of a file, in quotes") as caught:
        load_settings(_write(tmp_path, f"[smtp]\n{line}\n"), {})
    assert f"[smtp] {key} = {shown}" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        pytest.param("LOGLOOP_RETENTON_EVENTS", "LOGLOOP_RETENTION_EVENTS", id="retention"),
        pytest.param("LOGLOOP_SMPT_HOST", "LOGLOOP_SMTP_HOST", id="smtp-transposed"),
        pytest.param("LOGLOOP_ELASTICSERCH_URL", "LOGLOOP_ELASTICSEARCH_URL", id="elasticsearch"),
        pytest.param("LOGLOOP_ALERT_WEBHOOK_URL", "LOGLOOP_ALERTS_WEBHOOK_URL", id="alerts-singular"),
        pytest.param("LOGLOOP_CHEK_WARNING_RATE", "LOGLOOP_CHECK_WARNING_RATE", id="check"),
    ],
)
def test_a_variable_with_a_misspelt_section_is_named(tmp_path: Path, variable: str, meant: str) -> None:
    """A LOGLOOP_* variable whose section word is a near miss is refused naming the variable meant, as
    a misspelt [section] in the file is; before, it was ignored and the defaults ran."""
    with pytest.raises(ConfigError, match=f"{variable} names no section \\(did you mean {meant}\\?\\)"):
        load_settings(_write(tmp_path, ""), {variable: "x"})


@pytest.mark.parametrize(
    "variable",
    [
        "LOGLOOP_TEST_ES_URL",
        "LOGLOOP_FOO_BAR",
        "LOGLOOP_LOG_LEVEL",
        "LOGLOOP_CONFIG",
        "LOGLOOP_X",
        *(line.partition("=")[0] for line in ENV_EXAMPLE.splitlines() if line.startswith("LOGLOOP_")),
    ],
)
def test_a_variable_of_another_program_is_left_alone(tmp_path: Path, variable: str) -> None:
    """A LOGLOOP_* variable that is no near miss of a section (a test suite's, another tool's), and
    every variable of the compose stack's `.env` (LOGLOOP_ANALYZER_PASSWORD is a near miss of
    [analyze]), is accepted: a shell that exported `.env` still runs logloop."""
    environ = {variable: "x"} if variable != "LOGLOOP_CONFIG" else {}
    if variable in ("LOGLOOP_INDEX_PREFIX", "LOGLOOP_RETENTION_EVENTS", "LOGLOOP_RETENTION_GROUPS"):
        environ = {variable: "logloop" if variable == "LOGLOOP_INDEX_PREFIX" else "30d"}
    assert load_settings(_write(tmp_path, ""), environ).index_prefix == "logloop"


@pytest.mark.parametrize(
    ("text", "home"),
    [
        pytest.param('[elasticsearch]\nindex_prefix = "a"\n', "[logloop] index_prefix", id="prefix-under-es"),
        pytest.param('[es]\nservice = "a"\n', "[logloop] service", id="service-under-es-alias"),
        pytest.param('[logloop]\nurl = "http://h:1"\n', "[elasticsearch] url", id="url-in-logloop"),
        pytest.param('index_prefix = "a"\n[elasticsearch]\n', "[logloop] index_prefix", id="top-prefix"),
        pytest.param('api_key = "a"\n', "[elasticsearch] api_key", id="top-level-api-key"),
    ],
)
def test_a_key_in_the_wrong_section_is_named_where_it_belongs(tmp_path: Path, text: str, home: str) -> None:
    """A [logloop] or [elasticsearch] key written in the other section, or above every section, is
    named with the section it belongs to (before: "unknown key", or "must be a [section]", no more)."""
    with pytest.raises(ConfigError, match=re.escape(f"did you mean {home}?")):
        load_settings(_write(tmp_path, text), {})


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1", id="loopback"),
        pytest.param("https://es.example.com", id="https-host"),
        pytest.param("https://a:9200,https://b", id="second-of-two"),
    ],
)
def test_an_elasticsearch_url_without_a_port_is_one_line(tmp_path: Path, url: str) -> None:
    """A URL with no port is refused at start, naming 9200 (before: the Elasticsearch client's
    ValueError as a traceback, from every command but `check`)."""
    with pytest.raises(ConfigError, match="has no port"):
        load_settings(_write(tmp_path, ""), {"LOGLOOP_ES_URL": url})
