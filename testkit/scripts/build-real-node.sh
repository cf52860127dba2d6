#!/usr/bin/env bash
# Builds what a real node needs beside the control plane, once, into a cache outside the
# checkout: kubelet and kube-scheduler (Kubernetes 1.20.2 from Debian's `kubernetes` source,
# the same steps as build-control-plane.sh) and the static pause binary from `build/pause`.
# Also installs the node's runtime packages (containerd, runc, CNI plugins, dnsmasq).
#
# The cache is keyed by the source version AND this script's own hash (a `.recipe` stamp),
# so a changed recipe rebuilds instead of silently serving old binaries.
# Prints the directory holding the binaries. Needs root. Safe to run concurrently (flock).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${ZKOP_CACHE:-/var/cache/zookeeper-operator}
CACHE="$CACHE_ROOT/real-node"
mkdir -p "$CACHE"
log() { echo "[real-node build] $*" >&2; }

# What each package is for:
#   containerd runc containernetworking-plugins   the CRI runtime and the pod network
#   dnsmasq             the cluster DNS (fed from the API by the testkit)
#   gcc libc6-dev       the static pause binary
#   golang-go ...       the kubelet/scheduler build (as build-control-plane.sh)
need_pkgs=()
for p in containerd runc containernetworking-plugins dnsmasq-base gcc libc6-dev \
         golang-go rsync make golang-github-modern-go-reflect2-dev dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq >&2
  # No init system runs here, so the packaged services never start; the testkit runs its own.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

# The control plane script adds the deb-src line `apt-get source` needs (and is cached).
"$here/build-control-plane.sh" >/dev/null

exec 9>"$CACHE/.build.lock"
flock 9

src_version() { apt-cache showsrc kubernetes 2>/dev/null | awk '/^Version:/ {print $2; exit}'; }
version=$(src_version)
[ -n "$version" ] || { apt-get update -qq >&2; version=$(src_version); }
[ -n "$version" ] || { log "cannot find the kubernetes source package"; exit 1; }
out="$CACHE/kubernetes-${version//[:+~]/_}/bin"
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)

if [ "$(cat "$out/.recipe" 2>/dev/null)" = "$recipe" ] \
   && [ -x "$out/kubelet" ] && [ -x "$out/kube-scheduler" ] && [ -x "$out/pause" ]; then
  echo "$out"
  exit 0
fi

t0=$(date +%s)
log "building kubelet, kube-scheduler and pause from kubernetes $version (~6-8 min on 2 cores)"
work="$CACHE/build"
rm -rf "$work"
mkdir -p "$work"
# Debian's patches are applied on purpose: they are what Debian builds.
(cd "$work" && apt-get source -qq --download-only "kubernetes=$version" >&2 && dpkg-source -x ./*.dsc src >&2)
# Go 1.19 crashes the vendored reflect2 1.0.1 at run time; Debian's 1.0.2 fixes it.
rm -rf "$work/src/vendor/github.com/modern-go/reflect2"
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$work/src/vendor/github.com/modern-go/reflect2"
rm -f "$work/src/vendor/github.com/modern-go/reflect2/go.mod"
export GOPATH="$work/gopath"
mkdir -p "$GOPATH/src/k8s.io"
ln -s "$work/src" "$GOPATH/src/k8s.io/kubernetes"
(
  cd "$GOPATH/src/k8s.io/kubernetes"
  export CGO_ENABLED=0 GO111MODULE=off GOFLAGS=-mod=vendor GOCACHE="$work/gocache"
  make WHAT="cmd/kubelet cmd/kube-scheduler" >&2
) || { log "make failed"; exit 1; }
mkdir -p "$out"
rm -f "$out/.recipe"
for b in kubelet kube-scheduler; do
  f=$(find "$work/src/_output" -type f -name "$b" -perm -u+x | head -1)
  [ -n "$f" ] || { log "$b was not built"; exit 1; }
  cp "$f" "$out/$b.tmp" && mv "$out/$b.tmp" "$out/$b"
done
# The pause container: the C source Kubernetes ships, built static like its Makefile does.
pause_tag=$(awk -F' *[?:]?= *' '/^TAG *[?:]?=/ {print $2; exit}' "$work/src/build/pause/Makefile")
echo "${pause_tag:-unknown}" >"$out/pause.version"
gcc -Os -Wall -Werror -static -DVERSION="v${pause_tag:-unknown}" \
  -o "$out/pause.tmp" "$work/src/build/pause/linux/pause.c"
strip "$out/pause.tmp" && mv "$out/pause.tmp" "$out/pause"
cd /
rm -rf "$work"
echo "$recipe" >"$out/.recipe"
log "built in $(( $(date +%s) - t0 )) s; cached in $out"
echo "$out"
