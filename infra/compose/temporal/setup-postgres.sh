#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (default store and
# visibility). Runs in the temporalio/admin-tools image on every `up`: each step
# is idempotent (an existing database is kept, applied schema versions are
# skipped), so the same job also upgrades the schema after a server image bump.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
DB_PORT=${DB_PORT:-5432}
PLUGIN=${DB:-postgres12}
DBNAME=${DBNAME:-temporal}
VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}
SCHEMA_ROOT=${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}
MAX_ATTEMPTS=${SETUP_MAX_ATTEMPTS:-60}

# depends_on waits for the healthcheck, but a restarted PostgreSQL may still be
# coming up when this job is run again by hand.
attempt=1
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT is not reachable after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

sql_tool() {
  temporal-sql-tool --plugin "$PLUGIN" --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

setup() {
  db=$1
  schema_dir=$2
  echo "schema: $db"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$schema_dir"
}

setup "$DBNAME" "$SCHEMA_ROOT/temporal/versioned"
setup "$VISIBILITY_DBNAME" "$SCHEMA_ROOT/visibility/versioned"
echo "schema: done"
