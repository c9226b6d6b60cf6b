"""How to reach Elasticsearch: one frozen settings object and the one place a client is built.

Secrets (API key, password) are held here and handed to the client; `__repr__` never shows them.
Plain http is accepted for loopback hosts; anywhere else it needs an explicit opt-in, because it
would send credentials and log content in clear text.

Several nodes: `url` is one URL, a comma-separated string of URLs or a list of them; or `cloud_id`
names an Elastic Cloud deployment. The client sends requests to the nodes in turn (round robin) and,
when a node cannot be reached, marks it dead for a while and sends the same request to the next one
(a connection error means the request never reached a node, so trying another cannot index twice;
the shipper's `create` with the event id makes even a repeated bulk item a harmless 409).
Timeouts are not retried on another node: the caller's deadline bounds the whole call.

Sniffing (asking the cluster for its nodes' addresses) is off unless `sniff` is set, because the
addresses nodes publish are often unreachable from the client (containers, NAT, a proxy or load
balancer in front) or fail TLS verification (certificates name host names, nodes publish IPs).
It is refused with `cloud_id`, where the proxy in front of the deployment is the only way in.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from shipper.exceptions import ConfigurationError, Unreachable

DEFAULT_URL: Final = "http://127.0.0.1:9200"


@dataclass(frozen=True, kw_only=True)
class ElasticsearchSettings:
    """Connection settings for the Elasticsearch `_bulk` transport and the analyzers.

    `url` is one node URL, several separated by commas, or a sequence of URLs (kept as a tuple, so
    the settings stay hashable); `urls` is the list either way.
    """

    url: str | tuple[str, ...] = DEFAULT_URL
    cloud_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    allow_plain_http: bool = False
    request_timeout: float = 10.0
    sniff: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.url, str):
            object.__setattr__(self, "url", tuple(self.url))  # a list from TOML or JSON

    @property
    def urls(self) -> tuple[str, ...]:
        """Each node URL, in the configured order (empty when only a cloud id is given)."""
        return split_urls(self.url)

    @property
    def display(self) -> str:
        """Where the settings point, for messages: the URLs, or the cloud deployment's name."""
        if self.cloud_id:
            return f"cloud deployment {self.cloud_id.split(':', 1)[0]!r}"
        return ", ".join(self.urls)


def split_urls(url: str | Sequence[str]) -> tuple[str, ...]:
    """`"https://a:9200, https://b:9200"` or a list of URLs -> the URLs, stripped, blanks dropped."""
    items = url.split(",") if isinstance(url, str) else [str(item) for item in url]
    return tuple(item.strip() for item in items if item.strip())


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


URL_EXAMPLE: Final = "https://host:9200 (several: https://a:9200,https://b:9200)"


