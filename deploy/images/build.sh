#!/usr/bin/env bash
# Builds the local images Kiln's examples and tests use, skipping any that already exist.
# No registry is needed: each image is made from this machine's packages (see */build.sh).
set -euo pipefail
cd "$(dirname "$0")"
for spec in busybox:kiln/busybox:1 python-ml:kiln/python-ml:1 jre:kiln/jre:1; do
  dir=${spec%%:*}
  tag=${spec#*:}
  if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag: present"
  else
    echo "$tag: building"
    "./$dir/build.sh" "$tag"
  fi
done
