"""Plug-ins run by a dispatcher that re-raises every failure from one generic statement (a funnel)."""

from __future__ import annotations

import json
from typing import Any

from fleetapp.registry import BugFunction, bug


class PluginError(RuntimeError):
    """Whatever went wrong inside a plug-in."""


def dispatch(plugin: BugFunction, v: str) -> Any:
    """Run a plug-in; its failure is raised again as a PluginError carrying only its text."""
    failure = None
    try:
        return plugin(v)
    except Exception as exc:
        failure = exc
    raise PluginError(f"Error: {failure}")


def dispatch_chained(plugin: BugFunction, v: str) -> Any:
    """Run a plug-in; its failure is raised again with the original as the cause."""
    try:
        return plugin(v)
    except Exception as exc:
        raise PluginError(f"plugin {plugin.__name__} failed: {exc}") from exc


@bug("builtins", funnel="unchained")
def export_stats(v: str) -> Any:
    return {"a": 1}[v]


@bug("builtins", funnel="unchained")
def export_ratio(v: str) -> float:
    return len(v) / 0


@bug("builtins", funnel="unchained")
def export_count(v: str) -> int:
    return int(v + "x")


@bug("builtins", funnel="unchained")
def export_owner(v: str) -> Any:
    owner = None
    return owner.name  # type: ignore[attr-defined]


@bug("json", funnel="unchained")
def export_manifest(v: str) -> Any:
    return json.loads(v + "]")


@bug("builtins", funnel="unchained")
def export_path(v: str) -> Any:
    with open(f"/nonexistent/fleetapp/{v}.csv") as handle:
        return handle.read()


@bug("builtins", funnel="unchained")
def export_columns(v: str) -> Any:
    return ["id", "name"].index(v)


@bug("builtins", funnel="unchained")
def export_module(v: str) -> Any:
    import fleetapp_export_backend  # type: ignore[import-not-found]  # noqa: F401


@bug("builtins", funnel="unchained")
def export_join(v: str) -> str:
    return "-".join([v, 3])  # type: ignore[list-item]


@bug("builtins", funnel="chained")
def sync_stats(v: str) -> Any:
    return {"a": 1}[v]


@bug("builtins", funnel="chained")
def sync_ratio(v: str) -> float:
    return len(v) / 0


@bug("builtins", funnel="chained")
def sync_owner(v: str) -> Any:
    owner = None
    return owner.email  # type: ignore[attr-defined]


@bug("json", funnel="chained")
def sync_manifest(v: str) -> Any:
    return json.loads(v + "]")


@bug("builtins", funnel="chained")
def sync_count(v: str) -> int:
    return int(v + "y")
