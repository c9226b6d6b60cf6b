"""`logloop demo`: the main job on the embedded default, from an empty node to a digest on disk.

1. Starts the embedded Elasticsearch node unless the configured URL already answers.
2. Runs `examples/service_manager.py` in-process through a simulated fortnight. Every failure is a
   real one (a missing binary, a port already taken, a process that crashes, a script without the
   execute bit, a health check that times out), shipped by the real `ShipperHandler`. Only the
   clock is simulated: a log record factory moves `record.created` onto the simulated day.
3. Runs `analyze` at the end of every simulated day, as the hourly scheduler would, so the group
   registry goes through real lifecycle transitions (new, escalating, regressed, resolved in version).
4. Writes the digest of the last seven days as `digest.html` and `digest.txt`.

The demo uses its own index prefix (`<prefix>-demo`) and deletes that prefix's indices first, so a
rerun starts clean and never touches real data.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from logloop import embedded
from logloop.config import Settings
from logloop.errors import LogloopError
from shipper import schema
from shipper.connection import ElasticsearchSettings, handler_options, make_client

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "service_manager.py"
DAYS = 14
WEEK = timedelta(days=7)
FEEDBACK_TYPING = timedelta(seconds=40)  # how long a user takes to write feedback, in simulated time
log = logging.getLogger("service_manager.demo")


@dataclass(frozen=True)
class DayPlan:
    """What goes wrong on one simulated day: the services started and how often."""

    version: str
    failing: tuple[tuple[str, int], ...]  # (service, attempts)
    disk_warnings: int
    # (kind, text, the service whose failure the user just saw: None, sent before the day's failures)
    feedback: tuple[tuple[str, str, str | None], ...]


def plan_day(day: int) -> DayPlan:
    """The fortnight's script, chosen so every digest section and status has something to show.

    - `reportd` (missing binary) fails every day on 1.3.0 and is gone once 1.4.0 ships: resolved.
    - `cron-hook` (no execute permission) fails on days 1-3, is quiet a week, is back on day 11: regressed.
    - `worker` crashes once a day on 1.3.0 and three times a day on 1.4.0: escalating.
    - `web-mirror` (port taken) and `indexer` (health check timeout) start in week two: new.

    Users report a bug right after the crash they saw and a usability problem right after the error
    they found unclear (the digest links both to that error, sent by the same process); they wish for
    a feature at a quiet moment (never linked to an error).
    """
    version = "1.3.0" if day < 7 else "1.4.0"
    failing: list[tuple[str, int]] = [("worker", 1 if day < 7 else 3)]
    if day < 7:
        failing.append(("reportd", 1 + day % 2))
    if 1 <= day <= 3 or day >= 11:
        failing.append(("cron-hook", 1))
    if day >= 9:
        failing.append(("web-mirror", 1))
    if day >= 12:
        failing.append(("indexer", 1))
    feedback: list[tuple[str, str, str | None]] = []
    if day % 4 == 1:
        report = f"status shows 'running' for worker after it crashed (day {day + 1})"
        feedback.append(("bug", report, "worker"))
    if day % 5 == 2:
        feedback.append(("feature", "please add a --json flag to status", None))
    if day == 12:
        complaint = "the port-in-use error does not say which process holds it"
        feedback.append(("usability", complaint, "web-mirror"))
    return DayPlan(version, tuple(failing), disk_warnings=day % 3, feedback=tuple(feedback))


def demo_services_toml(here: Path, base_port: int) -> str:
    """The example's services with demo ports and short timeouts, so a fortnight runs in a minute."""
    web, echo, slow = base_port, base_port + 1, base_port + 2
    py = sys.executable
    return f"""
[services.web]
command = ["{py}", "-m", "http.server", "{web}", "--bind", "127.0.0.1", "--directory", "{here}"]
health = {{ url = "http://127.0.0.1:{web}/", timeout = 10 }}

[services.echo]
command = ["{py}", "{here}/services/echo_server.py", "--port", "{echo}"]
health = {{ port = {echo}, timeout = 10 }}

[services.web-mirror]
command = ["{py}", "-m", "http.server", "{web}", "--bind", "127.0.0.1"]
health = {{ port = {web}, timeout = 1 }}
start_grace = 2.0

[services.reportd]
command = ["reportd", "--config", "/etc/reportd.conf"]

[services.cron-hook]
command = ["{here}/services/not_executable.sh"]

[services.worker]
command = ["{py}", "{here}/services/crashy.py", "--after", "0.1"]
start_grace = 3.0  # generous: the crash is seen as soon as it happens, even on a loaded machine

[services.indexer]
command = ["{py}", "{here}/services/slow_start.py", "--delay", "30", "--port", "{slow}"]
health = {{ port = {slow}, timeout = 1 }}
"""


