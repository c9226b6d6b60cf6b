"""A small service manager: start, stop, restart and check processes defined in a TOML file.

    python examples/service_manager.py --config examples/services.toml start
    python examples/service_manager.py status
    python examples/service_manager.py stop web

Each service is a real subprocess (its own session, output in `<state-dir>/<name>.log`, pid in
`<state-dir>/<name>.pid`) with an optional health check: a TCP port, an HTTP URL or a command.
A restart policy (`no`, `on-failure`, `always`) decides whether `start` retries a service that dies
while starting and whether `supervise` brings back one that crashed later.

Failures are real exceptions, chained to their cause (`raise ... from ...`) and logged with
`logger.exception`:

    ServiceManagerError            root
    ├── ConfigError                the TOML file is missing, invalid, or names no such service
    ├── ServiceStartError          the process could not start or died while starting
    │   ├── PortInUseError         it died because its port is taken
    │   └── HealthCheckError       it started but never passed its health check
    └── ServiceStopError           it could not be stopped

The manager ships its logs with logloop's shipper when it is importable (`--no-ship` turns that
off): `shipper.install(service="service-manager", ...)`, configured by LOGLOOP_ES_URL,
LOGLOOP_ES_API_KEY (or LOGLOOP_ES_USERNAME / LOGLOOP_ES_PASSWORD), LOGLOOP_ES_CA_CERTS,
LOGLOOP_INDEX_PREFIX, LOGLOOP_ENVIRONMENT and LOGLOOP_SPOOL (the spool file). It registers a
context provider so every error event carries the current state of the services, and times starts
and health checks with `shipper.timing.timed`.

Importable: `load_config(path)`, `ServiceManager(config, state_dir)` and the functions `start`,
`stop`, `restart` and `status` let a program (the demo, the tests) drive it in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__version__ = "1.4.0"

log = logging.getLogger("service_manager")

RestartPolicy = Literal["no", "on-failure", "always"]
HealthKind = Literal["tcp", "http", "command"]
State = Literal["running", "unhealthy", "crashed", "stopped"]
_RESTART_POLICIES = ("no", "on-failure", "always")


# --- errors --------------------------------------------------------------------------------------


class ServiceManagerError(Exception):
    """Root of the service manager's errors."""


class ConfigError(ServiceManagerError):
    """The services file is missing or invalid, or names no such service."""


class ServiceStartError(ServiceManagerError):
    """A service could not be started, or died while starting."""


class HealthCheckError(ServiceStartError):
    """A service started but did not pass its health check in time."""


class PortInUseError(ServiceStartError):
    """A service exited while starting because its port is already taken."""


class ServiceStopError(ServiceManagerError):
    """A service could not be stopped."""


# --- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HealthCheck:
    kind: HealthKind
    host: str = "127.0.0.1"
    port: int | None = None
    url: str | None = None
    command: tuple[str, ...] = ()
    timeout: float = 10.0  # how long a start waits for the service to become healthy
    interval: float = 0.2  # between probes
    probe_timeout: float = 1.0  # one probe


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    name: str
    command: tuple[str, ...]
    cwd: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    health: HealthCheck | None = None
    restart: RestartPolicy = "no"
    max_restarts: int = 2
    start_grace: float = 0.5  # a process still alive this long after spawn counts as started
    stop_timeout: float = 5.0


@dataclass(frozen=True, kw_only=True)
class ManagerConfig:
    services: Mapping[str, ServiceConfig]
    source: Path | None = None

    def service(self, name: str) -> ServiceConfig:
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(self.services) or "none"
            raise ConfigError(f"no service named {name!r} (configured: {known})") from None


def _expand(value: str, here: Path) -> str:
    return value.replace("{python}", sys.executable).replace("{here}", str(here))


