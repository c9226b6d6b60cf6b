"""The facts of the logging program that go with its records: the first frame of every segment.

The agent builds documents in another process, so host, process and argv must be the program's,
captured here. They are read the way `shipper.environment` reads them, except for `platform`:
`platform.platform()` reads the interpreter binary to find the libc version (about 14 ms, on the
program's first record), so the agent fills it in from its own, on the same host.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from shipper import environment
from shipper.redaction import Redactor


def facts(
    *,
    service: str,
    version: str | None,
    env: str | None,
    allowlist: Sequence[str],
    redactor: Redactor,
    grouping: Mapping[str, Any] | None = None,
    index_prefix: str | None = None,
) -> dict[str, Any]:
    """What the agent needs to write this program's documents as `EcsFormatter` would here: the
    user's redaction rules (names and patterns, never a secret) and `[grouping]` table included."""
    uname = os.uname()
    hostname = socket.gethostname()  # as shipper.environment reads it (not uname's nodename)
    program = os.path.basename(str(sys.argv[0])) if getattr(sys, "argv", None) and sys.argv[0] else ""
    name = sys.implementation.name
    implementation = "CPython" if name == "cpython" else name  # as platform.python_implementation()
    python_version = platform.python_version()  # cached by platform after the first call
    return {
        "service": service,
        "service_version": version,
        "environment": env,
        "env_allowlist": list(allowlist),
        "redact_keys": list(redactor.keys),
        "redact_patterns": list(redactor.patterns),
        "grouping": dict(grouping) if grouping else None,
        "index_prefix": index_prefix,  # where its documents go, whichever program's agent sends them
        "host": {
            "name": hostname,
            "hostname": hostname,
            "architecture": uname.machine,
            "os": {"type": uname.sysname.lower(), "platform": sys.platform, "version": uname.release},
        },
        "process_name": program or os.path.basename(sys.executable),
        "executable": sys.executable,
        "args": environment.argv(),  # redacted
        "python": f"{python_version} ({implementation})",
        "pid": os.getpid(),
    }
