"""Removing what a test made under its own index prefix: every index (open or closed) and every index
template. Names, never wildcards: `action.destructive_requires_name` is on by default."""

from __future__ import annotations

from typing import Any


def delete_prefix(es: Any, prefix: str) -> None:
    """Delete the indices and index templates whose names start with `prefix-`."""
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}-*")
    for template in templates.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])
