#!/usr/bin/env bash
# The pod sandbox image of the real node: the static pause binary build-real-node.sh builds
# from Kubernetes' build/pause, as a one-layer image archive tagged
# localhost/zk-testkit/pause:<version> (containerd's sandbox_image). Cached beside the
# binary, rebuilt when the binary is newer. Prints the archive's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/image-archive.sh"
bin=$("$here/build-real-node.sh")
version=$(cat "$bin/pause.version")
out="$bin/pause-image.tar"
if [ ! -s "$out" ] || [ "$bin/pause" -nt "$out" ]; then
  r=$(mktemp -d)
  trap 'rm -rf "$r"' EXIT
  cp "$bin/pause" "$r/pause"
  # 65535: the unprivileged user Kubernetes' own pause image runs as.
  make_image "$out" "$r" '{"Entrypoint":["/pause"],"User":"65535:65535"}' \
    "localhost/zk-testkit/pause:$version"
fi
echo "$out"
