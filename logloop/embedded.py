"""The embedded Elasticsearch node: fetch, start, stop and inspect one single-node cluster on loopback.

`start_cluster` starts several such nodes as one cluster (for failover tests and for trying a
several-URL configuration on one machine); `Cluster` says how they find each other.

The node is Elasticsearch's official `integ-test-zip` distribution from Maven Central. It carries
only core modules, which is why the rest of logloop sticks to core APIs. It has no bundled JDK, so a
Java >= 21 is located under /usr/lib/jvm (or taken from ES_JAVA_HOME). Elasticsearch refuses to run
as root; when we are root, the node runs as a dedicated system user.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from logloop.errors import EmbeddedNodeError

ES_VERSION = "9.5.4"
MAVEN_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
SERVICE_USER = "logloop-es"
MIN_JAVA = 21
DEFAULT_PORT = 9200
_LAUNCHERS: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class NodeStatus:
    """What `status` found: whether a node answers on the port, and its health colour."""

    url: str
    running: bool
    health: str | None
    pid: int | None
    data_dir: Path


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """Several nodes on loopback forming one cluster: node i listens on `http_ports[i]` (HTTP) and
    `transport_ports[i]` (node to node); every node is master-eligible and holds data."""

    name: str
    http_ports: tuple[int, ...]
    transport_ports: tuple[int, ...]

    def settings(self) -> dict[str, object]:
        """What every node of the cluster shares: how to find the others and whom to elect first."""
        return {
            "cluster.name": self.name,
            "discovery.type": None,  # not a single-node cluster
            "discovery.seed_hosts": [f"127.0.0.1:{port}" for port in self.transport_ports],
            "cluster.initial_master_nodes": [f"logloop-{port}" for port in self.http_ports],
        }

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f"http://127.0.0.1:{port}" for port in self.http_ports)


def port_argument(text: str) -> int:
    """`--port N` for argparse: a TCP port 1-65535, else a usage error naming the value."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: give a number from 1 to 65535")
    return port


def running_as_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    """Where the unpacked distribution lives; world-readable when root so the service user can run it."""
    if running_as_root():
        return Path("/var/cache/logloop")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "logloop"


def default_data_dir(port: int) -> Path:
    if running_as_root():
        return Path("/var/lib/logloop") / f"es-{port}"
    return cache_dir() / f"es-data-{port}"


def _maven_zip_path() -> Path:
    m2 = Path(os.environ.get("MAVEN_REPO", str(Path.home() / ".m2" / "repository")))
    return (
        m2
        / "org/elasticsearch/distribution/integ-test-zip/elasticsearch"
        / ES_VERSION
        / f"elasticsearch-{ES_VERSION}.zip"
    )


