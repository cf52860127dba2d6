//! A tiny provisioner for the StatefulSets' claims: every unbound PersistentVolumeClaim gets
//! a `local` PersistentVolume under the node's temp dir, pre-bound to it (claimRef) and
//! pinned to the node. `local` rather than `hostPath` because the kubelet applies the pod's
//! fsGroup to it, as a real cluster's volume plugins do (the members run as uid 1000).
//! Reclaim policy Retain, like a cluster default for data: a retained claim keeps its
//! data across scale down and up, which is the case the tests are about.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};

const POLL: Duration = Duration::from_millis(500);

/// Runs until aborted; a failed create is retried on the next tick.
pub(crate) async fn provision(client: Client, root: PathBuf, node: String) {
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let volumes: Api<PersistentVolume> = Api::all(client);
    loop {
        if let Ok(list) = claims.list(&ListParams::default()).await {
            for claim in list.items.iter().filter(|c| unbound(c)) {
                let pv = volume_for(claim, &root, &node);
                let Some(path) = local_path(&pv) else {
                    continue;
                };
                if std::fs::create_dir_all(&path).is_ok() {
                    let _ = volumes.create(&PostParams::default(), &pv).await;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

fn unbound(claim: &PersistentVolumeClaim) -> bool {
    claim.metadata.deletion_timestamp.is_none()
        && claim.spec.as_ref().is_some_and(|s| s.volume_name.is_none())
}

fn local_path(pv: &PersistentVolume) -> Option<String> {
    Some(pv.spec.as_ref()?.local.as_ref()?.path.clone())
}

/// The volume for `claim` (pure): named after the claim's uid, so a claim deleted and made
/// again gets a fresh, empty volume, as from a dynamic provisioner.
pub(crate) fn volume_for(
    claim: &PersistentVolumeClaim,
    root: &std::path::Path,
    node: &str,
) -> PersistentVolume {
    let ns = claim.namespace().unwrap_or_default();
    let uid = claim.uid().unwrap_or_default();
    let spec = claim.spec.clone().unwrap_or_default();
    let capacity: BTreeMap<String, _> = spec
        .resources
        .and_then(|r| r.requests)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "storage")
        .collect();
    let path = root.join(format!("{ns}-{}-{uid}", claim.name_any()));
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("pv-{uid}")},
        "spec": {
            "capacity": capacity,
            "accessModes": spec.access_modes.unwrap_or_else(|| vec!["ReadWriteOnce".into()]),
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": spec.storage_class_name.unwrap_or_default(),
            "volumeMode": "Filesystem",
            "claimRef": {"namespace": ns, "name": claim.name_any(), "uid": uid},
            "local": {"path": path},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
            ]}]}}
        }
    }))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_gets_a_local_volume_prebound_to_it_on_the_node() {
        let claim: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data-zk-0", "namespace": "ns", "uid": "u1"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}
        }))
        .expect("claim");
        let pv = volume_for(&claim, std::path::Path::new("/t/v"), "node-a");
        let v = serde_json::to_value(&pv).expect("json");
        assert_eq!(v["metadata"]["name"], "pv-u1");
        assert_eq!(v["spec"]["capacity"]["storage"], "1Gi");
        assert_eq!(v["spec"]["claimRef"]["name"], "data-zk-0");
        assert_eq!(v["spec"]["claimRef"]["uid"], "u1");
        assert_eq!(v["spec"]["local"]["path"], "/t/v/ns-data-zk-0-u1");
        assert_eq!(v["spec"]["storageClassName"], "");
        assert_eq!(
            v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
                [0],
            "node-a"
        );
    }
}