def _health(table: Mapping[str, Any], here: Path, where: str) -> HealthCheck:
    kinds = [kind for kind in ("port", "url", "command") if kind in table]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: a health check needs exactly one of port, url or command")
    timeout = float(table.get("timeout", 10.0))
    interval = float(table.get("interval", 0.2))
    probe_timeout = float(table.get("probe_timeout", 1.0))
    if kinds == ["port"]:
        check = HealthCheck(kind="tcp", host=str(table.get("host", "127.0.0.1")), port=int(table["port"]))
    elif kinds == ["url"]:
        check = HealthCheck(kind="http", url=_expand(str(table["url"]), here))
    else:
        command = tuple(_expand(str(part), here) for part in table["command"])
        check = HealthCheck(kind="command", command=command)
    return dataclasses.replace(check, timeout=timeout, interval=interval, probe_timeout=probe_timeout)


def _service(name: str, table: Mapping[str, Any], here: Path) -> ServiceConfig:
    where = f"service {name!r}"
    command = table.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(p, str) for p in command):
        raise ConfigError(f"{where}: `command` must be a non-empty list of strings")
    restart = table.get("restart", "no")
    if restart not in _RESTART_POLICIES:
        raise ConfigError(f"{where}: restart = {restart!r} is not one of {', '.join(_RESTART_POLICIES)}")
    cwd = table.get("cwd")
    return ServiceConfig(
        name=name,
        command=tuple(_expand(part, here) for part in command),
        cwd=(here / _expand(cwd, here)) if cwd else None,
        env={str(k): _expand(str(v), here) for k, v in table.get("env", {}).items()},
        health=_health(table["health"], here, where) if "health" in table else None,
        restart=restart,
        max_restarts=int(table.get("max_restarts", 2)),
        start_grace=float(table.get("start_grace", 0.5)),
        stop_timeout=float(table.get("stop_timeout", 5.0)),
    )


def parse_config(document: Mapping[str, Any], here: Path, source: Path | None = None) -> ManagerConfig:
    """A ManagerConfig from a parsed TOML document; `{python}` and `{here}` are expanded."""
    services = document.get("services")
    if not isinstance(services, Mapping) or not services:
        raise ConfigError("the services file defines no [services.<name>] tables")
    return ManagerConfig(
        services={name: _service(name, table, here) for name, table in services.items()}, source=source
    )


