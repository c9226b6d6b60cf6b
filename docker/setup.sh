#!/bin/sh
# The compose `setup` service: built-in users' passwords, logloop roles and users, the index
# template and (where the cluster has ILM) the lifecycle policy. Every step is idempotent. Kibana's
# saved objects are the `kibana-objects` service's job, so ingestion never waits for Kibana.
set -eu
python /opt/logloop/bootstrap_users.py
exec logloop setup
