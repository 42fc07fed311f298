#!/bin/sh
# temporal-namespace job: waits until the cluster answers, then creates NAMESPACE if it is missing
# and registers the ticket search attributes staff filter by in the Temporal UI (the names and types
# of workflows/names.py; the API sets them on every ticket it starts).
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

# NAME:Type pairs; one create per missing name, so a rerun changes nothing.
SEARCH_ATTRIBUTES="TicketStatus:Keyword TicketPriority:Keyword TicketTeam:Keyword TicketBreached:Bool"

ensure_search_attributes() {
  existing=$(temporal operator search-attribute list -n "$NAMESPACE") || return 1
  for pair in $SEARCH_ATTRIBUTES; do
    name=${pair%%:*}
    type=${pair#*:}
    if printf '%s\n' "$existing" | grep -qw "$name"; then
      continue
    fi
    temporal operator search-attribute create -n "$NAMESPACE" --name "$name" --type "$type" || return 1
    echo "temporal-namespace: search attribute $name ($type) created"
  done
}

retry temporal operator cluster health
# Retried too: right after start the frontend can answer health before namespaces are served.
retry ensure_namespace
retry ensure_search_attributes
