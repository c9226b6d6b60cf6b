"""The embedded node and the index template on it."""

from __future__ import annotations

from typing import Any

import pytest

from logloop import embedded
from shipper import schema
from shipper.connection import ElasticsearchSettings, client_options, validate
from shipper.exceptions import ConfigurationError


def test_node_reports_health(es_url: str) -> None:
    """The session node answers /_cluster/health with a usable colour."""
    assert embedded.health(es_url) in ("green", "yellow")


def test_unused_port_reports_not_running() -> None:
    """status() on a port where nothing listens says not running instead of raising."""
    node = embedded.status(1)
    assert node.running is False and node.health is None


def test_java_found_is_new_enough() -> None:
    """find_java() returns a JDK whose release file says major version >= 21."""
    assert embedded._java_major(embedded.find_java()) >= embedded.MIN_JAVA


@pytest.mark.es
def test_index_template_is_accepted_and_applied(es: Any, index_prefix: str) -> None:
    """The template installs on the real node and a daily index created from it maps every schema field."""
    es.indices.put_index_template(
        name=schema.template_name(index_prefix), **schema.index_template(index_prefix)
    )
    index = f"{index_prefix}-2026.01.02"
    es.index(
        index=index,
        document={"@timestamp": "2026-01-02T00:00:00Z", "message": "x", "extra": {"a": {"b": 1}}},
        refresh=True,
    )
    mapping = es.indices.get_field_mapping(index=index, fields="*")[index]["mappings"]
    missing = [name for name in schema.FIELDS if name not in mapping]
    assert missing == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(ElasticsearchSettings(url="ftp://x"), "must look like", id="bad-scheme"),
        pytest.param(ElasticsearchSettings(url="https://u:p@es:9200"), "not in the URL", id="creds-in-url"),
        pytest.param(
            ElasticsearchSettings(url="http://10.1.2.3:9200"), "refusing plain http", id="plain-http-remote"
        ),
        pytest.param(
            ElasticsearchSettings(url="https://es:9200", api_key="k", username="u"),
            "not both",
            id="two-auths",
        ),
    ],
)
def test_unsafe_elasticsearch_settings_are_refused(settings: ElasticsearchSettings, expected: str) -> None:
    """Settings that would leak credentials or log content, or cannot work, are refused with the reason."""
    with pytest.raises(ConfigurationError, match=expected):
        validate(settings)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(ElasticsearchSettings(url="http://127.0.0.1:9200"), id="loopback-http"),
        pytest.param(ElasticsearchSettings(url="http://[::1]:9200"), id="ipv6-loopback-http"),
        pytest.param(
            ElasticsearchSettings(url="http://10.1.2.3:9200", allow_plain_http=True), id="plain-http-opt-in"
        ),
        pytest.param(ElasticsearchSettings(url="https://es:9200", api_key="k"), id="https-api-key"),
    ],
)
def test_safe_elasticsearch_settings_are_accepted(settings: ElasticsearchSettings) -> None:
    """Loopback http, an explicit plain-http opt-in and https with one kind of auth all pass."""
    validate(settings)
    assert client_options(settings)["hosts"] == [settings.url]
