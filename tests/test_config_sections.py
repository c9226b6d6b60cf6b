"""Every section of the configuration is checked when any command starts, not only by the commands
that read it: a typo in `[smtp]` or `[indices]` is found by `check` or `cluster` the day it is made,
not by the Sunday digest; a section that is absent is never required."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from logloop import config
from tests.test_cli_outcomes import assert_one_line, run

BAD_SECTIONS = [
    pytest.param('[smtp]\nhots = "mail"\n', "[smtp]", id="smtp-typo"),
    pytest.param('[smtp]\nsecurity = "tls13"\n', "[smtp] security", id="smtp-bad-security"),
    pytest.param('[indices]\nshards = "two"\n', "[indices] shards", id="indices-shards-text"),
    pytest.param("[indices]\nreplica = 1\n", "[indices]", id="indices-typo"),
    pytest.param('[kibana]\nurll = "http://127.0.0.1:5601"\n', "[kibana]", id="kibana-typo"),
    pytest.param('[digest]\ntitel = "Weekly"\n', "[digest]", id="digest-typo"),
    pytest.param('[schedule]\ntimezone = "Mars/Olympus"\n', "[schedule] timezone", id="schedule-zone"),
    pytest.param('[retention]\nevents = "1h"\n', "[retention] events", id="retention-short"),
    pytest.param("[analyze]\nmax_groups = 5\n", "[analyze] max_groups", id="analyze-removed-key"),
    pytest.param('[alerts]\non = ["fresh"]\n', "[alerts] on", id="alerts-status"),
    pytest.param("[check]\nwarning_rat = 1\n", "[check]", id="check-typo"),
    pytest.param("[rootcause]\nbogus = 1\n", "[rootcause]", id="rootcause-typo"),
    pytest.param('[grouping]\nin_app = [""]\n', "[grouping] in_app", id="grouping-empty-in-app"),
    pytest.param("[redaction]\nkey = []\n", "[redaction]", id="redaction-typo"),
]


# A valid partial table for every section (no [smtp] sender, no Kibana URL).
FULL_CONFIGURATION = (
    '[smtp]\nhost = "mail.example.com"\n[indices]\nreplicas = 0\n[kibana]\nspace = "ops"\n'
    '[digest]\ntitle = "Weekly"\n[schedule]\ntimezone = "Europe/Berlin"\n[retention]\nevents = "14d"\n'
    '[analyze]\n[alerts]\non = ["new"]\n[check]\nwarning_rate = 1.0\n[rootcause]\nenabled = true\n'
    '[grouping]\nin_app = ["myapp"]\n[redaction]\nkeys = ["pin"]\n'
)


def _events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"message": "boom", "log": {"level": "error"}}) + "\n")
    return path


@pytest.mark.parametrize(("text", "named"), BAD_SECTIONS)
@pytest.mark.parametrize("command", ["cluster", "es-status", "prune"])
def test_a_bad_section_is_named_by_a_command_that_does_not_read_it(
    tmp_path: Path, text: str, named: str, command: str
) -> None:
    """A bad section fails any command at start, in one line naming it (before, only its reader)."""
    path = tmp_path / "logloop.toml"
    path.write_text(text)
    argv = {
        "cluster": ["cluster", str(_events(tmp_path))],
        "es-status": ["es", "status", "--port", "1"],
        "prune": ["prune", "--dry-run"],
    }[command]
    env = {"LOGLOOP_ELASTICSEARCH_URL": "http://127.0.0.1:1"}  # never reached: the section is first
    assert_one_line(run(tmp_path, "--config", str(path), *argv, env=env), named)


@pytest.mark.parametrize(("text", "named"), BAD_SECTIONS)
def test_check_names_a_bad_section_as_unknown(tmp_path: Path, text: str, named: str) -> None:
    """`check`, which reads neither [smtp] nor [indices] without alerting, reports any bad section
    as a Nagios UNKNOWN line, status 3 (before: OK or CRITICAL, the typo unseen)."""
    path = tmp_path / "logloop.toml"
    path.write_text(text)
    result = run(
        tmp_path, "--config", str(path), "check", env={"LOGLOOP_ELASTICSEARCH_URL": "http://127.0.0.1:1"}
    )
    assert result.returncode == 3 and result.stdout.startswith("LOGLOOP UNKNOWN - "), result
    assert named in result.stdout


def test_an_environment_variable_of_a_section_is_checked_too(tmp_path: Path) -> None:
    """LOGLOOP_INDICES_SHARDS=two is named by a command that does not read [indices]."""
    result = run(tmp_path, "cluster", str(_events(tmp_path)), env={"LOGLOOP_INDICES_SHARDS": "two"})
    assert_one_line(result, "[indices] shards")


def test_valid_sections_and_absent_ones_let_every_command_run(tmp_path: Path) -> None:
    """A file with a valid partial table for every section (no [smtp] sender, no Kibana URL) is
    accepted by a command that needs none of them: presence is checked, never completeness."""
    path = tmp_path / "logloop.toml"
    path.write_text(FULL_CONFIGURATION)
    result = run(tmp_path, "--config", str(path), "cluster", str(_events(tmp_path)))
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_every_section_has_a_parser() -> None:
    """Each section other than the two this module parses names the parser that checks it."""
    assert set(config.SECTION_PARSERS) == set(config.SECTIONS) - {"logloop", "elasticsearch"}


# What a section's check may not load: the libraries of the commands that use the section (the
# digest's data frames, mail, Elasticsearch and Kibana clients). Every command's start checks every
# section present, so a deployment's full configuration cost `logloop cluster` 0.2 s of imports.
HEAVY_MODULES = ("pandas", "numpy", "smtplib", "ssl", "urllib.request", "elasticsearch", "jinja2")


def test_checking_every_section_loads_none_of_the_commands_libraries() -> None:
    """Parsing a full configuration's sections at a command's start imports no data-frame, mail,
    HTTP-client or template library (a `[rootcause]` section imported pandas for every command)."""
    script = (
        "import sys\n"
        "from logloop import config\n"
        "before = set(sys.modules)\n"
        "settings = config.load_settings(environ={'LOGLOOP_CONFIG': sys.argv[1]})\n"
        "assert len(settings.sections) == 12, settings.sections\n"
        "config.check_sections(settings)\n"
        "heavy = set(sys.argv[2:])\n"
        "new = set(sys.modules) - before\n"
        "print(sorted({m for m in new if m in heavy} | {m.split('.')[0] for m in new} & heavy))\n"
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "logloop.toml"
        path.write_text(FULL_CONFIGURATION)
        done = subprocess.run(
            [sys.executable, "-c", script, str(path), *HEAVY_MODULES],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        pytest.param("LOGLOOP_RETENTION_EVENTS", "abc", ["prune", "--dry-run"], id="retention-bad-value"),
        pytest.param("LOGLOOP_INDICES_SHARDS", "two", ["cluster", "{events}"], id="indices-bad-value"),
        pytest.param("LOGLOOP_SMTP_SECURITY", "tls13", ["cluster", "{events}"], id="smtp-bad-value"),
        pytest.param("LOGLOOP_ANALYZE_FOO", "1", ["cluster", "{events}"], id="analyze-unknown-key"),
        pytest.param("LOGLOOP_ES_URLL", "x", ["cluster", "{events}"], id="elasticsearch-unknown-key"),
        pytest.param("LOGLOOP_DIGEST_TIMEZONE", "Mars", ["digest", "-o", "{tmp}/d.html"], id="by-command"),
    ],
)
def test_a_setting_from_the_environment_is_named_by_its_variable(
    tmp_path: Path, variable: str, value: str, command: list[str]
) -> None:
    """A bad or unknown setting given as a LOGLOOP_* variable is named by that variable in the error
    line, whichever section it is in (before: only [logloop] and [elasticsearch]; the others named a
    `[section] key` that no file held)."""
    argv = [a.format(events=_events(tmp_path), tmp=tmp_path) for a in command]
    env = {variable: value, "LOGLOOP_ELASTICSEARCH_URL": "http://127.0.0.1:1"}
    assert_one_line(run(tmp_path, *argv, env=env), variable)


def test_a_setting_from_the_environment_is_named_by_check_too(tmp_path: Path) -> None:
    """`check` names the variable in its UNKNOWN line (before: `[check] shards_warning` only)."""
    env = {"LOGLOOP_CHECK_SHARDS_WARNING": "abc", "LOGLOOP_ELASTICSEARCH_URL": "http://127.0.0.1:1"}
    result = run(tmp_path, "check", env=env)
    assert result.returncode == 3 and "LOGLOOP_CHECK_SHARDS_WARNING ([check] shards_warning)" in result.stdout


@pytest.mark.parametrize(
    ("message", "variables", "expected"),
    [
        pytest.param(
            "[retention] events = 'x' is bad",
            {("retention", "events"): "LOGLOOP_RETENTION_EVENTS"},
            "LOGLOOP_RETENTION_EVENTS ([retention] events) = 'x' is bad",
            id="value",
        ),
        pytest.param(
            "[retention] events = 'x' is bad",
            {("retention", "groups"): "LOGLOOP_RETENTION_GROUPS"},
            "[retention] events = 'x' is bad",
            id="other-key-from-the-file",
        ),
        pytest.param(
            "unknown key(s) in [check]: foo; known: warning_rate",
            {("check", "warning_rate"): "LOGLOOP_CHECK_WARNING_RATE"},
            "unknown key(s) in [check]: foo; known: warning_rate",
            id="known-key-listed-is-not-blamed",
        ),
        pytest.param(
            "[grouping] in_app[0] = '' is empty; fix the configuration file",
            {("grouping", "in_app"): "LOGLOOP_GROUPING_IN_APP"},
            "LOGLOOP_GROUPING_IN_APP ([grouping] in_app[0]) = '' is empty; fix LOGLOOP_GROUPING_IN_APP",
            id="an-item-of-a-list",
        ),
        pytest.param(
            "[smtp] port_range = 'x' is bad",
            {("smtp", "port"): "LOGLOOP_SMTP_PORT"},
            "[smtp] port_range = 'x' is bad",
            id="a-longer-key-from-the-file",
        ),
        pytest.param(
            "set LOGLOOP_KIBANA_URL or [kibana] url",
            {("kibana", "url"): "LOGLOOP_KIBANA_URL"},
            "set LOGLOOP_KIBANA_URL or [kibana] url",
            id="already-named",
        ),
    ],
)
def test_named_by_variables(message: str, variables: dict[tuple[str, str], str], expected: str) -> None:
    """Only the keys the environment set are renamed, and only where the message names them."""
    assert config.named_by_variables(message, variables) == expected
