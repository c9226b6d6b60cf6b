"""ShipperHandler's arguments as programs really give them: from `dictConfig` (JSON), `fileConfig`
(INI), a TOML table and `basicConfig(handlers=...)`, and given wrong (a typo, a wrong kind, a value
Elasticsearch refuses): one error line naming the argument, at set-up, and nothing left behind."""

from __future__ import annotations

import inspect
import logging
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template
from shipper import arguments
from shipper.exceptions import ConfigurationError
from shipper.handler import ShipperHandler

WRONG_KINDS = [
    pytest.param("idle_exit", "3", id="number-as-text"),
    pytest.param("request_timeout", float("nan"), id="nan-seconds"),
    pytest.param("close_timeout", float("inf"), id="infinite-seconds"),
    pytest.param("unreachable_exit", "300", id="unreachable-exit-as-text"),
    pytest.param("unreachable_exit", -1.0, id="negative-unreachable-exit"),
    pytest.param("flush_interval", True, id="bool-seconds"),
    pytest.param("batch_size", "500", id="count-as-text"),
    pytest.param("batch_size", 2.5, id="fractional-count"),
    pytest.param("max_event_bytes", True, id="bool-count"),
    pytest.param("spool_max_bytes", "1000000", id="bytes-as-text"),
    pytest.param("verify_certs", "false", id="false-as-text"),
    pytest.param("allow_plain_http", "no", id="no-as-text"),
    pytest.param("redact_before_spool", 1, id="flag-as-number"),
    pytest.param("logstash_port", "5044", id="port-as-text"),
    pytest.param("logstash_port", 70000, id="port-out-of-range"),
    pytest.param("prometheus_port", "9464", id="metrics-port-as-text"),
    pytest.param("level", "LOUD", id="unknown-level"),
    pytest.param("level", None, id="no-level"),
    pytest.param("es_url", 9200, id="url-as-number"),
    pytest.param("es_url", {"host": "x"}, id="url-as-table"),
    pytest.param("service_version", 2.3, id="version-as-float"),
    pytest.param("environment", ["prod"], id="environment-as-list"),
    pytest.param("env_allowlist", "HOME", id="names-as-one-string"),
    pytest.param("redact_keys", "pin", id="keys-as-one-string"),
    pytest.param("spool_path", 5, id="path-as-number"),
    pytest.param("spool_path", "/tmp/a\x00b", id="path-with-nul"),  # a bare ValueError from open() before
    pytest.param("spool_path", b"/tmp/a\x00b", id="bytes-path-with-nul"),
    pytest.param("context_provider", "myapp.context", id="provider-as-text"),
    pytest.param("formatter", "ecs", id="formatter-as-text"),
    pytest.param("formatter", logging.Formatter(), id="formatter-without-documents"),
    pytest.param("grouping", "in_app=myapp", id="grouping-as-text"),
    pytest.param("index_prefix", "My Logs", id="prefix-with-capitals-and-space"),
    pytest.param("index_prefix", "", id="empty-prefix"),
    pytest.param("index_prefix", "_logs", id="prefix-with-leading-underscore"),
    pytest.param("index_prefix", "logs*", id="prefix-with-wildcard"),
    pytest.param("index_prefix", "a/b", id="prefix-with-slash"),
    # Seconds past any clock: request_timeout = 1e300 failed every request (OverflowError: timestamp out
    # of range), close_timeout = 1e300 raised it from close(); a year is the bound.
    *(
        pytest.param(name, value, id=f"{name}-{label}")
        for name in (
            "request_timeout",
            "close_timeout",
            "flush_interval",
            "retry_max_delay",
            "stats_interval",
            "idle_exit",
            "unreachable_exit",
        )
        for value, label in ((1e300, "1e300"), (10**20, "huge-int"), (365 * 86400 + 1, "a-year-and-a-second"))
    ),
]


