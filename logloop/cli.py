"""The `logloop` command. Each package registers its own subcommands; this module only dispatches.

A subcommand handler has the signature `handler(args, settings) -> int` and raises a LogloopError
(or a package's root error) for anything the user must fix: it is printed as one line, exit 1.
`--config` is accepted before or after the subcommand (added to every subcommand's parser here).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Final

from logloop import config
from logloop.errors import LogloopError

# Top-level modules of the optional extras (pyproject.toml), so that a command run without its extra
# says which one to install instead of printing a traceback.
EXTRA_MODULES: Final[Mapping[str, str]] = {
    "pandas": "analyzers",
    "numpy": "analyzers",
    "jinja2": "analyzers",
    "matplotlib": "analyzers",
    "apscheduler": "analyzers",
    "prometheus_client": "analyzers",
    "tqdm": "analyzers",
    "drain3": "bench",
}

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Registrar]:
    # Imported here so that `logloop --help` stays fast and a broken optional part names itself.
    from logloop import es_cli

    registrars: list[Registrar] = [es_cli.register]
    for module_name in (
        "shipper.cli",
        "shipper.cluster_cli",
        "shipper.redact_cli",
        "analyzers.cli",
        "analyzers.digest_cli",
        "analyzers.group_cli",
        "kibana.cli",
        "logloop.demo",
    ):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registrars.append(module.register)
    return registrars


DESCRIPTION = """\
Ship Python logs to Elasticsearch, group the errors, and report them.

logloop ships every log record of your services to Elasticsearch (the Python handler does the
shipping; see the README), groups the errors into issues, mails a weekly digest, alerts on new
and escalating errors, and keeps the indices within their retention."""

EPILOG = """\
getting started:
  logloop es start                 run a local Elasticsearch node (loopback only)
  logloop setup                    install the index template (and the Kibana objects)
  logloop demo                     see a digest of a simulated service, end to end

every day:
  logloop analyze                  update the error groups from the indexed events
  logloop digest --send            mail the digest of the last 7 days
  logloop check                    Nagios/Icinga status of the last 15 minutes
  logloop schedule                 run analyze, check, digest and prune on their schedules

configuration:
  A TOML file (--config FILE, else $LOGLOOP_CONFIG, else ~/.config/logloop/logloop.toml);
  every key can be set from the environment as LOGLOOP_<SECTION>_<KEY>, for example
  LOGLOOP_ELASTICSEARCH_URL=https://es1:9200,https://es2:9200 or LOGLOOP_SMTP_PASSWORD_FILE=/run/secrets/smtp.

Run `logloop COMMAND --help` for the options of one command."""

CONFIG_HELP = "TOML configuration file (default: $LOGLOOP_CONFIG, else ~/.config/logloop/logloop.toml)"


def version() -> str:
    """The installed distribution's version, or "unknown" when running from an uninstalled tree."""
    try:
        return metadata.version("logloop")
    except metadata.PackageNotFoundError:
        return "unknown"


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[argparse.ArgumentParser, str]]:
    """Every parser below `parser` (commands, and their own subcommands) with its one-line help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, child in action.choices.items():
                if name in helps:  # aliases have no entry of their own
                    yield child, helps[name]
                    yield from _subparsers(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logloop",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--version", action="version", version=f"logloop {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for register in _registrars():
        register(subparsers)
    for child, help_text in _subparsers(parser):
        # SUPPRESS: an absent --config after the command keeps the one given before it.
        child.add_argument("--config", type=Path, metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
        if child.description is None and help_text:
            child.description = help_text[:1].upper() + help_text[1:] + "."
    return parser


def _root_errors() -> tuple[type[BaseException], ...]:
    roots: list[type[BaseException]] = [LogloopError]
    for module_name, class_name in (
        ("shipper.exceptions", "ShipperError"),
        ("analyzers.exceptions", "AnalyzerError"),
        ("kibana.exceptions", "KibanaError"),
    ):
        try:
            module = __import__(module_name, fromlist=[class_name])
            roots.append(getattr(module, class_name))
        except (ModuleNotFoundError, AttributeError):
            continue
    return tuple(roots)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = config.load_settings(args.config)
        result: int = args.handler(args, settings)
        return result
    except _root_errors() as exc:
        print(f"logloop {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        extra = EXTRA_MODULES.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        print(
            f"logloop {args.command}: error: this command needs the '{extra}' extra "
            f"(no module {exc.name}): pip install 'logloop[{extra}]'",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
