"""Category trees walked recursively: cycles in the data make RecursionErrors (through comprehensions)."""

from __future__ import annotations

from typing import Any

from fleetapp.registry import bug


def _cycle(v: str) -> dict[str, Any]:
    node: dict[str, Any] = {"name": v, "children": []}
    node["children"].append({"name": "child", "children": [node]})
    return node


def depth(node: dict[str, Any]) -> int:
    return 1 + max([depth(child) for child in node["children"]], default=0)


def size(node: dict[str, Any]) -> int:
    return 1 + sum(size(child) for child in node["children"])


def names(node: dict[str, Any]) -> list[str]:
    return [node["name"], *(n for child in node["children"] for n in names(child))]


def ancestors(node: dict[str, Any]) -> list[str]:
    return [node["name"], *ancestors(node["children"][0])]


def _even(node: dict[str, Any]) -> int:
    return _odd(node["children"][0])


def _odd(node: dict[str, Any]) -> int:
    return _even(node["children"][0])


class Lazy:
    def __getattr__(self, name: str) -> Any:
        return self.resolved[name]


@bug("recursion")
def category_depth(v: str) -> int:
    return depth(_cycle(v))


@bug("recursion")
def category_size(v: str) -> int:
    return size(_cycle(v))


@bug("recursion")
def category_names(v: str) -> list[str]:
    return names(_cycle(v))


@bug("recursion")
def category_path(v: str) -> list[str]:
    return ancestors(_cycle(v))


@bug("recursion")
def category_parity(v: str) -> int:
    return _even(_cycle(v))


@bug("recursion")
def lazy_setting(v: str) -> Any:
    return Lazy().value
