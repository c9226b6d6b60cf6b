"""Set the stack's passwords and create logloop's least-privilege roles and users (compose `setup`).

Runs as `elastic` (ELASTIC_PASSWORD) against LOGLOOP_ES_URL and is idempotent:
    kibana_system     password := KIBANA_SYSTEM_PASSWORD (the built-in user Kibana logs in as)
    logloop_writer    role + user, password LOGLOOP_WRITER_PASSWORD: create documents in the daily
                      event indices <prefix>-20* and nothing else (Logstash, direct shippers)
    logloop_analyzer  role + user, password LOGLOOP_ANALYZER_PASSWORD: read events (and add its own
                      log records and regroup's keys to them), own the group registry and the
                      analyzers' other indices; it cannot delete event indices or documents
                      (retention is the lifecycle policy's job, installed by setup as `elastic`)
    logloop_viewer    role only (assign it to your Kibana users): read the events and the registry,
                      and read-only Dashboard and Discover in Kibana; nothing to write or delete
Prints one line per step; any failure is one line on stderr and exit status 1.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from shipper import schema


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"bootstrap: {name} is not set: copy .env.example to .env and fill it in")
    return value


def roles(prefix: str) -> dict[str, dict[str, Any]]:
    events = schema.index_pattern(prefix)  # the daily event indices the index template covers
    return {
        "logloop_writer": {
            "cluster": ["monitor"],  # Logstash's output checks the cluster version and license
            "indices": [{"names": [events], "privileges": ["create_doc", "create_index", "auto_configure"]}],
        },
        "logloop_analyzer": {
            # monitor: `logloop check` reads the shard limit, disk use and the index template;
            # read_ilm: prune asks whether the cluster's lifecycle policy deletes old indices.
            "cluster": ["monitor", "read_ilm"],
            "indices": [
                {
                    "names": [events],
                    # create_*: the scheduler ships its own log records; index: regroup's updates.
                    # No delete, delete_index or manage: the analyzer cannot remove events.
                    "privileges": [
                        "read",
                        "view_index_metadata",
                        "create_doc",
                        "create_index",
                        "auto_configure",
                        "index",
                    ],
                },
                {
                    "names": list(schema.analyzer_indices(prefix)),
                    "privileges": ["read", "write", "create_index", "view_index_metadata"],
                },
            ],
        },
        "logloop_viewer": {
            "cluster": [],
            "indices": [
                {
                    "names": [events, schema.registry_index(prefix)],
                    "privileges": ["read", "view_index_metadata"],
                },
            ],
            "applications": [
                {
                    "application": "kibana-.kibana",
                    "privileges": ["feature_dashboard.read", "feature_discover.read"],
                    "resources": ["*"],
                }
            ],
        },
    }


def main() -> int:
    url = os.environ.get("LOGLOOP_ES_URL", "http://elasticsearch:9200")
    prefix = os.environ.get("LOGLOOP_INDEX_PREFIX", schema.DEFAULT_INDEX_PREFIX)
    ca_certs = os.environ.get("LOGLOOP_ES_CA_CERTS") or None  # set by docker-compose.tls.yml
    es = Elasticsearch(
        url, basic_auth=("elastic", _require("ELASTIC_PASSWORD")), request_timeout=30, ca_certs=ca_certs
    )
    passwords = {
        "logloop_writer": _require("LOGLOOP_WRITER_PASSWORD"),
        "logloop_analyzer": _require("LOGLOOP_ANALYZER_PASSWORD"),
    }
    try:
        es.security.change_password(username="kibana_system", password=_require("KIBANA_SYSTEM_PASSWORD"))
        print("bootstrap: kibana_system password set")
        for role, body in roles(prefix).items():
            es.security.put_role(name=role, **body)
            if role not in passwords:  # a role for people, assigned to their own Kibana users
                print(f"bootstrap: role {role} ready")
                continue
            es.security.put_user(username=role, password=passwords[role], roles=[role], full_name=role)
            print(f"bootstrap: role and user {role} ready")
    except ApiError as exc:
        print(f"bootstrap: Elasticsearch refused: {exc.message} (HTTP {exc.status_code})", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(f"bootstrap: cannot reach Elasticsearch at {url}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        es.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
