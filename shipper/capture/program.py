"""The facts of the logging program that go with its records: the first frame of every segment.

The agent builds documents in another process, so host, process and argv must be the program's,
captured here. They are read the way `shipper.environment` reads them, except for `platform`:
`platform.platform()` reads the interpreter binary to find the libc version (about 14 ms, on the
program's first record), so the agent fills it in from its own, on the same host. Nor is argv
redacted here unless the records are (`redact_before_spool`): it waits in the owner-only spool with
the records, and the agent redacts it with the program's rules, as it redacts them; redacting it
here compiled some sixty of the rules' patterns in every program, 5 to 6 ms of a short script.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

from shipper import environment, redaction

# The facts' key of argv as the program has it, unredacted (see `facts`).
ARGS_CAPTURED: Final = "args_captured"
# The facts' key of the program's `process.entity_id` (absent from segments of earlier versions).
ENTITY_ID: Final = "entity_id"


def facts(
    *,
    service: str,
    version: str | None,
    env: str | None,
    allowlist: Sequence[str],
    redactor: redaction.Redactor | None,
    grouping: Mapping[str, Any] | None = None,
    index_prefix: str | None = None,
    redact_args: bool = False,
) -> dict[str, Any]:
    """What the agent needs to write this program's documents as `EcsFormatter` would here: the
    user's redaction rules (names and patterns, never a secret) and `[grouping]` table included.
    argv is `args`, redacted, if `redact_args`; else `args_captured`, as the program has it, for the
    agent to redact (an agent older than this key leaves it out: never sent unredacted). `redactor`:
    the user's rules, None for the default ones (not loaded here unless argv is redacted here)."""
    uname = os.uname()
    hostname = environment.host_name()
    args = environment.sys_argv()
    if redact_args:
        argv: dict[str, Any] = {"args": (redactor or redaction.DEFAULT).redact_argv(args)}
    else:
        argv = {ARGS_CAPTURED: args}
    name = sys.implementation.name
    implementation = "CPython" if name == "cpython" else name  # as platform.python_implementation()
    python_version = environment.python_version()
    return {
        "service": service,
        "service_version": version,
        "environment": env,
        "env_allowlist": list(allowlist),
        "redact_keys": list(redactor.keys) if redactor else [],
        "redact_patterns": list(redactor.patterns) if redactor else [],
        "grouping": dict(grouping) if grouping else None,
        "index_prefix": index_prefix,  # where its documents go, whichever program's agent sends them
        "host": {
            "name": hostname,
            "hostname": hostname,
            "architecture": uname.machine,
            "os": {"type": uname.sysname.lower(), "platform": sys.platform, "version": uname.release},
        },
        "process_name": environment.process_name(args),
        "executable": sys.executable,
        **argv,
        "python": f"{python_version} ({implementation})",
        "pid": os.getpid(),
        ENTITY_ID: environment.entity_id(),  # this process's (a forked child's own: see `handler`)
    }
