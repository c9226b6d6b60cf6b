"""Errors of the shipper package.

    ShipperError                 root
    ├── ConfigurationError       handler or connection settings that cannot work (raised at set-up,
    │                            never from emit())
    ├── Unreachable              no Elasticsearch node answered where one had to (a sniff at start)
    └── SpoolError               the on-disk spool cannot be opened or written
        └── UnreadablePayload    a packed spool segment cannot be read back (damaged, unknown version)

`emit()` never raises any of these into the program: delivery failures are counted, retried,
spooled or dead-lettered instead.
"""


class ShipperError(Exception):
    """Root of the shipper's errors."""


class ConfigurationError(ShipperError, ValueError):
    """Settings that cannot work; the message names the setting and the fix."""


class Unreachable(ShipperError):
    """No Elasticsearch node answered where the client needs one to be built (`sniff` at start)."""


class SpoolError(ShipperError):
    """The on-disk spool cannot be opened or written."""


class UnreadablePayload(SpoolError):
    """A packed spool segment that cannot be expanded (damaged, or written by an unknown version)."""
