"""How to reach Elasticsearch: one frozen settings object and the one place a client is built.

Secrets (API key, password) are held here and handed to the client; `__repr__` never shows them.
Plain http is accepted for loopback hosts; anywhere else it needs an explicit opt-in, because it
would send credentials and log content in clear text.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
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


def validate(settings: ElasticsearchSettings) -> None:
    """Raise ConfigurationError for settings that would leak data or cannot work."""
    parts = urlsplit(settings.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"Elasticsearch URL {settings.url!r} must look like https://host:9200")
    if parts.username or parts.password:
        raise ConfigurationError(
            "put Elasticsearch credentials in api_key or username/password, not in the URL"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not settings.allow_plain_http:
        raise ConfigurationError(
            f"refusing plain http to non-loopback host {parts.hostname}: use https, "
            "or set allow_plain_http=True if the network is trusted"
        )
    if settings.api_key and (settings.username or settings.password):
        raise ConfigurationError("choose one of api_key or username/password, not both")


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
