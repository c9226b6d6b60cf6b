"""The fast tier: every test that needs the real node carries the `es` marker, so `-m "not es"` is safe."""

from __future__ import annotations

import pytest
from conftest import NODE_FIXTURES


def test_every_test_using_a_node_fixture_is_marked_es(request: pytest.FixtureRequest) -> None:
    """In the collected session, a test that asks (directly or through fixtures) for the node is `es`."""
    items = request.session.items
    assert items, "nothing collected"
    unmarked = [
        item.nodeid
        for item in items
        if NODE_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("es") is None
    ]
    assert unmarked == []


def test_this_test_is_in_the_fast_tier(request: pytest.FixtureRequest) -> None:
    """A test without node fixtures is left unmarked, so the fast tier is not empty."""
    assert request.node.get_closest_marker("es") is None
