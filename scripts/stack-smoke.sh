#!/usr/bin/env bash
# stack-smoke.sh: bring the docker-compose stack up and prove it end to end.
#
# CI does NOT run this script (no Docker engine there); CI only validates docker-compose.yml with
# `docker-compose config` and checks the files against each other (tests/test_stack_config.py).
# Run it yourself on a machine with Docker and this repository installed (pip install -e .):
#
#   cp .env.example .env          # and replace every change-me
#   bash scripts/stack-smoke.sh   # add --down to stop the stack (volumes kept) afterwards
#
# It: starts the stack (building the logloop image), waits for Elasticsearch, Kibana and Logstash
# to be healthy and for the setup service to finish, ships events with the shipper through the
# three paths (direct _bulk, Logstash Beats, Logstash TCP json_lines), sends one hand-made event
# twice over TCP (it must be stored once, in the daily index of its own @timestamp, host.* intact),
# imports the Kibana saved objects with `logloop kibana import`, and reports what it found.
# Exit status 0 only if every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."

down_after=0
[ "${1:-}" = "--down" ] && down_after=1

if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose=(docker-compose)
else
    echo "stack-smoke: neither 'docker compose' nor 'docker-compose' is installed" >&2
    exit 2
fi
if [ ! -f .env ]; then
    echo "stack-smoke: no .env: run 'cp .env.example .env' and replace every change-me" >&2
    exit 2
fi
if ! python3 -c "import shipper, kibana" 2>/dev/null; then
    echo "stack-smoke: the logloop package is not importable: run 'pip install -e .' first" >&2
    exit 2
fi

# .env is read key by key (values such as ES_JAVA_OPTS contain spaces, so it is not sourced).
env_value() { grep -E "^$1=" .env | tail -n 1 | cut -d= -f2- || true; }
ELASTIC_PASSWORD="$(env_value ELASTIC_PASSWORD)"
PREFIX="$(env_value LOGLOOP_INDEX_PREFIX)"; PREFIX="${PREFIX:-logloop}"
ES_PORT="$(env_value ES_PORT)"; ES_PORT="${ES_PORT:-9200}"
KIBANA_PORT="$(env_value KIBANA_PORT)"; KIBANA_PORT="${KIBANA_PORT:-5601}"
BEATS_PORT="$(env_value LOGSTASH_BEATS_PORT)"; BEATS_PORT="${BEATS_PORT:-5044}"
TCP_PORT="$(env_value LOGSTASH_TCP_PORT)"; TCP_PORT="${TCP_PORT:-5000}"

echo "== starting the stack"
"${compose[@]}" up -d --build

container() { "${compose[@]}" ps -q "$1"; }

wait_healthy() {
    local service=$1 deadline=$((SECONDS + 600)) status
    while :; do
        status="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(container "$service")" 2>/dev/null || echo missing)"
        [ "$status" = healthy ] && { echo "   $service: healthy"; return 0; }
        if [ $SECONDS -ge $deadline ]; then
            echo "stack-smoke: $service is '$status' after 10 minutes; its last log lines:" >&2
            "${compose[@]}" logs --tail 40 "$service" >&2
            exit 1
        fi
        sleep 5
    done
}

wait_setup() {
    local deadline=$((SECONDS + 900)) state
    while :; do
        state="$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(container setup)" 2>/dev/null || echo "missing 0")"
        case "$state" in
            "exited 0") echo "   setup: completed"; return 0 ;;
            exited*) echo "stack-smoke: the setup service failed ($state):" >&2
                     "${compose[@]}" logs --tail 40 setup >&2; exit 1 ;;
        esac
        if [ $SECONDS -ge $deadline ]; then
            echo "stack-smoke: setup still '$state' after 15 minutes" >&2
            "${compose[@]}" logs --tail 40 setup >&2
            exit 1
        fi
        sleep 5
    done
}

echo "== waiting for health"
wait_healthy elasticsearch
wait_setup
wait_healthy kibana
wait_healthy logstash

echo "== shipping events through the three paths, importing saved objects, counting"
status=0
ES_URL="http://127.0.0.1:${ES_PORT}" KIBANA_URL="http://127.0.0.1:${KIBANA_PORT}" \
ELASTIC_PASSWORD="$ELASTIC_PASSWORD" PREFIX="$PREFIX" BEATS_PORT="$BEATS_PORT" TCP_PORT="$TCP_PORT" \
python3 - <<'PY' || status=$?
import json, logging, os, socket, sys, tempfile, time, uuid
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from shipper import ShipperHandler, schema

