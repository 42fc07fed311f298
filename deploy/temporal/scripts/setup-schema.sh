#!/bin/sh
# temporal-schema job: creates Temporal's two databases and brings their schema to this release.
# Idempotent (create ignores an existing database, update-schema applies only what is missing).
set -eu
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
. "$(dirname "$0")/retry.sh"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u "$POSTGRES_USER" "$@"
}

for db in temporal temporal_visibility; do
  # The first statement also waits for PostgreSQL to accept this user over TCP.
  retry sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
done
sql_tool --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
sql_tool --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo "temporal-schema: databases temporal and temporal_visibility are up to date"
