#!/usr/bin/env bash
# Builds kiln/s3proxy:1 on top of kiln/kiln:1 (build that first): S3Proxy's jars resolved from
# Maven Central through pom.xml here (the version and exclusions the root pom manages).
set -euo pipefail
TAG=${1:-kiln/s3proxy:1}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$here/lib"
mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/lib"
docker build -q -t "$TAG" "$here" >/dev/null
rm -rf "$here/lib"
echo "built $TAG"