es_url, password, prefix = os.environ["ES_URL"], os.environ["ELASTIC_PASSWORD"], os.environ["PREFIX"]
run = uuid.uuid4().hex[:12]
spool = tempfile.mkdtemp(prefix="logloop-smoke-")
paths = {
    "direct": dict(transport="elasticsearch", es_url=es_url, username="elastic", password=password),
    "beats": dict(transport="logstash-beats", logstash_port=int(os.environ["BEATS_PORT"])),
    "tcp": dict(transport="logstash-tcp", logstash_port=int(os.environ["TCP_PORT"])),
}
failures = []
for path, options in paths.items():
    logger = logging.getLogger(f"smoke.{path}")
    logger.propagate = False
    handler = ShipperHandler(
        f"smoke-{path}", service_version="0.0.1", index_prefix=prefix, close_timeout=20,
        spool_path=os.path.join(spool, f"{path}.sqlite"), **options,
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    for n in range(5):
        logger.info("smoke %s: info %d via %s", run, n, path)
    try:
        raise ValueError(f"smoke {run} boom via {path}")
    except ValueError:
        logger.exception("smoke %s: failed via %s", run, path)
    handler.close()

# One hand-made event, sent twice over TCP: stored once, in the index of its own (yesterday's) date.
stamp = (datetime.now(UTC) - timedelta(days=1)).replace(hour=23, minute=59, second=58, microsecond=0)
event_id = f"smoke-{run}-dup"
document = {
    "@timestamp": stamp.isoformat().replace("+00:00", "Z"),
    "event": {"id": event_id, "dataset": schema.DATASET_LOG},
    "log": {"level": "error"},
    "message": f"smoke {run}: duplicate",
    "host": {"name": "smoke-host", "hostname": "smoke-host.local"},
    "service": {"name": "smoke-dup"},
}
for _ in range(2):
    with socket.create_connection(("127.0.0.1", int(os.environ["TCP_PORT"])), timeout=10) as connection:
        connection.sendall((json.dumps(document) + "\n").encode())

es = Elasticsearch(es_url, basic_auth=("elastic", password), request_timeout=30)
expected = {"smoke-direct": 6, "smoke-beats": 6, "smoke-tcp": 6, "smoke-dup": 1}
deadline = time.monotonic() + 90
while True:
    es.indices.refresh(index=schema.index_pattern(prefix))
    counts = {
        service: es.count(
            index=schema.index_pattern(prefix),
            query={"bool": {"filter": [{"term": {"service.name": service}}, {"match_phrase": {"message": run}}]}},
        )["count"]
        for service in expected
    }
    if counts == expected or time.monotonic() > deadline:
        break
    time.sleep(3)
for service, count in counts.items():
    ok = count == expected[service]
    print(f"   {service:<13} {count} document(s) (expected {expected[service]}) {'ok' if ok else 'MISMATCH'}")
    if not ok:
        failures.append(f"{service}: {count} documents, expected {expected[service]}")

hits = es.search(index=schema.index_pattern(prefix), query={"ids": {"values": [event_id]}})["hits"]["hits"]
if hits:
    hit = hits[0]
    print(f"   duplicate event stored in {hit['_index']} (expected {schema.index_for(stamp, prefix)}), "
          f"host.name={hit['_source'].get('host', {}).get('name')!r}, tags={hit['_source'].get('tags')}")
    if hit["_index"] != schema.index_for(stamp, prefix):
        failures.append("the TCP event is not in the daily index of its own @timestamp")
    if hit["_source"].get("host") != document["host"]:
        failures.append(f"host.* was changed on the way: {hit['_source'].get('host')}")
    extra = sorted(set(hit["_source"]) - set(document))
    if extra:
        failures.append(f"Logstash added top-level fields: {extra}")
else:
    failures.append("the hand-made TCP event was not indexed")

errors = es.count(index=schema.index_pattern(prefix), query={"bool": {"filter": [
    {"exists": {"field": "error.grouping_key"}}, {"match_phrase": {"message": run}}]}})["count"]
print(f"   error events with a grouping key: {errors} (expected 3)")
if errors != 3:
    failures.append(f"{errors} error events carry error.grouping_key, expected 3")

es.close()

if failures:
    print("stack-smoke: FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"   events: every check passed (run {run})")
PY

echo "== importing the Kibana saved objects from this machine"
LOGLOOP_INDEX_PREFIX="$PREFIX" LOGLOOP_KIBANA_PASSWORD="$ELASTIC_PASSWORD" \
    logloop kibana import --url "http://127.0.0.1:${KIBANA_PORT}" --user elastic || status=1
found="$(curl -fsS -u "elastic:${ELASTIC_PASSWORD}" \
    "http://127.0.0.1:${KIBANA_PORT}/api/saved_objects/_find?type=dashboard&search_fields=title&search=%22Service%20manager%20health%22" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin).get("total", 0))' || echo 0)"
echo "   dashboards titled 'Service manager health' in Kibana: $found"
[ "$found" -ge 1 ] || status=1

if [ "$status" = 0 ]; then
    echo "stack-smoke: every check passed; open http://127.0.0.1:${KIBANA_PORT} -> Dashboards -> Service manager health"
else
    echo "stack-smoke: FAILED (see above)" >&2
fi

if [ "$down_after" = 1 ]; then
    echo "== stopping the stack (volumes kept)"
    "${compose[@]}" down
fi
exit "$status"
