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
from typing import Any, cast
from urllib.parse import urlsplit

import pytest

from analyzers.store import Store
from kibana import objects
from kibana import settings as kibana_settings
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
    assert set(compose["services"]) == {
        "elasticsearch",
        "kibana",
        "kibana-objects",
        "logstash",
        "setup",
        "scheduler",
    }


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
                assert variable in kibana_settings._ENV, f"{name} sets {variable}, which logloop never reads"
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
    # Every index the analyzers use (the store's names) is theirs to read and write: regroup's
    # templates and the group edits included, which the role once left out.
    store = Store(cast(Any, None), prefix)  # only its index names are read: no client needed
    for owned in (store.registry, store.group_edits, store.templates, store.alerts, store.digest_sends):
        assert {"read", "write", "create_index"} <= privileges("logloop_analyzer", owned), owned
    # The analyzer role cannot delete event indices or event documents (retention is ILM's job).
    destructive = {"delete_index", "delete", "manage", "all", "write"}
    assert privileges("logloop_analyzer", daily) & destructive == set()
    assert privileges("logloop_analyzer", f"{prefix}-anything-else") == set()
    assert "manage_index_templates" not in roles["logloop_analyzer"]["cluster"]
    # Kibana users: read-only on events and the registry, read-only dashboards and Discover.
    assert (
        privileges("logloop_viewer", daily)
        == privileges("logloop_viewer", registry)
        == {"read", "view_index_metadata"}
    )
    assert privileges("logloop_viewer", f"{prefix}-digest-sends") == set()
    kibana = roles["logloop_viewer"]["applications"][0]
    assert all(privilege.endswith(".read") for privilege in kibana["privileges"])


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


COMPOSE_TLS = ROOT / "docker-compose.tls.yml"
PIPELINES = ROOT / "logstash" / "config" / "pipelines.yml"
DEAD_LETTERS = ROOT / "logstash" / "pipeline" / "dead_letters.conf"


def test_ingestion_never_waits_for_kibana(compose: dict[str, Any]) -> None:
    """Logstash and the scheduler start once setup (Elasticsearch only) is done; setup knows no Kibana;
    the saved objects are imported by a service nothing depends on."""
    services = compose["services"]
    for name in ("logstash", "scheduler", "setup"):
        assert set(services[name]["depends_on"]) <= {"setup", "elasticsearch"}, name
    assert not any(variable.startswith("LOGLOOP_KIBANA_") for variable in services["setup"]["environment"])
    assert "--wait-for-kibana" not in (ROOT / "docker" / "setup.sh").read_text(encoding="utf-8")
    for name, service in services.items():
        assert "kibana-objects" not in service.get("depends_on", {}), name
    assert services["kibana-objects"]["command"][:2] == ["kibana", "import"]


def test_no_memory_lock_is_required(compose: dict[str, Any]) -> None:
    """Elasticsearch neither asks for bootstrap.memory_lock nor for an unlimited memlock ulimit."""
    elasticsearch = compose["services"]["elasticsearch"]
    assert "bootstrap.memory_lock" not in elasticsearch["environment"]
    assert "memlock" not in elasticsearch.get("ulimits", {})


def test_beats_original_is_removed_and_duplicates_are_not_logged() -> None:
    """Beats events lose their event.original copy, and 409 conflicts (retried duplicates) are silenced."""
    text = PIPELINE.read_text(encoding="utf-8")
    assert '"[@metadata][logloop][input]" => "beats"' in text
    beats_branch = text[text.index('if [@metadata][logloop][input] == "beats"') :]
    assert (
        'remove_field => ["[event][original]"]'
        in beats_branch.split("}", 2)[0] + beats_branch.split("}", 2)[1]
    )
    assert (
        _pipeline_setting("elasticsearch", "silence_errors_in_log") == '["version_conflict_engine_exception"]'
    )


def test_the_dead_letter_queue_is_read_by_a_pipeline(compose: dict[str, Any]) -> None:
    """The dead-letter queue compose enables is consumed (and cleaned) by a pipeline declared next to
    the event pipeline, writing each rejected document with its reason."""
    assert compose["services"]["logstash"]["environment"]["DEAD_LETTER_QUEUE_ENABLE"] == "true"
    pipelines = _yaml_to_data(PIPELINES.read_text(encoding="utf-8"))
    by_id = {entry["pipeline.id"]: entry["path.config"] for entry in pipelines}
    assert set(by_id) == {"logloop", "logloop-dead-letters"}
    assert by_id["logloop-dead-letters"].endswith("/" + DEAD_LETTERS.name)
    text = re.sub(r"#.*", "", DEAD_LETTERS.read_text(encoding="utf-8"))
    assert text.count("{") == text.count("}")
    assert 'pipeline_id => "logloop"' in text and "clean_consumed => true" in text
    assert "[@metadata][dead_letter_queue][reason]" in text


def test_scheduler_healthcheck_asks_its_health_endpoint(compose: dict[str, Any]) -> None:
    """The scheduler's healthcheck requests /health on the port its environment configures."""
    scheduler = compose["services"]["scheduler"]
    port = scheduler["environment"]["LOGLOOP_SCHEDULE_HEALTH_PORT"]
    assert f"127.0.0.1:{port}/health" in " ".join(scheduler["healthcheck"]["test"])


def test_tls_override_validates_and_leaves_no_plain_http(tmp_path: Path) -> None:
    """With docker-compose.tls.yml, `docker-compose config` resolves, every client URL is https, each
    names the CA, plain http is allowed nowhere, and Elasticsearch serves TLS."""
    if not Path(DOCKER_COMPOSE).exists():
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "".join(f"{key}={value}\n" for key, value in _env_example().items()), encoding="utf-8"
    )
    files = ["-f", str(COMPOSE), "-f", str(COMPOSE_TLS)]
    done = subprocess.run(
        [DOCKER_COMPOSE, "--project-directory", str(ROOT), *files, "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    services = _yaml_to_data(done.stdout)["services"]
    assert services["elasticsearch"]["environment"]["xpack.security.http.ssl.enabled"] == "true"
    for name in ("setup", "scheduler"):
        environment = services[name]["environment"]
        assert environment["LOGLOOP_ES_URL"].startswith("https://") and environment["LOGLOOP_ES_CA_CERTS"]
    assert services["kibana-objects"]["environment"]["LOGLOOP_KIBANA_URL"].startswith("https://")
    assert services["logstash"]["environment"]["LOGSTASH_ES_HOSTS"].startswith("https://")
    assert "javax.net.ssl.trustStore=" in services["logstash"]["environment"]["LS_JAVA_OPTS"]
    assert "https://elasticsearch:9200" in services["kibana"]["environment"]["ELASTICSEARCH_HOSTS"]
    for name, service in services.items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith("ALLOW_PLAIN_HTTP"):
                assert value == "false", f"{name} {variable}"
