#!/usr/bin/env bash
# The machine's floor under Kiln's step and throughput targets (docs/benchmarks.md, "Issue 18,
# session 9"): make on a chain of 200 `sh -c true` steps; a JVM that starts the same steps and
# records each in the store (ChainFloor.java); the process-start ceiling; and the store's own cost
# of a one-step run (three committed transactions, pgbench, 20 clients) with the cores' busy time.
# Uses a scratch database kiln_floor in the store (`kiln db url`; KILN_DB_URL if set), then drops
# it. Run from the repository root: bench/floor/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
url="$(KILN_CDS=0 KILN_DAEMON=0 "$root/kiln" db url)"
# jdbc:postgresql://HOST:PORT/DB?user=U&password=P -> libpq variables for psql and pgbench
hostport="${url#jdbc:postgresql://}"; hostport="${hostport%%/*}"
query="${url#*\?}"
export PGHOST="${hostport%:*}" PGPORT="${hostport##*:}"
PGUSER="$(echo "$query" | tr '&' '\n' | sed -n 's/^user=//p')"
PGPASSWORD="$(echo "$query" | tr '&' '\n' | sed -n 's/^password=//p')"
export PGUSER PGPASSWORD
psql -qX -d postgres -c "drop database if exists kiln_floor" -c "create database kiln_floor"
trap 'psql -qX -d postgres -c "drop database if exists kiln_floor"; rm -rf "$work"' EXIT
floor_url="${url%%\?*}"; floor_url="${floor_url%/*}/kiln_floor?${query}"

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
{
  printf '.PHONY: all'; for i in $(seq 1 200); do printf ' s%d' "$i"; done; echo
  echo "all: s200"
  echo "s1:"; printf '\tsh -c true\n'
  for i in $(seq 2 200); do echo "s$i: s$((i - 1))"; printf '\tsh -c true\n'; done
} > "$work/Makefile"
for i in 1 2 3; do
  /usr/bin/time -f "make, chain of 200: %e s" make -s -f "$work/Makefile" > /dev/null
done
pgjdbc="$(ls ~/.m2/repository/org/postgresql/postgresql/*/postgresql-*.jar | sort -V | tail -1)"
java -cp "$pgjdbc" "$here/ChainFloor.java" "$floor_url" 200

psql -qX -d kiln_floor <<'SQL'
create table runs (id bigserial primary key, status text not null,
                   created timestamptz default now(), finished timestamptz);
create table tasks (id bigserial primary key, run_id bigint not null references runs,
                    step_id text not null, status text not null, worker text,
                    attempt int default 0, spec jsonb, lease_until timestamptz);
create index on tasks (id) where status = 'queued';
create table events (id bigserial primary key, run_id bigint, step_id text, status text,
                     at timestamptz default now());
SQL
read -r _ u n s _ _ irq sirq _ < /proc/stat; busy0=$((u + n + s + irq + sirq))
pgbench -n -c 20 -j 2 -T 15 -f "$here/pgbench-run.sql" kiln_floor > "$work/pgbench.txt" 2>&1 \
  || { cat "$work/pgbench.txt"; exit 1; }
read -r _ u n s _ _ irq sirq _ < /proc/stat; busy1=$((u + n + s + irq + sirq))
grep -E "^(number of transactions actually|number of failed|tps)" "$work/pgbench.txt"
echo "(a pgbench transaction here is one run: three committed transactions)"
echo "cores busy for $(( (busy1 - busy0) / 100 )) s of CPU during those 15 s (all processes)"