@pytest.mark.parametrize(("name", "value"), WRONG_KINDS)
def test_a_value_of_the_wrong_kind_is_one_error_naming_the_argument(
    name: str, value: Any, tmp_path: Path
) -> None:
    """A value of the wrong kind fails at set-up in one ConfigurationError line that starts with the
    argument's name, never deeper (TypeError in a comparison) nor later, nor taken silently."""
    options: dict[str, Any] = {"es_url": "http://127.0.0.1:9", "spool_path": tmp_path / "s", name: value}
    with pytest.raises(ConfigurationError) as raised:
        ShipperHandler("arguments", **options)
    message = str(raised.value)
    assert message.startswith(f"{name}="), message
    assert "\n" not in message
    assert not (tmp_path / "s").exists()  # failed before anything was made


@pytest.mark.parametrize("name", ["api_key", "password"])
def test_a_secret_of_the_wrong_kind_is_named_but_not_shown(name: str, tmp_path: Path) -> None:
    """A secret given as a number is refused by name, its value never printed."""
    with pytest.raises(ConfigurationError) as raised:
        ShipperHandler("arguments", es_url="http://127.0.0.1:9", spool_path=tmp_path, **{name: 912345678})
    assert str(raised.value).startswith(f"{name}=<hidden>")
    assert "912345678" not in str(raised.value)


def test_every_argument_has_a_kind() -> None:
    """Each keyword ShipperHandler takes is checked (a new argument without a kind fails here)."""
    parameters = set(inspect.signature(ShipperHandler.__init__).parameters) - {"self"}
    assert parameters == set(arguments.KINDS)


def test_values_of_the_right_kind_pass(tmp_path: Path) -> None:
    """Lists or tuples or sets of names, paths, level names, ints for seconds and a port of 0 are taken."""
    handler = ShipperHandler(
        "arguments",
        es_url=("http://127.0.0.1:9", "http://127.0.0.1:10"),
        spool_path=str(tmp_path / "s"),
        level="WARNING",
        env_allowlist={"LANG"},
        redact_keys=("pin",),
        idle_exit=3,
        close_timeout=1,
        index_prefix="my-logs.v2",
    )
    handler.close()
    assert handler.level == logging.WARNING


def _busy_port() -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener, listener.getsockname()[1]


# Handler set-ups that fail after the handler started to exist (logging registers every Handler for
# logging.shutdown() as soon as Handler.__init__ runs).
_FAILING_LATE = [
    pytest.param("es_url='htp://x'", id="bad-url-scheme"),
    pytest.param("es_url='http://127.0.0.1:9', redact_patterns=['(']", id="bad-pattern"),
    pytest.param("es_url='http://127.0.0.1:9', transport='kafka'", id="unknown-transport"),
    pytest.param("es_url='http://127.0.0.1:9', spool_max_bytes=1000", id="tiny-spool"),
    pytest.param("es_url='http://10.1.2.3:9200'", id="plain-http-to-a-remote-host"),
    pytest.param("es_url='http://127.0.0.1:9', grouping={'colour': 1}", id="bad-grouping-table"),
    pytest.param("es_url='http://127.0.0.1:9', prometheus_port=int(sys.argv[1])", id="busy-metrics-port"),
    pytest.param("es_url='https://127.0.0.1:9', ca_certs='/nonexistent/ca.pem'", id="ca-missing"),
    pytest.param("es_url='https://127.0.0.1:9', ca_certs='.'", id="ca-directory"),
    pytest.param("es_url='https://127.0.0.1:9', ca_certs=sys.executable", id="ca-not-pem"),
]


@pytest.mark.parametrize("options", _FAILING_LATE)
@pytest.mark.parametrize("how", ["direct", "dictConfig"])
def test_a_handler_that_failed_to_build_leaves_nothing_at_exit(
    options: str, how: str, tmp_path: Path
) -> None:
    """A program stopped by the ConfigurationError of a bad set-up prints that one traceback: the
    half-built handler (logging registers it as soon as Handler.__init__ runs) is not closed by
    logging.shutdown() at exit into a second, AttributeError traceback."""
    build = f"shipper.ShipperHandler('late', spool_path='spool', {options})"
    if how == "dictConfig":
        build = (
            "logging.config.dictConfig({'version': 1, 'handlers': {'h': {'()': lambda: " + build + "}},"
            " 'root': {'handlers': ['h']}})"
        )
    listener, port = _busy_port()
    with listener:
        done = programs.run(
            f"""
            import logging, logging.config, sys
            import shipper
            {build}
            """,
            tmp_path,
            args=[str(port)],
            timeout=60,
        )
    assert done.returncode == 1
    assert "ConfigurationError" in done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr
    assert "AttributeError" not in done.stderr


