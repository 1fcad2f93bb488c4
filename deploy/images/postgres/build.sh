#!/usr/bin/env bash
# Builds kiln/postgres:1 without a registry: Debian bookworm (../debootstrap.sh) with Debian's
# postgresql package and an entrypoint that initialises /var/lib/postgresql/data on first
# start (user and database from POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB) and then runs the
# server in the foreground as the postgres user, listening on every address.
set -euo pipefail
TAG=${1:-kiln/postgres:1}
# shellcheck source=../debootstrap.sh
source "$(dirname "$0")/../debootstrap.sh"
debootstrap_root postgres/build.sh postgresql-15
root=$ROOT
cat >"$root/usr/local/bin/postgres-entrypoint" <<'SH'
#!/bin/sh
set -eu
data=/var/lib/postgresql/data
bin=/usr/lib/postgresql/15/bin
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
if [ ! -s "$data/PG_VERSION" ]; then
  pw=$(mktemp); echo "${POSTGRES_PASSWORD:-kiln}" > "$pw"; chown postgres "$pw"
  su postgres -s /bin/sh -c "$bin/initdb -D $data -U ${POSTGRES_USER:-kiln} --pwfile=$pw -A scram-sha-256 -E UTF8"
  rm -f "$pw"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$data/pg_hba.conf"
  su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -o '-c listen_addresses=' -w start"
  su postgres -s /bin/sh -c "PGPASSWORD=${POSTGRES_PASSWORD:-kiln} $bin/psql -h /run/postgresql -U ${POSTGRES_USER:-kiln} -d postgres -c 'create database ${POSTGRES_DB:-kiln}'"
  su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -m fast -w stop"
fi
exec su postgres -s /bin/sh -c "exec $bin/postgres -D $data -c listen_addresses='*'"
SH
chmod 755 "$root/usr/local/bin/postgres-entrypoint"
rm -rf "$root"/var/lib/postgresql/15
import_root "$TAG" "postgres for kiln (debootstrap $SUITE, Debian postgresql-15)" \
  'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'EXPOSE 5432' 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]'
