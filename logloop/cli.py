"""The `logloop` command. Each package registers its own subcommands; this module only dispatches.

A subcommand handler has the signature `handler(args, settings) -> int` and raises a LogloopError
(or a package's root error) for anything the user must fix: it is printed as one line, exit 1.
`--config` is accepted before or after the subcommand (added to every subcommand's parser here).
`COMMAND_MODULES` says which module registers each command, so that `logloop COMMAND` imports that
module alone; a new command is added there as well as in its module (a test holds the two equal).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

from logloop import config
from logloop.errors import LogloopError
from shipper import lazy_regex

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


# Which module registers each command: `logloop COMMAND ...` imports that module alone (the others
# would cost the command their import time: `logloop cluster` is timed against a bare drain3 script).
# The order is the help's. tests/test_cli.py holds this table equal to what the modules register.
COMMAND_MODULES: Final[Mapping[str, str]] = {
    "es": "logloop.es_cli",
    "feedback": "shipper.cli",
    "cluster": "shipper.cluster_cli",
    "redact": "shipper.redact_cli",
    "analyze": "analyzers.cli",
    "resolve": "analyzers.cli",
    "ignore": "analyzers.cli",
    "regroup": "analyzers.cli",
    "check": "analyzers.cli",
    "prune": "analyzers.cli",
    "schedule": "analyzers.cli",
    "digest": "analyzers.digest_cli",
    "group": "analyzers.group_cli",
    "setup": "kibana.cli",
    "kibana": "kibana.cli",
    "demo": "logloop.demo",
}


def _registrars(modules: Sequence[str] = tuple(dict.fromkeys(COMMAND_MODULES.values()))) -> list[Registrar]:
    # Imported here so that a command imports only its own module and a broken optional part names itself.
    registrars: list[Registrar] = []
    for module_name in modules:
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registrars.append(module.register)
    return registrars


def command_of(argv: Sequence[str]) -> str | None:
    """The command `argv` runs (its first word, past a leading `--config FILE`), if it is a known one."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("--config="):
            return word if word in COMMAND_MODULES else None
    return None


class _VersionAction(argparse.Action):
    """`--version`, reading the installed distribution's metadata only when asked (a slow import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"logloop {version()}")
        parser.exit()


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
    from importlib import metadata

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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of `command` alone (its module alone imported)."""
    parser = argparse.ArgumentParser(
        prog="logloop",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help=CONFIG_HELP)
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    lone = COMMAND_MODULES.get(command) if command is not None else None
    for register in _registrars((lone,)) if lone is not None else _registrars():
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


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that `finally` blocks and `with` exits run (a
    partial output file is removed, clients are closed) before the command ends with status 143."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


# Exit statuses of a command ended by a signal or a closed pipe: 128 + the signal's number, as a shell
# reports a process killed by it (a pipeline's reader, a supervisor, a CI script can tell them apart).
EXIT_INTERRUPTED: Final = 128 + signal.SIGINT
EXIT_TERMINATED: Final = 128 + signal.SIGTERM
EXIT_BROKEN_PIPE: Final = 128 + signal.SIGPIPE


def _quiet_stdout() -> None:
    """Point standard output at /dev/null: the reader is gone, and the interpreter's final flush of
    what is still buffered must not raise BrokenPipeError (a traceback) at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


_WRITE_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _os_error_text(exc: OSError) -> str:
    """One line for an OSError no layer below translated: the path (if known) and the reason, with
    what to do for the common ones (a full disk, a path that is a directory or not writable)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"cannot use {exc.filename}: {reason}: choose another path or fix its permissions"
    if exc.errno in _WRITE_ERRNOS:
        return f"cannot write the output: {reason}: free some space or write it elsewhere"
    if exc.errno == errno.EBADF and exc.strerror:
        return exc.strerror
    return f"{reason} ({type(exc).__name__})"


class _Closed(io.RawIOBase):
    """A standard stream whose descriptor was closed when logloop started (`<&-`, `>&-`): using it is
    an OSError naming it, which `main` reports on one line, instead of an AttributeError on None."""

    def __init__(self, name: str, *, reading: bool) -> None:
        super().__init__()
        self._name, self._reading = name, reading
        self._reported = False

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return not self._reading

    def readinto(self, buffer: Any) -> int:
        raise OSError(errno.EBADF, f"{self._name} is closed: pipe the input in or give a file instead of -")

    def write(self, data: Any) -> int:
        if self._reported:  # said once; the interpreter's flush at exit must not say it again
            return len(data)
        self._reported = True
        raise OSError(errno.EBADF, f"{self._name} is closed: run it with its output redirected")