def _download_with_maven() -> Path:
    target = _maven_zip_path()
    if target.is_file():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise EmbeddedNodeError(
            "Maven (mvn) is needed to fetch Elasticsearch; install it (apt-get install maven)"
        )
    result = subprocess.run(
        [mvn, "-q", "-B", "dependency:get", f"-Dartifact={MAVEN_ARTIFACT}", "-Dtransitive=false"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not target.is_file():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise EmbeddedNodeError(
            f"could not fetch {MAVEN_ARTIFACT} with Maven: {' | '.join(tail) or 'no output'}"
        )
    return target


def _unzip_keeping_modes(archive: Path, destination: Path) -> None:
    # zipfile drops Unix permission bits; the launcher scripts need their exec bits back.
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            extracted = Path(zf.extract(info, destination))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                extracted.chmod(mode)


def distribution_home() -> Path:
    """Return the unpacked distribution, fetching and unpacking it once."""
    home = cache_dir() / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").is_file():
        return home
    archive = _download_with_maven()
    home.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(home.parent, 0o755)
    staging = Path(tempfile.mkdtemp(dir=home.parent, prefix=".unpack-"))
    try:
        _unzip_keeping_modes(archive, staging)
        unpacked = staging / f"elasticsearch-{ES_VERSION}"
        unpacked.rename(home)  # atomic: a half-unpacked tree is never mistaken for a ready one
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    os.chmod(home, 0o755)
    return home


def _java_major(java_home: Path) -> int:
    release = java_home / "release"
    if not release.is_file():
        return 0
    for line in release.read_text(errors="replace").splitlines():
        if line.startswith("JAVA_VERSION="):
            version = line.split("=", 1)[1].strip().strip('"')
            head = version.split(".")[0]
            return int(head) if head.isdigit() else 0
    return 0


def find_java() -> Path:
    """A JDK >= 21: ES_JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm."""
    configured = os.environ.get("ES_JAVA_HOME")
    if configured and _java_major(Path(configured)) >= MIN_JAVA:
        return Path(configured)
    candidates = sorted(
        (p for p in Path("/usr/lib/jvm").glob("*") if p.is_dir() and not p.is_symlink()),
        key=_java_major,
    )
    if candidates and _java_major(candidates[-1]) >= MIN_JAVA:
        return candidates[-1]
    raise EmbeddedNodeError(
        f"Elasticsearch {ES_VERSION} needs Java >= {MIN_JAVA}; install one under /usr/lib/jvm "
        "or set ES_JAVA_HOME"
    )


def _service_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _check_traversable(path: Path) -> None:
    for ancestor in [path, *path.parents]:
        if ancestor.exists() and not os.stat(ancestor).st_mode & 0o001:
            raise EmbeddedNodeError(
                f"{ancestor} is not traversable by the {SERVICE_USER} user; "
                "choose a --data-dir under /var/lib or /tmp"
            )


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _node_settings(
    port: int, data_dir: Path, transport_port: int | None, extra: Mapping[str, object]
) -> dict[str, object]:
    """The node's elasticsearch.yml; `extra` adds or overrides settings (None removes one)."""
    base: dict[str, object] = {
        "cluster.name": "logloop-embedded",
        "node.name": f"logloop-{port}",
        "path.data": str(data_dir / "data"),
        "path.logs": str(data_dir / "logs"),
        "network.host": "127.0.0.1",  # loopback only: security is off
        "http.port": port,
        "transport.port": transport_port or port + 100,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        "cluster.routing.allocation.disk.threshold_enabled": False,
    }
    merged = {**base, **extra}
    return {key: value for key, value in merged.items() if value is not None}


def _prepare_instance(
    home: Path, port: int, data_dir: Path, transport_port: int | None, extra: Mapping[str, object]
) -> Path:
    config = data_dir / "config"
    if not config.is_dir():
        shutil.copytree(home / "config", config)
    (data_dir / "data").mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    yml = "\n".join(
        f"{key}: {json.dumps(value)}"
        for key, value in _node_settings(port, data_dir, transport_port, extra).items()
    )
    (config / "elasticsearch.yml").write_text(yml + "\n")
    return config


def health(url: str, timeout: float = 2.0) -> str | None:
    """The cluster health colour, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as response:
            return str(json.load(response).get("status"))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _read_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "es.pid"
    if not pid_file.is_file():  # (a FIFO there would block the read for ever)
        return None
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def status(port: int = DEFAULT_PORT, data_dir: Path | None = None) -> NodeStatus:
    data_dir = data_dir or default_data_dir(port)
    url = f"http://127.0.0.1:{port}"
    colour = health(url)
    return NodeStatus(url, colour is not None, colour, _read_pid(data_dir), data_dir)


def start(
    port: int = DEFAULT_PORT,
    data_dir: Path | None = None,
    *,
    heap: str = "512m",
    timeout: float = 180.0,
    transport_port: int | None = None,
    extra: Mapping[str, object] | None = None,
) -> NodeStatus:
    """Start the node unless one already answers on the port; wait until it is at least yellow.

    `transport_port` defaults to port + 100; `extra` adds elasticsearch.yml settings (a `Cluster`'s,
    a shard limit...). A node that joins an existing cluster is waited for the same way.
    """
    data_dir = (data_dir or default_data_dir(port)).resolve()
    current = status(port, data_dir)
    if current.running:
        return current
    process = _launch(port, data_dir, heap=heap, transport_port=transport_port, extra=extra or {})
    return _wait_healthy(port, data_dir, process, timeout)


def start_cluster(
    cluster: Cluster, data_root: Path, *, heap: str = "256m", timeout: float = 240.0
) -> list[NodeStatus]:
    """Start every node of `cluster` (data under `data_root/<port>`) and wait until all have joined.

    The nodes are launched together: none becomes healthy before a majority has elected a master.
    """
    processes = [
        _launch(
            port,
            (data_root / str(port)).resolve(),
            heap=heap,
            transport_port=transport,
            extra=cluster.settings(),
        )
        for port, transport in zip(cluster.http_ports, cluster.transport_ports, strict=True)
    ]
    try:
        nodes = [
            _wait_healthy(port, (data_root / str(port)).resolve(), process, timeout)
            for port, process in zip(cluster.http_ports, processes, strict=True)
        ]
    except EmbeddedNodeError:
        # The other launchers may still run: kept referenced, not dropped (a dropped running Popen
        # warns when collected, in whatever code runs then); the caller stops the nodes.
        _LAUNCHERS.extend(process for process in processes if process.poll() is None)
        raise
    deadline = time.monotonic() + timeout
    while _node_count(cluster.urls[0]) < len(cluster.http_ports):
        if time.monotonic() > deadline:
            raise EmbeddedNodeError(
                f"the {len(cluster.http_ports)} nodes of {cluster.name} did not form one cluster"
            )
        time.sleep(0.5)
    return nodes


def _node_count(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=2.0) as response:
            return int(json.load(response).get("number_of_nodes", 0))
    except (OSError, ValueError, urllib.error.URLError):
        return 0


def _launch(
    port: int, data_dir: Path, *, heap: str, transport_port: int | None, extra: Mapping[str, object]
) -> subprocess.Popen[bytes]:
    home = distribution_home()
    java = find_java()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = _prepare_instance(home, port, data_dir, transport_port, extra)
    user: pwd.struct_passwd | None = None
    if running_as_root():
        user = _service_user()
        _check_traversable(data_dir)
        _check_traversable(home)
        _chown_tree(data_dir, user.pw_uid, user.pw_gid)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ES_JAVA_HOME": str(java),
        "ES_PATH_CONF": str(config),
        "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        "HOME": str(data_dir),
    }
    with open(data_dir / "logs" / "launcher.log", "ab") as out:
        return subprocess.Popen(
            [str(home / "bin" / "elasticsearch"), "-d", "-p", str(data_dir / "es.pid")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            start_new_session=True,
            cwd=str(data_dir),
        )


def _wait_healthy(port: int, data_dir: Path, process: subprocess.Popen[bytes], timeout: float) -> NodeStatus:
    launcher_log = data_dir / "logs" / "launcher.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = status(port, data_dir)
        if current.health in ("yellow", "green"):
            # With -d the launcher exits once the node runs; reap it so no zombie is left behind.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            if process.returncode is None:
                _LAUNCHERS.append(process)  # still exiting: keep it referenced rather than warn
            return current
        if process.poll() not in (None, 0):
            break
        time.sleep(0.5)
    tail = launcher_log.read_text(errors="replace").strip().splitlines()[-5:]
    raise EmbeddedNodeError(
        f"Elasticsearch did not become healthy on port {port}; see {launcher_log}: {' | '.join(tail)}"
    )


def stop(port: int = DEFAULT_PORT, data_dir: Path | None = None, *, timeout: float = 60.0) -> bool:
    """Stop the node started from this data dir; True if one was running."""
    data_dir = (data_dir or default_data_dir(port)).resolve()
    pid = _read_pid(data_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _read_pid(data_dir) is None:
            return True
        time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    return True


def kill(port: int, data_dir: Path) -> bool:
    """SIGKILL the node started from this data dir (a crash, for failover tests); True if one ran."""
    pid = _read_pid(data_dir.resolve())
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while _read_pid(data_dir.resolve()) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(FileNotFoundError):
        (data_dir / "es.pid").unlink()  # a killed node leaves its pid file; the next start must not trust it
    return True
