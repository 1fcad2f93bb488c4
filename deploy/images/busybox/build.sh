#!/usr/bin/env bash
# Builds kiln/busybox:1 without a registry: a root folder holding Debian's static busybox,
# its applet links, /tmp and a passwd with root and an unprivileged user, imported as an image.
set -euo pipefail
TAG=${1:-kiln/busybox:1}
BUSYBOX=${BUSYBOX:-/bin/busybox}
linkage=$(ldd "$BUSYBOX" 2>&1 || true)
if [ ! -x "$BUSYBOX" ] || ! grep -qE 'not a dynamic|statically linked' <<<"$linkage"; then
  echo "busybox/build.sh: $BUSYBOX is not a static busybox; install Debian's busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/home/kiln"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
chroot "$root" /bin/busybox --install -s /bin 2>/dev/null \
  || for applet in $("$BUSYBOX" --list); do ln -sf busybox "$root/bin/$applet"; done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
kiln:x:1000:1000:kiln:/home/kiln:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
kiln:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$root/home/kiln"
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -m "kiln busybox image" - "$TAG" >/dev/null
echo "built $TAG ($(docker image inspect -f '{{.Id}}' "$TAG"))"
