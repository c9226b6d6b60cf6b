"""`logloop setup` against the real Elasticsearch node; Kibana cannot run here, so its side is the
loopback HTTP server from test_kibana_import that plays Kibana's status and import endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.fake_kibana import FakeKibana, file_part, serve_fake_kibana

from kibana import importer, objects, setup
from kibana.exceptions import KibanaImportError, SetupError
from shipper import schema
from shipper.connection import ElasticsearchSettings, make_client

pytestmark = pytest.mark.es


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    yield from serve_fake_kibana()


def _imported(fake: FakeKibana) -> list[dict[str, Any]]:
    (request,) = [r for r in fake.requests if r.path.endswith("/_import")]
    return [json.loads(line) for line in file_part(request)[2].decode().splitlines()]


def test_setup_installs_the_template_that_maps_daily_indices(es: Any, index_prefix: str) -> None:
    """Without Kibana, setup installs exactly the schema's template, and the first document written to
    a daily index gets the schema's mapping and the events alias."""
    report = setup.run_setup(es, index_prefix, None)
    assert report.kibana is None
    stored = es.indices.get_index_template(name=schema.template_name(index_prefix))["index_templates"]
    assert stored[0]["index_template"]["index_patterns"] == [schema.index_pattern(index_prefix)]
    index = schema.index_for(datetime(2026, 11, 25, 23, 59, tzinfo=UTC), index_prefix)
    es.index(index=index, id="e1", document={"@timestamp": "2026-11-25T23:59:00Z", "event": {"id": "e1"}})
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["event"]["properties"]["duration"] == {"type": "long"}
    assert f"{index_prefix}-events" in es.indices.get_alias(index=index)[index]["aliases"]
    registry = pytest.importorskip("analyzers.registry", reason="the analyzers package is not installed")
    assert report.registry == f"{index_prefix}-groups"
    groups = es.indices.get_mapping(index=report.registry)[report.registry]["mappings"]
    assert groups["properties"] == registry.MAPPING["properties"]


def test_setup_is_idempotent_and_imports_objects_for_its_prefix(
    es: Any, index_prefix: str, kibana: FakeKibana
) -> None:
    """With Kibana configured, setup waits for /api/status, imports the objects generated for this
    prefix (data view on `<prefix>-20*`), and a second run converges to the same state."""
    kibana.answers += [
        (200, {"status": {"overall": {"level": "available"}}}),
        (200, {"successCount": 11}),
    ]
    settings = importer.KibanaSettings(url=kibana.url, username="elastic", password="pw")
    report = setup.run_setup(es, index_prefix, settings, wait_for_kibana=30)
    assert report.kibana == importer.ImportResult(success_count=11, errors=())
    assert [r.path for r in kibana.requests] == ["/api/status", "/api/saved_objects/_import"]
    sent = _imported(kibana)
    assert sent == objects.saved_objects(index_prefix)
    assert schema.index_pattern(index_prefix) in {o["attributes"]["title"] for o in sent}
    assert setup.run_setup(es, index_prefix, None).template == report.template


def test_setup_fails_loudly_when_kibana_refuses_objects(
    es: Any, index_prefix: str, kibana: FakeKibana
) -> None:
    """A refused object makes setup fail with the object named, after the template is installed."""
    kibana.answers.append(
        (
            200,
            {
                "successCount": 10,
                "errors": [{"id": "d", "type": "dashboard", "title": "D", "error": {"type": "x"}}],
            },
        )
    )
    with pytest.raises(KibanaImportError, match="dashboard 'D' \\(d\\)"):
        setup.run_setup(es, index_prefix, importer.KibanaSettings(url=kibana.url))
    assert es.indices.exists_index_template(name=schema.template_name(index_prefix))


def test_unreachable_elasticsearch_is_one_setup_error() -> None:
    """A node nobody runs gives one SetupError line naming the template step."""
    client = make_client(ElasticsearchSettings(url="http://127.0.0.1:9", request_timeout=5))
    with pytest.raises(SetupError, match="cannot reach Elasticsearch to install the index template") as info:
        setup.install_template(client, "nowhere")
    assert "\n" not in str(info.value)


def test_logloop_setup_command_end_to_end(
    es_url: str,
    es: Any,
    index_prefix: str,
    kibana: FakeKibana,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`logloop setup` reads the ES URL, the prefix and the Kibana URL from the environment, installs the
    template, imports the objects and says so."""
    from logloop.cli import main

    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("LOGLOOP_KIBANA_URL", kibana.url)
    monkeypatch.setenv("LOGLOOP_KIBANA_API_KEY", "k")
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    assert f"index template {schema.template_name(index_prefix)} installed" in out
    assert "imported 11 saved object(s)" in out
    assert kibana.requests[0].headers["authorization"] == "ApiKey k"
    assert es.indices.exists_index_template(name=schema.template_name(index_prefix))
