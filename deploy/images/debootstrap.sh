#!/usr/bin/env bash
# What the debootstrap-made images share, sourced by jre/, python-ml/, kiln/ and postgres/build.sh:
# a minimal Debian root with a list of packages, from the mirror this machine's apt already uses,
# imported as an image. No registry is involved. Needs root and debootstrap; a few minutes.
SUITE=bookworm

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

# debootstrap_root WHO PACKAGES: a minbase $SUITE root with PACKAGES (comma-separated) in $ROOT,
# and the user kiln (1000); removed when the calling script exits. WHO names it in errors.
debootstrap_root() {
  local who=$1 packages=$2
  MIRROR=${MIRROR:-$(mirror_from_apt_sources)}
  if [ -z "$MIRROR" ]; then
    echo "$who: no Debian mirror found in /etc/apt/sources.list{,.d}; set MIRROR=" >&2
    exit 1
  fi
  command -v debootstrap >/dev/null || { echo "$who: debootstrap is missing" >&2; exit 1; }
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  ROOT=$WORK/root
  echo "debootstrap $SUITE from $MIRROR (a few minutes)"
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$ROOT" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log" >&2; exit 1; }
  chroot "$ROOT" groupadd -g 1000 kiln
  chroot "$ROOT" useradd -u 1000 -g 1000 -m -s /bin/sh kiln
}

# import_root TAG MESSAGE [INSTRUCTION...]: drops package caches, docs and device nodes (the
# container runtime's business), then imports $ROOT as TAG with PATH, LANG and each INSTRUCTION
# (a Dockerfile line: ENV, USER, ENTRYPOINT, CMD...).
import_root() {
  local tag=$1 message=$2
  shift 2
  local changes=(-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    -c 'ENV LANG=C.UTF-8')
  for instruction in "$@"; do
    changes+=(-c "$instruction")
  done
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
    "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/* "${ROOT:?}"/dev/*
  tar -C "$ROOT" -c . | docker import "${changes[@]}" -m "$message" - "$tag" >/dev/null
  echo "built $tag ($(docker image inspect -f '{{.Id}}' "$tag"))"
}
