"""End to end: errors logged through the real handler into the real node group with a terms aggregation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kibana.setup import install_template
from shipper.grouping.fingerprint import GROUPING_VERSION
from shipper.handler import ShipperHandler

pytestmark = pytest.mark.es


def _parse_quantity(text: str) -> int:
    return int(text)


def _checkout(text: str) -> int:
    return _parse_quantity(text) * 2


def _load(path: str) -> str:
    return Path(path).read_text()


def _log_errors(logger: logging.Logger, tmp_path: Path) -> None:
    for text, call in [("ten", _parse_quantity), ("1.5", _checkout), ("x9", _checkout)]:
        try:
            call(text)
        except ValueError:
            logger.exception("bad quantity %r", text)
    for name in ("a.txt", "b/c.txt"):
        try:
            _load(str(tmp_path / "missing" / name))
        except OSError:
            logger.exception("cannot load")
    logger.error("disk %d full", 3)
    logger.info("not an error")


def test_recurring_errors_become_terms_buckets(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Same statement with other data and callers is one bucket; another statement is another bucket."""
    install_template(es, index_prefix)
    handler = ShipperHandler(
        "grouping-test",
        es_url=es_url,
        index_prefix=index_prefix,
        spool_path=tmp_path / "spool",
        close_timeout=5.0,
    )
    logger = logging.getLogger("grouping.e2e")
    logger.handlers, logger.propagate = [handler], False
    try:
        _log_errors(logger, tmp_path)
        assert handler.wait_delivered(60)
    finally:
        logger.handlers, logger.propagate = [], True
        handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(
        index=f"{index_prefix}-*",
        size=0,
        query={"term": {"log.logger": "grouping.e2e"}},
        aggs={"groups": {"terms": {"field": "error.grouping_key", "size": 10}}},
    )
    counts = sorted(bucket["doc_count"] for bucket in found["aggregations"]["groups"]["buckets"])
    assert counts == [1, 2, 3]  # the template error, the two loads, the three quantities
    versions = es.search(
        index=f"{index_prefix}-*", size=10, query={"exists": {"field": "error.grouping_key"}}
    )["hits"]["hits"]
    assert {hit["_source"]["logloop"]["grouping_version"] for hit in versions} == {GROUPING_VERSION}


def test_fingerprint_set_by_the_program_travels_through_the_handler(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """`extra={"fingerprint": [...]}` on a logged error gives its own stored key; the same error without
    it keeps the default key."""
    install_template(es, index_prefix)
    handler = ShipperHandler(
        "grouping-test",
        es_url=es_url,
        index_prefix=index_prefix,
        spool_path=tmp_path / "spool",
        close_timeout=5.0,
    )
    logger = logging.getLogger("grouping.fingerprint")
    logger.handlers, logger.propagate = [handler], False
    try:
        for extra in (
            {"fingerprint": ["payment", "{{ default }}"]},
            {},
            {"fingerprint": ["payment", "{{ default }}"]},
        ):
            try:
                _parse_quantity("ten")
            except ValueError:
                logger.exception("bad quantity", extra=extra)
        assert handler.wait_delivered(60)
    finally:
        logger.handlers, logger.propagate = [], True
        handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(
        index=f"{index_prefix}-*",
        size=0,
        query={"term": {"log.logger": "grouping.fingerprint"}},
        aggs={"groups": {"terms": {"field": "error.grouping_key", "size": 10}}},
    )
    counts = sorted(bucket["doc_count"] for bucket in found["aggregations"]["groups"]["buckets"])
    assert counts == [1, 2]


def _load_settings(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


def _load_profile(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


@pytest.mark.parametrize(
    ("grouping", "groups"),
    [
        pytest.param(None, [2], id="default-library-statement"),
        pytest.param({"in_app": ["test_fingerprint_shipped"]}, [1, 1], id="in-app"),
    ],
)
def test_in_app_handler_option_counts_the_program_frames(
    es: Any,
    es_url: str,
    index_prefix: str,
    tmp_path: Path,
    grouping: dict[str, Any] | None,
    groups: list[int],
) -> None:
    """A library failing under two program functions is one group by default and two when the handler
    is told (`grouping={"in_app": [...]}`) which modules are the program's."""
    pytest.importorskip("yaml")
    install_template(es, index_prefix)
    handler = ShipperHandler(
        "grouping-test",
        es_url=es_url,
        index_prefix=index_prefix,
        spool_path=tmp_path / "spool",
        close_timeout=5.0,
        grouping=grouping,
    )
    logger = logging.getLogger("grouping.in_app")
    logger.handlers, logger.propagate = [handler], False
    try:
        for function in (_load_settings, _load_profile):
            try:
                function("a: [")
            except Exception:
                logger.exception("cannot load")
        assert handler.wait_delivered(60)
    finally:
        logger.handlers, logger.propagate = [], True
        handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(
        index=f"{index_prefix}-*",
        size=0,
        query={"term": {"log.logger": "grouping.in_app"}},
        aggs={"groups": {"terms": {"field": "error.grouping_key", "size": 10}}},
    )
    assert sorted(bucket["doc_count"] for bucket in found["aggregations"]["groups"]["buckets"]) == groups


def test_bad_grouping_option_fails_at_construction(tmp_path: Path) -> None:
    """A handler given a `grouping` table it cannot use refuses to start, naming the key."""
    from shipper.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="colour"):
        ShipperHandler("x", spool_path=tmp_path / "spool", grouping={"colour": 1})
