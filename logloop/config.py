"""Configuration, read in one place: an optional TOML file, then LOGLOOP_* environment variables.

The file is `--config PATH`, else $LOGLOOP_CONFIG, else ~/.config/logloop/logloop.toml if present;
never the working directory. Sections other than [elasticsearch] belong to the package that owns
them (analyzers read [smtp], [digest], [schedule], [check]; kibana reads [kibana]) and are handed
over as plain mappings, parsed into that package's own frozen dataclasses.

Environment variables (override the file):
    LOGLOOP_ES_URL, LOGLOOP_ES_API_KEY, LOGLOOP_ES_USERNAME, LOGLOOP_ES_PASSWORD, LOGLOOP_ES_CA_CERTS,
    LOGLOOP_ES_ALLOW_PLAIN_HTTP, LOGLOOP_INDEX_PREFIX, LOGLOOP_SERVICE
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from logloop.errors import ConfigError
from shipper.connection import ElasticsearchSettings
from shipper.schema import DEFAULT_INDEX_PREFIX

_ENV_TO_ES_FIELD = {
    "LOGLOOP_ES_URL": "url",
    "LOGLOOP_ES_API_KEY": "api_key",
    "LOGLOOP_ES_USERNAME": "username",
    "LOGLOOP_ES_PASSWORD": "password",
    "LOGLOOP_ES_CA_CERTS": "ca_certs",
    "LOGLOOP_ES_ALLOW_PLAIN_HTTP": "allow_plain_http",
}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the CLI needs to know about the deployment."""

    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    index_prefix: str = DEFAULT_INDEX_PREFIX
    service: str = "logloop"
    source: Path | None = None
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        return self.sections.get(name, {})


def default_config_path(environ: Mapping[str, str]) -> Path | None:
    if environ.get("LOGLOOP_CONFIG"):
        return Path(environ["LOGLOOP_CONFIG"])
    candidate = Path.home() / ".config" / "logloop" / "logloop.toml"
    return candidate if candidate.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _es_settings(table: Mapping[str, Any], environ: Mapping[str, str]) -> ElasticsearchSettings:
    known = {f.name for f in fields(ElasticsearchSettings)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [elasticsearch]: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = dict(table)
    for variable, name in _ENV_TO_ES_FIELD.items():
        if variable in environ:
            raw = environ[variable]
            values[name] = raw.lower() in _TRUE if name == "allow_plain_http" else raw
    return ElasticsearchSettings(**values)


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the file (if any) overridden by the environment."""
    environ = os.environ if environ is None else environ
    path = path or default_config_path(environ)
    document = _read_toml(path) if path else {}
    es_table = document.pop("elasticsearch", {})
    general = document.pop("logloop", {})
    return Settings(
        elasticsearch=_es_settings(es_table, environ),
        index_prefix=environ.get("LOGLOOP_INDEX_PREFIX", general.get("index_prefix", DEFAULT_INDEX_PREFIX)),
        service=environ.get("LOGLOOP_SERVICE", general.get("service", "logloop")),
        source=path,
        sections=document,
    )
