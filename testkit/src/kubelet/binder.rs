//! The scheduler's part: binds pending pods to this node through the Binding subresource,
//! once their PersistentVolumeClaims are bound (as the real scheduler insists).

use super::scheduling::bindable;
use k8s_openapi::api::core::v1::{Binding, ObjectReference, PersistentVolumeClaim, Pod};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;

/// Whether the pod's claims all exist and are Bound; `Err` names the one we wait for.
pub fn claims_bound(pod: &Pod, pvcs: &Store<PersistentVolumeClaim>) -> Result<(), String> {
    let ns = pod.namespace().unwrap_or_default();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let Some(claim) = &v.persistent_volume_claim else {
            continue;
        };
        let bound = pvcs.state().iter().any(|p| {
            p.namespace().as_deref() == Some(ns.as_str())
                && p.name_any() == claim.claim_name
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
        });
        if !bound {
            return Err(format!(
                "waiting for PVC {ns}/{} to be bound",
                claim.claim_name
            ));
        }
    }
    Ok(())
}

/// Binds `pod` to `node` if it is ours to bind. Returns whether a binding was made.
pub async fn try_bind(
    client: &Client,
    pod: &Pod,
    node: &str,
    node_labels: &BTreeMap<String, String>,
    pvcs: &Store<PersistentVolumeClaim>,
) -> anyhow::Result<bool> {
    if bindable(pod, node_labels).is_err() || claims_bound(pod, pvcs).is_err() {
        return Ok(false);
    }
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let _: serde_json::Value = api
        .create_subresource("binding", &name, &PostParams::default(), &binding)
        .await?;
    tracing::debug!(pod = %format!("{ns}/{name}"), node, "bound");
    Ok(true)
}
