"""Shipping: labels, parcels, addresses (siblings of billing's failures and more parsers)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import shlex
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from fleetapp.registry import bug


@bug("json")
def parse_label(v: str) -> Any:
    return json.loads("{'invoice': " + v + "}")  # the same failure as billing.parse_invoice: a sibling


@bug("builtins")
def parcel_weight(v: str) -> int:
    return int(v) * 2  # sibling of billing.apply_discount


@bug("builtins")
def country_zone(v: str) -> float:
    zones = {"DE": 1, "FR": 2}
    return zones[v]


@bug("xml")
def read_manifest(v: str) -> ET.Element:
    return ET.fromstring(f"<manifest><item>{v}</manifest>")


@bug("xml")
def manifest_weight(v: str) -> float:
    root = ET.fromstring(f"<manifest><item name='{v}'/></manifest>")
    return float(root.find("weight").text)  # type: ignore[union-attr,arg-type]


@bug("base64")
def decode_label(v: str) -> bytes:
    return base64.b64decode(v + "=", validate=True)


@bug("binascii")
def label_checksum(v: str) -> bytes:
    return binascii.unhexlify(v + "z")


@bug("ipaddress")
def depot_address(v: str) -> Any:
    return ipaddress.ip_address(v)


@bug("ipaddress")
def depot_network(v: str) -> Any:
    return ipaddress.ip_network(f"10.0.{len(v)}.1/24")


@bug("uuid")
def tracking_id(v: str) -> uuid.UUID:
    return uuid.UUID(v)


@bug("urllib.parse")
def carrier_port(v: str) -> int | None:
    return urllib.parse.urlsplit(f"http://carrier.example:{v}/track").port


@bug("shlex")
def label_command(v: str) -> list[str]:
    return shlex.split(f"print --label '{v}")


@bug("builtins")
def route_stops(v: str) -> str:
    stops = [v, None, "depot"]
    return ", ".join(stops)  # type: ignore[arg-type]


@bug("builtins")
def next_stop(v: str) -> str:
    stops = [v]
    return stops[3]
