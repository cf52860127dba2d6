#!/usr/bin/env bash
# Renders the plain-manifest install (manifests/install.yaml) from the Helm chart, so the
# chart is the one source of the operator's objects:
#
#   charts/render-install-yaml.sh > manifests/install.yaml
#
# = a Namespace enforcing the restricted Pod Security Standard, then `helm template` of
# charts/zookeeper-operator with default values in that namespace, CRD included.
# tests/manifests.rs runs this script and fails when install.yaml differs from its output.
# Uses $HELM, else the helm that testkit/scripts/install-helm.sh caches (the pinned
# version: another helm may format the output differently).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
helm=${HELM:-${ZKOP_CACHE:-/var/cache/zookeeper-operator}/tools/helm}
if [ ! -x "$helm" ]; then
  echo "render-install-yaml: no helm at $helm; run testkit/scripts/install-helm.sh" >&2
  exit 1
fi

namespace=zookeeper-operator
cat <<YAML
# Generated from charts/zookeeper-operator by charts/render-install-yaml.sh: do not edit.
# Install: kubectl apply --server-side -f manifests/install.yaml
# Kubernetes 1.30 or newer. On an older server (not supported: its CEL lacks rules this CRD
# uses, and 1.24 and older reject x-kubernetes-validations under server-side apply), apply
# \`zookeeper-operator crd --without-cel\` and this file without its CRD document.
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
YAML
"$helm" template zookeeper-operator "$here/zookeeper-operator" \
  --namespace "$namespace" --include-crds