class SimulatedClock:
    """Moves every new log record onto the simulated day, keeping real sub-second spacing."""

    def __init__(self) -> None:
        self._base = time.time()
        self._real_start = time.time()
        self._previous: Callable[..., logging.LogRecord] | None = None

    def set(self, moment: datetime) -> None:
        self._base = moment.timestamp()
        self._real_start = time.time()

    def advance(self, delay: timedelta) -> None:
        """Move the simulated time on by `delay` (a pause the demo does not wait through)."""
        self._base += delay.total_seconds()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._base + time.time() - self._real_start, UTC)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            record.created = self._base + (time.time() - self._real_start)
            record.msecs = (record.created % 1) * 1000
            return record

        logging.setLogRecordFactory(factory)
        try:
            yield
        finally:
            logging.setLogRecordFactory(previous)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("service_manager", EXAMPLE)
    if spec is None or spec.loader is None or not EXAMPLE.is_file():
        raise LogloopError(f"{EXAMPLE} is missing: run the demo from a logloop checkout")
    module = importlib.util.module_from_spec(spec)
    sys.modules["service_manager"] = module
    spec.loader.exec_module(module)
    return module


def ensure_node(settings: Settings, port: int | None) -> str:
    """The URL of a node that answers: the configured one, else the embedded node started here."""
    urls = settings.elasticsearch.urls or (f"http://127.0.0.1:{embedded.DEFAULT_PORT}",)
    url = urls[0].rstrip("/")  # the demo runs on one (local) node: the first configured
    if embedded.health(url) is not None:
        return url
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise LogloopError(f"Elasticsearch at {url} does not answer; start it or set LOGLOOP_ES_URL")
    print(f"starting the embedded Elasticsearch {embedded.ES_VERSION} (first run fetches it with Maven)...")
    node = embedded.start(port or parts.port or embedded.DEFAULT_PORT)
    return node.url


