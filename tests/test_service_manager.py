"""The example service manager: real subprocesses on loopback, real failures, logs shipped to the node."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers.ports import free_port

from kibana.setup import install_template

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
ECHO = EXAMPLES / "services" / "echo_server.py"
CRASHY = EXAMPLES / "services" / "crashy.py"
SLOW = EXAMPLES / "services" / "slow_start.py"


@pytest.fixture(scope="module")
def sm() -> ModuleType:
    """The example, imported from its file as the module `service_manager`."""
    if "service_manager" in sys.modules:
        return sys.modules["service_manager"]
    spec = importlib.util.spec_from_file_location("service_manager", EXAMPLES / "service_manager.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["service_manager"] = module
    spec.loader.exec_module(module)
    return module


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "services.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def manager_for(sm: ModuleType, tmp_path: Path) -> Iterator[Any]:
    """Build a ServiceManager from TOML text; every service it knows is stopped afterwards."""
    managers: list[Any] = []

    def build(body: str) -> Any:
        manager = sm.ServiceManager(sm.load_config(write_config(tmp_path, body)), tmp_path / "state")
        managers.append(manager)
        return manager

    yield build
    for manager in managers:
        for name in manager.config.services:
            manager.stop(name)


def echo_config(port: int, restart: str = "no") -> str:
    return f"""
