#!/bin/sh
# Waits for the Temporal frontend and creates the namespace etcdfleet uses.
# Runs in the temporalio/admin-tools image on every `up`; an existing namespace
# is left as it is. The worker registers its own search attributes
# (EtcdCluster, EtcdOperation, EtcdPhase, EtcdVersion) once the namespace exists.
set -eu

TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
export TEMPORAL_ADDRESS
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-168h}
MAX_ATTEMPTS=${SETUP_MAX_ATTEMPTS:-60}
SLEEP_SECONDS=${SETUP_SLEEP_SECONDS:-2}

retry() {
  what=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "namespace: gave up waiting for $what after $MAX_ATTEMPTS attempts" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
}

namespace_exists() {
  temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1
}

# A create that timed out on the client may still have succeeded on the server,
# so a failed create counts as done when the namespace is there afterwards.
create_namespace() {
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "etcdfleet clusters and operations" || namespace_exists
}

retry "a healthy Temporal frontend at $TEMPORAL_ADDRESS" temporal operator cluster health
if namespace_exists; then
  echo "namespace: $NAMESPACE exists"
else
  retry "namespace $NAMESPACE to be created" create_namespace
  echo "namespace: $NAMESPACE created (retention $RETENTION)"
fi
# The frontend serves a new namespace once its namespace cache has refreshed;
# the worker and the API start right after this job, so wait for that here.
retry "namespace $NAMESPACE to be served" namespace_exists
