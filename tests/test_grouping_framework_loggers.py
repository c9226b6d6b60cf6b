"""A framework that calls the program logs the program's failure on a logger of its own (Django's
`django.request`, Celery's `celery.app.trace`, uvicorn's `uvicorn.error`): that logger names the
framework, not the program, so the program's package is read from the traceback's frames, and a
library raise is keyed by the program's calling statement, as when the program's own logger logs it."""

from __future__ import annotations

import logging
from typing import Any

from helpers.django_report import django_request_record

from shipper.formatter import EcsFormatter
from shipper.grouping.fingerprint import Fingerprint, clear_caches, fingerprint_document, fingerprint_event
from shipper.grouping.tracebacks import TextMemo


def _keys(document: dict[str, Any]) -> Fingerprint:
    """The event's key as the handler gives it, checked against `logloop cluster`'s memoized path."""
    clear_caches()
    handler_key = fingerprint_event(document)
    assert handler_key is not None
    clear_caches()
    assert fingerprint_document(document, memo=TextMemo(64, 1 << 20)) == handler_key
    return handler_key


def _document(record: logging.LogRecord) -> dict[str, Any]:
    document: dict[str, Any] = EcsFormatter(service_name="shop").to_document(record)
    return document


def _order_view(request: object) -> object:
    from django.core import signing

    return signing.loads(request.GET.get("token", "1"))  # type: ignore[attr-defined]


def _invoice_view(request: object) -> object:
    from django.core import signing

    return signing.loads(request.GET.get("token", "1"))  # type: ignore[attr-defined]


def test_a_view_failing_in_django_is_keyed_by_the_views_call_not_djangos_raise() -> None:
    """Two views failing in one Django call, as Django's request handler logs them, are two groups, and
    a view failing again on another request is its group again."""
    order = _document(django_request_record(_order_view, "/orders/"))
    invoice = _document(django_request_record(_invoice_view, "/invoices/"))
    again = _document(django_request_record(_order_view, "/orders/?token=2"))
    assert order["log"]["logger"] == "django.request"
    assert "/django/core/handlers/" in order["error"]["stack_trace"]  # Django's frames call the view
    assert _keys(order) != _keys(invoice)
    assert _keys(again) == _keys(order)
    assert "_order_view" in _keys(order).name  # the culprit is the program's function


# An installed program started by its console script: the script's frame is outside any install, but
# the program is not called by a framework: its logger names it, and its calls key the library's raise.
_CONSOLE_SCRIPT = """Traceback (most recent call last):
  File "/usr/local/bin/shopctl", line 8, in <module>
    sys.exit(main())
  File "/usr/local/lib/python3.11/site-packages/shopctl/cli.py", line 40, in main
    {call}
  File "/usr/local/lib/python3.11/site-packages/shopctl/{module}.py", line 12, in {function}
    response.raise_for_status()
  File "/usr/local/lib/python3.11/site-packages/requests/models.py", line 1021, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: http://billing/api
"""


def test_an_installed_program_started_by_its_script_keeps_its_loggers_package() -> None:
    """Two functions of an installed program failing in one library call stay two groups when the
    program's console script (a frame outside any install) started it."""
    keys = set()
    for module, function in (("billing", "charge"), ("refunds", "refund")):
        text = _CONSOLE_SCRIPT.format(call=f"{function}()", module=module, function=function)
        document = {
            "log": {"logger": f"shopctl.{module}"},
            "error": {"stack_trace": text, "type": "requests.exceptions.HTTPError"},
            "message": "request failed",
        }
        keys.add(_keys(document).key)
    assert len(keys) == 2


_WINDOWS_TASK = """Traceback (most recent call last):
  File "C:\\srv\\.venv\\Lib\\site-packages\\celery\\app\\trace.py", line 453, in trace_task
    R = retval = fun(*args, **kwargs)
  File "C:\\srv\\shop\\{module}.py", line 21, in {function}
    response.raise_for_status()
  File "C:\\srv\\.venv\\Lib\\site-packages\\requests\\models.py", line 1021, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 502 Server Error: Bad Gateway for url: http://ledger/api
"""


def test_a_task_celery_logs_on_windows_is_keyed_as_the_programs_own_logger_keys_it() -> None:
    """Celery's `celery.app.trace` reporting two tasks that fail in one library call, with Windows paths,
    gives two groups, each the group the program's own logger gives its traceback."""
    keys = []
    for module, function in (("ledger", "sync_ledger"), ("mailer", "send_receipts")):
        text = _WINDOWS_TASK.format(module=module, function=function)
        by_framework = _keys({"log": {"logger": "celery.app.trace"}, "error": {"stack_trace": text}})
        by_program = _keys({"log": {"logger": f"shop.{module}"}, "error": {"stack_trace": text}})
        assert by_framework == by_program
        keys.append(by_framework.key)
    assert keys[0] != keys[1]
