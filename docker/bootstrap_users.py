"""Set the stack's passwords and create logloop's least-privilege roles and users (compose `setup`).

Runs as `elastic` (ELASTIC_PASSWORD) against LOGLOOP_ES_URL and is idempotent:
    kibana_system     password := KIBANA_SYSTEM_PASSWORD (the built-in user Kibana logs in as)
    logloop_writer    role + user, password LOGLOOP_WRITER_PASSWORD: create documents in the daily
                      event indices <prefix>-20* and nothing else (Logstash, direct shippers)
    logloop_analyzer  role + user, password LOGLOOP_ANALYZER_PASSWORD: read events, own the group
                      registry <prefix>-groups and the analyzers' other <prefix>-* indices
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
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [
                {"names": [events], "privileges": ["read", "view_index_metadata"]},
                {"names": [f"{prefix}-*"], "privileges": ["read", "write", "create_index", "manage"]},
            ],
        },
    }


def main() -> int:
    url = os.environ.get("LOGLOOP_ES_URL", "http://elasticsearch:9200")
    prefix = os.environ.get("LOGLOOP_INDEX_PREFIX", schema.DEFAULT_INDEX_PREFIX)
    es = Elasticsearch(url, basic_auth=("elastic", _require("ELASTIC_PASSWORD")), request_timeout=30)
    passwords = {
        "logloop_writer": _require("LOGLOOP_WRITER_PASSWORD"),
        "logloop_analyzer": _require("LOGLOOP_ANALYZER_PASSWORD"),
    }
    try:
        es.security.change_password(username="kibana_system", password=_require("KIBANA_SYSTEM_PASSWORD"))
        print("bootstrap: kibana_system password set")
        for role, body in roles(prefix).items():
            es.security.put_role(name=role, **body)
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
