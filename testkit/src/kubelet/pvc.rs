//! Stands in for a storage provisioner: every pending PVC gets a hostPath PV pre-bound to it
//! (the controller-manager's PV binder then marks both Bound), backed by a host dir that
//! outlives pods and is removed, with the PV, once the claim is deleted.

use super::context::Shared;
use super::volumes::pvc_dir;
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use std::collections::{BTreeMap, HashSet};

const OWNER_LABEL: &str = "zk-testkit/provisioned-by";

/// The PV we create for a claim: same class, modes and size, pre-bound through claimRef.
pub fn volume_for(pvc: &PersistentVolumeClaim, node: &str, dir: &str) -> PersistentVolume {
    let spec = pvc.spec.clone().unwrap_or_default();
    let size = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage").cloned())
        .unwrap_or_else(|| Quantity("1Gi".into()));
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(pv_name(pvc)),
            labels: Some(BTreeMap::from([(
                OWNER_LABEL.to_string(),
                node.to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some(BTreeMap::from([("storage".to_string(), size)])),
            access_modes: spec
                .access_modes
                .clone()
                .or_else(|| Some(vec!["ReadWriteOnce".into()])),
            storage_class_name: Some(spec.storage_class_name.clone().unwrap_or_default()),
            volume_mode: spec.volume_mode.clone(),
            persistent_volume_reclaim_policy: Some("Retain".into()),
            host_path: Some(HostPathVolumeSource {
                path: dir.to_string(),
                type_: Some("DirectoryOrCreate".into()),
            }),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("PersistentVolumeClaim".into()),
                namespace: pvc.namespace(),
                name: Some(pvc.name_any()),
                uid: pvc.metadata.uid.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pv_name(pvc: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", pvc.metadata.uid.as_deref().unwrap_or_default())
}

/// One pass: provision pending claims, then remove PVs and dirs of deleted claims.
pub async fn reconcile(shared: &Shared, pvcs: &Store<PersistentVolumeClaim>) {
    let client = &shared.client;
    let claims = pvcs.state();
    for pvc in &claims {
        let pending = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .is_none_or(str::is_empty)
            && pvc.metadata.deletion_timestamp.is_none();
        if pending && let Err(e) = provision(shared, pvc).await {
            tracing::debug!(pvc = %pvc.name_any(), error = %e, "provisioning");
        }
    }
    let live: HashSet<String> = claims
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    if let Err(e) = collect_garbage(client, &shared.node_name, &live).await {
        tracing::debug!(error = %e, "PV garbage collection");
    }
    remove_orphan_dirs(&shared.pvc_root(), &live);
}

async fn provision(shared: &Shared, pvc: &PersistentVolumeClaim) -> anyhow::Result<()> {
    let ns = pvc.namespace().unwrap_or_default();
    let uid = pvc.metadata.uid.clone().unwrap_or_default();
    let dir = pvc_dir(&shared.pvc_root(), &ns, &pvc.name_any(), &uid);
    std::fs::create_dir_all(&dir)?;
    let pv = volume_for(pvc, &shared.node_name, &dir.display().to_string());
    let api: Api<PersistentVolume> = Api::all(shared.client.clone());
    match api.create(&PostParams::default(), &pv).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn collect_garbage(
    client: &Client,
    node: &str,
    live: &HashSet<String>,
) -> anyhow::Result<()> {
    let api: Api<PersistentVolume> = Api::all(client.clone());
    let mine = api
        .list(&ListParams::default().labels(&format!("{OWNER_LABEL}={node}")))
        .await?;
    for pv in mine {
        let claim_uid = pv
            .spec
            .as_ref()
            .and_then(|s| s.claim_ref.as_ref())
            .and_then(|c| c.uid.clone())
            .unwrap_or_default();
        if !live.contains(&claim_uid) {
            let _ = api.delete(&pv.name_any(), &DeleteParams::default()).await;
        }
    }
    Ok(())
}

/// Dirs are named `<ns>_<claim>_<uid>`; a uid no longer listed means the claim is gone.
fn remove_orphan_dirs(root: &std::path::Path, live: &HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let uid = name.rsplit('_').next().unwrap_or_default();
        if !live.contains(uid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// PVs this kubelet provisioned, deleted at stop so a later control plane run starts clean.
pub async fn delete_all(client: &Client, node: &str) {
    let api: Api<PersistentVolume> = Api::all(client.clone());
    let _ = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{OWNER_LABEL}={node}")),
        )
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};

    #[test]
    fn pv_matches_the_claim() {
        let pvc = PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("data-zk-0".into()),
                namespace: Some("ns".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([("storage".into(), Quantity("2Gi".into()))])),
                    ..Default::default()
                }),
                storage_class_name: Some("standard".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pv = volume_for(&pvc, "node", "/tmp/x");
        let spec = pv.spec.expect("spec");
        assert_eq!(pv.metadata.name.as_deref(), Some("pvc-u1"));
        assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
        assert_eq!(spec.capacity.expect("cap")["storage"].0, "2Gi");
        assert_eq!(spec.claim_ref.expect("ref").uid.as_deref(), Some("u1"));
    }
}
