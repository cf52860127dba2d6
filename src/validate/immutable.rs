//! Fields that cannot change once the StatefulSet exists (its volume claim templates are
//! immutable). Checked against the live StatefulSet, so it holds on servers without CEL.
use k8s_openapi::api::apps::v1::StatefulSet;

use super::FieldError;
use super::quantity::parse_quantity;
use crate::api::{StorageMode, ZookeeperClusterSpec};
use crate::build::statefulset::DATA_VOLUME;

pub fn check_immutable(
    spec: &ZookeeperClusterSpec,
    existing: Option<&StatefulSet>,
) -> Vec<FieldError> {
    let Some(sts) = existing else {
        return Vec::new();
    };
    let template = sts
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_ref())
        .and_then(|t| {
            t.iter()
                .find(|c| c.metadata.name.as_deref() == Some(DATA_VOLUME))
        });
    let mut errors = Vec::new();
    match (spec.storage.mode, template) {
        (StorageMode::Ephemeral, Some(_)) => errors.push(FieldError::new(
            "spec.storage.mode",
            "is immutable: the cluster was created with Persistent storage",
        )),
        (StorageMode::Persistent, None) => errors.push(FieldError::new(
            "spec.storage.mode",
            "is immutable: the cluster was created with Ephemeral storage",
        )),
        (StorageMode::Ephemeral, None) => {}
        (StorageMode::Persistent, Some(claim)) => {
            let claim = claim.spec.as_ref();
            let class = claim.and_then(|c| c.storage_class_name.as_deref());
            if class != spec.storage.storage_class_name.as_deref() {
                errors.push(FieldError::new(
                    "spec.storage.storageClassName",
                    format!(
                        "is immutable: the cluster was created with {}",
                        class.unwrap_or("the default class")
                    ),
                ));
            }
            let size = claim
                .and_then(|c| c.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage"));
            if let Some(size) = size
                && parse_quantity(&size.0) != parse_quantity(&spec.storage.size.0)
            {
                errors.push(FieldError::new(
                    "spec.storage.size",
                    format!(
                        "cannot change from {} (resizing member volumes is not supported yet)",
                        size.0
                    ),
                ));
            }
        }
    }
    errors
}
