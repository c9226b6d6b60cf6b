"""The docker-compose stack as data: Docker, Logstash and Kibana cannot run here, so compose is
validated by Debian's `docker-compose config` (no engine needed) and the files are read and checked
to agree with each other and with the shipper's defaults."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kibana import cli as kibana_cli
from kibana import objects
from logloop import config as logloop_config
from shipper import ShipperHandler, schema
from shipper.connection import ElasticsearchSettings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PIPELINE = ROOT / "logstash" / "pipeline" / "logloop.conf"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
BOOTSTRAP = ROOT / "docker" / "bootstrap_users.py"
DOCKER_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _yaml_to_data(text: str) -> Any:
    """Parse YAML with PyYAML if this interpreter has it, else with the one docker-compose runs on."""
    try:
        import yaml
    except ImportError:
        interpreter = Path(DOCKER_COMPOSE).read_text(encoding="utf-8", errors="replace").splitlines()[0][2:]
        script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"
        done = subprocess.run([interpreter.strip(), "-c", script], input=text, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return yaml.safe_load(text)


def _compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not Path(DOCKER_COMPOSE).exists():
        pytest.skip(
            "docker-compose is not installed (Debian package docker-compose): cannot validate compose"
        )
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()), encoding="utf-8")
    return subprocess.run(
        [
            DOCKER_COMPOSE,
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE),
            "--env-file",
            str(env_file),
            "config",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The resolved compose model that `docker-compose config` prints for a .env made from .env.example."""
    done = _compose_config(tmp_path_factory.mktemp("compose"), _env_example())
    assert done.returncode == 0, done.stderr
    model: dict[str, Any] = _yaml_to_data(done.stdout)
    return model


