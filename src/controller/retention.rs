//! PVC retention, enforced by the operator so it works on every server version:
//! `whenDeleted: Delete` makes the cluster an owner of its PVCs (garbage collection removes
//! them with it); `whenScaled: Delete` removes the PVCs of members scaled away. Planned
//! (pure, from the gathered claims) and acted on separately.
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::act::ActError;
use crate::api::RetentionPolicy;
use crate::build::labels::{owner_reference, pod_name};
use crate::build::statefulset::DATA_VOLUME;
use crate::validate::ValidCluster;

/// The ordinal of a member PVC (`data-NAME-K`), if the name is one.
pub fn claim_ordinal(cluster: &str, claim: &str) -> Option<i32> {
    claim
        .strip_prefix(&format!("{DATA_VOLUME}-{cluster}-"))
        .and_then(|ordinal| ordinal.parse().ok())
}

/// One change to a member claim.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimChange {
    /// The member was scaled away: its claim goes (`whenScaled: Delete`).
    Delete(String),
    /// The claim's owner references, with or without the cluster (`whenDeleted`).
    SetOwners {
        claim: String,
        owners: Vec<OwnerReference>,
        delete_with_cluster: bool,
    },
}

/// Pure: the changes retention wants. `replicas`: every ordinal below it is a member the
/// StatefulSet runs (or is about to stop running), whose claim stays.
pub fn plan(
    cluster: &ValidCluster,
    claims: &[PersistentVolumeClaim],
    pods: &[Pod],
    replicas: i32,
) -> Vec<ClaimChange> {
    let retention = cluster.spec.storage.retention;
    let owner = owner_reference(cluster);
    let mut changes = Vec::new();
    for claim in claims {
        let name = claim.name_any();
        let Some(ordinal) = claim_ordinal(&cluster.name, &name) else {
            continue;
        };
        let scaled_away = ordinal >= replicas
            && !pods
                .iter()
                .any(|p| p.name_any() == pod_name(&cluster.name, ordinal));
        if scaled_away && retention.when_scaled == RetentionPolicy::Delete {
            changes.push(ClaimChange::Delete(name));
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
            changes.push(ClaimChange::SetOwners {
                claim: name,
                owners: updated,
                delete_with_cluster: wanted,
            });
        }
    }
    changes
}

/// Act: issues the planned changes.
pub async fn enforce(
    api: &Api<PersistentVolumeClaim>,
    changes: &[ClaimChange],
) -> Result<(), ActError> {
    for change in changes {
        match change {
            ClaimChange::Delete(name) => {
                api.delete(name, &DeleteParams::background())
                    .await
                    .map_err(|source| ActError::Delete {
                        what: format!("PersistentVolumeClaim {name}"),
                        source,
                    })?;
                tracing::info!(claim = %name, "deleted the PVC of a member scaled away");
            }
            ClaimChange::SetOwners {
                claim,
                owners,
                delete_with_cluster,
            } => {
                let patch = json!({"metadata": {"ownerReferences": owners}});
                api.patch(claim, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|source| ActError::Apply {
                        what: format!("PersistentVolumeClaim {claim}"),
                        source,
                    })?;
                tracing::info!(%claim, delete_with_cluster, "updated PVC retention");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::validate::validate;

    fn valid(replicas: i32) -> ValidCluster {
        let c = crate::validate::tests::cluster(&format!(
            "replicas: {replicas}\nstorage:\n  retention:\n    whenScaled: Delete"
        ));
        validate(&c).expect("valid")
    }

    fn claim(name: &str) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..PersistentVolumeClaim::default()
        }
    }

    fn pod(name: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            ..Pod::default()
        }
    }

    #[test]
    fn claim_ordinals() {
        assert_eq!(claim_ordinal("zk", "data-zk-4"), Some(4));
        assert_eq!(claim_ordinal("zk", "data-zk-extra-4"), None);
        assert_eq!(claim_ordinal("zk", "logs-zk-1"), None);
    }

    #[test]
    fn a_member_that_still_votes_keeps_its_claim_while_its_pod_is_away() {
        // 5 -> 3, one member at a time: the StatefulSet still runs 4 (member 4, ordinal
        // 3, still votes) and zk-3's pod was just evicted.
        let cluster = valid(3);
        let name = cluster.name.clone();
        let claims: Vec<_> = (0..5).map(|o| claim(&format!("data-{name}-{o}"))).collect();
        let pods: Vec<_> = (0..3).map(|o| pod(&format!("{name}-{o}"))).collect();
        let deleted: Vec<_> = plan(&cluster, &claims, &pods, 4)
            .into_iter()
            .filter_map(|c| match c {
                ClaimChange::Delete(name) => Some(name),
                ClaimChange::SetOwners { .. } => None,
            })
            .collect();
        assert_eq!(deleted, vec![format!("data-{name}-4")]);
    }

    #[test]
    fn claims_of_members_scaled_away_go_and_owners_follow_the_policy() {
        let cluster = valid(3);
        let name = cluster.name.clone();
        let claims = vec![
            claim(&format!("data-{name}-0")),
            claim(&format!("data-{name}-3")),
        ];
        let pods = vec![pod(&format!("{name}-0"))];
        let changes = plan(&cluster, &claims, &pods, 3);
        assert_eq!(changes, vec![ClaimChange::Delete(format!("data-{name}-3"))]);
        // A pod still running beyond the replicas keeps its claim.
        let pods = vec![pod(&format!("{name}-0")), pod(&format!("{name}-3"))];
        assert!(plan(&cluster, &claims, &pods, 3).is_empty());
    }
}
