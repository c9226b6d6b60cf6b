"""The events' index template is there before a program's first index is: the delivery agent installs
it when nobody ran `logloop setup`, keeps the one setup installed, and delivers all the same when the
node refuses it. Real programs and a real node."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import log_messages
from helpers.ports import free_port

from kibana.setup import install_template
from shipper import schema
from shipper.connection import ElasticsearchSettings
from shipper.transports.elasticsearch import ElasticsearchTransport

# A short script that logs a warning and an exception, then exits: what a user runs before ever
# hearing of `logloop setup`.
SCRIPT = """
    import logging, sys, shipper
    handler = shipper.install(service="nightly", es_url=sys.argv[1], index_prefix=sys.argv[2],
                              spool_path=sys.argv[3])
    log = logging.getLogger("nightly")
    log.warning("disk at %d%%", 91)
    print("EXPECT disk at 91%")
    try:
        {}["feed"]
    except KeyError:
        log.exception("sync failed")
    print("EXPECT sync failed")
    assert handler.wait_delivered(60), "not delivered"
"""


def _ship(es_url: str, prefix: str, tmp_path: Path) -> Path:
    spool = tmp_path / "spool"
    done = programs.run(SCRIPT, tmp_path, args=(es_url, prefix, str(spool)))
    assert done.returncode == 0, done.stderr
    return spool


def _agent_totals(spool: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((spool / "agent.json").read_text())
    return found


def test_a_program_run_before_setup_gets_the_template_first(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program whose prefix has no template yet gets it installed before its first index: the index
    has logloop's mapping (a date `@timestamp`, keywords the analyzers aggregate), not a dynamic one."""
    spool = _ship(es_url, index_prefix, tmp_path)
    assert es.indices.exists_index_template(name=schema.template_name(index_prefix))
    assert log_messages(es, index_prefix) == {"disk at 91%": 1, "sync failed": 1}
    mappings = es.indices.get_mapping(index=f"{index_prefix}-*").body
    for mapping in mappings.values():
        assert mapping["mappings"]["dynamic"] == "false"
        assert mapping["mappings"]["properties"]["@timestamp"]["type"] == "date"
    keys = es.search(
        index=f"{index_prefix}-*", size=0, aggs={"keys": {"terms": {"field": "error.grouping_key"}}}
    )["aggregations"]["keys"]["buckets"]
    assert len(keys) == 1
    assert _agent_totals(spool).get("templates_installed") == 1


def test_the_template_setup_installed_is_kept(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A template already there (setup's, two shards here) is used as it is, never replaced."""
    install_template(es, index_prefix, schema.IndexLayout(shards=2))
    spool = _ship(es_url, index_prefix, tmp_path)
    settings = es.indices.get_settings(index=f"{index_prefix}-*").body
    assert [s["settings"]["index"]["number_of_shards"] for s in settings.values()] == ["2"]
    assert "templates_installed" not in _agent_totals(spool)


def test_a_refused_template_does_not_hold_back_delivery(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """When the node refuses the template (here another template of the same priority overlaps it,
    as a missing privilege would refuse it), every record is delivered all the same, and the agent
    counts the refusal and names the template and the way out in its log."""
    other = f"{index_prefix}-other"
    es.indices.put_index_template(name=other, index_patterns=[f"{index_prefix}-*"], priority=200)
    try:
        spool = _ship(es_url, index_prefix, tmp_path)
        es.indices.refresh(index=f"{index_prefix}-*")
        assert es.count(index=f"{index_prefix}-*")["count"] == 2
        assert _agent_totals(spool).get("templates_refused") == 1
        said = (spool / "agent.log").read_text()
        assert schema.template_name(index_prefix) in said and "logloop setup" in said
    finally:
        es.indices.delete_index_template(name=other)


@pytest.mark.parametrize("sniff", [False, True], ids=["standard-library client", "official client"])
def test_the_transport_installs_then_finds_the_template(
    es: Any, es_settings: ElasticsearchSettings, index_prefix: str, sniff: bool
) -> None:
    """Both clients the transport sends through install a missing template, then find it present;
    a template `logloop setup` installed meanwhile counts as present."""
    settings = ElasticsearchSettings(url=es_settings.urls, sniff=sniff)
    with closing(ElasticsearchTransport(settings)) as transport:
        assert transport.ensure_template(index_prefix, 10).state == "installed"
        assert transport.ensure_template(index_prefix, 10).state == "present"
        second = f"{index_prefix}x"
        install_template(es, second)
        try:
            assert transport.ensure_template(second, 10).state == "present"
        finally:
            es.indices.delete_index_template(name=schema.template_name(second))


def test_an_unreachable_node_leaves_the_question_open() -> None:
    """A node that cannot be reached is no answer about the template: the agent asks again later."""
    settings = ElasticsearchSettings(url=f"http://127.0.0.1:{free_port()}")
    with closing(ElasticsearchTransport(settings)) as transport:
        check = transport.ensure_template("nowhere", 2)
    assert check.state == "unreachable" and check.reason
