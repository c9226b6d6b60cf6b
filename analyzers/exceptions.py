"""Errors of the analyzers package.

    AnalyzerError                    root: the CLI prints its message on one line and exits 1
    ├── ConfigurationError           an [analyze]/[schedule]/[check]/[alerts]/[digest]/[smtp] setting
    │                                that cannot work (also a ValueError)
    ├── ElasticsearchUnavailable     the node cannot be reached, timed out or refused the request
    │   ├── NotElasticsearch         what answers at the URL is no Elasticsearch (an error status
    │   │                            without its product header: a web server, a proxy's own page)
    │   ├── TooManyBuckets           an aggregation answer would exceed `search.max_buckets`
    │   │                            (analyzers.group_pages asks for a smaller page instead)
    │   ├── MappingConflict          an event index maps a field the analyzers query with another type
    │   │                            than logloop's index template (created without the template)
    │   └── PartialAnswer            a search that must be whole (analyze's) was answered in part:
    │                                failed or missing shards, a timeout, a closed index
    ├── RegistryError                the group registry index holds something analyze cannot read
    ├── GroupNotFound                `resolve`/`ignore` named a group that matches no key (or several)
    ├── DeliveryError                an email (digest or alert) could not be handed to the SMTP server,
    │                                or a ticket to its webhook
    ├── AlertError                   an alert webhook could not be delivered
    └── OutputError                  an output file (a digest, a ticket) could not be written

`elasticsearch` errors are translated into these in `analyzers.store` only; SMTP errors in the mailer.
Each message is one line naming the problem and what to do next.
"""


class AnalyzerError(Exception):
    """Root of the analyzers' errors."""


class ConfigurationError(AnalyzerError, ValueError):
    """A setting that cannot work; the message names the section, the key and the fix."""


class ElasticsearchUnavailable(AnalyzerError):
    """Elasticsearch cannot be reached, timed out, or rejected a request."""


class NotElasticsearch(ElasticsearchUnavailable):
    """The URL reaches a server that is not Elasticsearch (it answered without the product header)."""


class TooManyBuckets(ElasticsearchUnavailable):
    """The node refused an aggregation whose answer would exceed `search.max_buckets`."""


class MappingConflict(ElasticsearchUnavailable):
    """A search was refused because an event index maps a field with another type than the template.

    `what` says which index maps which field how, `advice` what to do, `indices` names them all."""

    def __init__(
        self, message: str, *, what: str = "", advice: str = "", indices: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.what, self.advice, self.indices = what, advice, indices


class PartialAnswer(ElasticsearchUnavailable):
    """A search whose answer must be whole (the registry is written from it) left shards out.

    `indices` names the indices whose shards could not be read, when Elasticsearch said which."""

    def __init__(self, message: str, *, indices: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.indices = indices


class RegistryError(AnalyzerError):
    """The group registry index holds documents or a mapping analyze cannot use."""


class GroupNotFound(AnalyzerError, LookupError):
    """A group reference (key or key prefix) matches no group, or more than one."""


class DeliveryError(AnalyzerError):
    """The digest email could not be delivered to the SMTP server."""


class AlertError(AnalyzerError):
    """An alert (webhook or email) could not be delivered."""


class OutputError(AnalyzerError):
    """An output file could not be written (nothing partial is left at its path)."""