# The same handler, as each way of configuring logging from text describes it. {url}, {prefix} and
# {spool} are filled in; the program logs one record and prints what it expects to arrive.
_CONFIG_PATHS = {
    "dictConfig-json": """
        import json, logging, logging.config
        logging.config.dictConfig(json.loads('''{{"version": 1, "handlers": {{"ship": {{
            "class": "shipper.ShipperHandler", "service": "paths", "es_url": "{url}",
            "index_prefix": "{prefix}", "spool_path": "{spool}", "level": "INFO", "idle_exit": 5,
            "verify_certs": true}}}}, "root": {{"handlers": ["ship"], "level": "DEBUG"}}}}'''))
        """,
    "fileConfig-ini": """
        import logging, logging.config, pathlib
        pathlib.Path("logging.ini").write_text('''
        [loggers]
        keys=root
        [handlers]
        keys=ship
        [formatters]
        keys=
        [logger_root]
        level=DEBUG
        handlers=ship
        [handler_ship]
        class=shipper.ShipperHandler
        level=INFO
        args=('paths',)
        kwargs={{'es_url': '{url}', 'index_prefix': '{prefix}', 'spool_path': '{spool}', 'idle_exit': 5}}
        ''')
        logging.config.fileConfig("logging.ini")
        """,
    "toml-table": """
        import logging, tomllib, shipper
        table = tomllib.loads('''
        [shipper]
        service = "paths"
        es_url = ["{url}"]
        index_prefix = "{prefix}"
        spool_path = "{spool}"
        idle_exit = 5.0
        verify_certs = true
        ''')["shipper"]
        logging.getLogger().addHandler(shipper.ShipperHandler(**table))
        logging.getLogger().setLevel(logging.INFO)
        """,
    "basicConfig-handlers": """
        import logging, shipper
        logging.basicConfig(handlers=[shipper.ShipperHandler("paths", es_url="{url}",
            index_prefix="{prefix}", spool_path="{spool}", idle_exit=5)], level=logging.INFO,
            format="%(asctime)s %(levelname)s %(message)s")
        """,
}

_LOG_ONE = """
import logging
logging.getLogger("paths").info("configured through %s", "{how}")
print("EXPECT configured through {how}")
"""


