"""The `logloop` command line: user help, --version, and --config before or after the subcommand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from logloop import cli

REPO = Path(__file__).resolve().parents[1]


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "logloop.cli", *argv], env=environ, capture_output=True, text=True, timeout=60
    )


def test_help_is_written_for_users() -> None:
    """`logloop --help` says what logloop does, lists every command and shows how to start and configure."""
    result = _run("--help")
    assert result.returncode == 0
    assert "Ship Python logs to Elasticsearch" in result.stdout
    for command in ("analyze", "digest", "check", "schedule", "prune", "setup"):
        assert f"\n    {command} " in result.stdout, command
    assert "LOGLOOP_<SECTION>_<KEY>" in result.stdout and "getting started:" in result.stdout
    assert "Each package registers" not in result.stdout  # not the module docstring


def test_every_command_has_a_described_help_page() -> None:
    """Each subcommand's --help has a description and offers --config."""
    parser = cli.build_parser()
    for child, _ in cli._subparsers(parser):
        assert child.description, child.prog
        assert "--config FILE" in child.format_help(), child.prog


def test_version_is_printed() -> None:
    """`logloop --version` prints the installed version."""
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.startswith("logloop ")
    assert result.stdout.split()[1] == cli.version() != "unknown"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--config", "{path}", "analyze", "--rules"], id="before"),
        pytest.param(["analyze", "--rules", "--config", "{path}"], id="after"),
    ],
)
def test_config_is_accepted_before_or_after_the_command(argv: list[str], tmp_path: Path) -> None:
    """The same --config FILE is read whether it comes before or after the subcommand."""
    path = tmp_path / "logloop.toml"
    path.write_text("[analyze]\nresolve_after = '9d'\n")
    result = _run(*(item.format(path=path) for item in argv), env={"LOGLOOP_CONFIG": ""})
    assert result.returncode == 0, result.stderr
    assert "9 days" in result.stdout or "9d" in result.stdout


def test_config_after_the_command_wins_over_the_one_before(tmp_path: Path) -> None:
    """With --config on both sides, the one after the subcommand is used."""
    args = cli.build_parser().parse_args(["--config", "a.toml", "analyze", "--config", "b.toml"])
    assert args.config == Path("b.toml")
    assert cli.build_parser().parse_args(["--config", "a.toml", "analyze"]).config == Path("a.toml")


def test_a_bad_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A configuration error prints one line naming the problem and exits 1."""
    path = tmp_path / "bad.toml"
    path.write_text("[elasticsearch]\nurl = 'https://a:9200,https://a:9200'\n")
    result = _run("analyze", "--config", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "twice" in result.stderr


def test_command_table_names_what_each_module_registers() -> None:
    """`COMMAND_MODULES` lists exactly the commands each module registers (a command imports its module)."""
    import argparse

    for module_name in dict.fromkeys(cli.COMMAND_MODULES.values()):
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers()
        for register in cli._registrars((module_name,)):
            register(subparsers)
        expected = {name for name, module in cli.COMMAND_MODULES.items() if module == module_name}
        assert set(subparsers.choices) == expected, module_name


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        pytest.param(["cluster", "x.jsonl"], "cluster", id="plain"),
        pytest.param(["--config", "a.toml", "digest"], "digest", id="after-config"),
        pytest.param(["--config=a.toml", "group", "merge"], "group", id="config-equals"),
        pytest.param(["--help"], None, id="help"),
        pytest.param(["nonsense"], None, id="unknown"),
    ],
)
def test_command_of_finds_the_command_word(argv: list[str], command: str | None) -> None:
    """`command_of` finds the command past a leading --config; None where every command is registered."""
    assert cli.command_of(argv) == command


def test_cluster_imports_neither_the_handler_nor_the_analyzers(tmp_path: Path) -> None:
    """`logloop cluster` imports its own module only: not the handler, the formatter or the analyzers."""
    events = tmp_path / "events.jsonl"
    events.write_text('{"message": "disk full", "log": {"level": "error"}}\n')
    probe = (
        "import sys; from logloop.cli import main; main(['cluster', sys.argv[1]])\n"
        "heavy = ('shipper.handler', 'shipper.formatter', 'analyzers')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(events)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_command_leaving_without_teardown_delivers_its_output_and_status(tmp_path: Path) -> None:
    """`logloop cluster`, which leaves by `os._exit` once `main` returns, still delivers every line of a
    large output, its warnings and its status (2 for a bad line), as the program and under `-m`."""
    events = tmp_path / "events.jsonl"
    lines = [f'{{"message": "disk {n} full", "log": {{"level": "error"}}}}' for n in range(20_000)]
    events.write_text("\n".join([*lines, "not json"]) + "\n")
    assert "cluster" in cli.LEAVE_WITHOUT_TEARDOWN
    program = [sys.executable, "-c", "from logloop.cli import run; run()"]
    for command in (program, [sys.executable, "-m", "logloop.cli"]):
        result = subprocess.run(
            [*command, "cluster", "-j", "1", str(events)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            timeout=120,
        )
        assert result.returncode == 2
        assert result.stdout.count(b"\n") == len(lines) + 1
        assert b"events.jsonl:20001: not valid JSON" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        pytest.param(["analyse"], "analyze", id="command"),
        pytest.param(["group", "shwo", "abc"], "show", id="subcommand"),
        pytest.param(["digest", "--format", "htm"], "html", id="option-value"),
        pytest.param(["feedback", "x", "--kind", "bugs"], "bug", id="feedback-kind"),
    ],
)
def test_a_misspelt_choice_is_answered_with_the_nearest(argv: list[str], meant: str) -> None:
    """A misspelt command, subcommand or option value names the nearest choice in argparse's usage
    error (before: only the list of every choice)."""
    result = _run(*argv)
    line = result.stderr.splitlines()[-1]
    assert result.returncode == 2 and f"did you mean {meant}?" in line, result.stderr


def test_a_choice_near_nothing_is_not_guessed() -> None:
    """`--format pdf` is near no format: the usage error lists the choices and guesses none."""
    result = _run("digest", "--format", "pdf")
    assert result.returncode == 2 and "did you mean" not in result.stderr and "'html'" in result.stderr


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        pytest.param(["kibana", "export", "--wait", "5"], "logloop kibana export", id="subcommand"),
        pytest.param(["digest", "--bogus"], "logloop digest", id="command"),
        pytest.param(
            ["--config", "x.toml", "group", "split", "k", "--by", "version", "-x"],
            "logloop group split",
            id="after-config",
        ),
    ],
)
def test_an_unknown_option_is_refused_by_its_command(argv: list[str], command: str) -> None:
    """An option the command does not take is refused with that command's usage and name (before:
    the usage of `logloop` listing every command, and `logloop: error:`)."""
    result = _run(*argv)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"usage: {command} ")
    assert f"{command}: error: unrecognized" in result.stderr
