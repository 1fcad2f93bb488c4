#!/usr/bin/env bash
# Builds kiln/jre:1 without a registry: a minimal Debian bookworm root made with
# debootstrap from the mirror this machine's apt already uses, with Debian's headless Java 17
# runtime, imported as an image: the base of the images `kiln models package` builds for Tribuo
# models. Needs root and debootstrap; takes a few minutes.
set -euo pipefail
TAG=${1:-kiln/jre:1}
SUITE=bookworm
PACKAGES=openjdk-17-jre-headless,ca-certificates

# The first Debian mirror named in the apt sources (one-line or deb822 format), not security.
mirror_from_apt_sources() {
  local files=()
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  { grep -hE '^\s*deb\s' "${files[@]}" 2>/dev/null | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    grep -hE '^\s*URIs:' "${files[@]}" 2>/dev/null | sed -E 's/^\s*URIs:\s*//' | tr ' ' '\n'
  } | grep -E '^https?://' | grep -v -- '-security' | grep -E '/debian/?$' | head -1
}

MIRROR=${MIRROR:-$(mirror_from_apt_sources)}
if [ -z "$MIRROR" ]; then
  echo "jre/build.sh: no Debian mirror found in /etc/apt/sources.list{,.d}; set MIRROR=" >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "jre/build.sh: debootstrap is missing" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "debootstrap $SUITE from $MIRROR (a few minutes)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/root" "$MIRROR" \
  >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

root=$work/root
chroot "$root" groupadd -g 1000 kiln
chroot "$root" useradd -u 1000 -g 1000 -m -s /bin/sh kiln
# java finds its libraries through /proc/self/exe, which a chroot lacks: check the files here
# and run it once the image exists.
test -x "$root/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
# Device nodes are the container runtime's business.
rm -rf "${root:?}"/dev/*

tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' -c 'CMD ["java", "-version"]' \
  -m "kiln jre image (debootstrap $SUITE)" - "$TAG" >/dev/null
docker run --rm "$TAG" java -version
echo "built $TAG ($(docker image inspect -f '{{.Id}}' "$TAG"))"
