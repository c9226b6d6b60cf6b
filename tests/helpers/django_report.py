"""Django's plain-text error report of a real exception, as its `ExceptionReporter` writes it."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest


def django_report(function: Callable[[], object], path: str) -> str:
    """The report Django writes for what `function` raises while serving `path` (the calling test is
    skipped where Django is not installed)."""
    django = pytest.importorskip("django")
    from django.conf import settings  # (only where Django is installed)

    if not settings.configured:
        settings.configure(DEBUG=True, SECRET_KEY="test", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__)
        django.setup()
    from django.test import RequestFactory
    from django.views.debug import ExceptionReporter

    try:
        function()
    except Exception:  # the point is to report what it raises
        report: str = ExceptionReporter(RequestFactory().get(path), *sys.exc_info()).get_traceback_text()
        return report
    raise AssertionError("did not raise")


urlpatterns: list[object] = []  # the ROOT_URLCONF of `django_report`'s settings
