"""Configuration, read in one place: an optional TOML file, then LOGLOOP_* environment variables.

The file is `--config PATH`, else $LOGLOOP_CONFIG, else ~/.config/logloop/logloop.toml if present;
never the working directory. Sections other than [elasticsearch] belong to the package that owns
them (analyzers read [smtp], [digest], [schedule], [check], [analyze], [alerts], [retention]; kibana
reads [kibana]) and are handed over as plain mappings, parsed into that package's own frozen
dataclasses.

Every key of every section can be set from the environment, which wins over the file:
`LOGLOOP_<SECTION>_<KEY>`, e.g. LOGLOOP_SMTP_PASSWORD, LOGLOOP_ELASTICSEARCH_URL (LOGLOOP_ES_URL is
the same), LOGLOOP_SCHEDULE_TIMEZONE, LOGLOOP_RETENTION_EVENTS. LOGLOOP_INDEX_PREFIX and
LOGLOOP_SERVICE set the [logloop] keys. A value is read as a TOML value when it is one (`587`,
`2.5`, `true`, `["a@example.com", "b@example.com"]`), else as text; secrets and names (password,
api_key, username) are always text, so a numeric password stays a string.

Secrets from files: `password_file = "/run/secrets/smtp"` (or LOGLOOP_SMTP_PASSWORD_FILE) reads the
password from that file (one trailing newline dropped), for every secret key (password, api_key) of
every section; it keeps secrets out of the TOML file, the environment and `ps`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from logloop.errors import ConfigError
from shipper.arguments import MAX_SECONDS, index_prefix_problem, service_problem
from shipper.connection import URL_EXAMPLE, ElasticsearchSettings, url_problem
from shipper.schema import DEFAULT_INDEX_PREFIX, unknown_keys_message, unknown_names_message

SECTIONS: Final = (
    "logloop",
    "elasticsearch",
    "smtp",
    "digest",
    "schedule",
    "check",
    "alerts",
    "analyze",
    "retention",
    "indices",
    "kibana",
    "grouping",
    "redaction",
    "rootcause",
)
_SECTION_ALIASES: Final = {"es": "elasticsearch"}
_PLAIN_ALIASES: Final = {
    "LOGLOOP_INDEX_PREFIX": ("logloop", "index_prefix"),
    "LOGLOOP_SERVICE": ("logloop", "service"),
}
_GENERAL_KEYS: Final = ("index_prefix", "service")
SECRET_KEYS: Final = frozenset({"password", "api_key"})
_TEXT_KEYS: Final = SECRET_KEYS | {"username"}
_FILE_SUFFIX: Final = "_file"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the CLI needs to know about the deployment."""

    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    index_prefix: str = DEFAULT_INDEX_PREFIX
    service: str = "logloop"
    source: Path | None = None
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # (section, key) -> the LOGLOOP_* variable that set it, so that an error names what the user wrote
    variables: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        return self.sections.get(name, {})

    def label(self, section: str, key: str) -> str:
        """How the user spelt a setting: its environment variable when that is where it came from."""
        variable = self.variables.get((section, key))
        return f"{variable} ([{section}] {key})" if variable else f"[{section}] {key}"


