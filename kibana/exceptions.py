"""Errors of the kibana package (saved objects, import, stack setup).

    KibanaError                  root: the CLI prints its message on one line and exits 1
    ├── KibanaConfigError        a [kibana] setting or flag that cannot work (also a ValueError)
    ├── KibanaImportError        Kibana could not be reached, refused the request, or rejected
    │                            one or more saved objects (the message names each)
    └── SetupError               Elasticsearch refused the index template or is unreachable

HTTP errors from Kibana are translated in `kibana.importer` only; `elasticsearch` errors in
`kibana.setup` only. Each message is one line naming the problem and what to do next.
"""


class KibanaError(Exception):
    """Root of the kibana package's errors."""


class KibanaConfigError(KibanaError, ValueError):
    """A setting that cannot work; the message names the setting and the fix."""


class KibanaImportError(KibanaError):
    """The saved objects import failed as a whole or for some objects."""


class SetupError(KibanaError):
    """The index template could not be installed."""
