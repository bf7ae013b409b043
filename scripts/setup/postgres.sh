#!/usr/bin/env bash
# PostgreSQL for the registry's store tests: a cluster "lifeline" on 127.0.0.1:${LIFELINE_PG_PORT:-5433}, database
# lifeline_test owned by user lifeline (password lifeline). Idempotent: installs postgresql from apt if missing,
# creates the cluster once, starts it if it is down, and waits until it answers. The server runs as the postgres user
# (pg_ctlcluster drops root), listens on loopback only. Tests read LIFELINE_TEST_PG (see docs/registry.md).
set -euo pipefail
PORT="${LIFELINE_PG_PORT:-5433}"
CLUSTER=lifeline

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres.sh: installing postgresql from apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

VERSION="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
  echo "postgres.sh: creating cluster $VERSION/$CLUSTER on port $PORT"
  pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" >/dev/null
fi
# Loopback only; test data only, so durability is traded for speed (conf.d is read after postgresql.conf).
CONF_DIR="/etc/postgresql/$VERSION/$CLUSTER"
sed -i '/^listen_addresses/d' "$CONF_DIR/postgresql.conf"
mkdir -p "$CONF_DIR/conf.d"
printf "listen_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n" > "$CONF_DIR/conf.d/lifeline.conf"

if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -qx online; then
  pg_ctlcluster "$VERSION" "$CLUSTER" start
fi

for _ in $(seq 1 100); do
  if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p "$PORT" >/dev/null || { echo "postgres.sh: server on 127.0.0.1:$PORT does not answer" >&2; exit 1; }

psql_admin() { su postgres -c "psql -q -p $PORT -h /var/run/postgresql -v ON_ERROR_STOP=1 $*"; }
if [ "$(su postgres -c "psql -p $PORT -h /var/run/postgresql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='lifeline'\"")" != "1" ]; then
  psql_admin "-c \"CREATE ROLE lifeline LOGIN PASSWORD 'lifeline' CREATEDB\""
fi
if [ "$(su postgres -c "psql -p $PORT -h /var/run/postgresql -tAc \"SELECT 1 FROM pg_database WHERE datname='lifeline_test'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE lifeline_test OWNER lifeline\""
fi
echo "postgres.sh: ready on 127.0.0.1:$PORT (database lifeline_test, user lifeline)"
