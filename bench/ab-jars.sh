#!/usr/bin/env bash
# A/B of two kiln jars on `kiln bench`, interleaved so that the machine's drift hits both alike:
#   bench/ab-jars.sh [PAIRS]      with the jars in /tmp/jarA/kiln.jar and /tmp/jarB/kiln.jar
# Each run gets a fresh KILN_HOME (its own embedded PostgreSQL), stopped afterwards.
set -uo pipefail
for i in $(seq 1 "${1:-6}"); do
  for v in A B; do
    export KILN_HOME="/tmp/ab-$v-$i"
    rm -rf "$KILN_HOME"
    out=$(java -jar "/tmp/jar$v/kiln.jar" bench --repeat 5 2>&1)
    med=$(echo "$out" | grep 'median per-step' | awk '{print $(NF-1)}')
    fan=$(echo "$out" | grep 'kiln fan-out of' | awk '{print $NF}')
    cmd=$(echo "$out" | grep 'as a child' | awk '{print $(NF-4)}')
    echo "$v chain-median ${med} ms  fan-out ${fan} steps/s  command ${cmd} ms"
    java -jar "/tmp/jar$v/kiln.jar" db stop > /dev/null
  done
done
