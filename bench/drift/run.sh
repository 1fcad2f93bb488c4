#!/usr/bin/env bash
# The drift benchmark (docs/benchmarks.md, "## Drift"): kiln drift against pandas + scipy on the
# same 1,000,000 x 20 data, --method ks and auto, CSV and Parquet. Run from the repository root:
#   bench/drift/run.sh [DATA_DIR] [ROWS]
set -euo pipefail
dir="${1:-/tmp/kiln-drift-bench}"
rows="${2:-1000000}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -f "$dir/reference.csv" ]; then
  /usr/bin/python3 "$here/make_data.py" "$dir" "$rows"
fi
if [ ! -f "$dir/reference.parquet" ]; then
  duckdb_jar="$(ls ~/.m2/repository/org/duckdb/duckdb_jdbc/*/duckdb_jdbc-*.jar | sort -V | tail -1)"
  for f in reference current; do
    java -cp "$duckdb_jar" "$here/ToParquet.java" "$dir/$f.csv" "$dir/$f.parquet"
  done
fi
# Builds the jar first if needed, outside the timings; without the launcher's background work
# (class-data archive, daemon), which would share the processors with the first timed runs.
KILN_CDS=0 KILN_DAEMON=0 "$root/kiln" --version > /dev/null

t() {  # t LABEL COMMAND...: wall, user and system seconds and max RSS of one run; its last line
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "${@:2}" > "$dir/out.txt"
  read -r wall user sys rss < "$dir/time.txt"
  printf '%-32s wall %6.2f s  cpu %6.2f s  max RSS %4d MB   %s\n' "$1" "$wall" \
    "$(echo "$user + $sys" | bc)" "$((rss / 1024))" "$(tail -1 "$dir/out.txt")"
}
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for m in ks auto; do
  t "kiln drift csv --method $m" "$root/kiln" drift "$dir/reference.csv" "$dir/current.csv" --method "$m"
  t "kiln drift parquet --method $m" "$root/kiln" drift "$dir/reference.parquet" "$dir/current.parquet" --method "$m"
  t "pandas+scipy csv $m" /usr/bin/python3 "$here/drift_scipy.py" "$dir/reference.csv" "$dir/current.csv" "$m"
done
echo "load average afterwards $(cut -d' ' -f1-3 /proc/loadavg)"
