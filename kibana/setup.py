"""`logloop setup`: install the index template, create the group registry index (when the analyzers
are installed), and, when Kibana is configured, import the saved objects.

The template takes the shards and replicas of `[indices]`; where the cluster has ILM and the
analyzers are installed, a lifecycle policy for `[retention] events` is installed first and named
in the template (without ILM, `logloop prune` deletes expired indices instead).

Idempotent: the template is PUT under the same name, the saved objects are imported with
overwrite and stable ids, so running it again (the compose `setup` service does on every `up`)
converges to the same state. `elasticsearch` errors are translated into SetupError here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

from kibana import importer, objects
from kibana.exceptions import SetupError
from kibana.settings import KibanaSettings
from shipper import schema
from shipper.connection import TRANSIENT_STATUSES, transient_refusal


@dataclass(frozen=True)
class SetupReport:
    template: str
    index_pattern: str
    registry: str | None  # the group registry index, None when the analyzers are not installed
    kibana: importer.ImportResult | None
    lifecycle_policy: str | None = None  # None: no ILM (or no analyzers); `logloop prune` deletes


def install_template(es: Any, prefix: str, layout: schema.IndexLayout | None = None) -> str:
    """PUT the composable index template for `prefix` (shards, replicas, policy from `layout`); its name."""
    from elasticsearch import ApiError, TransportError

    name = schema.template_name(prefix)
    try:
        es.indices.put_index_template(name=name, **schema.index_template(prefix, layout))
    except ApiError as exc:
        if exc.status_code in TRANSIENT_STATUSES:
            node = getattr(exc.meta, "node", None)
            where = f"{node.scheme}://{node.host}:{node.port}{node.path_prefix or ''}" if node else "the node"
            phrase = HTTPStatus(exc.status_code).phrase
            raise SetupError(
                transient_refusal(where, exc.status_code, phrase, f"install the index template {name}")
            ) from None
        raise SetupError(
            f"Elasticsearch refused the index template {name}: {exc.message} (HTTP {exc.status_code})"
        ) from None
    except TransportError as exc:
        raise SetupError(f"cannot reach Elasticsearch to install the index template: {exc.message}") from None
    return name


def ensure_registry(es: Any, prefix: str, layout: schema.IndexLayout | None = None) -> str | None:
    """Create `<prefix>-groups` with the analyzers' mapping, so the registry data view resolves at once,
    and put the index templates of every bookkeeping index (`Store.put_bookkeeping_template`).

    The analyzers own the index (and translate its errors into AnalyzerError); without them there
    is nothing to create and None is returned.
    """
    try:
        from analyzers import group_edits, mailer, registry, template_store
        from analyzers.store import Store
    except ImportError:
        return None
    store = Store(es, prefix, replicas=(layout or schema.IndexLayout()).replicas)
    registry.ensure(store)
    # The other bookkeeping indices are created when first written; their index templates are put
    # now (setup holds `manage_index_templates`, the analyzer role does not), so one deleted later
    # and auto-created by a write gets its own mapping back, not a dynamic one.
    for index, mappings in (
        (store.group_edits, group_edits.MAPPING),
        (store.templates, template_store.MAPPING),
        (store.alerts, None),
        (store.digest_sends, mailer.MARKER_MAPPING),
    ):
        store.put_bookkeeping_template(index=index, mappings=mappings)
    for index in schema.analyzer_indices(prefix):  # `[indices] replicas` may have changed since
        store.apply_bookkeeping_replicas(index=index)
    return schema.registry_index(prefix)


def import_saved_objects(kibana: KibanaSettings, prefix: str) -> importer.ImportResult:
    """Import the saved objects generated for `prefix`; raise if Kibana refused any."""
    ndjson = objects.to_ndjson(objects.saved_objects(prefix)).encode("utf-8")
    result = importer.import_ndjson(kibana, ndjson, filename=f"{prefix}-saved-objects.ndjson")
    importer.raise_for_errors(result)
    return result


def install_lifecycle_policy(es: Any, prefix: str, retention: Mapping[str, Any]) -> str | None:
    """The ILM policy for `[retention]` where the cluster has ILM and the analyzers are installed."""
    try:
        from analyzers import config
        from analyzers import retention as lifecycle
        from analyzers.store import Store
    except ImportError:
        return None
    return lifecycle.install_policy(Store(es, prefix), config.retention_config(retention))


def run_setup(
    es: Any,
    prefix: str,
    kibana: KibanaSettings | None,
    *,
    wait_for_kibana: float = 0.0,
    layout: schema.IndexLayout | None = None,
    retention: Mapping[str, Any] | None = None,
) -> SetupReport:
    """Install the template (with the lifecycle policy, if any), then (if `kibana` is given) wait for
    Kibana and import the objects."""
    policy = install_lifecycle_policy(es, prefix, retention or {})
    template = install_template(es, prefix, replace(layout or schema.IndexLayout(), lifecycle_policy=policy))
    registry = ensure_registry(es, prefix, layout)
    result = None
    if kibana is not None:
        if wait_for_kibana > 0:
            importer.wait_until_available(kibana, wait_for_kibana)
        result = import_saved_objects(kibana, prefix)
    return SetupReport(
        template=template,
        index_pattern=schema.index_pattern(prefix),
        registry=registry,
        kibana=result,
        lifecycle_policy=policy,
    )
