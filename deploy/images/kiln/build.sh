#!/usr/bin/env bash
# Builds kiln/kiln:1 without a registry: Debian bookworm (../debootstrap.sh) with Debian's
# headless JRE, the runnable jar (deploy/target/kiln.jar, built first if missing) and a non-root user `kiln`
# (1000). Entrypoint `kiln`; `docker run kiln/kiln:1 server ...` or `... worker ...`, configured
# by env (KILN_DB_URL, KILN_ARTIFACTS, ...: docs/deploy.md). Needs root and debootstrap; a few
# minutes. The jar's DuckDB native library goes beside it, where DuckDB loads it directly.
set -euo pipefail
TAG=${1:-kiln/kiln:1}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=../debootstrap.sh
source "$here/../debootstrap.sh"

jar=$repo/deploy/target/kiln.jar
if [ ! -f "$jar" ]; then
  echo "building $jar"
  (cd "$repo" && mvn -B -q -DskipTests package)
fi

debootstrap_root kiln/build.sh openjdk-17-jre-headless,ca-certificates,procps
root=$ROOT
# Hosted pipelines (kiln server --pipelines): empty unless a volume or ConfigMap is mounted.
mkdir -p "$root/opt/kiln/pipelines" "$root/var/lib/kiln"
cp "$jar" "$root/opt/kiln/kiln.jar"
cp "$repo"/deploy/target/libduckdb_java.so_linux_* "$root/opt/kiln/" 2>/dev/null || true
cat >"$root/usr/local/bin/kiln" <<'SH'
#!/bin/sh
exec java ${KILN_JAVA_OPTS:-} -jar /opt/kiln/kiln.jar "$@"
SH
chmod 755 "$root/usr/local/bin/kiln"
chroot "$root" chown -R 1000:1000 /var/lib/kiln
import_root "$TAG" "kiln (debootstrap $SUITE, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo dev))" \
  'ENV KILN_HOME=/var/lib/kiln' 'USER 1000:1000' 'WORKDIR /var/lib/kiln' \
  'ENTRYPOINT ["/usr/local/bin/kiln"]' 'CMD ["--help"]'
