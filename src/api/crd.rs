//! The CustomResourceDefinition as YAML, as `zookeeper-operator crd` prints it.
use kube::CustomResourceExt;
use serde_json::Value;

use super::ZookeeperCluster;

/// The CRD as YAML. `without_cel` strips `x-kubernetes-validations`, which servers older
/// than Kubernetes 1.25 reject under server-side apply ("field not declared in schema").
pub fn crd_yaml(without_cel: bool) -> Result<String, CrdError> {
    let mut crd = serde_json::to_value(ZookeeperCluster::crd())?;
    if without_cel {
        strip_cel_validations(&mut crd);
    }
    Ok(serde_norway::to_string(&crd)?)
}

#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("cannot serialize the CRD: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot render the CRD as YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
}

/// Removes every `x-kubernetes-validations` key, recursively.
pub fn strip_cel_validations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("x-kubernetes-validations");
            map.values_mut().for_each(strip_cel_validations);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_cel_validations),
        _ => {}
    }
}
