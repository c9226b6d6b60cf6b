"""The delivery agent's lifetime when its destination cannot be reached: an agent process that no
program writes to any more exits after `unreachable_exit` seconds of failed delivery, leaving its
records in the spool for the next program's agent (which sends each once); one that a program still
writes to never gives up. Real programs, real agent processes, the real node behind a loopback proxy
that is down, then up."""

from __future__ import annotations

import collections
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.proxy import Proxy, proxy_to
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.delivery import lock
from shipper.delivery.agent import Agent
from shipper.delivery.config import AgentConfig
from shipper.handler import ShipperHandler
from shipper.spool import layout
from shipper.transports.memory import MemoryTransport

pytestmark = pytest.mark.es

_BOUND = 2.0  # unreachable_exit of these tests, seconds

# argv: destination, spool, index prefix, tag, how many, how the program ends
_PROGRAM = """
import logging, os, signal, sys
import shipper

url, spool, prefix, tag, count, ending = sys.argv[1:7]
shipper.install("lifetime", es_url=url, spool_path=spool, index_prefix=prefix, unreachable_exit=BOUND,
                retry_max_delay=0.5, request_timeout=2.0)
log = logging.getLogger("lifetime")
for i in range(int(count)):
    log.warning("%s %d", tag, i)
    print(f"EXPECT {tag} {i}")
sys.stdout.flush()
if ending == "os._exit":
    os._exit(0)
if ending == "SIGKILL":
    os.kill(os.getpid(), signal.SIGKILL)
if ending == "wait":
    print("DELIVERED", shipper.install("lifetime").wait_delivered(60))
""".replace("BOUND", repr(_BOUND))


@pytest.fixture
def proxy(es_url: str) -> Iterator[Proxy]:
    """A proxy to the node, down until the test starts it."""
    server = proxy_to(es_url)
    yield server
    server.stop()


