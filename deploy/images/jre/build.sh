#!/usr/bin/env bash
# Builds kiln/jre:1 without a registry: Debian bookworm (../debootstrap.sh) with Debian's
# headless Java 17 runtime and the user kiln (1000): the base of the images `kiln models
# package` builds for Tribuo models. Needs root and debootstrap; takes a few minutes.
set -euo pipefail
TAG=${1:-kiln/jre:1}
# shellcheck source=../debootstrap.sh
source "$(dirname "$0")/../debootstrap.sh"
debootstrap_root jre/build.sh openjdk-17-jre-headless,ca-certificates
# java finds its libraries through /proc/self/exe, which a chroot lacks: check the files here
# and run it once the image exists.
test -x "$ROOT/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
import_root "$TAG" "kiln jre image (debootstrap $SUITE)" 'CMD ["java", "-version"]'
docker run --rm "$TAG" java -version