[services.echo]
command = ["{{python}}", "{ECHO}", "--port", "{port}"]
health = {{ port = {port}, timeout = 15 }}
restart = "{restart}"
start_grace = 0.2
"""


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_start_status_stop_a_real_service(manager_for: Any, tmp_path: Path) -> None:
    """A TCP echo service starts healthy, answers on loopback, reports running, and stops cleanly."""
    port = free_port()
    manager = manager_for(echo_config(port))
    started = manager.start("echo")
    assert started.state == "running" and started.pid
    assert json.loads((tmp_path / "state" / "echo.pid").read_text())["pid"] == started.pid
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"ping\n")
        assert connection.recv(16) == b"ping\n"
    (status,) = manager.status("echo")
    assert (status.state, status.pid) == ("running", started.pid)
    assert manager.start("echo").detail == "already running"

    stopped = manager.stop("echo")
    assert stopped.state == "stopped"
    assert not pid_alive(started.pid)
    assert not (tmp_path / "state" / "echo.pid").exists()
    assert manager.status("echo")[0].state == "stopped"


def test_crashed_service_is_reported_and_supervise_restarts_it(manager_for: Any) -> None:
    """A service killed behind the manager's back shows as crashed; supervise restarts it per policy."""
    manager = manager_for(echo_config(free_port(), restart="always"))
    first = manager.start("echo")
    os.killpg(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while manager.status("echo")[0].state != "crashed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert manager.status("echo")[0].state == "crashed"
    assert manager.context()["services"]["echo"] == {"state": "crashed", "pid": first.pid}

    manager.supervise(once=True)
    (status,) = manager.status("echo")
    assert status.state == "running" and status.pid != first.pid


@pytest.mark.parametrize(
    ("command", "cause", "message"),
    [
        pytest.param('["logloop-no-such-daemon"]', FileNotFoundError, "not found", id="missing-binary"),
        pytest.param('["{here}/hook.sh"]', PermissionError, "is not executable", id="not-executable"),
        pytest.param(
            f'["{{python}}", "{CRASHY}", "--after", "0.05"]',
            subprocess.CalledProcessError,
            "QueueConnectionLost: worker lost its queue connection",
            id="crashing-process",
        ),
    ],
)
def test_failing_service_raises_start_error_with_its_cause(
    sm: ModuleType, manager_for: Any, tmp_path: Path, command: str, cause: type[BaseException], message: str
) -> None:
    """Each real failure is a ServiceStartError chained (`from`) to the error that caused it."""
    (tmp_path / "hook.sh").write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    (tmp_path / "hook.sh").chmod(0o644)
    manager = manager_for(f"[services.broken]\ncommand = {command}\nstart_grace = 3.0\n")
    with pytest.raises(sm.ServiceStartError, match=message) as caught:
        manager.start("broken")
    assert isinstance(caught.value.__cause__, cause)
    assert manager.status("broken")[0].state == "stopped"


def test_port_already_in_use(sm: ModuleType, manager_for: Any) -> None:
    """A server whose port is taken exits at once: PortInUseError naming `Address already in use`."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        manager = manager_for(
            f"[services.web]\n"
            f'command = ["{{python}}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]\n'
            f"health = {{ url = 'http://127.0.0.1:{port}/nope', timeout = 5 }}\nstart_grace = 3.0\n"
        )
        with pytest.raises(sm.PortInUseError, match="Address already in use") as caught:
            manager.start("web")
    assert isinstance(caught.value.__cause__, subprocess.CalledProcessError)


def test_slow_health_check_times_out_with_a_chained_cause(sm: ModuleType, manager_for: Any) -> None:
    """A service that is not listening in time: HealthCheckError <- TimeoutError <- ConnectionRefusedError."""
    port = free_port()
    manager = manager_for(
        f'[services.slow]\ncommand = ["{{python}}", "{SLOW}", "--delay", "60", "--port", "{port}"]\n'
        f"health = {{ port = {port}, timeout = 1 }}\nstart_grace = 0.1\n"
    )
    with pytest.raises(sm.HealthCheckError, match=f"tcp 127.0.0.1:{port} within 1 s") as caught:
        manager.start("slow")
    assert isinstance(caught.value, sm.ServiceStartError)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert isinstance(caught.value.__cause__.__cause__, ConnectionRefusedError)
    assert manager.status("slow")[0].state == "stopped"  # the half-started process was cleaned up


def test_restart_policy_retries_a_crashing_start(manager_for: Any, tmp_path: Path, sm: ModuleType) -> None:
    """on-failure with max_restarts = 1 runs a crashing service twice; the error quotes the last run only."""
    manager = manager_for(
        f'[services.worker]\ncommand = ["{{python}}", "{CRASHY}", "--after", "0.05"]\n'
        'restart = "on-failure"\nmax_restarts = 1\nstart_grace = 3.0\n'
    )
    with pytest.raises(sm.ServiceStartError) as caught:
        manager.start("worker")
    output = (tmp_path / "state" / "worker.log").read_text(encoding="utf-8")
    assert output.count("worker started") == 2
    assert caught.value.__cause__.output.count("worker started") == 1  # only the last run's output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("[services.x]\ncommand = 'not a list'\n", "must be a non-empty list", id="command-type"),
        pytest.param("[services.x]\ncommand = ['a']\nrestart = 'sometimes'\n", "is not one of", id="policy"),
        pytest.param("[services.x]\ncommand = ['a']\nhealth = {}\n", "exactly one of", id="health"),
        pytest.param("title = 'no services'\n", "defines no", id="empty"),
        pytest.param("[services.x\n", "not valid TOML", id="syntax"),
    ],
)
def test_bad_config_is_a_config_error(sm: ModuleType, tmp_path: Path, body: str, message: str) -> None:
    """An invalid services file raises ConfigError naming the problem."""
    with pytest.raises(sm.ConfigError, match=message):
        sm.load_config(write_config(tmp_path, body))


def test_example_services_file_is_valid(sm: ModuleType) -> None:
    """examples/services.toml parses and defines the working and the deliberately failing services."""
    config = sm.load_config(EXAMPLES / "services.toml")
    assert {"web", "echo", "web-mirror", "reportd", "cron-hook", "worker", "indexer"} <= set(config.services)


@pytest.mark.es
def test_cli_ships_failures_with_context_and_timings(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Run as a program, the manager ships the chained error with service status, and its timed starts."""
    install_template(es, index_prefix)
    port = free_port()
    config = write_config(
        tmp_path,
        echo_config(port) + '\n[services.reportd]\ncommand = ["reportd-not-installed"]\n',
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOGLOOP_ES_URL": es_url,
        "LOGLOOP_INDEX_PREFIX": index_prefix,
        "LOGLOOP_SPOOL": str(tmp_path / "spool.sqlite"),
    }
    command = [sys.executable, str(EXAMPLES / "service_manager.py"), "--config", str(config)]
    command += ["--state-dir", str(tmp_path / "state")]
    started = subprocess.run([*command, "start"], env=env, capture_output=True, text=True, timeout=120)
    stopped = subprocess.run([*command, "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 1, started.stderr
    assert "reportd          FAILED" in started.stderr and stopped.returncode == 0

    es.indices.refresh(index=f"{index_prefix}-events")
    errors = es.search(index=f"{index_prefix}-events", query={"term": {"log.level": "error"}})["hits"]["hits"]
    assert len(errors) == 1
    error = errors[0]["_source"]
    assert error["service"] == {"name": "service-manager", "version": "1.4.0"}
    assert error["error"]["type"] == "service_manager.ServiceStartError"
    assert "FileNotFoundError" in error["error"]["stack_trace"]
    assert error["error"]["grouping_key"]
    assert error["logloop"]["context"]["services"]["echo"]["state"] == "running"
    assert error["logloop"]["env"]["argv"][-1] == "start"

    timings = es.search(
        index=f"{index_prefix}-events", query={"term": {"event.action": "service.start"}}, sort=["@timestamp"]
    )["hits"]["hits"]
    assert [hit["_source"]["extra"]["service_name"] for hit in timings] == ["echo", "reportd"]
    assert all(hit["_source"]["event"]["duration"] > 0 for hit in timings)