def _agent_came(spool: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not (lock.running(spool) and lock.holder(spool).get("pid")):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _agent_gone(spool: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while lock.running(spool):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("ending", ["return", "os._exit", "SIGKILL"])
@pytest.mark.parametrize("count", [1, 300])
def test_an_agent_nobody_writes_to_gives_up_and_the_next_program_delivers_its_records_once(
    es: Any, index_prefix: str, tmp_path: Path, proxy: Proxy, ending: str, count: int
) -> None:
    """A program logs while the node is unreachable and ends (returns, os._exit, SIGKILL): its agent
    exits within `unreachable_exit` (plus a retry), says so with what it left, loses nothing; the next
    program, the node reachable, delivers the old records and its own, each exactly once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    arguments = [proxy.url, str(spool), index_prefix, "old", str(count), ending]
    first = programs.run(_PROGRAM, tmp_path, args=arguments)
    assert first.stderr == "" or ending == "SIGKILL", first.stderr
    assert _agent_came(spool, 30)
    assert _agent_gone(spool, _BOUND + 15), "the agent still retries with no program left"
    stats = layout.read_json(spool / layout.AGENT_STATS_NAME)
    assert stats[layout.GIVEN_UP_KEY]["waiting"] == count and stats["unreachable_exits"] == 1
    assert stats[layout.GIVEN_UP_KEY]["failing_for"] >= _BOUND  # not before the bound
    assert "no program writes to" in (spool / "agent.log").read_text()
    assert layout.segments(spool)  # the records wait in the spool

    proxy.start()
    second = programs.run(_PROGRAM, tmp_path, args=[proxy.url, str(spool), index_prefix, "new", "3", "wait"])
    assert "DELIVERED True" in second.stdout, second.stdout + second.stderr
    want = programs.expected(first) + programs.expected(second)
    assert sum(want.values()) == count + 3
    assert programs.arrived(es, index_prefix, want) == want


def test_a_program_started_just_before_the_agent_gave_up_starts_another(
    es: Any, index_prefix: str, tmp_path: Path, proxy: Proxy
) -> None:
    """A program that starts while the agent still runs (so it starts none) and logs nothing: once that
    agent gives up, the program starts another, which delivers what the first program left, once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    arguments = [proxy.url, str(spool), index_prefix, "old", "20", "return"]
    first = programs.run(_PROGRAM, tmp_path, args=arguments)
    assert first.returncode == 0, first.stderr
    assert _agent_came(spool, 30)
    later = ShipperHandler(
        "lifetime", es_url=proxy.url, index_prefix=index_prefix, spool_path=spool, unreachable_exit=_BOUND,
        retry_max_delay=0.5, request_timeout=2.0,
    )  # fmt: skip
    deadline = time.monotonic() + _BOUND + 15
    while not layout.read_json(spool / layout.AGENT_STATS_NAME).get("unreachable_exits"):
        assert time.monotonic() < deadline, "the agent did not give up"
        time.sleep(0.1)
    proxy.start()
    want = programs.expected(first)
    assert programs.arrived(es, index_prefix, want, timeout=30) == want
    later.close()


@pytest.mark.parametrize("delivery", ["process", "thread"])
def test_an_agent_a_program_still_writes_to_never_gives_up(
    es: Any, index_prefix: str, tmp_path: Path, proxy: Proxy, delivery: str
) -> None:
    """While the program that logged is alive (its segment open), its agent keeps retrying well past
    `unreachable_exit`: the records count as waiting, none as lost, and arrive once the node is back."""
    install_template(es, index_prefix)
    handler = ShipperHandler(
        "lifetime",
        es_url=proxy.url,
        index_prefix=index_prefix,
        spool_path=tmp_path / "spool",
        unreachable_exit=0.5,
        retry_max_delay=0.5,
        request_timeout=2.0,
        delivery=delivery,  # type: ignore[arg-type]
    )
    logger = logger_only_to("lifetime.attached", handler)
    for i in range(20):
        logger.warning("attached %d", i)
    assert handler.ready(30)
    holder = lock.holder(handler.spool_dir)["pid"]
    time.sleep(0.5 * 8)
    assert lock.running(handler.spool_dir) and lock.holder(handler.spool_dir)["pid"] == holder
    stats = handler.stats()
    assert (stats.spool_backlog, stats.dropped, stats.sent) == (20, 0, 0)
    assert layout.GIVEN_UP_KEY not in layout.read_json(handler.spool_dir / layout.AGENT_STATS_NAME)
    proxy.start()
    assert handler.wait_delivered(60)
    handler.close()
    want = collections.Counter(f"attached {i}" for i in range(20))
    assert programs.arrived(es, index_prefix, want) == want


_UNWRITABLE = """
import logging, sys, time
from pathlib import Path
from shipper.delivery import launcher
from shipper.handler import ShipperHandler

url, prefix, spool, hold = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
log = logging.getLogger("unwritable")
log.propagate = False
start, launcher.start = launcher.start, lambda *args: True  # a program that ends before its agent starts
first = ShipperHandler("unwritable", es_url=url, index_prefix=prefix, spool_path=spool)
log.addHandler(first)
for n in range(5):
    log.warning("unwritable %d", n)
    print(f"EXPECT unwritable {n}")
first.close()
launcher.start = start
(spool / "agent.starting").unlink()
# The next program claims the start of an agent and spawns it (`launcher.ensure_agent`); the directory
# turns read-only before the agent can create its lock file, and writable again `hold` seconds later.
assert launcher._claim(spool)
(spool / "agent.log").touch()
spool.chmod(0o500)
assert launcher.start(spool, first.transport_spec, first.agent_config)
time.sleep(hold)
spool.chmod(0o700)
writable = time.monotonic()
second = ShipperHandler("unwritable", es_url=url, index_prefix=prefix, spool_path=spool)
print("DELIVERED", second.wait_delivered(40), round(time.monotonic() - writable, 1))
second.close()
"""


@programs.AS_OTHER_USER
@pytest.mark.parametrize("hold", [0.5, 2.0])
def test_a_spool_directory_unwritable_as_the_agent_starts_delays_delivery_only_while_it_is(
    es: Any, es_url: str, index_prefix: str, hold: float
) -> None:
    """An agent that cannot create its lock file (the directory made read-only as it starts, by a user
    who is not root) waits for the directory, and delivers within moments of it becoming writable
    again: it used to die, leaving the start claim that held every new agent back for 15 s."""
    with programs.other_user(54321) as user:
        install_template(es, index_prefix)
        spool = user.directory / "spool"
        done = user.run(_UNWRITABLE, [es_url, index_prefix, str(spool), str(hold)])
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        delivered = next(line.split() for line in done.stdout.splitlines() if line.startswith("DELIVERED"))
        assert delivered[1] == "True" and float(delivered[2]) < 7.0, done.stdout
        want = programs.expected(done)
        assert programs.arrived(es, index_prefix, want) == want


@pytest.mark.parametrize("jump", [86400.0, -86400.0, 3600.0, -30.0])
def test_a_wall_clock_jump_neither_hastens_nor_holds_back_giving_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jump: float
) -> None:
    """The wall clock jumping a day forward or back while nothing can be delivered changes nothing:
    the agent gives up after `unreachable_exit` seconds of the monotonic clock, its records kept."""
    spool = tmp_path / "spool"
    handler = ShipperHandler("clock", spool_path=spool, delivery="thread")
    handler._stop.set()  # no delivery thread: the agent below is the only reader
    logger = logger_only_to(f"lifetime.clock.{tmp_path.name}", handler)
    for i in range(10):
        logger.warning("clock %d", i)
    handler.close()
    transport = MemoryTransport()
    transport.fail_next(100_000, reason="node down")
    config = AgentConfig(unreachable_exit=1.0, backoff_max=0.05, poll_interval=0.01)
    agent = Agent(spool, lambda: transport, config)
    agent.may_give_up = True
    agent.deadline = time.monotonic() + 10  # (a run that never gives up ends here, and fails)
    real, started = time.time, time.monotonic()
    monkeypatch.setattr(time, "time", lambda: real() + (jump if time.monotonic() - started > 0.3 else 0.0))
    agent.run()
    took = time.monotonic() - started
    monkeypatch.undo()
    assert agent.gave_up and 1.0 <= took < 6.0
    given_up = layout.read_json(spool / layout.AGENT_STATS_NAME)[layout.GIVEN_UP_KEY]
    assert transport.documents == [] and given_up["waiting"] == 10


# argv: es_url, spool, index prefix. Logs only once its agent has idled out, then exits at once.
_LATE_PROGRAM = """
import logging, sys, time
from pathlib import Path
import shipper
from shipper.delivery import lock

url, spool, prefix = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
shipper.install("late", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=0.5)
deadline = time.monotonic() + 30
while not lock.running(spool) and time.monotonic() < deadline:  # its agent starts...
    time.sleep(0.05)
while lock.running(spool) and time.monotonic() < deadline:  # ...and exits, idle: the quiet spell
    time.sleep(0.05)
print("AGENT GONE", not lock.running(spool))
log = logging.getLogger("late")
for i in range(3):
    log.error("nightly job failed, step %d", i)
    print(f"EXPECT nightly job failed, step {i}")
"""


def test_a_program_that_logs_only_after_its_agent_idled_out_then_exits_is_delivered(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program that logs only after a quiet spell longer than the agent's idle time, then exits at
    once (a nightly job that logs only its failure), has its records delivered without another program
    on the spool: its close starts an agent for them."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    done = programs.run(_LATE_PROGRAM, tmp_path, args=[es_url, str(spool), index_prefix], timeout=60)
    assert done.returncode == 0, done.stderr
    assert "AGENT GONE True" in done.stdout
    want = programs.expected(done)
    assert sum(want.values()) == 3
    found = programs.arrived(es, index_prefix, want, timeout=30)
    assert {message: found[message] for message in want} == want


_OUT_OF_REACH = """
import logging, sys, time
from pathlib import Path
from shipper.handler import ShipperHandler

url, prefix, spool = sys.argv[1], sys.argv[2], Path(sys.argv[3])
log = logging.getLogger("reach")
log.propagate = False
first = ShipperHandler("reach", es_url=url, index_prefix=prefix, spool_path=spool)
log.addHandler(first)
for n in range(5):
    log.warning("reach %d", n)
    print(f"EXPECT reach {n}")
assert first.wait_delivered(30)
for n in range(5, 10):
    log.warning("reach %d", n)  # into the open segment's mapping: the directory is not needed
    print(f"EXPECT reach {n}")
spool.chmod(0)  # out of this user's reach, while its watchdog looks and as it closes
time.sleep(3.5)
first.close()
log.removeHandler(first)
spool.chmod(0o700)
second = ShipperHandler("reach", es_url=url, index_prefix=prefix, spool_path=spool)
print("DELIVERED", second.wait_delivered(40))
second.close()
"""


@programs.AS_OTHER_USER
def test_a_spool_directory_out_of_reach_is_said_in_one_line_never_a_traceback(
    es: Any, es_url: str, index_prefix: str
) -> None:
    """A spool directory its own user made unreadable while the program runs and closes is said in one
    line naming it and the fix, and its records arrive once access is back: the watchdog printed a bare
    `PermissionError(13, 'Permission denied')` and close() a traceback at the program's exit."""
    with programs.other_user(54321) as user:
        install_template(es, index_prefix)
        spool = user.directory / "spool"
        done = user.run(_OUT_OF_REACH, [es_url, index_prefix, str(spool)])
        assert done.returncode == 0, done.stderr
        said = done.stderr.splitlines()
        assert len(said) == 1 and "Traceback" not in done.stderr and "PermissionError" not in done.stderr, (
            said
        )
        assert f"no permission for {spool}" in said[0] and "access" in said[0], said
        assert "DELIVERED True" in done.stdout
        want = programs.expected(done)
        assert programs.arrived(es, index_prefix, want) == want


def test_an_agent_asked_to_stop_sends_what_waits_first(
    es: Any, index_prefix: str, tmp_path: Path, proxy: Proxy
) -> None:
    """SIGTERM, as a service manager sends every process a finished program's unit left: the agent sends
    the records that wait (the node reachable again just then) before it exits, within its grace time."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    first = programs.run(
        _PROGRAM, tmp_path, args=[proxy.url, str(spool), index_prefix, "term", "40", "return"]
    )
    assert first.returncode == 0, first.stderr
    assert _agent_came(spool, 30)
    pid = lock.holder(spool)["pid"]
    proxy.start()
    os.kill(pid, signal.SIGTERM)
    assert _agent_gone(spool, lock.TERM_GRACE + 5), "the agent did not end after its grace time"
    want = programs.expected(first)
    assert programs.arrived(es, index_prefix, want, timeout=10) == want


def test_an_agent_asked_to_stop_with_the_node_down_leaves_the_records_spooled(
    es: Any, index_prefix: str, tmp_path: Path, proxy: Proxy
) -> None:
    """SIGTERM while the node stays unreachable: the agent exits once its grace time is over, and the
    records wait in the spool, for the next program's agent to send once."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    first = programs.run(
        _PROGRAM, tmp_path, args=[proxy.url, str(spool), index_prefix, "held", "5", "return"]
    )
    assert _agent_came(spool, 30)
    os.kill(lock.holder(spool)["pid"], signal.SIGTERM)
    assert _agent_gone(spool, lock.TERM_GRACE + 5), "the agent did not end after its grace time"
    assert layout.segments(spool)
    proxy.start()
    second = programs.run(_PROGRAM, tmp_path, args=[proxy.url, str(spool), index_prefix, "new", "2", "wait"])
    assert "DELIVERED True" in second.stdout, second.stdout + second.stderr
    want = programs.expected(first) + programs.expected(second)
    assert programs.arrived(es, index_prefix, want) == want