def _published(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of each published port, in either compose syntax."""
    ports = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.append((entry.get("host_ip", ""), int(entry["published"]), int(entry["target"])))
        else:
            ip, host, target = str(entry).split("/")[0].rsplit(":", 2)
            ports.append((ip, int(host), int(target)))
    return ports


def _pipeline_setting(block: str, name: str) -> str:
    match = re.search(rf"\b{block}\s*\{{(.*?)\n  \}}", PIPELINE.read_text(encoding="utf-8"), re.S)
    assert match, f"no {block} block in {PIPELINE.name}"
    setting = re.search(rf"^\s*{name}\s*=>\s*(.+?)\s*$", match.group(1), re.M)
    assert setting, f"no {name} in the {block} block"
    return setting.group(1).strip('"')


def test_compose_validates_with_the_example_env(compose: dict[str, Any]) -> None:
    """`docker-compose config` accepts the file with a .env built from .env.example and resolves every
    service the stack needs."""
    assert set(compose["services"]) == {"elasticsearch", "kibana", "logstash", "setup", "scheduler"}


def test_compose_refuses_to_start_without_passwords(tmp_path: Path) -> None:
    """Without ELASTIC_PASSWORD in .env, `docker-compose config` fails and names the variable."""
    env = {k: v for k, v in _env_example().items() if k != "ELASTIC_PASSWORD"}
    done = _compose_config(tmp_path, env)
    assert done.returncode != 0
    assert "ELASTIC_PASSWORD" in done.stderr


def test_every_port_is_loopback_only_and_matches_its_consumer(compose: dict[str, Any]) -> None:
    """Every published port is bound to 127.0.0.1; Elasticsearch is published on the port of the
    shipper's default URL, Logstash on the ports its pipeline listens on, and the shipper's default
    Logstash port is the pipeline's Beats port."""
    services = compose["services"]
    for name, service in services.items():
        for ip, _host, _target in _published(service):
            assert ip == "127.0.0.1", f"{name} publishes a port on {ip or 'all interfaces'}"
    default_es = urlsplit(ElasticsearchSettings().url)
    assert (default_es.hostname, default_es.port) == ("127.0.0.1", 9200)
    assert ("127.0.0.1", default_es.port, 9200) in _published(services["elasticsearch"])
    assert ("127.0.0.1", 5601, 5601) in _published(services["kibana"])
    logstash_ports = _published(services["logstash"])
    for block in ("beats", "tcp"):
        port = int(_pipeline_setting(block, "port"))
        assert ("127.0.0.1", port, port) in logstash_ports, block
    handler_defaults = inspect.signature(ShipperHandler).parameters
    assert handler_defaults["logstash_port"].default == int(_pipeline_setting("beats", "port"))
    assert handler_defaults["es_url"].default == ElasticsearchSettings().url
    assert handler_defaults["index_prefix"].default == schema.DEFAULT_INDEX_PREFIX


def test_index_names_agree_across_compose_pipeline_shipper_and_kibana(compose: dict[str, Any]) -> None:
    """The compose prefix, the pipeline's index expression, shipper.schema.index_for and the Kibana data
    views all name the same daily indices and registry."""
    prefix = schema.DEFAULT_INDEX_PREFIX
    for name in ("setup", "logstash", "scheduler"):
        assert compose["services"][name]["environment"]["LOGLOOP_INDEX_PREFIX"] == prefix
    index = _pipeline_setting("elasticsearch", "index")
    match = re.fullmatch(r"\$\{LOGLOOP_INDEX_PREFIX:(\w+)\}-%\{\+(YYYY\.MM\.dd)\}", index)
    assert match, index
    assert match.group(1) == prefix
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    joda = match.group(2).replace("YYYY", "%Y").replace("MM", "%m").replace("dd", "%d")
    assert f"{prefix}-{moment:{joda}}" == schema.index_for(moment, prefix)
    assert _pipeline_setting("elasticsearch", "document_id") == "%{[event][id]}"
    assert _pipeline_setting("elasticsearch", "action") == "create"
    titles = {o["attributes"]["title"] for o in objects.saved_objects(prefix) if o["type"] == "index-pattern"}
    assert titles == {schema.index_pattern(prefix), f"{prefix}-groups"}
    assert fnmatch(schema.index_for(moment, prefix), schema.index_pattern(prefix))
    assert not fnmatch(f"{prefix}-groups", schema.index_pattern(prefix))


def test_credentials_variables_agree(compose: dict[str, Any]) -> None:
    """Every ${VAR} the pipeline reads is set on the logstash service; the writer user the pipeline uses
    is a user the bootstrap creates; every LOGLOOP_ES_*/LOGLOOP_KIBANA_* variable compose sets is one
    logloop reads; every secret comes from .env.example."""
    services = compose["services"]
    pipeline_vars = set(re.findall(r"\$\{(\w+)(?::[^}]*)?\}", PIPELINE.read_text(encoding="utf-8")))
    assert {"LOGLOOP_WRITER_PASSWORD", "LOGLOOP_INDEX_PREFIX"} <= pipeline_vars
    assert pipeline_vars <= set(services["logstash"]["environment"])
    writer = services["logstash"]["environment"]["LOGLOOP_WRITER_USER"]
    assert _pipeline_setting("elasticsearch", "user") == f"${{LOGLOOP_WRITER_USER:{writer}}}"
    bootstrap = BOOTSTRAP.read_text(encoding="utf-8")
    for user in (writer, services["scheduler"]["environment"]["LOGLOOP_ES_USERNAME"]):
        assert f'"{user}": {{' in bootstrap, f"bootstrap_users.py does not create {user}"
    for name, service in services.items():
        for variable in service.get("environment", {}):
            if variable.startswith("LOGLOOP_ES_"):
                assert logloop_config.is_read(variable), f"{name} sets {variable}, which logloop never reads"
            if variable.startswith("LOGLOOP_KIBANA_"):
                assert variable in kibana_cli._ENV, f"{name} sets {variable}, which logloop never reads"
    example = _env_example()
    secrets = set(re.findall(r"\$\{(\w*PASSWORD\w*|\w*KEY)[:?}]", COMPOSE.read_text(encoding="utf-8")))
    assert secrets == {k for k in example if k.endswith("PASSWORD") or k.endswith("KEY")}
    assert (
        services["logstash"]["environment"]["LOGLOOP_WRITER_PASSWORD"] == example["LOGLOOP_WRITER_PASSWORD"]
    )


def test_stack_hygiene(compose: dict[str, Any]) -> None:
    """Security is on, heaps are set, long-running services have healthchecks, start order uses
    conditions, data lives in named volumes, .env is gitignored and the image installs the package."""
    services = compose["services"]
    es_env = services["elasticsearch"]["environment"]
    assert es_env["xpack.security.enabled"] == "true"
    assert es_env["ES_JAVA_OPTS"] == "-Xms1g -Xmx1g"
    assert services["logstash"]["environment"]["LS_JAVA_OPTS"] == "-Xms512m -Xmx512m"
    assert services["logstash"]["environment"]["PIPELINE_ECS_COMPATIBILITY"] == "v8"
    assert services["logstash"]["environment"]["QUEUE_TYPE"] == "persisted"
    for name in ("elasticsearch", "kibana", "logstash"):
        assert "healthcheck" in services[name], name
    assert services["setup"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    for name in ("logstash", "scheduler"):
        assert services[name]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert services["scheduler"]["command"] == ["schedule"]
    assert set(compose["volumes"]) == {"esdata", "kibanadata", "logstashdata", "schedulerdata"}
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be gitignored"
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile


def _bootstrap() -> Any:
    spec = importlib.util.spec_from_file_location("bootstrap_users", BOOTSTRAP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bootstrap_roles_are_least_privilege() -> None:
    """The writer (Logstash, direct shippers) may only create documents in daily event indices, never
    touch the registry; the analyzer reads events and may write the registry."""
    prefix = schema.DEFAULT_INDEX_PREFIX
    daily = schema.index_for(datetime(2026, 11, 25, tzinfo=UTC), prefix)
    registry = f"{prefix}-groups"
    roles = _bootstrap().roles(prefix)

    def privileges(role: str, index: str) -> set[str]:
        entries = roles[role]["indices"]
        return {p for e in entries if any(fnmatch(index, n) for n in e["names"]) for p in e["privileges"]}

    assert privileges("logloop_writer", daily) == {"create_doc", "create_index", "auto_configure"}
    assert privileges("logloop_writer", registry) == set()
    assert "read" in privileges("logloop_analyzer", daily)
    assert {"read", "write", "create_index"} <= privileges("logloop_analyzer", registry)


def test_pipeline_is_balanced_and_never_removes_schema_fields() -> None:
    """The pipeline's braces balance, it uses only plugins bundled with Logstash, and nothing it removes
    is a schema field (the documents' own host.*, agent-free ECS fields pass through untouched)."""
    text = re.sub(r"#.*", "", PIPELINE.read_text(encoding="utf-8"))
    assert text.count("{") == text.count("}")
    plugins = set(re.findall(r"^\s*(\w+)\s*\{", text, re.M)) - {"input", "filter", "output", "if"}
    assert plugins <= {"beats", "tcp", "json_lines", "mutate", "fingerprint", "elasticsearch"}, plugins
    removed = [
        f
        for block in re.findall(r"remove_field\s*=>\s*\[([^\]]*)\]", text)
        for f in re.findall(r'"([^"]+)"', block)
    ]
    assert removed, "expected the pipeline to drop Logstash's own fields"
    for field in removed:
        dotted = field.replace("][", ".").strip("[]")
        assert not any(name == dotted or name.startswith(dotted + ".") for name in schema.FIELDS), field
    assert len(re.findall(r"ecs_compatibility\s*=>\s*v8", text)) >= 3  # both inputs and the codec