def _guard_standard_streams() -> None:
    """Give each standard stream closed at start a stand-in, and its descriptor /dev/null, so that a
    file or socket opened later never gets descriptor 0, 1 or 2 (and never receives stray prints)."""
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        if getattr(sys, name) is not None:
            continue
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
        if name == "stderr":  # nowhere to report anything: messages are dropped, as they were
            sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (for the process's life)
            continue
        stream = io.TextIOWrapper(
            io.BufferedReader(_Closed("standard input", reading=True))
            if name == "stdin"
            else io.BufferedWriter(_Closed("standard output", reading=False)),
            encoding="utf-8",
        )
        setattr(sys, name, stream)


# Commands that leave the process without the interpreter's teardown once `main` returns: freeing every
# module's and memo's objects one by one took 7-10 ms of `logloop cluster`'s ~100 on the evaluation
# set, and that command is timed against a bare drain3 script. Such a command flushes its output
# before it returns and leaves nothing for exit time (no atexit work, no file open for writing).
LEAVE_WITHOUT_TEARDOWN: Final = frozenset({"cluster"})


def run() -> NoReturn:
    """The `logloop` program: `main` on the process's arguments, then exit with its status."""
    status = main()
    if command_of(sys.argv[1:]) in LEAVE_WITHOUT_TEARDOWN:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(status)  # a stream that cannot take what is left: the interpreter's exit reports it
        os._exit(status)
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    word = command_of(argv)
    command = f"logloop {word}" if word else "logloop"
    _guard_standard_streams()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            with lazy_regex.kept_on_disk():  # the code's patterns, compiled by an earlier run
                return _run(argv, word)
        except SystemExit:  # argparse's --help, --version or usage error: its output must arrive too
            sys.stdout.flush()
            raise
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"{command}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        _quiet_stdout()  # the reader of standard output left (`| head`): nothing to say, nobody to tell
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # an output or input the command could not use (a full disk, a directory)
        print(f"{command}: error: {_os_error_text(exc)}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(argv: Sequence[str], command: str | None) -> int:
    parser = build_parser(command)
    said = io.StringIO()  # what argparse writes to stderr: its usage error, for the line below too
    try:
        with contextlib.redirect_stderr(said):
            args, unknown = parser.parse_known_args(argv)
            if unknown:  # said by the command's own parser: its usage, not the list of every command
                _chosen_parser(parser, argv).error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:
        said = io.StringIO(with_suggestion(said.getvalue()))
        sys.stderr.write(said.getvalue())
        report_error = _command_default(parser, command, "report_error")
        if exc.code != 2 or report_error is None:
            raise
        # A command that reports its own errors (a Nagios plugin: UNKNOWN, status 3) reports a usage
        # error too, where argparse's status 2 would read as the plugin's CRITICAL.
        problem = said.getvalue().strip().rpartition("error: ")[2]
        status: int = report_error(f"usage error: {problem} (see logloop {command} --help)")
        return status
    sys.stderr.write(said.getvalue())
    settings = config.Settings()
    try:
        settings = config.load_settings(args.config)
        config.check_sections(settings)  # every section present, whichever command reads it
        result: int = args.handler(args, settings)
        sys.stdout.flush()  # here, so that a closed or full standard output is reported like the rest
        return result
    except _root_errors() as exc:
        return _report(args, config.named_by_variables(str(exc), settings.variables))
    except ModuleNotFoundError as exc:
        extra = EXTRA_MODULES.get((exc.name or "").partition(".")[0])
        if extra is None:  # a core dependency (elasticsearch...) or a file of logloop itself is missing
            return _report(
                args,
                f"logloop's installation is incomplete (no module {exc.name}): "
                "reinstall it, e.g. pip install --force-reinstall logloop",
            )
        return _report(
            args,
            f"this command needs the '{extra}' extra (no module {exc.name}): pip install 'logloop[{extra}]'",
        )


def _chosen_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The deepest (sub)command parser `argv` names (`logloop kibana export`), else `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for position, word in enumerate(argv):
                if word in action.choices:
                    return _chosen_parser(action.choices[word], argv[position + 1 :])
    return parser


def with_suggestion(usage_error: str) -> str:
    """argparse's `invalid choice: 'analyse' (choose from 'es', 'analyze', ...)` with the nearest
    choice named (`: did you mean analyze?`), for a command, a subcommand or an option's value (pure)."""
    import difflib  # here: only a mistake needs it
    import re

    match = re.search(r"invalid choice: '([^']*)' \(choose from ([^)]*)\)", usage_error)
    if match is None:
        return usage_error
    choices = re.findall(r"'([^']*)'", match.group(2))
    nearest = difflib.get_close_matches(match.group(1), choices, n=1, cutoff=0.6)
    if not nearest:
        return usage_error
    said = f"invalid choice: '{match.group(1)}': did you mean {nearest[0]}? (choose from {match.group(2)})"
    return usage_error.replace(match.group(0), said, 1)


def _command_default(parser: argparse.ArgumentParser, command: str | None, name: str) -> Any:
    """The default `command`'s parser sets for `name` (`set_defaults`); None without one."""
    for child, _ in _subparsers(parser):
        if command is not None and child.prog == f"{parser.prog} {command}":
            return child.get_default(name)
    return None


def _report(args: argparse.Namespace, message: str) -> int:
    """One line for an error the user must fix: `logloop CMD: error: ...` on stderr, status 1; or the
    command's own `report_error(message) -> status` (a Nagios plugin reports UNKNOWN, status 3)."""
    report_error = getattr(args, "report_error", None)
    if report_error is not None:
        status: int = report_error(message)
        return status
    print(f"logloop {args.command}: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    run()
