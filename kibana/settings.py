"""The `[kibana]` settings: read from the section, LOGLOOP_KIBANA_* variables and flags (`logloop setup`,
`logloop kibana import`), and checked, without loading what talks to Kibana (every command's start
checks a `[kibana]` section present in the configuration: see `logloop.config`). Secrets never
appear in a repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from kibana.exceptions import KibanaConfigError
from shipper.connection import endpoint_problem
from shipper.schema import unknown_keys_message


@dataclass(frozen=True, kw_only=True)
class KibanaSettings:
    """Where Kibana is and how to authenticate; secrets never appear in repr."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    allow_plain_http: bool = False
    space: str | None = None
    timeout: float = 30.0


_ENV = {
    "LOGLOOP_KIBANA_URL": "url",
    "LOGLOOP_KIBANA_API_KEY": "api_key",
    "LOGLOOP_KIBANA_USERNAME": "username",
    "LOGLOOP_KIBANA_PASSWORD": "password",
    "LOGLOOP_KIBANA_CA_CERTS": "ca_certs",
    "LOGLOOP_KIBANA_ALLOW_PLAIN_HTTP": "allow_plain_http",
    "LOGLOOP_KIBANA_SPACE": "space",
}
_BOOLEANS = {"verify_certs", "allow_plain_http"}
_TRUE = {"1", "true", "yes", "on"}


def check_section(section: Mapping[str, Any]) -> None:
    """Check `[kibana]`'s keys as read at start (its values are checked with the flags, when used)."""
    known = {f.name for f in fields(KibanaSettings)}
    unknown = set(section) - known
    if unknown:
        raise KibanaConfigError(unknown_keys_message("kibana", unknown, known))


def kibana_settings(
    section: Mapping[str, Any], environ: Mapping[str, str], flags: Mapping[str, Any]
) -> KibanaSettings | None:
    """Settings from file < environment < flags; None when no Kibana URL is configured anywhere."""
    check_section(section)
    values: dict[str, Any] = dict(section)
    for variable, name in _ENV.items():
        if environ.get(variable):
            raw = environ[variable]
            values[name] = raw.lower() in _TRUE if name in _BOOLEANS else raw
    given = {name: value for name, value in flags.items() if value is not None}
    if "api_key" in given:  # an explicit credential replaces the configured one of the other kind
        values.pop("username", None)
        values.pop("password", None)
    if "username" in given:
        values.pop("api_key", None)
    values.update(given)
    if not values.get("url"):
        return None
    result = KibanaSettings(**values)
    validate(result)
    return result


def validate(settings: KibanaSettings) -> None:
    """Raise KibanaConfigError for settings that would leak credentials or cannot work."""
    problem = endpoint_problem(
        settings.url,
        allow_plain_http=settings.allow_plain_http,
        has_api_key=bool(settings.api_key),
        has_basic_auth=bool(settings.username or settings.password),
        name="Kibana",
        example="https://host:5601",
        credentials="--api-key or --user/--password",
        opt_in="set allow_plain_http = true in [kibana]",
    )
    if problem:
        raise KibanaConfigError(problem)
    if settings.password and not settings.username:
        raise KibanaConfigError("a Kibana password needs a --user")
