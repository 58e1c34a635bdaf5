#!/usr/bin/env bash
# npm run test:pg: starts a PostgreSQL cluster of our own (scripts/postgres-standalone.sh: own
# data directory, own free port; apt-installs postgresql-15 when missing), runs the PostgreSQL
# suites (vitest.pg.config.ts: the store behaviour suite on both backends, the engine and the
# CLI on a PostgreSQL store) with PG_URL set, and stops the cluster whatever the outcome.
# Extra arguments go to vitest (a file, -t NAME).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(bash scripts/postgres-standalone.sh start)
PG_URL=$(printf '%s\n' "$started" | sed -n 's/^PG_URL=//p')
PG_DIR=$(printf '%s\n' "$started" | sed -n 's/^PG_DIR=//p')
[ -n "$PG_URL" ] && [ -n "$PG_DIR" ] || {
  echo "test-pg: postgres-standalone.sh start printed no PG_URL/PG_DIR" >&2
  exit 1
}
trap 'bash scripts/postgres-standalone.sh stop "$PG_DIR" >&2 || true' EXIT
echo "test-pg: PostgreSQL at $PG_URL (data in $PG_DIR)" >&2
export PG_URL
# A suite that finds no PG_URL fails instead of skipping (it is set here; CI=true makes sure).
CI=true npx vitest run --config vitest.pg.config.ts "$@"
