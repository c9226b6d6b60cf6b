"""Errors raised by the `logloop` command-line layer.

    LogloopError                 root: the CLI prints its message on one line and exits 1
    ├── ConfigError              a configuration file or variable is missing or malformed
    └── EmbeddedNodeError        the embedded Elasticsearch node cannot be fetched, started or stopped

Each message says what went wrong and what to do next.
"""


class LogloopError(Exception):
    """Root of every error the CLI reports as one line."""


class ConfigError(LogloopError):
    """A configuration file or environment variable is missing or malformed."""


class EmbeddedNodeError(LogloopError):
    """The embedded Elasticsearch node cannot be fetched, started or stopped."""