def reset_indices(client: Any, prefix: str) -> None:
    from kibana.setup import install_template

    names = list(client.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        client.indices.delete(index=",".join(names))
    install_template(client, prefix)


def _one_day(
    manager: Any, plan: DayPlan, errors: tuple[type[BaseException], ...], clock: SimulatedClock
) -> None:
    import shipper

    def send_feedback(after: str | None) -> None:
        for kind, text, follows in plan.feedback:
            if follows == after:
                clock.advance(FEEDBACK_TYPING)
                shipper.feedback(text, kind=kind)

    send_feedback(None)
    for name in ("web", "echo"):
        manager.start(name)
    manager.status()
    for name, attempts in plan.failing:
        for _ in range(attempts):
            try:
                manager.start(name)
            except errors:
                log.exception("could not start %s", name)
            manager.stop(name)
        send_feedback(name)
    for number in range(plan.disk_warnings):
        log.error("disk usage at %d%% on /var/lib/%s", 91 + number * 3, ("web", "echo", "db")[number])
    for name in ("web", "echo"):
        manager.stop(name)


def simulate(
    client: Any, settings: Settings, es: ElasticsearchSettings, prefix: str, state: Path, until: datetime
) -> tuple[int, int]:
    """Run the fortnight; return (events sent, analyze runs)."""
    import shipper
    from analyzers import analyze
    from analyzers.config import analyze_config
    from analyzers.store import Store

    example = load_example()
    services = state / "services.toml"
    services.write_text(demo_services_toml(EXAMPLE.parent, base_port=18571))
    config = example.load_config(services)
    manager = example.ServiceManager(config, state / "run")
    clock = SimulatedClock()
    analyze_settings = analyze_config(settings.section("analyze"))
    start = until - timedelta(days=DAYS)
    handler: Any = None
    version: str | None = None
    sent = 0
    runs = 0
    with clock.installed():
        for day in range(DAYS):
            plan = plan_day(day)
            if plan.version != version:
                if handler is not None:
                    sent += _finish(handler)
                version = plan.version
                handler = shipper.install(
                    service="service-manager",
                    service_version=plan.version,
                    environment="demo",
                    **handler_options(es),
                    index_prefix=prefix,
                    spool_path=str(state / "spool"),
                    context_provider=manager.context,
                    env_allowlist=("LANG", "TZ"),
                    close_timeout=30.0,
                )
            clock.set(start + timedelta(days=day, hours=9))
            _one_day(manager, plan, (example.ServiceManagerError,), clock)
            if not handler.wait_delivered(60):
                raise LogloopError("the demo's events were not delivered within 60 s; see the node's log")
            client.indices.refresh(index=f"{prefix}-*")
            day_end = start + timedelta(days=day + 1)
            analyze.run(Store(client, prefix), config=analyze_settings, until=day_end)
            runs += 1
            print(f"  day {day + 1:2d}/{DAYS} ({day_end:%Y-%m-%d}, v{plan.version}): shipped and analyzed")
    if handler is not None:
        sent += _finish(handler)
    return sent, runs


def _finish(handler: Any) -> int:
    handler.wait_delivered(60)
    handler.close()
    logging.getLogger().removeHandler(handler)
    return int(handler.stats().sent)


def _output_directory(path: Path) -> Path:
    """`--out`, made if missing and checked writable; LogloopError naming it otherwise."""
    out = path.resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise LogloopError(
            f"--out {path} cannot hold the digest ({exc.strerror or type(exc).__name__}): "
            "choose a writable directory"
        ) from None
    return out


def run(args: argparse.Namespace, settings: Settings) -> int:
    from analyzers.digest import build_digest, default_title
    from analyzers.store import Store

    out = _output_directory(
        args.out
    )  # before the simulation: a minute of work must not end in "cannot write"
    url = ensure_node(settings, args.port)
    prefix = f"{settings.index_prefix}-demo"
    es = dataclasses.replace(settings.elasticsearch, url=url, request_timeout=60.0)
    client = make_client(es)
    reset_indices(client, prefix)
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    print(f"simulating {DAYS} days of the service manager into {url} (indices {prefix}-*)")
    with tempfile.TemporaryDirectory(prefix="logloop-demo-") as state:
        sent, runs = simulate(client, settings, es, prefix, Path(state), until)
    client.indices.refresh(index=f"{prefix}-*")
    # The window ends now, not at the simulated end: the shipper's own health reports carry real
    # time stamps (they are sent at close, after the simulation) and belong in the digest too.
    now = datetime.now(UTC)
    digest = build_digest(Store(client, prefix), WEEK, now, now, title=default_title(prefix, WEEK))
    html, text = out / "digest.html", out / "digest.txt"
    html.write_text(digest.render("html"), encoding="utf-8")
    text.write_text(digest.render("text"), encoding="utf-8")
    print(f"{sent} events shipped, {runs} analyze runs, registry {schema.registry_index(prefix)}")
    print(f"digest written: {html}")
    print(f"                {text}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="simulate a fortnight of the example service manager and write its digest"
    )
    parser.add_argument("--out", type=Path, default=Path("."), help="where digest.html/.txt go (default .)")
    parser.add_argument(
        "--port", type=embedded.port_argument, default=None, help="embedded node port (default from the URL)"
    )
    parser.set_defaults(handler=run)
