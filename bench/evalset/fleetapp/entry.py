"""The program's entry points: each bug is reached from several of them (other outer callers)."""

from __future__ import annotations

from typing import Any

from fleetapp.registry import BugFunction


def handle_request(function: BugFunction, v: str) -> Any:
    return function(v)


def run_job(function: BugFunction, v: str) -> Any:
    return _job_step(function, v)


def _job_step(function: BugFunction, v: str) -> Any:
    result = function(v)
    return result


def cli_main(function: BugFunction, v: str) -> Any:
    def command() -> Any:
        return function(v)

    return command()


CALLERS = (handle_request, run_job, cli_main)