@pytest.mark.parametrize("how", list(_CONFIG_PATHS))
def test_each_configuration_path_delivers_exactly_once(
    how: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program configured from JSON, INI, TOML or basicConfig ships its record exactly once, exits
    at once and prints nothing on stderr."""
    install_template(es, index_prefix)
    fill = {"url": es_url, "prefix": index_prefix, "spool": str(tmp_path / "spool")}
    script = textwrap.dedent(_CONFIG_PATHS[how].format(**fill)) + _LOG_ONE.format(how=how)
    done = programs.run(script, tmp_path, timeout=30)
    assert (done.returncode, done.stderr) == (0, "")
    want = programs.expected(done)
    assert want and programs.arrived(es, index_prefix, want) == want


_WRONG_IN_TEXT = [
    pytest.param(
        "dictConfig-json", '"idle_exit": 5', '"idle_exit": "5"', "idle_exit=", id="json-number-as-text"
    ),
    pytest.param(
        "dictConfig-json",
        '"verify_certs": true',
        '"verify_certs": "false"',
        "verify_certs=",
        id="json-flag-as-text",
    ),
    pytest.param("dictConfig-json", '"es_url"', '"es_ulr"', "es_ulr", id="json-typo"),
    pytest.param(
        "fileConfig-ini", "'idle_exit': 5", "'idle_exit': '5'", "idle_exit=", id="ini-number-as-text"
    ),
    pytest.param("fileConfig-ini", "'idle_exit': 5", "'idle_exitt': 5", "idle_exitt", id="ini-typo"),
    pytest.param("toml-table", "idle_exit = 5.0", 'idle_exit = "5s"', "idle_exit=", id="toml-number-as-text"),
    pytest.param(
        "toml-table", "verify_certs = true", 'verify_certs = "no"', "verify_certs=", id="toml-flag-as-text"
    ),
    pytest.param(
        "toml-table", 'index_prefix = "', 'index_prefix = "Logs-', "index_prefix=", id="toml-capital-prefix"
    ),
]


@pytest.mark.parametrize(("how", "right", "wrong", "named"), _WRONG_IN_TEXT)
def test_a_wrong_option_in_a_configuration_file_is_named(
    how: str, right: str, wrong: str, named: str, tmp_path: Path
) -> None:
    """An option mistyped or of the wrong kind in a JSON, INI or TOML configuration stops the program
    with an error that names it, and no second traceback from logging.shutdown() at exit."""
    fill = {"url": "http://127.0.0.1:9", "prefix": "paths", "spool": str(tmp_path / "spool")}
    script = _CONFIG_PATHS[how].format(**fill)
    assert right in script
    done = programs.run(script.replace(right, wrong, 1), tmp_path, timeout=30)
    assert done.returncode == 1
    assert named in done.stderr
    assert "Exception ignored" not in done.stderr
    assert "AttributeError" not in done.stderr


@pytest.mark.parametrize(
    ("ca_certs", "reason"),
    [
        pytest.param(lambda tmp: tmp / "missing.pem", "No such file or directory", id="missing"),
        pytest.param(lambda tmp: tmp, "Is a directory", id="directory"),
        pytest.param(
            lambda tmp: _write(tmp / "ca.pem", b"not a certificate"), "no PEM certificate", id="text"
        ),
        pytest.param(lambda tmp: _write(tmp / "ca.pem", b""), "no PEM certificate", id="empty"),
        pytest.param(
            lambda tmp: _write(tmp / "ca.pem", b"\x00\xff" * 100), "no PEM certificate", id="binary"
        ),
    ],
)
def test_a_ca_file_tls_cannot_use_is_one_error_at_set_up(tmp_path: Path, ca_certs: Any, reason: str) -> None:
    """`ca_certs` naming no readable PEM file is a ConfigurationError at set-up naming it; before, the
    handler was built and every request failed (FileNotFoundError, an OpenSSL code), retried for ever."""
    path = ca_certs(tmp_path)
    with pytest.raises(ConfigurationError) as raised:
        ShipperHandler("ca", es_url="https://127.0.0.1:9", ca_certs=str(path), spool_path=tmp_path / "s")
    assert f"ca_certs = {str(path)!r} cannot be used" in str(raised.value) and reason in str(raised.value)


def test_a_ca_file_is_not_read_for_plain_http(tmp_path: Path) -> None:
    """`ca_certs` is checked only where TLS uses it: with an http URL it is ignored, as before."""
    handler = ShipperHandler(
        "ca", es_url="http://127.0.0.1:9", ca_certs="/nonexistent", spool_path=tmp_path / "s"
    )
    handler.close()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


OUT_OF_RANGE = [
    pytest.param("level", 10**30, "0 to 50", id="level-huge"),
    pytest.param("level", -1, "0 to 50", id="level-negative"),
    pytest.param("level", 51, "0 to 50", id="level-above-critical"),
    pytest.param("max_event_bytes", 1, "2,048 to", id="event-bytes-one"),
    pytest.param("max_event_bytes", 2047, "2,048 to", id="event-bytes-below-a-record"),
    pytest.param("max_event_bytes", 10**30, "104,857,600", id="event-bytes-huge"),
    pytest.param("max_event_bytes", 0, "2,048 to", id="event-bytes-zero"),
    pytest.param("spool_max_bytes", 1, "65,536", id="spool-one-byte"),
    pytest.param("spool_max_bytes", 65535, "65,536", id="spool-below-a-segment"),
    pytest.param("logstash_port", 0, "1 to 65535", id="logstash-port-zero"),
    pytest.param("logstash_port", -1, "1 to 65535", id="logstash-port-negative"),
    pytest.param("batch_size", 0, "greater than 0", id="batch-zero"),
    pytest.param("batch_size", 100_001, "1 to 100,000", id="batch-above-its-bound"),
    pytest.param("batch_size", 10**30, "1 to 100,000", id="batch-huge"),
    pytest.param("spool_max_bytes", 1024**4 + 1, "to 1,099,511,627,776", id="spool-above-a-tebibyte"),
    pytest.param("spool_max_bytes", 2**64, "to 1,099,511,627,776", id="spool-huge"),
    pytest.param("request_timeout", 0, "greater than 0", id="timeout-zero"),
]


@pytest.mark.parametrize(("name", "value", "accepted"), OUT_OF_RANGE)
def test_a_number_out_of_its_range_is_one_error_naming_the_range(
    name: str, value: Any, accepted: str, tmp_path: Path
) -> None:
    """A number of the right kind outside the range that can work (a level no record reaches, an
    event bound every record is over) fails at set-up naming the argument and the accepted range."""
    options: dict[str, Any] = {"es_url": "http://127.0.0.1:9", "spool_path": tmp_path / "s", name: value}
    with pytest.raises(ConfigurationError) as raised:
        ShipperHandler("arguments", **options)
    message = str(raised.value)
    assert message.startswith(f"{name}={value!r} must be"), message
    assert accepted in message and "not int" not in message and "\n" not in message, message
    assert not (tmp_path / "s").exists()  # failed before anything was made


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("level", 0),
        ("level", 5),
        ("level", 50),
        ("max_event_bytes", 2048),
        ("max_event_bytes", 100 * 1024 * 1024),
        ("spool_max_bytes", 65536),
        ("spool_max_bytes", 1024**4),
        ("batch_size", 1),
        ("batch_size", 100_000),
        ("logstash_port", 1),
    ],
)
def test_a_number_at_the_ends_of_its_range_is_taken(name: str, value: Any, tmp_path: Path) -> None:
    """The ends of each range are accepted (the bounds are inclusive)."""
    handler = ShipperHandler(
        "arguments", es_url="http://127.0.0.1:9", spool_path=tmp_path / "s", **{name: value}
    )
    handler.close()


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        pytest.param("spool_dir", "spool_path", id="misspelt-spool"),
        pytest.param("apikey", "api_key", id="misspelt-key"),
        pytest.param("verify_ssl", "verify_certs", id="other-word"),
        pytest.param("database_path", "spool_path", id="python-logstash-async-spool"),
        pytest.param("ssl_enable", "logstash_ssl", id="python-logstash-async-tls"),
        pytest.param("port", "logstash_port", id="python-logstash-async-port"),
        pytest.param("hosts", "es_url", id="elasticsearch-client-hosts"),
        pytest.param("service_name", "service", id="elastic-apm-service"),
        pytest.param("zzz_unheard_of", None, id="no-near-name"),
    ],
)
def test_install_names_an_unknown_argument_and_what_was_meant(
    given: str, suggested: str | None, tmp_path: Path
) -> None:
    """install() with a name ShipperHandler does not take (a typo, another tool's name) is one
    ConfigurationError naming it, what it stands for here and every known name, and installs nothing;
    the same after a handler is installed (idempotence ignores the arguments, not their mistakes)."""
    import shipper

    before = list(logging.getLogger().handlers)
    kwargs: dict[str, Any] = {"es_url": "http://127.0.0.1:9", "spool_path": tmp_path / "spool", given: "x"}
    with pytest.raises(ConfigurationError) as raised:
        shipper.install("typo", **kwargs)
    message = str(raised.value)
    assert f"unknown argument(s) to shipper.install: {given}" in message
    assert (f"(did you mean {suggested}" in message) if suggested else ("did you mean" not in message)
    assert "known: allow_plain_http, api_key," in message and "spool_path" in message
    assert logging.getLogger().handlers == before
    assert not (tmp_path / "spool").exists()

    installed = shipper.install("typo", es_url="http://127.0.0.1:9", spool_path=tmp_path / "other")
    try:
        with pytest.raises(ConfigurationError, match=given):
            shipper.install("typo", **kwargs)
    finally:
        logging.getLogger().removeHandler(installed)
        installed.close()


# URLs the TOML's `[elasticsearch] url` (and so every command) and the handler's `es_url` must judge alike.
_URL_CASES = [
    pytest.param("http://127.0.0.1", False, id="no-port"),
    pytest.param("https://es.example.com", False, id="https-no-port"),
    pytest.param("http://127.0.0.1:9200,http://127.0.0.1", False, id="second-of-two-without-port"),
    pytest.param("http://127.0.0.1:0", False, id="port-zero"),
    pytest.param("http://127.0.0.1:99999", False, id="port-out-of-range"),
    pytest.param("http://127.0.0.1:http", False, id="port-not-a-number"),
    pytest.param("ftp://127.0.0.1:21", False, id="not-http"),
    pytest.param("http://:9200", False, id="no-host"),
    pytest.param("http://127.0.0.1:9200", True, id="loopback-with-port"),
    pytest.param("https://es.example.com:443", True, id="https-with-port"),
    pytest.param("http://127.0.0.1:9200, http://[::1]:9201", True, id="two-with-ports"),
]


@pytest.mark.parametrize(("url", "good"), _URL_CASES)
def test_the_handler_and_the_configuration_file_judge_an_elasticsearch_url_alike(
    url: str, good: bool, tmp_path: Path
) -> None:
    """One rule for a node URL: the handler refuses at construction, naming `es_url` and how to write
    it, exactly the URLs `logloop` commands refuse in `[elasticsearch] url` (before: the handler took
    a URL without a port, or with port 99999, and its agent failed every send after set-up)."""
    from logloop.config import load_settings
    from logloop.errors import ConfigError

    try:
        (tmp_path / "empty.toml").write_text("")
        load_settings(tmp_path / "empty.toml", {"LOGLOOP_ES_URL": url})
        toml_good = True
    except ConfigError:
        toml_good = False
    try:
        ShipperHandler("urls", es_url=url, spool_path=tmp_path / "s", delivery="thread").close()
        handler_good, message = True, ""
    except ConfigurationError as exc:
        handler_good, message = False, str(exc)
    assert (toml_good, handler_good) == (good, good), message
    if not good:
        assert message.startswith("es_url="), message
        assert "write it like https://host:9200" in message


@pytest.mark.parametrize(
    ("service", "good"),
    [
        pytest.param("", False, id="empty"),
        pytest.param("   ", False, id="blank"),
        pytest.param("billing", True, id="a-name"),
    ],
)
def test_the_handler_and_the_configuration_file_judge_a_service_name_alike(
    service: str, good: bool, tmp_path: Path
) -> None:
    """A blank service name is refused by `[logloop] service` as by the handler, whose message names
    its own argument `service` (before: the TOML took it, and the handler said `service_name=''`)."""
    from logloop.config import load_settings
    from logloop.errors import ConfigError

    config = tmp_path / "logloop.toml"
    config.write_text(f"[logloop]\nservice = {service!r}\n")
    try:
        load_settings(config, {})
        toml_good = True
    except ConfigError:
        toml_good = False
    try:
        ShipperHandler(service, spool_path=tmp_path / "s", delivery="thread").close()
        handler_good, message = True, ""
    except ConfigurationError as exc:
        handler_good, message = False, str(exc)
    assert (toml_good, handler_good) == (good, good), message
    assert good or message.startswith(f"service={service!r} is blank"), message
