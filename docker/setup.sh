#!/bin/sh
# The compose `setup` service: built-in users' passwords, logloop roles and users, the index
# template, then (once Kibana answers) the saved objects. Every step is idempotent.
set -eu
python /opt/logloop/bootstrap_users.py
exec logloop setup --wait-for-kibana "${KIBANA_WAIT_SECONDS:-600}"
