"""A destination that cannot be reached (a wrong es_url, a port nothing listens on, a Logstash that is
down) is said, in one warning line on the program's stderr naming the option to check, by a program
that runs on and by the next program that starts on that spool; never silently retried for ever."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from helpers import programs

pytestmark = pytest.mark.slow

_PROGRAM = """
import logging, sys, time
import shipper
handler = shipper.ShipperHandler("undelivered", spool_path=sys.argv[1], request_timeout=1,
                                 retry_max_delay=1, idle_exit=3, {options})
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
logging.info("waits for a destination")
time.sleep(float(sys.argv[2]))
"""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param("es_url='http://127.0.0.1:{port}', password='hunter2', username='u'", "es_url", id="es"),
        pytest.param(
            "transport='logstash-tcp', logstash_host='127.0.0.1', logstash_port={port}",
            "logstash_host and logstash_port",
            id="logstash",
        ),
    ],
)
def test_an_unreachable_destination_is_said_once_naming_the_option(
    options: str, named: str, tmp_path: Path
) -> None:
    """A program running on while nothing can be delivered prints one line naming the option to check
    and the reason (no secret); a program started next on that spool says it at once."""
    script = _PROGRAM.format(options=options.format(port=_closed_port()))
    spool = str(tmp_path / "spool")
    running = programs.run(script, tmp_path, args=[spool, "14"], timeout=60)
    assert running.returncode == 0
    lines = running.stderr.strip().splitlines()
    assert len(lines) == 1, running.stderr
    assert lines[0].startswith("logloop shipper: nothing delivered for ")
    assert f"check {named};" in lines[0] and spool in lines[0]
    assert "hunter2" not in running.stderr
    started = programs.run(script, tmp_path, args=[spool, "0"], timeout=60)
    assert (started.returncode, started.stderr.count("nothing delivered")) == (0, 1), started.stderr


_JUMPED = """
import time
real_time = time.time
time.time = lambda: real_time() + {jump}  # the wall clock stepped since the agent last wrote
"""


@pytest.mark.parametrize(
    "jump",
    [
        pytest.param(-3_600, id="set-back-an-hour"),
        pytest.param(-30, id="set-back-half-a-minute"),
        pytest.param(7_200, id="set-forward-two-hours"),
        pytest.param(86_400 * 365, id="set-forward-a-year"),
    ],
)
def test_the_warning_tells_how_long_whatever_the_wall_clock_did(jump: int, tmp_path: Path) -> None:
    """With the wall clock stepped between the agent's failures and the program's reading of them, the
    program still says it once, with the seconds it really lasted (set back, it said nothing for as
    long as the step; set forward more than two minutes, the latest failure looked stale: nothing)."""
    options = f"es_url='http://127.0.0.1:{_closed_port()}'"
    script = _JUMPED.format(jump=jump) + _PROGRAM.format(options=options)
    done = programs.run(script, tmp_path, args=[str(tmp_path / "spool"), "14"], timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    seconds = int(lines[0].removeprefix("logloop shipper: nothing delivered for ").split(" ", 1)[0])
    assert 10 <= seconds <= 20, lines[0]
