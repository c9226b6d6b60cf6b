"""How to reach Elasticsearch: one frozen settings object and the one place a client is built.

Secrets (API key, password) are held here and handed to the client; `__repr__` never shows them.
Plain http is accepted for loopback hosts; anywhere else it needs an explicit opt-in, because it
would send credentials and log content in clear text.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from shipper.exceptions import ConfigurationError


@dataclass(frozen=True, kw_only=True)
class ElasticsearchSettings:
    """Connection settings for the Elasticsearch `_bulk` transport and the analyzers."""

    url: str = "http://127.0.0.1:9200"
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    allow_plain_http: bool = False
    request_timeout: float = 10.0


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def endpoint_problem(
    url: str,
    *,
    allow_plain_http: bool,
    has_api_key: bool,
    has_basic_auth: bool,
    name: str,
    example: str,
    credentials: str,
    opt_in: str,
) -> str | None:
    """What is wrong with an HTTP endpoint's settings, or None; shared by Elasticsearch and Kibana.

    `name` names the service, `example` a good URL, `credentials` where credentials belong and
    `opt_in` how to allow plain http; each caller raises its own error with the message.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{name} URL {url!r} must look like {example}"
    if parts.username or parts.password:
        return f"put {name} credentials in {credentials}, not in the URL"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_plain_http:
        return (
            f"refusing plain http to non-loopback {name} host {parts.hostname}: use https, "
            f"or {opt_in} if the network is trusted"
        )
    if has_api_key and has_basic_auth:
        return f"choose one of {credentials}, not both"
    return None


def validate(settings: ElasticsearchSettings) -> None:
    """Raise ConfigurationError for settings that would leak data or cannot work."""
    problem = endpoint_problem(
        settings.url,
        allow_plain_http=settings.allow_plain_http,
        has_api_key=bool(settings.api_key),
        has_basic_auth=bool(settings.username or settings.password),
        name="Elasticsearch",
        example="https://host:9200",
        credentials="api_key or username/password",
        opt_in="set allow_plain_http=True",
    )
    if problem:
        raise ConfigurationError(problem)


def client_options(settings: ElasticsearchSettings) -> dict[str, Any]:
    """Keyword arguments for `elasticsearch.Elasticsearch` built from the settings."""
    validate(settings)
    options: dict[str, Any] = {
        "hosts": [settings.url],
        "request_timeout": settings.request_timeout,
        "retry_on_timeout": False,
        "max_retries": 0,  # the shipper and the analyzers run their own retry with backoff
    }
    if settings.url.startswith("https"):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    if settings.api_key:
        options["api_key"] = settings.api_key
    elif settings.username:
        options["basic_auth"] = (settings.username, settings.password or "")
    return options


def handler_options(settings: ElasticsearchSettings) -> dict[str, Any]:
    """The `ShipperHandler` keyword arguments that carry these connection settings."""
    return {
        "es_url": settings.url,
        "api_key": settings.api_key,
        "username": settings.username,
        "password": settings.password,
        "ca_certs": settings.ca_certs,
        "verify_certs": settings.verify_certs,
        "allow_plain_http": settings.allow_plain_http,
        "request_timeout": settings.request_timeout,
    }


def make_client(settings: ElasticsearchSettings) -> Any:
    """An `elasticsearch.Elasticsearch` client (typed Any: the client's stubs are loose)."""
    from elasticsearch import Elasticsearch

    return Elasticsearch(**client_options(settings))


class Deployment(Protocol):
    """What a subcommand reads of the CLI's settings: `logloop.config.Settings` satisfies it.

    Commands in `shipper` and `kibana` type their settings with this, so that imports keep running
    downwards (the `logloop` CLI imports them, never the other way round).
    """

    @property
    def elasticsearch(self) -> ElasticsearchSettings: ...

    @property
    def index_prefix(self) -> str: ...

    @property
    def service(self) -> str: ...

    def section(self, name: str) -> Mapping[str, Any]: ...