def url_problem(url: str) -> str | None:
    """What makes `url` no Elasticsearch node URL, or None: the one rule for the handler's `es_url`,
    the TOML's `[elasticsearch] url` and the commands (pure). A port is required: the client takes
    no default (it raised a bare ValueError from the agent, long after set-up), and 80 or 443 is
    rarely what was meant, Elasticsearch listening on 9200; an out-of-range port failed every send."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return "has no valid port (1-65535)" if "port" in str(exc).lower() else "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// URL with a host"
    if port == 0:
        return "has no valid port (1-65535)"
    if port is None:
        return "has no port (Elasticsearch's is 9200; 443 or 80 behind a proxy)"
    return None


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


def cloud_id_problem(cloud_id: str) -> str | None:
    """What is wrong with an Elastic Cloud id (`name:base64(host$es-uuid$kibana-uuid)`), or None."""
    _name, separator, encoded = cloud_id.partition(":")
    try:
        decoded = base64.b64decode(encoded.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError):
        decoded = ""
    parts = decoded.split("$")
    if not separator or len(parts) < 2 or not parts[0] or not parts[1]:
        return (
            "cloud_id is not an Elastic Cloud id: copy it whole from the deployment's page "
            "(it looks like name:dXMtZWFzdC0x...)"
        )
    return None


def _nodes_problem(settings: ElasticsearchSettings) -> str | None:
    if settings.cloud_id:
        if settings.urls and settings.urls != (DEFAULT_URL,):
            return "choose one of url and cloud_id, not both"
        if settings.sniff:
            return "sniff cannot be used with cloud_id: the deployment is only reachable through its proxy"
        return cloud_id_problem(settings.cloud_id)
    if not settings.urls:
        return "url is empty: give one Elasticsearch URL, a comma-separated list of them, or a cloud_id"
    if len(set(settings.urls)) != len(settings.urls):
        return f"url lists a node twice ({', '.join(settings.urls)}): give each node once"
    return None


def _ca_problem(settings: ElasticsearchSettings) -> str | None:
    """What is wrong with `ca_certs`, where TLS uses it: a file that cannot be read, or holds no
    certificate, is said once at set-up instead of failing every request with an OSError or an OpenSSL
    code (the shipper retried for ever, the commands advised checking that the node runs)."""
    if not settings.ca_certs or not (settings.cloud_id or settings.urls[0].startswith("https")):
        return None
    import ssl  # (https needs it anyway)

    try:
        ssl.create_default_context(cafile=settings.ca_certs)
    except OSError as exc:  # ssl.SSLError included
        reason = "it holds no PEM certificate" if isinstance(exc, ssl.SSLError) else exc.strerror or str(exc)
        return f"ca_certs = {settings.ca_certs!r} cannot be used: {reason}; point it at the CA's PEM file"
    return None


def _mixed_schemes(urls: Sequence[str]) -> str | None:
    if len({url.split("://", 1)[0] for url in urls}) > 1:
        return f"url mixes http and https ({', '.join(urls)}): use one scheme for every node"
    return None


def validate(settings: ElasticsearchSettings) -> None:
    """Raise ConfigurationError for settings that would leak data or cannot work."""
    problem = _nodes_problem(settings)
    for url in () if settings.cloud_id else settings.urls:
        problem = problem or endpoint_problem(
            url,
            allow_plain_http=settings.allow_plain_http,
            has_api_key=bool(settings.api_key),
            has_basic_auth=bool(settings.username or settings.password),
            name="Elasticsearch",
            example=URL_EXAMPLE,
            credentials="api_key or username/password",
            opt_in="set allow_plain_http=True",
        )
        wrong = None if problem else url_problem(url)
        if wrong is not None:
            problem = f"Elasticsearch URL {url!r} {wrong}: write it like {URL_EXAMPLE}"
    problem = problem or _mixed_schemes(() if settings.cloud_id else settings.urls)
    problem = problem or _ca_problem(settings)
    if not problem and settings.api_key and (settings.username or settings.password):
        problem = "choose one of api_key or username/password, not both"
    if problem:
        raise ConfigurationError(problem)


def client_options(settings: ElasticsearchSettings) -> dict[str, Any]:
    """Keyword arguments for `elasticsearch.Elasticsearch` built from the settings."""
    validate(settings)
    nodes: dict[str, Any] = (
        {"cloud_id": settings.cloud_id} if settings.cloud_id else {"hosts": list(settings.urls)}
    )
    options: dict[str, Any] = {
        **nodes,
        "request_timeout": settings.request_timeout,
        "retry_on_timeout": False,
        # The shipper and the analyzers run their own retry with backoff; the client's retries only
        # carry a request to each other node once, so one dead node costs no backoff.
        "max_retries": max(len(settings.urls) - 1, 0),
    }
    if settings.sniff:
        options.update(sniff_on_start=True, sniff_on_node_failure=True, min_delay_between_sniffing=60)
    if settings.cloud_id or settings.urls[0].startswith("https"):
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
        "cloud_id": settings.cloud_id,
        "sniff": settings.sniff,
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

    options = client_options(settings)
    try:
        return Elasticsearch(**options)
    except Exception as exc:  # only sniff_on_start does I/O here: SniffingError when no node answered;
        # the client's sniff callback fails with AttributeError or TypeError on an answer that is no
        # Elasticsearch node list
        if not settings.sniff:
            raise
        problem = (
            "found no reachable node"
            if type(exc).__name__ == "SniffingError"  # (elastic_transport's: not imported for a name)
            else "got an answer that is no Elasticsearch node list"
        )
    raise Unreachable(
        f"sniffing {settings.display} for its nodes {problem}: is the node running, and is it Elasticsearch? "
        "Set sniff = false where the nodes' published addresses are not reachable"
    )


# Answers that say "not now" rather than "no": the node (or a proxy in front of it) is starting, busy
# or down. Every command words them with `transient_refusal`, apart from a permanent refusal.
TRANSIENT_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


def transient_refusal(node: str, status: int, phrase: str, action: str, reason: str | None = None) -> str:
    """The one wording of a temporary refusal: where, which status, and to try again later (pure)."""
    said = f" ({reason})" if reason else ""
    return (
        f"Elasticsearch at {node} answered HTTP {status} {phrase} to {action}{said}: this is temporary "
        "(the node, or a proxy in front of it, is starting, overloaded or down); try again in a minute"
    )


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
