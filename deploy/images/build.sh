#!/usr/bin/env bash
# Builds the local images Kiln's examples and tests use, skipping any that already exist.
# No registry is needed: each image is made from this machine's packages (see */build.sh).
# `build.sh all` also builds Kiln's own images (kiln, postgres, s3proxy: deploy/compose).
set -euo pipefail
cd "$(dirname "$0")"
specs="busybox:kiln/busybox:1 python-ml:kiln/python-ml:1 jre:kiln/jre:1"
if [ "${1:-}" = all ]; then
  specs="$specs kiln:kiln/kiln:1 postgres:kiln/postgres:1 s3proxy:kiln/s3proxy:1"
fi
for spec in $specs; do
  dir=${spec%%:*}
  tag=${spec#*:}
  if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag: present"
  else
    echo "$tag: building"
    "./$dir/build.sh" "$tag"
  fi
done