def load_config(path: Path) -> ManagerConfig:
    """Read and validate a services file."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"services file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"services file {path} is not valid TOML: {exc}") from exc
    return parse_config(document, path.resolve().parent, source=path)


# --- processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PidFile:
    pid: int
    start_ticks: int | None  # /proc/<pid>/stat field 22: tells a reused pid from ours
    command: list[str]
    started_at: float


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: State
    pid: int | None = None
    detail: str = ""


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a process, None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:  # no /proc (not Linux): fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ("R", -1)
    return fields[0], int(fields[19])


# Children started by this process, kept so they can be reaped (and are never garbage-collected
# while running, which would make subprocess warn).
_children: dict[int, subprocess.Popen[bytes]] = {}


def _forget(pid: int) -> None:
    """Stop tracking a child, reaping it first: a dropped Popen of an unreaped child warns."""
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=2.0)
        if child.returncode is None:  # still running (not ours to kill here): keep it tracked
            _children[pid] = child


def _alive(pid: int, start_ticks: int | None) -> bool:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]
        return False
    stat = _proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return False
    return start_ticks is None or stat[1] in (-1, start_ticks)


class ServiceManager:
    """Starts, stops and checks the configured services; state lives in `state_dir`."""

    def __init__(
        self, config: ManagerConfig, state_dir: Path, *, logger: logging.Logger | None = None
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self._log_offsets: dict[int, int] = {}
        self.log = logger or log
        state_dir.mkdir(parents=True, exist_ok=True)

    # -- public operations ------------------------------------------------------------------------

    def start(self, name: str) -> ServiceStatus:
        """Start one service and wait until it is healthy; retries per its restart policy."""
        service = self.config.service(name)
        current = self._running_pid(service)
        if current is not None:
            self.log.info("%s is already running (pid %d)", name, current)
            return ServiceStatus(name, "running", current, "already running")
        attempts = 1 + (service.max_restarts if service.restart != "no" else 0)
        for attempt in range(1, attempts + 1):
            try:
                with self._timed("service.start", name):
                    return self._start_once(service)
            except ServiceStartError:
                if attempt == attempts:
                    raise
                self.log.warning("%s failed to start (attempt %d of %d), retrying", name, attempt, attempts)
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, name: str) -> ServiceStatus:
        """Stop one service: SIGTERM to its process group, SIGKILL after its stop_timeout."""
        service = self.config.service(name)
        pidfile = self._read_pidfile(name)
        if pidfile is None or not _alive(pidfile.pid, pidfile.start_ticks):
            self._pidfile_path(name).unlink(missing_ok=True)
            return ServiceStatus(name, "stopped", None, "was not running")
        try:
            self._terminate(pidfile.pid, service.stop_timeout)
        except PermissionError as exc:
            raise ServiceStopError(f"{name}: not allowed to signal pid {pidfile.pid}") from exc
        except TimeoutError as exc:
            raise ServiceStopError(f"{name}: pid {pidfile.pid} survived SIGKILL") from exc
        self._pidfile_path(name).unlink(missing_ok=True)
        self.log.info("stopped %s (pid %d)", name, pidfile.pid)
        return ServiceStatus(name, "stopped", pidfile.pid, "stopped")

    def restart(self, name: str) -> ServiceStatus:
        self.stop(name)
        return self.start(name)

    def status(self, name: str | None = None) -> list[ServiceStatus]:
        """The state of one or every service, probing the health check of running ones once."""
        names = [name] if name else list(self.config.services)
        return [self._status(self.config.service(each), check=True) for each in names]

    def supervise(self, *, once: bool = False, interval: float = 5.0) -> None:
        """Restart crashed services whose policy says so; forever, or one pass with `once`."""
        while True:
            for service in self.config.services.values():
                state = self._status(service, check=False)
                if state.state == "crashed" and service.restart in ("on-failure", "always"):
                    self.log.warning("%s crashed (pid %s); restarting", service.name, state.pid)
                    try:
                        self.start(service.name)
                    except ServiceManagerError:
                        self.log.exception("could not restart %s", service.name)
            if once:
                return
            time.sleep(interval)

    def context(self) -> dict[str, Any]:
        """The services' state for error events: cheap (pidfiles and /proc only), never raises."""
        try:
            states = {s.name: {"state": s.state, "pid": s.pid} for s in self._snapshot()}
        except Exception as exc:  # a context provider must not fail the log call
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {"manager_version": __version__, "state_dir": str(self.state_dir), "services": states}

    # -- starting ---------------------------------------------------------------------------------

    def _start_once(self, service: ServiceConfig) -> ServiceStatus:
        process = self._spawn(service)
        self._write_pidfile(service, process)
        try:
            self._wait_started(service, process)
            if service.health is not None:
                with self._timed(f"health.{service.health.kind}", service.name):
                    self._wait_healthy(service, process)
        except ServiceStartError:
            self._abandon(service, process)
            raise
        self.log.info("started %s (pid %d)", service.name, process.pid)
        return ServiceStatus(service.name, "running", process.pid, "started")

    def _spawn(self, service: ServiceConfig) -> subprocess.Popen[bytes]:
        output = open(self._log_path(service.name), "ab")  # noqa: SIM115 - handed to the child
        offset = output.tell()  # this run's output starts here
        try:
            process = subprocess.Popen(
                list(service.command),
                cwd=service.cwd,
                env={**os.environ, **service.env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals the whole group
            )
        except FileNotFoundError as exc:
            where = f" in {service.cwd}" if service.cwd else ""
            raise ServiceStartError(
                f"{service.name}: command {service.command[0]!r} not found{where}; check `command`"
            ) from exc
        except PermissionError as exc:
            raise ServiceStartError(
                f"{service.name}: {service.command[0]!r} is not executable "
                "(chmod +x it, or run it through its interpreter)"
            ) from exc
        except OSError as exc:
            raise ServiceStartError(f"{service.name}: could not run {service.command[0]!r}: {exc}") from exc
        finally:
            output.close()
        _children[process.pid] = process
        self._log_offsets[process.pid] = offset
        return process

    def _wait_started(self, service: ServiceConfig, process: subprocess.Popen[bytes]) -> None:
        """Raise ServiceStartError (from CalledProcessError) if it exits within its start grace."""
        try:
            code = process.wait(timeout=service.start_grace)
        except subprocess.TimeoutExpired:
            return
        self._raise_exited(service, process, code)

    def _raise_exited(self, service: ServiceConfig, process: subprocess.Popen[bytes], code: int) -> None:
        tail = self._log_tail(service.name, since=self._log_offsets.pop(process.pid, 0))
        try:
            raise subprocess.CalledProcessError(code, list(service.command), output=tail)
        except subprocess.CalledProcessError as exc:
            last_line = tail.strip().splitlines()[-1] if tail.strip() else "no output"
            if "Address already in use" in tail:
                raise PortInUseError(
                    f"{service.name} could not listen, its port is taken by another process: {last_line}"
                ) from exc
            raise ServiceStartError(
                f"{service.name} exited with status {code} while starting: {last_line}"
            ) from exc

    def _wait_healthy(self, service: ServiceConfig, process: subprocess.Popen[bytes]) -> None:
        health = service.health
        assert health is not None
        deadline = time.monotonic() + health.timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                self._raise_exited(service, process, code)
            try:
                probe(health)
                return
            except (OSError, HealthProbeFailed) as exc:
                last_error = exc
            time.sleep(health.interval)
        try:
            raise TimeoutError(
                f"no healthy answer from {describe(health)} within {health.timeout:g} s"
            ) from last_error
        except TimeoutError as exc:
            raise HealthCheckError(f"{service.name} did not become healthy: {exc}") from exc

    def _abandon(self, service: ServiceConfig, process: subprocess.Popen[bytes]) -> None:
        """Clean up after a failed start: the process (if still alive) and its pidfile."""
        with contextlib.suppress(ProcessLookupError, PermissionError, TimeoutError):
            if process.poll() is None:
                self._terminate(process.pid, service.stop_timeout)
        _forget(process.pid)
        self._pidfile_path(service.name).unlink(missing_ok=True)

    def _terminate(self, pid: int, timeout: float) -> None:
        start_ticks = self._proc_ticks(pid)
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not _alive(pid, start_ticks):
                    _forget(pid)
                    return
                time.sleep(0.05)
        raise TimeoutError(f"pid {pid} still alive after SIGKILL")

    # -- state ------------------------------------------------------------------------------------

    def _status(self, service: ServiceConfig, *, check: bool) -> ServiceStatus:
        pidfile = self._read_pidfile(service.name)
        if pidfile is None:
            return ServiceStatus(service.name, "stopped")
        if not _alive(pidfile.pid, pidfile.start_ticks):
            return ServiceStatus(service.name, "crashed", pidfile.pid, "process gone, pidfile left behind")
        if check and service.health is not None:
            try:
                probe(service.health)
            except (OSError, HealthProbeFailed) as exc:
                return ServiceStatus(service.name, "unhealthy", pidfile.pid, f"{type(exc).__name__}: {exc}")
        return ServiceStatus(service.name, "running", pidfile.pid)

    def _snapshot(self) -> Iterator[ServiceStatus]:
        for service in self.config.services.values():
            yield self._status(service, check=False)

    def _running_pid(self, service: ServiceConfig) -> int | None:
        pidfile = self._read_pidfile(service.name)
        if pidfile is not None and _alive(pidfile.pid, pidfile.start_ticks):
            return pidfile.pid
        return None

    def _pidfile_path(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def _log_path(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"

    def _log_tail(self, name: str, *, since: int = 0, limit: int = 2000) -> str:
        """The end of what the service wrote since byte offset `since` (its current run)."""
        try:
            with open(self._log_path(name), "rb") as handle:
                handle.seek(max(since, handle.seek(0, os.SEEK_END) - limit))
                data = handle.read()
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    @staticmethod
    def _proc_ticks(pid: int) -> int | None:
        stat = _proc_stat(pid)
        return stat[1] if stat is not None and stat[1] != -1 else None

    def _write_pidfile(self, service: ServiceConfig, process: subprocess.Popen[bytes]) -> None:
        record = PidFile(process.pid, self._proc_ticks(process.pid), list(service.command), time.time())
        path = self._pidfile_path(service.name)
        temporary = path.with_suffix(".pid.tmp")
        temporary.write_text(json.dumps(asdict(record)), encoding="utf-8")
        temporary.replace(path)

    def _read_pidfile(self, name: str) -> PidFile | None:
        try:
            data = json.loads(self._pidfile_path(name).read_text(encoding="utf-8"))
            return PidFile(
                int(data["pid"]), data.get("start_ticks"), list(data["command"]), float(data["started_at"])
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.log.warning("ignoring unreadable pidfile of %s: %s", name, exc)
            return None

    def _timed(self, operation: str, name: str) -> contextlib.AbstractContextManager[Any]:
        """shipper.timing.timed when the shipper is importable, else nothing."""
        try:
            from shipper.timing import timed
        except ImportError:
            return contextlib.nullcontext()
        # The failure itself is logged once, with its traceback, by whoever catches it.
        return timed(operation, logger=self.log, exc_info=False, extra={"service_name": name})


# --- health probes -------------------------------------------------------------------------------


class HealthProbeFailed(Exception):
    """One probe got an answer, but not a healthy one (HTTP status, command exit status)."""


def describe(health: HealthCheck) -> str:
    if health.kind == "tcp":
        return f"tcp {health.host}:{health.port}"
    if health.kind == "http":
        return f"GET {health.url}"
    return "command " + " ".join(health.command)


def probe(health: HealthCheck) -> None:
    """One health probe: returns if healthy, raises OSError or HealthProbeFailed if not."""
    if health.kind == "tcp":
        assert health.port is not None
        with socket.create_connection((health.host, health.port), timeout=health.probe_timeout):
            return
    if health.kind == "http":
        assert health.url is not None
        try:
            with urllib.request.urlopen(health.url, timeout=health.probe_timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise HealthProbeFailed(f"GET {health.url} answered {exc.code} {exc.reason}") from None
        return
    try:
        result = subprocess.run(
            list(health.command), capture_output=True, timeout=health.probe_timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise HealthProbeFailed(f"health command took longer than {health.probe_timeout:g} s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()[-200:]
        raise HealthProbeFailed(f"health command exited with {result.returncode}: {output}")


# --- in-process API ------------------------------------------------------------------------------


def _each(
    manager: ServiceManager, name: str | None, action: Callable[[str], ServiceStatus]
) -> list[ServiceStatus]:
    names = [name] if name else list(manager.config.services)
    return [action(each) for each in names]


def start(config: ManagerConfig, state_dir: Path, name: str | None = None) -> list[ServiceStatus]:
    """Start one service (or all, stopping at the first failure, which is raised)."""
    manager = ServiceManager(config, state_dir)
    return _each(manager, name, manager.start)


def stop(config: ManagerConfig, state_dir: Path, name: str | None = None) -> list[ServiceStatus]:
    manager = ServiceManager(config, state_dir)
    return _each(manager, name, manager.stop)


def restart(config: ManagerConfig, state_dir: Path, name: str | None = None) -> list[ServiceStatus]:
    manager = ServiceManager(config, state_dir)
    return _each(manager, name, manager.restart)


def status(config: ManagerConfig, state_dir: Path, name: str | None = None) -> list[ServiceStatus]:
    return ServiceManager(config, state_dir).status(name)


# --- command line --------------------------------------------------------------------------------


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "logloop-service-manager"


def install_shipper(manager: ServiceManager, environ: Mapping[str, str]) -> Any:
    """Ship this program's logs with logloop's shipper, if it is installed; returns the handler."""
    try:
        from shipper import install
        from shipper.exceptions import ShipperError
    except ImportError:
        log.warning("logloop's shipper is not importable: logs stay local")
        return None
    options: dict[str, Any] = {
        "service_version": __version__,
        "environment": environ.get("LOGLOOP_ENVIRONMENT"),
        "env_allowlist": ("LANG", "TZ", "PATH", "VIRTUAL_ENV", "SERVICE_MANAGER_TOKEN"),
        "context_provider": manager.context,
        "es_url": environ.get("LOGLOOP_ES_URL", "http://127.0.0.1:9200"),
        "index_prefix": environ.get("LOGLOOP_INDEX_PREFIX", "logloop"),
    }
    for variable, option in (
        ("LOGLOOP_ES_API_KEY", "api_key"),
        ("LOGLOOP_ES_USERNAME", "username"),
        ("LOGLOOP_ES_PASSWORD", "password"),
        ("LOGLOOP_ES_CA_CERTS", "ca_certs"),
        ("LOGLOOP_SPOOL", "spool_path"),
    ):
        if environ.get(variable):
            options[option] = environ[variable]
    try:
        return install(service="service-manager", **options)
    except ShipperError as exc:
        log.warning("not shipping logs: %s", exc)
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="service_manager", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=Path(__file__).with_name("services.toml"), help="services file (TOML)"
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="pidfiles and service output")
    parser.add_argument("--no-ship", action="store_true", help="do not ship logs to Elasticsearch")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print INFO messages")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("start", "stop", "restart", "status"):
        sub = commands.add_parser(command, help=f"{command} one service, or all")
        sub.add_argument("name", nargs="?", help="the service (default: all)")
    supervise = commands.add_parser("supervise", help="restart crashed services per their policy")
    supervise.add_argument("--once", action="store_true", help="one pass, then exit")
    supervise.add_argument("--interval", type=float, default=5.0)
    return parser


def _print_statuses(statuses: Sequence[ServiceStatus]) -> None:
    for item in statuses:
        pid = str(item.pid) if item.pid else "-"
        print(f"{item.name:<16} {item.state:<10} {pid:>7}  {item.detail}")


def run(args: argparse.Namespace, manager: ServiceManager) -> int:
    if args.command == "status":
        statuses = manager.status(args.name)
        _print_statuses(statuses)
        return 0 if all(s.state in ("running", "stopped") for s in statuses) else 3
    if args.command == "supervise":
        manager.supervise(once=args.once, interval=args.interval)
        return 0
    action = {"start": manager.start, "stop": manager.stop, "restart": manager.restart}[args.command]
    names = [args.name] if args.name else list(manager.config.services)
    failed = 0
    for name in names:
        try:
            _print_statuses([action(name)])
        except ServiceManagerError as exc:
            failed += 1
            log.exception("could not %s %s", args.command, name)
            print(f"{name:<16} FAILED     {'-':>7}  {exc}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if args.verbose:
        console.setLevel(logging.INFO)
    else:  # failures already appear in the FAILED lines; their tracebacks are shipped (or -v)
        console.setLevel(logging.WARNING)
        console.addFilter(lambda record: record.exc_info is None)
    logging.getLogger().addHandler(console)
    logging.getLogger().setLevel(logging.INFO)
    try:
        manager = ServiceManager(load_config(args.config), args.state_dir or default_state_dir())
    except ConfigError as exc:
        print(f"service_manager: {exc}", file=sys.stderr)
        return 2
    handler = None if args.no_ship else install_shipper(manager, os.environ)
    try:
        return run(args, manager)
    except ServiceManagerError as exc:
        log.exception("service_manager %s failed", args.command)
        print(f"service_manager: {exc}", file=sys.stderr)
        return 1
    finally:
        if handler is not None:
            handler.close()


if __name__ == "__main__":
    # Run as the importable module `service_manager`, not `__main__`, so exception types read
    # `service_manager.ServiceStartError` whether the manager runs as a script or in-process.
    import service_manager

    sys.exit(service_manager.main())
