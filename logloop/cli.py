"""The `logloop` command. Each package registers its own subcommands; this module only dispatches.

A subcommand handler has the signature `handler(args, settings) -> int` and raises a LogloopError
(or a package's root error) for anything the user must fix: it is printed as one line, exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logloop", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, help="TOML configuration file (default: $LOGLOOP_CONFIG)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(subparsers)
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
