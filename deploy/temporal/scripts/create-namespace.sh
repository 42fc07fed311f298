#!/bin/sh
# temporal-namespace job: waits until the cluster answers, then creates NAMESPACE if it is missing.
set -eu
: "${NAMESPACE:?NAMESPACE is required}"
: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
. "$(dirname "$0")/retry.sh"

ensure_namespace() {
  if temporal operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1; then
    echo "temporal-namespace: namespace $NAMESPACE exists"
  else
    temporal operator namespace create -n "$NAMESPACE" --retention 30d \
      && echo "temporal-namespace: namespace $NAMESPACE created"
  fi
}

retry temporal operator cluster health
# Retried too: right after start the frontend can answer health before namespaces are served.
retry ensure_namespace
