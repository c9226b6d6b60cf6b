"""Background tasks: asyncio task groups (ExceptionGroups) and chained errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fleetapp.registry import bug


class OrderError(Exception):
    """An order could not be processed."""


async def _parse(text: str) -> Any:
    await asyncio.sleep(0)
    return json.loads(text)


async def _lookup(key: str) -> Any:
    await asyncio.sleep(0)
    return {"a": 1}[key]


async def _convert(text: str) -> int:
    await asyncio.sleep(0)
    return int(text)


@bug("asyncio")
def import_batch(v: str) -> None:
    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(_parse("{" + v))
            group.create_task(_lookup(v))

    asyncio.run(main())


@bug("asyncio")
def convert_batch(v: str) -> None:
    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            for item in [v] * (1 + len(v) % 3):
                group.create_task(_convert(item))

    asyncio.run(main())


@bug("asyncio")
def gather_lookups(v: str) -> Any:
    async def main() -> Any:
        return await asyncio.gather(_lookup(v), _lookup("a"))

    return asyncio.run(main())


@bug("builtins")
def raise_group(v: str) -> None:
    errors = [ValueError(f"bad line {n}: {v}") for n in range(1 + len(v) % 3)]
    raise ExceptionGroup(f"{len(errors)} lines rejected", errors)


@bug("json")
def submit_order(v: str) -> Any:
    try:
        return json.loads(v)
    except json.JSONDecodeError as exc:
        raise OrderError(f"order {v} is not JSON") from exc


@bug("builtins")
def cancel_order(v: str) -> Any:
    try:
        return {"a": 1}[v]
    except KeyError:
        raise OrderError(f"cannot cancel {v}") from None


@bug("builtins")
def refund_order(v: str) -> Any:
    try:
        return int(v)
    except ValueError:
        return None.refund()  # type: ignore[attr-defined]


@bug("builtins")
def archive_order(v: str) -> Any:
    try:
        return {"a": 1}[v]
    except KeyError as exc:
        raise OrderError(f"cannot archive {v}") from exc
