#!/usr/bin/env bash
# The test command: set up, lint, type-check, run the whole suite against a real Elasticsearch node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ruff check .
mypy
lint-imports --no-cache
set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