def default_config_path(environ: Mapping[str, str]) -> Path | None:
    if environ.get("LOGLOOP_CONFIG"):
        return Path(environ["LOGLOOP_CONFIG"])
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no passwd entry (a container's bare uid): no user file to read
        return None
    candidate = home / ".config" / "logloop" / "logloop.toml"
    return candidate if candidate.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: a command run without a file or LOGLOOP_* variables never parses TOML

    try:
        with open(path, "rb") as handle:
            data = handle.read()
        # A byte-order mark (Windows editors save "UTF-8" with one) is no TOML, and no content either.
        return tomllib.loads(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory: give the path of a TOML file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"config file {path} cannot be read ({reason}): fix its permissions") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def env_value(key: str, raw: str) -> Any:
    """An environment variable's text as the TOML value it spells, else as text (pure)."""
    if key in _TEXT_KEYS or key.endswith(_FILE_SUFFIX):
        return raw
    import tomllib  # see _read_toml

    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_target(variable: str) -> tuple[str, str] | None:
    """`LOGLOOP_SMTP_PASSWORD` -> ("smtp", "password"); None for variables that name no section."""
    if variable in _PLAIN_ALIASES:
        return _PLAIN_ALIASES[variable]
    section, _, key = variable.removeprefix("LOGLOOP_").lower().partition("_")
    section = _SECTION_ALIASES.get(section, section)
    if not variable.startswith("LOGLOOP_") or section not in SECTIONS or not key:
        return None
    return section, key


def is_read(variable: str) -> bool:
    """Whether logloop reads this environment variable (for the sections this module parses, whether
    the key exists; the other sections' owners refuse unknown keys themselves)."""
    target = _env_target(variable)
    if target is None:
        return variable == "LOGLOOP_CONFIG"
    section, key = target
    if key.removesuffix(_FILE_SUFFIX) in SECRET_KEYS:
        return True
    if section == "elasticsearch":
        return key in {f.name for f in fields(ElasticsearchSettings)}
    return section != "logloop" or key in _GENERAL_KEYS


# LOGLOOP_* variables that are no setting: the file's path, and the compose stack's users' passwords
# (`.env`, often exported into the shell that runs logloop too; ANALYZER is a near miss of ANALYZE).
_NOT_SETTINGS: Final = frozenset({"LOGLOOP_CONFIG", "LOGLOOP_ANALYZER_PASSWORD", "LOGLOOP_WRITER_PASSWORD"})


def _misspelt_section(variable: str) -> str | None:
    """The variable this one probably meant, when its section word is a near miss of a section's
    (LOGLOOP_RETENTON_EVENTS); None for a variable of another program (LOGLOOP_TEST_ES_URL)."""
    if not variable.startswith("LOGLOOP_") or variable in _PLAIN_ALIASES or variable in _NOT_SETTINGS:
        return None
    word, _, key = variable.removeprefix("LOGLOOP_").partition("_")
    if not key:
        return None
    import difflib  # (only for a variable that names no section)

    nearest = difflib.get_close_matches(word.lower(), [*SECTIONS, *_SECTION_ALIASES], n=1, cutoff=0.75)
    return f"LOGLOOP_{nearest[0].upper()}_{key}" if nearest else None


def environment_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every LOGLOOP_<SECTION>_<KEY> variable, by section and key, values typed by `env_value`."""
    overrides: dict[str, dict[str, Any]] = {}
    for variable in sorted(environ):
        target = _env_target(variable)
        meant = None if target is not None else _misspelt_section(variable)
        if meant is not None:  # ignored, it would leave the defaults running silently
            raise ConfigError(
                f"{variable} names no section (did you mean {meant}?); known: {', '.join(SECTIONS)}"
            )
        if target is not None:
            section, key = target
            overrides.setdefault(section, {})[key] = env_value(key, environ[variable])
    return overrides


def _read_secret(path_text: Any, *, where: str) -> str:
    if not isinstance(path_text, str) or not path_text:
        raise ConfigError(f"{where} = {path_text!r} must be the path of a file, in quotes")
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            f"{where} = {str(path)!r} cannot be read ({reason}): point it at a readable file"
        ) from None
    return text[:-1] if text.endswith("\n") else text


def resolve_secret_files(section: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """Replace `<secret>_file` keys with the secret read from that file."""
    values = dict(table)
    for key in SECRET_KEYS:
        file_key = key + _FILE_SUFFIX
        if file_key in values:
            values[key] = _read_secret(values.pop(file_key), where=f"[{section}] {file_key}")
    return values


def merged_sections(document: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The file's sections overridden key by key by the environment, secret files resolved."""
    sections: dict[str, dict[str, Any]] = {}
    for alias, name in _SECTION_ALIASES.items():
        if alias in document and name in document:  # one would silently replace the other
            raise ConfigError(f"[{alias}] and [{name}] are the same section: keep one of them")
    for name, table in document.items():
        if not isinstance(table, Mapping):
            home = _own_keys().get(name)
            meant = f" (did you mean {home}?)" if home else ""
            raise ConfigError(
                f"top-level key {name!r} must be a [section]{meant}: known are {', '.join(SECTIONS)}"
            )
        if name not in SECTIONS and name not in _SECTION_ALIASES:
            import difflib  # (here: only a mistake needs it; every command reads the configuration)

            nearest = difflib.get_close_matches(name, SECTIONS, n=1, cutoff=0.6)
            hint = f" (did you mean [{nearest[0]}]?)" if nearest else ""
            raise ConfigError(f"unknown section [{name}]{hint}; known: {', '.join(SECTIONS)}")
        sections[_SECTION_ALIASES.get(name, name)] = dict(table)
    for name, overrides in environment_overrides(environ).items():
        table = sections.setdefault(name, {})
        for key, value in overrides.items():
            if key in SECRET_KEYS:
                table.pop(key + _FILE_SUFFIX, None)  # the environment's secret wins over the file's path
            if key.endswith(_FILE_SUFFIX):
                table.pop(key.removesuffix(_FILE_SUFFIX), None)
            table[key] = value
    return {name: resolve_secret_files(name, table) for name, table in sections.items()}


def _es_settings(table: Mapping[str, Any], label: Callable[[str, str], str]) -> ElasticsearchSettings:
    known = {f.name for f in fields(ElasticsearchSettings)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(_unknown_keys("elasticsearch", unknown, known))
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = label("elasticsearch", key)
        if key in _ES_BOOLEANS:
            values[key] = _boolean(name, value)
        elif key == "request_timeout":
            values[key] = _seconds(name, value)
        elif key == "url":
            values[key] = _urls(name, value)
        else:
            values[key] = None if value is None else _text(name, value)
    return ElasticsearchSettings(**values)


def _own_keys() -> dict[str, str]:
    """Each key of the sections this module parses, by where it belongs (`url` -> `[elasticsearch] url`)."""
    es_keys = tuple(f.name for f in fields(ElasticsearchSettings))
    sections = {"logloop": _GENERAL_KEYS, "elasticsearch": es_keys}
    return {key: f"[{section}] {key}" for section, keys in sections.items() for key in keys}


def _unknown_keys(section: str, unknown: set[str], known: Collection[str]) -> str:
    """The unknown-keys message, a key of the other section named where it belongs: `index_prefix`
    under [elasticsearch] is a misplaced line, not a misspelt key."""
    elsewhere = {key: home for key, home in _own_keys().items() if key in unknown}
    if not elsewhere:
        return unknown_keys_message(section, unknown, known)
    return unknown_names_message(f"key(s) in [{section}]", unknown, known, meant=elsewhere)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} = {value!r} must be text (in quotes)")
    return value


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_SECONDS:
        raise ConfigError(f"{name} = {value!r} must be a number of seconds above 0 (at most a year), e.g. 10")
    return float(value)


def _urls(name: str, value: Any) -> str | tuple[str, ...]:
    """One URL, comma-separated URLs or a list of them, each with a host and a valid port."""
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{name} = {value!r} must be a URL in quotes like {URL_EXAMPLE}")
        problem = url_problem(item)
        if problem:
            raise ConfigError(f"{name}: {item.strip()!r} {problem}: write it like {URL_EXAMPLE}")
    return value if isinstance(value, str) else tuple(items)


def _general(table: Mapping[str, Any], label: Callable[[str, str], str]) -> tuple[str, str]:
    """The [logloop] keys: the index prefix (a valid Elasticsearch index name start) and the service."""
    unknown = set(table) - set(_GENERAL_KEYS)
    if unknown:
        raise ConfigError(_unknown_keys("logloop", unknown, _GENERAL_KEYS))
    prefix = _text(label("logloop", "index_prefix"), table.get("index_prefix", DEFAULT_INDEX_PREFIX))
    problem = index_prefix_problem(prefix)
    if problem is not None:
        raise ConfigError(f"{label('logloop', 'index_prefix')} = {prefix!r} {problem}")
    service = _text(label("logloop", "service"), table.get("service", "logloop"))
    problem = service_problem(service)
    if problem is not None:
        raise ConfigError(f"{label('logloop', 'service')} = {service!r} {problem}")
    return prefix, service


_ES_BOOLEANS: Final = frozenset(f.name for f in fields(ElasticsearchSettings) if isinstance(f.default, bool))
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _boolean(name: str, value: Any) -> bool:
    """true/false, 1/0, yes/no, on/off (any case) -> bool; anything else is an error naming the key."""
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{name} = {value!r} must be true or false")


# The parser of each section another package owns, by module and function (called with the section's
# table; it raises that package's configuration error). `check_sections` runs each present section's
# at start, whatever the command, so that a typo in [smtp] is found by `check` too and not first by the
# Sunday digest; an absent section is never asked for (each parser's defaults stand).
SECTION_PARSERS: Final[Mapping[str, tuple[str, str]]] = {
    "smtp": ("analyzers.smtp_config", "smtp_settings"),
    "digest": ("analyzers.config", "digest_title"),
    "schedule": ("analyzers.config", "schedule_config"),
    "check": ("analyzers.config", "check_config"),
    "alerts": ("analyzers.config", "alerts_config"),
    "analyze": ("analyzers.config", "analyze_config"),
    "retention": ("analyzers.config", "retention_config"),
    "rootcause": ("analyzers.rootcause_config", "rootcause_config"),
    "indices": ("shipper.schema", "index_layout"),
    "kibana": ("kibana.settings", "check_section"),
    "grouping": ("logloop.config", "check_grouping"),
    "redaction": ("shipper.redaction", "options_from_config"),
}


def check_sections(settings: Settings) -> None:
    """Parse every section present with its owner's parser; a section whose owner is not installed
    (an extra left out) is left to the command that needs it, which names the extra."""
    for name, table in settings.sections.items():
        module_name, function_name = SECTION_PARSERS[name]
        try:
            module = __import__(module_name, fromlist=[function_name])
        except ModuleNotFoundError:
            continue
        getattr(module, function_name)(table)


def named_by_variables(message: str, variables: Mapping[tuple[str, str], str]) -> str:
    """An error message about `[section] key`, each key set from the environment named by its
    variable too (pure). The sections' owners see only the merged table; a user told of `[retention]
    events` would look for it in a file that has no such line."""
    for (section, key), variable in sorted(variables.items()):
        # (the key with any item index after it, `[grouping] in_app[0]`, and no longer key's start)
        named = re.compile(re.escape(f"[{section}] {key}") + r"(?:\[\d+\])*(?!\w)")
        if variable not in message and named.search(message):
            message = named.sub(f"{variable} (\\g<0>)", message)  # (a variable's name holds no backslash)
            message = message.replace(_FIX_THE_FILE, f"; fix {variable}")
        elif f"unknown key(s) in [{section}]: " in message:
            unknown = message.partition(f"in [{section}]: ")[2].partition(";")[0].replace(",", " ").split()
            if key in unknown:
                message = f"{message} (set by {variable})"
    return message


_FIX_THE_FILE: Final = "; fix the configuration file"  # the advice after a section's error


def check_grouping(table: Mapping[str, Any]) -> None:
    """`[grouping]` parsed by its pure parser, whose ValueError becomes a ConfigError here."""
    from shipper.grouping.options import GroupingConfigError, options_from_table

    try:
        options_from_table(table)
    except GroupingConfigError as exc:
        raise ConfigError(f"{exc}{_FIX_THE_FILE}") from None


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the file (if any) overridden by the environment."""
    environ = os.environ if environ is None else environ
    path = path or default_config_path(environ)
    sections = merged_sections(_read_toml(path) if path else {}, environ)
    targets = {variable: _env_target(variable) for variable in environ}
    variables = {target: variable for variable, target in targets.items() if target is not None}
    label = Settings(variables=variables).label
    try:
        prefix, service = _general(sections.pop("logloop", {}), label)
        elasticsearch = _es_settings(sections.pop("elasticsearch", {}), label)
    except ConfigError as exc:  # an unknown key set from the environment is named by its variable too
        raise ConfigError(named_by_variables(str(exc), variables)) from None
    return Settings(
        elasticsearch=elasticsearch,
        index_prefix=prefix,
        service=service,
        source=path,
        sections=sections,
        variables=variables,
    )
