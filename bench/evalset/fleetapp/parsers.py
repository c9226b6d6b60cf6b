"""Parsers: configuration and payload formats (yaml, toml, lxml, orjson, jsonschema, jmespath, ...)."""

from __future__ import annotations

from typing import Any

from fleetapp.registry import bug, need


@bug("yaml")
def load_pipeline(v: str) -> Any:
    need("yaml")
    import yaml

    return yaml.safe_load(f"steps:\n  - name: {v}\n   run: build\n")


@bug("yaml")
def load_tags(v: str) -> Any:
    need("yaml")
    import yaml

    return yaml.safe_load(f"tag: !python/object:os.system {v}")


@bug("yaml")
def dump_pipeline(v: str) -> Any:
    need("yaml")
    import yaml

    return yaml.safe_dump({"owner": object()})


@bug("yaml")
def pipeline_steps(v: str) -> Any:
    need("yaml")
    import yaml

    return yaml.safe_load(f"name: {v}\n")["steps"][0]


@bug("toml")
def load_legacy_config(v: str) -> Any:
    need("toml")
    import toml

    return toml.loads(f"[server]\nport = {v} x\n")


@bug("lxml")
def parse_feed(v: str) -> Any:
    need("lxml")
    from lxml import etree

    return etree.fromstring(f"<feed><entry>{v}</feed>")


@bug("lxml")
def feed_xpath(v: str) -> Any:
    need("lxml")
    from lxml import etree

    return etree.fromstring("<feed/>").xpath(f"//entry[@id={v}")


@bug("orjson")
def fast_payload(v: str) -> Any:
    need("orjson")
    import orjson

    return orjson.loads(v + "{")


@bug("orjson")
def fast_export(v: str) -> Any:
    need("orjson")
    import orjson

    return orjson.dumps({"tags": {v}})


@bug("jsonschema")
def validate_order(v: str) -> None:
    need("jsonschema")
    import jsonschema

    schema = {"type": "object", "properties": {"qty": {"type": "integer"}}, "required": ["qty"]}
    jsonschema.validate({"qty": v}, schema)


@bug("jsonschema")
def validate_schema(v: str) -> None:
    need("jsonschema")
    import jsonschema

    jsonschema.validate({}, {"type": "objekt"})


@bug("jmespath")
def select_field(v: str) -> Any:
    need("jmespath")
    import jmespath

    return jmespath.search(f"orders[?id == `{v}`", {})


@bug("packaging")
def required_version(v: str) -> Any:
    need("packaging")
    from packaging.version import Version

    return Version(f"{v}.x")


@bug("packaging")
def requirement_of(v: str) -> Any:
    need("packaging")
    from packaging.requirements import Requirement

    return Requirement(f"fleetapp >= = {v}")


@bug("pyparsing")
def parse_query(v: str) -> Any:
    need("pyparsing")
    import pyparsing as pp

    return pp.Word(pp.nums).parse_string(v)


@bug("dateutil")
def parse_when(v: str) -> Any:
    need("dateutil")
    from dateutil import parser

    return parser.parse(f"{v} o'clock tomorrow-ish")


@bug("idna")
def encode_domain(v: str) -> Any:
    need("idna")
    import idna

    return idna.encode(f"{v}..example")


@bug("regex")
def match_rule(v: str) -> Any:
    need("regex")
    import regex

    return regex.compile(f"(?P<{v}>x)(?P<{v}>y")


@bug("cryptography")
def decrypt_token(v: str) -> Any:
    need("cryptography")
    from cryptography.fernet import Fernet

    return Fernet(Fernet.generate_key()).decrypt(v.encode())


@bug("cryptography")
def load_key(v: str) -> Any:
    need("cryptography")
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(f"-----BEGIN KEY-----\n{v}\n".encode(), password=None)


@bug("pydantic")
def order_model(v: str) -> Any:
    need("pydantic")
    import pydantic

    class Order(pydantic.BaseModel):
        id: int
        qty: int

    return Order(id=v, qty="many")  # type: ignore[arg-type]


@bug("pydantic")
def customer_model(v: str) -> Any:
    need("pydantic")
    import pydantic

    class Customer(pydantic.BaseModel):
        email: str

    return Customer.model_validate_json(f'{{"name": "{v}"}}')


@bug("marshmallow")
def load_customer(v: str) -> Any:
    need("marshmallow")
    import marshmallow

    class CustomerSchema(marshmallow.Schema):
        age = marshmallow.fields.Integer(required=True)

    return CustomerSchema().load({"age": v})


@bug("attrs")
def make_point(v: str) -> Any:
    need("attrs")
    import attrs

    @attrs.define
    class Point:
        x: int = attrs.field(validator=attrs.validators.instance_of(int))

    return Point(v)


@bug("click")
def run_cli(v: str) -> Any:
    need("click")
    import click

    @click.command()
    @click.option("--count", type=int)
    def command(count: int) -> None:
        del count

    return command.main(["--count", v], standalone_mode=False)


@bug("cachetools")
def cached_lookup(v: str) -> Any:
    need("cachetools")
    import cachetools

    cache: Any = cachetools.LRUCache(maxsize=2)
    return cache[v]


@bug("PIL")
def load_avatar(v: str) -> Any:
    need("PIL")
    import io

    from PIL import Image

    return Image.open(io.BytesIO(v.encode()))


@bug("PIL")
def resize_avatar(v: str) -> Any:
    need("PIL")
    from PIL import Image

    return Image.new("RGB", (2, 2)).resize((0, -len(v)))


@bug("matplotlib")
def plot_sales(v: str) -> Any:
    need("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    try:
        return axes.plot([1, 2, 3], [1, 2], color=v)
    finally:
        plt.close(figure)


@bug("prometheus_client")
def register_metric(v: str) -> Any:
    need("prometheus_client")
    import prometheus_client

    return prometheus_client.Counter(f"{v} requests", "help", registry=prometheus_client.CollectorRegistry())


@bug("apscheduler")
def schedule_job(v: str) -> Any:
    need("apscheduler")
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(f"{v} * * *")


@bug("cycler")
def color_cycle(v: str) -> Any:
    need("cycler")
    from cycler import cycler

    return cycler(color=[v]) + cycler(lw=[1, 2])


@bug("elasticsearch")
def search_client(v: str) -> Any:
    need("elasticsearch")
    import elasticsearch

    return elasticsearch.Elasticsearch(f"{v}:9200")
