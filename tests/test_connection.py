"""Several node URLs and cloud ids in `ElasticsearchSettings`, and the client built from them."""

from __future__ import annotations

import base64
import json
import pickle
import socket
from typing import Any

import pytest

from shipper.connection import ElasticsearchSettings, client_options, make_client, validate
from shipper.exceptions import ConfigurationError
from shipper.transports import TransportSpec

CLOUD_ID = "prod:" + base64.b64encode(b"eu-west-1.aws.found.io:443$abc123$def456").decode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://a:9200", ("https://a:9200",), id="one"),
        pytest.param(
            "https://a:9200, https://b:9200,", ("https://a:9200", "https://b:9200"), id="comma-string"
        ),
        pytest.param(["https://a:9200", "https://b:9200"], ("https://a:9200", "https://b:9200"), id="list"),
    ],
)
def test_urls_accept_one_a_comma_list_or_a_list(url: Any, expected: tuple[str, ...]) -> None:
    """One URL, a comma-separated string and a list all become the same tuple of node URLs."""
    settings = ElasticsearchSettings(url=url, api_key="k")
    validate(settings)
    assert settings.urls == expected
    assert client_options(settings)["hosts"] == list(expected)
    assert hash(settings)  # a list is kept as a tuple: the settings stay hashable


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(ElasticsearchSettings(url=" , "), "url is empty", id="empty"),
        pytest.param(ElasticsearchSettings(url=[]), "url is empty", id="empty-list"),
        pytest.param(ElasticsearchSettings(url="https://a:9200,https://a:9200"), "twice", id="duplicate"),
        pytest.param(
            ElasticsearchSettings(url="https://a:9200,http://127.0.0.1:9200"),
            "mixes http and https",
            id="mixed",
        ),
        pytest.param(ElasticsearchSettings(url="https://a:9200,ftp://b"), "must look like", id="one-bad"),
        pytest.param(
            ElasticsearchSettings(url="https://a:9200,http://10.0.0.2:9200"), "refusing", id="plain-remote"
        ),
        pytest.param(
            ElasticsearchSettings(url=["http://127.0.0.1:1", "http://10.0.0.2:9200"]), "refusing", id="p"
        ),
        pytest.param(
            ElasticsearchSettings(url="https://a:9200", cloud_id=CLOUD_ID),
            "url and cloud_id",
            id="url-and-cloud",
        ),
        pytest.param(
            ElasticsearchSettings(cloud_id="prod:not-base64!"), "not an Elastic Cloud id", id="bad-cloud"
        ),
        pytest.param(ElasticsearchSettings(cloud_id=CLOUD_ID, sniff=True), "sniff cannot", id="cloud-sniff"),
        pytest.param(
            ElasticsearchSettings(cloud_id=CLOUD_ID, api_key="k", username="u"),
            "not both",
            id="cloud-two-creds",
        ),
    ],
)
def test_bad_node_lists_are_refused_with_the_reason(settings: ElasticsearchSettings, expected: str) -> None:
    """Each unusable node list or cloud id is refused with a message naming the problem."""
    with pytest.raises(ConfigurationError, match=expected):
        validate(settings)


def test_cloud_id_is_handed_to_the_client_instead_of_hosts() -> None:
    """A cloud id replaces the host list, and TLS verification stays on."""
    options = client_options(ElasticsearchSettings(cloud_id=CLOUD_ID, api_key="k"))
    assert options["cloud_id"] == CLOUD_ID and "hosts" not in options
    assert options["verify_certs"] is True
    assert ElasticsearchSettings(cloud_id=CLOUD_ID).display == "cloud deployment 'prod'"


def test_client_retries_once_on_each_other_node_and_sniffs_only_on_request() -> None:
    """max_retries reaches every other node once; sniffing is off unless asked for."""
    three = ElasticsearchSettings(url="http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3")
    assert client_options(three)["max_retries"] == 2
    assert "sniff_on_start" not in client_options(three)
    assert client_options(ElasticsearchSettings())["max_retries"] == 0
    assert client_options(ElasticsearchSettings(url=three.url, sniff=True))["sniff_on_node_failure"] is True


def test_settings_survive_the_trip_to_the_delivery_process() -> None:
    """A list of URLs handed to the delivery process as JSON comes back equal (tuple, not list)."""
    settings = ElasticsearchSettings(url=["http://127.0.0.1:1", "http://127.0.0.1:2"])
    spec = TransportSpec("elasticsearch", settings)
    back = TransportSpec.from_data(json.loads(json.dumps(spec.as_data())))
    assert back == spec and back.elasticsearch.urls == settings.urls
    assert pickle.loads(pickle.dumps(settings)) == settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_first_node_is_skipped_within_one_call(es_url: str) -> None:
    """With the first URL refusing connections, a request is answered by the next node in the same call."""
    settings = ElasticsearchSettings(url=[f"http://127.0.0.1:{_closed_port()}", es_url], request_timeout=5)
    client = make_client(settings)
    try:
        for _ in range(4):  # round robin: whichever node a request starts on, it succeeds
            assert client.cluster.health()["status"] in ("green", "yellow")
    finally:
        client.close()
