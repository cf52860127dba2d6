# Sourced, not run. make_image OUT.tar ROOTFS CONFIG_JSON TAG...: a one-layer image in the
# `docker save` layout (manifest.json + config + layer), which `ctr images import` loads
# without a registry. CONFIG_JSON is the image config's "config" object (Env, Entrypoint...).
# Deterministic: sorted entries, mtime 0, numeric owners as in ROOTFS.
make_image() {
  local tar_out=$1 rootfs=$2 cfg=$3 d layer_sha cfg_sha tags
  shift 3
  d=$(mktemp -d "$(dirname "$tar_out")/.img.XXXXXX")
  tar --sort=name --numeric-owner --mtime=@0 --xattrs -C "$rootfs" -cf "$d/layer.tar" .
  layer_sha=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
  mkdir "$d/$layer_sha" && mv "$d/layer.tar" "$d/$layer_sha/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"zookeeper-operator testkit"}]}' \
    "$cfg" "$layer_sha" >"$d/config.json"
  cfg_sha=$(sha256sum "$d/config.json" | cut -d' ' -f1)
  mv "$d/config.json" "$d/$cfg_sha.json"
  tags=$(printf '"%s",' "$@")
  printf '[{"Config":"%s.json","RepoTags":[%s],"Layers":["%s/layer.tar"]}]' \
    "$cfg_sha" "${tags%,}" "$layer_sha" >"$d/manifest.json"
  tar -C "$d" -cf "$tar_out.tmp" manifest.json "$cfg_sha.json" "$layer_sha" && mv "$tar_out.tmp" "$tar_out"
  rm -rf "$d"
}
