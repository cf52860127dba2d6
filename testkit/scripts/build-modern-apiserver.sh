#!/usr/bin/env bash
# Builds Kubernetes 1.36's standalone apiextensions-apiserver (a real CRD server: structural
# schemas, CEL compilation and cost budget, server-side apply, status subresource) from
# Debian's development suite, once, into a cache outside the checkout. Prints the directory
# holding `apiextensions-apiserver` and `etcd`. Safe to run concurrently (flock) and again.
#
# Recipe (tests/README.md has the why): debootstrap a minimal sid chroot, install Go and
# golang-k8s-apiextensions-apiserver-dev (every Go dependency is packaged there), build our
# own small main.go (testkit/apiextensions/main.go) in GOPATH mode, keep the two static
# binaries and drop the chroot: sid moves, so a later rebuild may differ, and the chroot is
# ~3 GB.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${ZKOP_CACHE:-/var/cache/zookeeper-operator}
K8S_VERSION=v1.36.4
out="$CACHE_ROOT/apiextensions-${K8S_VERSION}"
main_go="$here/../apiextensions/main.go"
# The binary is keyed by the main.go and the recipe it was built from (their contents, not
# their paths: a clone elsewhere, as CI's, uses the same cache), so a change rebuilds.
key=$(cat "$main_go" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
mkdir -p "$CACHE_ROOT"
exec 8>"$CACHE_ROOT/.build-apiextensions.lock"
flock 8

log() { echo "[apiextensions] $*" >&2; }

if [ -x "$out/bin/apiextensions-apiserver" ] && [ -x "$out/bin/etcd" ] && [ "$(cat "$out/key" 2>/dev/null)" = "$key" ]; then
  echo "$out/bin"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "the apiextensions-apiserver is not built yet; run this script as root (sudo)"
  exit 1
fi

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
fi

t0=$(date +%s)
root="$CACHE_ROOT/sid-chroot"
cleanup() {
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
# A chroot left by an interrupted run is reused only when its packages are complete.
if [ ! -x "$root/usr/bin/go" ] || [ ! -d "$root/usr/share/gocode/src/k8s.io/apiextensions-apiserver" ]; then
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
  log "debootstrap sid (minbase) into $root"
  debootstrap --variant=minbase sid "$root" http://deb.debian.org/debian >&2
  # The sid index reachable here lags the clock.
  cat >"$root/etc/apt/apt.conf.d/99zkop" <<'APT'
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
Acquire::Languages "none";
APT
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  mount -t proc proc "$root/proc"
  log "installing Go, the apiextensions-apiserver source and etcd in the chroot"
  chroot "$root" apt-get update -qq >&2
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    golang-go golang-k8s-apiextensions-apiserver-dev etcd-server ca-certificates >&2
  umount "$root/proc"
fi
log "chroot ready after $(( $(date +%s) - t0 ))s"

mount -t proc proc "$root/proc"
pkg_version=$(chroot "$root" dpkg-query -W -f='${Version}' golang-k8s-apiextensions-apiserver-dev)
log "building from golang-k8s-apiextensions-apiserver-dev $pkg_version"
mkdir -p "$root/build/src/zkop/apiextensions"
cp "$main_go" "$root/build/src/zkop/apiextensions/main.go"
ver=k8s.io/component-base/version
ldflags="-s -w -X $ver.gitVersion=$K8S_VERSION -X $ver.gitMajor=1 -X $ver.gitMinor=36 -X $ver.gitTreeState=clean"
chroot "$root" env GO111MODULE=off GOPATH=/build:/usr/share/gocode GOCACHE=/build/.cache CGO_ENABLED=0 \
  go build -ldflags "$ldflags" -o /build/apiextensions-apiserver zkop/apiextensions >&2
umount "$root/proc"

rm -rf "$out"
mkdir -p "$out/bin"
cp "$root/build/apiextensions-apiserver" "$out/bin/"
cp "$root/usr/bin/etcd" "$out/bin/etcd"
echo "$pkg_version" >"$out/source-version"
echo "$key" >"$out/key"
log "built in $(( $(date +%s) - t0 ))s"
# ZKOP_KEEP_CHROOT=1 keeps it for work on main.go.
[ "${ZKOP_KEEP_CHROOT:-0}" = 1 ] || rm -rf "$root"
echo "$out/bin"
