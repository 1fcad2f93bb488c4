#!/usr/bin/env bash
# Builds kiln/python-ml:1 without a registry: Debian bookworm (../debootstrap.sh) with Python and
# scikit-learn, the step helper kiln.py and the user kiln (1000). Needs root and debootstrap; takes a few minutes.
# On a machine that can pull base images, `docker build -t kiln/python-ml:1 .` with the
# Dockerfile beside this script gives an equivalent image.
set -euo pipefail
TAG=${1:-kiln/python-ml:1}
# shellcheck source=../debootstrap.sh
source "$(dirname "$0")/../debootstrap.sh"
debootstrap_root python-ml/build.sh python3,python3-sklearn,python3-pandas,python3-joblib,ca-certificates
# The step helper (import kiln; kiln.log_metric(...)): docs/dsl.md, "Python steps".
install -m 0644 "$(dirname "$0")/kiln.py" "$ROOT/usr/lib/python3/dist-packages/kiln.py"
chroot "$ROOT" python3 -c 'import sklearn, pandas, joblib, kiln'
import_root "$TAG" "kiln python-ml image (debootstrap $SUITE)" \
  'ENV PYTHONDONTWRITEBYTECODE=1' 'CMD ["python3"]'
