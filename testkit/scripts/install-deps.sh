#!/usr/bin/env bash
# Installs everything the tests need on Debian bookworm, idempotently: apt packages, then the
# one-time builds of kube-apiserver/kube-controller-manager 1.20 (build-control-plane.sh, ~5 min)
# and of Kubernetes 1.36's apiextensions-apiserver (build-modern-apiserver.sh, ~8-15 min), both
# cached in /var/cache/zookeeper-operator; then the real node (build-real-node.sh: kubelet,
# kube-scheduler, pause, ~7 min; build-pause-image.sh; build-zookeeper-image.sh: ZooKeeper
# 3.9.6/3.8.0 images from Debian sid/bookworm after the official recipe, ~5 min).
# A no-op taking about a second when all is there.
# Needs root (CI runs as root; developers: sudo). Starts no service.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "[install-deps] $*" >&2; }

# What each package is for:
#   etcd-server         the control plane's storage (etcd 3.4)
#   openssl             the control plane's CA, serving cert and service-account key
#   zookeeper           ZooKeeper 3.8 (jar, zkCli.sh) run by the test kubelet; no service
#   python3-kazoo       a real ZooKeeper client for end-to-end checks
#   python3-aiosmtpd    a real SMTP server process the email notification tests deliver to
#   iproute2 util-linux procps   network namespaces, nsenter/unshare, ps/kill for the kubelet
#   ca-certificates     TLS to Debian mirrors on minimal images
#   containerd runc containernetworking-plugins dnsmasq-base   the real node (tests/e2e_real_node.rs)
#   debootstrap         the ZooKeeper images' root filesystems
#   prometheus          promtool: `check rules` and `test rules` on the chart's alert rules
#                       (tests/chart_promtool.rs); the server itself is not started
pkgs=(etcd-server openssl zookeeper python3-kazoo python3-aiosmtpd iproute2 util-linux procps ca-certificates
      containerd runc containernetworking-plugins dnsmasq-base debootstrap prometheus)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]}; run this script as root (sudo)"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The ZooKeeper images are mostly download and unpack (debootstrap): built beside the Go
# builds below, which are CPU-bound, to keep a cold run short.
images_out=$(mktemp)
"$here/build-zookeeper-image.sh" >"$images_out" &
images_pid=$!

bin=$("$here/build-control-plane.sh")
for b in kube-apiserver kube-controller-manager; do
  [ -x "$bin/$b" ] || { log "$bin/$b is missing after the build"; exit 1; }
done
log "control plane binaries in $bin; etcd $(etcd --version | awk 'NR==1 {print $3}')"
log "helm and kubectl (chart tests, install.yaml) in $("$here/install-helm.sh")"
# Kubernetes 1.36's CRD server (tests/crd_k8s136.rs): a sid chroot, ~8-15 min cold, cached.
log "Kubernetes 1.36 apiextensions-apiserver in $("$here/build-modern-apiserver.sh")"
# The real node (tests/e2e_real_node.rs): kubelet + kube-scheduler + pause (~7 min cold),
# the pause image, and the ZooKeeper images (~5 min cold, ~1 GB). All cached.
log "real node binaries in $("$here/build-real-node.sh")"
log "pause image $("$here/build-pause-image.sh")"
if ! wait "$images_pid"; then
  log "building the ZooKeeper images failed"
  rm -f "$images_out"
  exit 1
fi
log "ZooKeeper images in $(cat "$images_out")"
rm -f "$images_out"
