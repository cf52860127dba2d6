#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager from Debian's `kubernetes` source package
# (with Debian's Go), once, into a cache outside the checkout keyed by the source version.
# Prints the directory holding the binaries. Safe to run concurrently (flock) and repeatedly.
set -euo pipefail

CACHE_ROOT=${ZKOP_CACHE:-/var/cache/zookeeper-operator}
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9

log() { echo "[control-plane] $*" >&2; }

need_pkgs=()
for p in golang-go rsync make golang-github-modern-go-reflect2-dev dpkg-dev etcd-server; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

# deb-src is needed for `apt-get source`; add it once, for bookworm, mirroring the deb line.
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding a deb-src source for bookworm"
  cat >/etc/apt/sources.list.d/zkop-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt-get update -qq >&2
fi

src_version() { apt-cache showsrc kubernetes 2>/dev/null | awk '/^Version:/ {print $2; exit}'; }
version=$(src_version)
if [ -z "$version" ]; then
  # A deb-src line may exist while its index was never downloaded.
  apt-get update -qq >&2
  version=$(src_version)
fi
[ -n "$version" ] || { log "cannot find the kubernetes source package"; exit 1; }
out="$CACHE_ROOT/kubernetes-${version//[:+~]/_}"
if [ -x "$out/bin/kube-apiserver" ] && [ -x "$out/bin/kube-controller-manager" ]; then
  echo "$out/bin"
  exit 0
fi

log "building kubernetes $version (about 5 minutes on 2 cores)"
work="$CACHE_ROOT/build"
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
cd "$GOPATH/src/k8s.io/kubernetes"
export CGO_ENABLED=0 GO111MODULE=off GOFLAGS=-mod=vendor GOCACHE="$work/gocache"
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2 || {
  log "make failed"; exit 1; }
mkdir -p "$out/bin"
for b in kube-apiserver kube-controller-manager; do
  f=$(find _output -type f -name "$b" -perm -u+x | head -1)
  [ -n "$f" ] || { log "$b was not built"; exit 1; }
  cp "$f" "$out/bin/$b"
done
cd /
rm -rf "$work"
log "cached in $out/bin"
echo "$out/bin"
