"""A project of several top-level apps (Django's layout: `shop/`, `billing/` side by side in one
checkout): its frames share the checkout directory, whose name is each host's. Real programs, run from
checkouts named apart, failing in their own code and in an installed library (PyYAML), logged by an
asyncio task, by the calling app's logger and by the failing app's logger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipper.grouping.fingerprint import fingerprint_document, frames_package

pytest.importorskip("yaml")

_RATES = """
import yaml


def parse_rates(text):
    return yaml.safe_load(text)["rates"]


def parse_taxes(text):
    return yaml.safe_load(text)["taxes"]


def average(text):
    values = [float(part) for part in text.split()]
    return sum(values) / len(values)
"""

_VIEWS = """
import logging

from billing import rates

log = logging.getLogger(__name__)


def checkout(function, text):
    return getattr(rates, function)(text)


def logged_checkout(function, text):
    try:
        return checkout(function, text)
    except Exception:
        log.exception("checkout failed")
"""

# The program's entry, a module of one of its apps run with `python -m` (as a Django management
# command lives in an app).
_MAIN = """
import asyncio, gc, json, logging, sys, traceback

from billing import rates
from shop import views


class Lines(logging.Handler):
    def emit(self, record):
        error = {"stack_trace": "".join(traceback.format_exception(*record.exc_info))}
        print(json.dumps({"log": {"logger": record.name}, "error": error}), flush=True)


async def run(function, text):
    views.checkout(function, text)


def main(mode, function, text):
    logging.getLogger().addHandler(Lines())
    if mode == "task":  # asyncio logs "Task exception was never retrieved"
        loop = asyncio.new_event_loop()
        task = loop.create_task(run(function, text))
        loop.run_until_complete(asyncio.sleep(0.01))
        del task
        gc.collect()
        loop.close()
    elif mode == "shop":
        views.logged_checkout(function, text)
    else:
        try:
            getattr(rates, function)(text)
        except Exception:
            logging.getLogger(rates.__name__).exception("rates failed")


main(*sys.argv[1:])
"""


def _event(checkout: Path, mode: str, function: str, text: str) -> dict[str, Any]:
    """The one error event the project in `checkout` logs when `function` fails on `text` in `mode`."""
    for name, source in (("billing/rates.py", _RATES), ("shop/views.py", _VIEWS), ("shop/run.py", _MAIN)):
        path = checkout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "shop.run", mode, function, text],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(events) == 1, done.stdout + done.stderr
    event: dict[str, Any] = events[0]
    return event


_BUGS = {"parse_rates": ("a: [1", "b: {c"), "parse_taxes": ("a: [1", "b: {c"), "average": ("", " ")}


def test_a_bug_of_one_app_has_one_key_whoever_logs_it_on_any_checkout(tmp_path: Path) -> None:
    """Each bug (a library raise under two functions of one app, a raise of the app's own) is one key
    whether asyncio, the calling app's logger or the failing app's logger logged it, from checkouts named
    apart, and the three bugs are three keys (the checkout's name keyed each host's events apart, and
    the calling app's logger keyed both library calls by the library's statement)."""
    keys: dict[str, set[str]] = {}
    for checkout in ("proj", "ci-workspace-7"):
        for mode in ("task", "shop", "billing"):
            for function, texts in _BUGS.items():
                for text in texts:
                    event = _event(tmp_path / checkout / function, mode, function, text)
                    assert event["log"]["logger"] == {"task": "asyncio", "shop": "shop.views"}.get(
                        mode, "billing.rates"
                    )
                    keys.setdefault(function, set()).add(fingerprint_document(event).key)
    assert all(len(found) == 1 for found in keys.values()), keys
    assert len(set().union(*keys.values())) == len(_BUGS), keys


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(("/srv/proj/shop/views.py", "/srv/proj/billing/rates.py"), "billing", id="two-apps"),
        pytest.param(
            ("/srv/proj/shop/run.py", "/srv/proj/billing/rates.py", "/srv/proj/shop/views.py"),
            "shop",
            id="back",
        ),
        pytest.param(("/srv/proj/shop/views.py", "/srv/proj/shop/pay/cards.py"), "shop", id="one-app"),
        pytest.param(
            ("C:\\srv\\proj\\shop\\views.py", "C:\\srv\\proj\\billing\\rates.py"), "billing", id="windows"
        ),
        pytest.param(("/home/ann/tools/run.py", "/home/ann/tools/helpers.py"), "tools", id="flat"),
    ],
)
def test_the_package_of_a_projects_frames_is_its_innermost_app(files: tuple[str, ...], expected: str) -> None:
    """Frames of several apps of one checkout, none in the directory they share, name the innermost
    frame's app, never the checkout's directory; one app's frames (with a subpackage's), or a flat
    directory of modules, name their directory as before."""
    frames = "".join(
        f'  File "{name}", line {line}, in f{line}\n    g()\n' for line, name in enumerate(files, 1)
    )
    assert frames_package(f"Traceback (most recent call last):\n{frames}ValueError: x\n") == expected
