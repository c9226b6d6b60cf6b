"""When a program loads the redaction rules: a program whose delivery agent redacts its records never
does (loading them was about 30 M instructions of a short script), yet what it logs arrives redacted;
a program given its own rules, or asked to redact before the spool, loads and checks them when its
handler is made, never in a logging call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents

from kibana.setup import install_template
from shipper.exceptions import ConfigurationError
from shipper.handler import ShipperHandler

_LOADED = "print('LOADED', sorted(m for m in sys.modules if m.startswith('shipper.redaction.')))"

_PROGRAM = f"""
import logging, os, sys
import shipper

url, spool, prefix = os.environ["T_URL"], os.environ["T_SPOOL"], os.environ["T_PREFIX"]
handler = shipper.install("loading", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=3)
log = logging.getLogger("loading")
log.warning("connecting with password=%s", "Hunter2Secret")
try:
    raise ConnectionError("login failed for postgres://app:Tr0ub4dorSecret@db.internal/shop")
except ConnectionError:
    log.exception("cannot reach the database")
print("DELIVERED", handler.wait_delivered(60))
logging.shutdown()
{_LOADED}
"""


def test_a_program_with_the_default_rules_never_loads_them_and_its_secrets_arrive_hidden(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program that logs a secret in a message and in an exception, with the default rules, loads
    no redaction module from its start to its exit, and both secrets arrive hidden (its agent
    redacted them)."""
    install_template(es, index_prefix)
    env = {"T_URL": es_url, "T_SPOOL": str(tmp_path / "spool"), "T_PREFIX": index_prefix}
    done = programs.run(_PROGRAM, tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DELIVERED True" in done.stdout, done.stdout[-500:]
    assert "LOADED []" in done.stdout, done.stdout[-2000:]
    sent = json.dumps(documents(es, index_prefix))
    assert "connecting with password=" in sent and "cannot reach the database" in sent
    assert "Hunter2Secret" not in sent and "Tr0ub4dorSecret" not in sent


_CONSTRUCTED = f"""
import logging, sys
import shipper, shipper.formatter

handler = shipper.ShipperHandler("loading", es_url="http://127.0.0.1:9", spool_path=sys.argv[1], **OPTIONS)
{_LOADED}
handler.close()
"""


@pytest.mark.parametrize(
    "options",
    [
        pytest.param('{"redact_keys": ["pin"]}', id="own-keys"),
        pytest.param('{"redact_patterns": ["ACCT-[0-9]+"]}', id="own-patterns"),
        pytest.param('{"redact_before_spool": True}', id="redact-before-spool"),
        pytest.param(
            '{"formatter": type("Own", (shipper.formatter.EcsFormatter,), {})(service_name="own")}',
            id="formatter-of-its-own",
        ),
    ],
)
def test_a_program_that_redacts_itself_loads_the_rules_when_its_handler_is_made(
    tmp_path: Path, options: str
) -> None:
    """A handler given its own keys or patterns, asked to redact before the spool, or given a formatter
    of its own (its documents built on the caller's thread) has loaded the rules once it is made,
    before any logging call."""
    script = _CONSTRUCTED.replace("OPTIONS", options, 1)
    done = programs.run(script, tmp_path, args=[str(tmp_path / "spool")], timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'shipper.redaction.redactor'" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param({"redact_keys": "pin"}, "redact_keys", id="keys-one-string"),
        pytest.param({"redact_patterns": ""}, "redact_patterns", id="patterns-empty-string"),
        pytest.param({"redact_keys": ["--"]}, "has no letters or digits", id="key-without-words"),
    ],
)
def test_bad_rules_are_refused_when_the_handler_is_made(
    tmp_path: Path, options: dict[str, Any], named: str
) -> None:
    """Bad redaction options (one string instead of a list, a key with nothing to match) are refused
    by the handler's constructor with an error that names them, as before the rules loaded lazily."""
    with pytest.raises(ConfigurationError, match=named):
        ShipperHandler("loading", es_url="http://127.0.0.1:9", spool_path=tmp_path / "spool", **options)
