#!/usr/bin/env bash
# Builds kiln/kiln:1 without a registry, like python-ml/build.sh: a minimal Debian bookworm root
# (debootstrap from the mirror in this machine's apt sources) with Debian's headless JRE, the
# runnable jar (deploy/target/kiln.jar, built first if missing) and a non-root user `kiln`
# (1000). Entrypoint `kiln`; `docker run kiln/kiln:1 server ...` or `... worker ...`, configured
# by env (KILN_DB_URL, KILN_ARTIFACTS, ...: docs/deploy.md). Needs root and debootstrap; a few
# minutes. The jar's DuckDB native library goes beside it, where DuckDB loads it directly.
set -euo pipefail
TAG=${1:-kiln/kiln:1}
SUITE=bookworm
PACKAGES=openjdk-17-jre-headless,ca-certificates,procps
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

# shellcheck source=../python-ml/build.sh disable=SC1091
MIRROR=${MIRROR:-$(sed -n '/^mirror_from_apt_sources()/,/^}/p' "$here/../python-ml/build.sh" \
  | bash -c 'source /dev/stdin; mirror_from_apt_sources')}
[ -n "$MIRROR" ] || { echo "kiln/build.sh: no Debian mirror in the apt sources; set MIRROR=" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "kiln/build.sh: debootstrap is missing" >&2; exit 1; }

jar=$repo/deploy/target/kiln.jar
if [ ! -f "$jar" ]; then
  echo "building $jar"
  (cd "$repo" && mvn -B -q -DskipTests package)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "debootstrap $SUITE from $MIRROR (a few minutes)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/root" "$MIRROR" \
  >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
root=$work/root
chroot "$root" groupadd -g 1000 kiln
chroot "$root" useradd -u 1000 -g 1000 -m -s /bin/sh kiln
# Hosted pipelines (kiln server --pipelines): empty unless a volume or ConfigMap is mounted.
mkdir -p "$root/opt/kiln/pipelines" "$root/var/lib/kiln"
cp "$jar" "$root/opt/kiln/kiln.jar"
cp "$repo"/deploy/target/libduckdb_java.so_* "$root/opt/kiln/" 2>/dev/null || true
cat >"$root/usr/local/bin/kiln" <<'SH'
#!/bin/sh
exec java ${KILN_JAVA_OPTS:-} -jar /opt/kiln/kiln.jar "$@"
SH
chmod 755 "$root/usr/local/bin/kiln"
chroot "$root" chown -R 1000:1000 /var/lib/kiln
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "${root:?}"/dev/*

tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' -c 'ENV KILN_HOME=/var/lib/kiln' \
  -c 'USER 1000:1000' -c 'WORKDIR /var/lib/kiln' \
  -c 'ENTRYPOINT ["/usr/local/bin/kiln"]' -c 'CMD ["--help"]' \
  -m "kiln (debootstrap $SUITE, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo dev))" \
  - "$TAG" >/dev/null
echo "built $TAG ($(docker image inspect -f '{{.Id}}' "$TAG"))"
