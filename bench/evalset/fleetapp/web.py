"""Web: calls to partner APIs over HTTP (requests, urllib3, httpx, urllib, http.client)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from fleetapp import registry
from fleetapp.registry import bug, need


@bug("requests")
def fetch_rates(v: str) -> Any:
    need("requests")
    import requests

    response = requests.get(f"{registry.BASE_URL}/status/404/rates/{v}", timeout=2)
    response.raise_for_status()
    return response.json()


@bug("requests")
def push_order(v: str) -> Any:
    need("requests")
    import requests

    response = requests.post(f"{registry.BASE_URL}/status/500/orders", json={"id": v}, timeout=2)
    response.raise_for_status()  # the same library statement as fetch_rates, another program statement
    return response


@bug("requests")
def rates_payload(v: str) -> Any:
    need("requests")
    import requests

    return requests.get(f"{registry.BASE_URL}/garbage", timeout=2).json()


@bug("requests")
def partner_down(v: str) -> Any:
    need("requests")
    import requests

    return requests.get("http://127.0.0.1:9/partner", timeout=2)


@bug("requests")
def partner_slow(v: str) -> Any:
    need("requests")
    import requests

    return requests.get(f"{registry.BASE_URL}/slow", timeout=0.05)


@bug("requests")
def partner_url(v: str) -> Any:
    need("requests")
    import requests

    return requests.get(f"partner/{v}", timeout=2)


@bug("urllib3")
def pool_fetch(v: str) -> Any:
    need("urllib3")
    import urllib3

    return urllib3.PoolManager(retries=False).request("GET", "http://127.0.0.1:9/pool")


@bug("urllib3")
def pool_url(v: str) -> Any:
    need("urllib3")
    import urllib3

    return urllib3.util.parse_url(f"http://[{v}/")


@bug("httpx")
def client_fetch(v: str) -> Any:
    need("httpx")
    import httpx

    return httpx.get(f"{registry.BASE_URL}/status/404/{v}").raise_for_status()


@bug("httpx")
def client_down(v: str) -> Any:
    need("httpx")
    import httpx

    return httpx.get("http://127.0.0.1:9/client")


@bug("httpx")
def client_slow(v: str) -> Any:
    need("httpx")
    import httpx

    return httpx.get(f"{registry.BASE_URL}/slow", timeout=0.05)


@bug("urllib.request")
def legacy_fetch(v: str) -> Any:
    return urllib.request.urlopen(f"{registry.BASE_URL}/status/403/{v}", timeout=2).read()


@bug("urllib.request")
def legacy_down(v: str) -> Any:
    return urllib.request.urlopen("http://127.0.0.1:9/legacy", timeout=2)


@bug("http.client")
def raw_fetch(v: str) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", 9, timeout=2)
    connection.request("GET", f"/{v}")
    return connection.getresponse()


@bug("json")
def legacy_payload(v: str) -> Any:
    with urllib.request.urlopen(f"{registry.BASE_URL}/garbage", timeout=2) as response:
        return json.load(response)


def _unused(error: urllib.error.URLError) -> None:
    del error
