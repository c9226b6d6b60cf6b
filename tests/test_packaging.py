"""The lean install: the handler needs only its two runtime dependencies, and a command that needs an
extra says which one when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from logloop.cli import EXTRA_MODULES

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "pandas",
    "numpy",
    "matplotlib",
    "jinja2",
    "apscheduler",
    "prometheus_client",
    "tqdm",
    "drain3",
    "elasticsearch",
    "elastic_transport",
    "logstash_async",
)
# Makes every module of the extras unimportable, as on a handler-only install.
_WITHOUT_EXTRAS = textwrap.dedent(
    f"""
    import importlib.abc, sys
    BLOCKED = {sorted(EXTRA_MODULES)!r}
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, Blocker())
    """
)


def _run(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=environment, timeout=120
    )


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_importing_the_handler_loads_no_heavy_package() -> None:
    """`import shipper` and its public API load no analyzer package and no Elasticsearch client."""
    code = textwrap.dedent(
        f"""
        import sys
        import shipper, shipper.grouping.fingerprint, shipper.schema
        from shipper import ShipperHandler, feedback, install, stats, timing
        loaded = sorted({{name.partition(".")[0] for name in sys.modules}} & set({HEAVY!r}))
        print(",".join(loaded))
        """
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_agent_loads_no_client_library_and_grouping_only_for_errors() -> None:
    """The delivery agent sends `_bulk` without importing the Elasticsearch client, and loads the
    grouping code with the first error event, which still gets its grouping key."""
    code = textwrap.dedent(
        f"""
        import sys
        from shipper.delivery.agent import Agent
        from shipper.delivery.documents import Documents
        from shipper.transports.elasticsearch import ElasticsearchTransport
        from shipper.connection import ElasticsearchSettings
        ElasticsearchTransport(ElasticsearchSettings(url="http://127.0.0.1:9")).close()
        documents = Documents("x")
        documents.finish({{"message": "plain", "log": {{"level": "info"}}}}, "id1")
        heavy = sorted({{name.partition(".")[0] for name in sys.modules}} & set({HEAVY!r}))
        before = "shipper.grouping.fingerprint" in sys.modules
        _, body = documents.finish({{"message": "boom", "log": {{"level": "error"}}}}, "id2")
        print(heavy, before, "grouping_key" in body.decode())
        """
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] False True"


def test_runtime_dependencies_are_the_handlers_only() -> None:
    """`pip install logloop` pulls the Elasticsearch client and python-logstash-async, nothing else."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    names = sorted(spec.split(">")[0].split("=")[0].split("<")[0] for spec in project["dependencies"])
    assert names == ["elasticsearch", "python-logstash-async"]


def test_every_extra_named_by_the_cli_exists_and_dev_pulls_them_all() -> None:
    """The extras the CLI tells users to install are declared, and `dev` includes every one of them."""
    extras = _pyproject()["project"]["optional-dependencies"]  # type: ignore[index]
    named = set(EXTRA_MODULES.values())
    assert named <= set(extras)
    assert any(spec == f"logloop[{','.join(sorted(named))}]" for spec in extras["dev"])


def test_a_command_without_its_extra_prints_one_line() -> None:
    """`logloop digest` on a handler-only install exits 1 with one line naming the extra to install."""
    code = _WITHOUT_EXTRAS + "from logloop import cli; sys.exit(cli.main(sys.argv[1:]))"
    env = {"LOGLOOP_ES_URL": "http://127.0.0.1:9", "LOGLOOP_CONFIG": os.devnull}
    result = _run(code, "digest", "--format", "json", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("logloop digest: error: this command needs the 'analyzers' extra")
    assert "pip install 'logloop[analyzers]'" in lines[0]


def test_analyze_and_check_run_without_the_extra() -> None:
    """`logloop analyze` and `check` get as far as the node without the extra (only the client needed)."""
    code = _WITHOUT_EXTRAS + "from logloop import cli; sys.exit(cli.main(sys.argv[1:]))"
    env = {"LOGLOOP_ES_URL": "http://127.0.0.1:9", "LOGLOOP_CONFIG": os.devnull}
    check = _run(code, "check", "--no-alerts", env=env)
    assert check.returncode == 3 and check.stdout.startswith("LOGLOOP UNKNOWN"), check.stderr
    analyze = _run(code, "analyze", env=env)
    assert analyze.returncode == 1
    assert analyze.stderr.startswith("logloop analyze: error: cannot reach Elasticsearch"), analyze.stderr


def test_the_metrics_endpoint_without_its_extra_is_a_configuration_error(tmp_path: Path) -> None:
    """`prometheus_port=` on a lean install fails at setup with a ConfigurationError naming the extra."""
    code = _WITHOUT_EXTRAS + textwrap.dedent(
        """
        from shipper.exceptions import ConfigurationError
        from shipper.handler import ShipperHandler
        try:
            ShipperHandler("svc", spool_path=sys.argv[1], prometheus_port=0)
        except ConfigurationError as exc:
            print(exc)
        """
    )
    result = _run(code, str(tmp_path / "spool.sqlite"))
    assert result.returncode == 0, result.stderr
    assert "pip install 'logloop[metrics]'" in result.stdout
