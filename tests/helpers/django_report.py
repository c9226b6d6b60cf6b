"""Django's plain-text error report of a real exception, as its `ExceptionReporter` writes it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import pytest


def django_report(function: Callable[[], object], path: str) -> str:
    """The report Django writes for what `function` raises while serving `path` (the calling test is
    skipped where Django is not installed)."""
    _configured()
    from django.test import RequestFactory
    from django.views.debug import ExceptionReporter

    try:
        function()
    except Exception:  # the point is to report what it raises
        report: str = ExceptionReporter(RequestFactory().get(path), *sys.exc_info()).get_traceback_text()
        return report
    raise AssertionError("did not raise")


def django_request_record(view: Callable[..., object], path: str) -> logging.LogRecord:
    """The record Django's request handler logs on `django.request` when `view`, routed at `path`, fails
    serving a GET of it (the calling test is skipped where Django is not installed)."""
    _configured()
    from django.test import Client
    from django.urls import clear_url_caches
    from django.urls import path as route

    urlpatterns[:] = [route(path.partition("?")[0].lstrip("/"), view)]
    clear_url_caches()
    records: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("django.request")
    logger.addHandler(catcher)
    try:
        Client(raise_request_exception=False).get(path)
    finally:
        logger.removeHandler(catcher)
    assert len(records) == 1 and records[0].exc_info, records
    return records[0]


def _configured() -> None:
    django = pytest.importorskip("django")
    from django.conf import settings  # (only where Django is installed)

    if not settings.configured:
        settings.configure(DEBUG=True, SECRET_KEY="test", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__)
        django.setup()


urlpatterns: list[object] = []  # the ROOT_URLCONF of the settings (`django_request_record` routes here)
