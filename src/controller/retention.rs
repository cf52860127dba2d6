//! PVC retention, enforced by the operator so it works on every server version:
//! `whenDeleted: Delete` makes the cluster an owner of its PVCs (garbage collection removes
//! them with it); `whenScaled: Delete` removes the PVCs of members scaled away.
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::error::{Error, Result};
use crate::api::RetentionPolicy;
use crate::build::labels::{APP_NAME, INSTANCE_LABEL, NAME_LABEL, owner_reference, pod_name};
use crate::build::statefulset::DATA_VOLUME;
use crate::validate::ValidCluster;

/// The ordinal of a member PVC (`data-NAME-K`), if the name is one.
pub fn claim_ordinal(cluster: &str, claim: &str) -> Option<i32> {
    claim
        .strip_prefix(&format!("{DATA_VOLUME}-{cluster}-"))
        .and_then(|ordinal| ordinal.parse().ok())
}

pub async fn enforce(
    api: &Api<PersistentVolumeClaim>,
    cluster: &ValidCluster,
    pods: &[Pod],
) -> Result<()> {
    let selector = format!("{NAME_LABEL}={APP_NAME},{INSTANCE_LABEL}={}", cluster.name);
    let claims = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| Error::Fetch {
            what: "PersistentVolumeClaim list".into(),
            source,
        })?
        .items;
    let retention = cluster.spec.storage.retention;
    let owner = owner_reference(cluster);
    for claim in &claims {
        let name = claim.name_any();
        let Some(ordinal) = claim_ordinal(&cluster.name, &name) else {
            continue;
        };
        let scaled_away = ordinal >= cluster.spec.replicas
            && !pods
                .iter()
                .any(|p| p.name_any() == pod_name(&cluster.name, ordinal));
        if scaled_away && retention.when_scaled == RetentionPolicy::Delete {
            api.delete(&name, &DeleteParams::background())
                .await
                .map_err(|source| Error::Delete {
                    what: format!("PersistentVolumeClaim {name}"),
                    source,
                })?;
            tracing::info!(claim = %name, "deleted the PVC of a member scaled away");
            continue;
        }
        let owners = claim.owner_references();
        let has_owner = owners.iter().any(|o| o.uid == owner.uid);
        let wanted = retention.when_deleted == RetentionPolicy::Delete;
        if has_owner != wanted {
            let mut updated: Vec<OwnerReference> = owners
                .iter()
                .filter(|o| o.uid != owner.uid)
                .cloned()
                .collect();
            if wanted {
                // Not a controller reference: the StatefulSet made the claim.
                updated.push(OwnerReference {
                    controller: None,
                    ..owner.clone()
                });
            }
            let patch = json!({"metadata": {"ownerReferences": updated}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|source| Error::Apply {
                    what: format!("PersistentVolumeClaim {name}"),
                    source,
                })?;
            tracing::info!(claim = %name, delete_with_cluster = wanted, "updated PVC retention");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::claim_ordinal;

    #[test]
    fn claim_ordinals() {
        assert_eq!(claim_ordinal("zk", "data-zk-4"), Some(4));
        assert_eq!(claim_ordinal("zk", "data-zk-extra-4"), None);
        assert_eq!(claim_ordinal("zk", "logs-zk-1"), None);
    }
}
