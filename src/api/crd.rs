//! The CustomResourceDefinition as the API server is given it (`zookeeper-operator crd`,
//! the chart, `manifests/install.yaml`, the tests).
use kube::CustomResourceExt;
use serde_json::Value;

use super::{MAX_NAME_LEN, ZookeeperCluster};

/// The CRD as JSON, finished for the API server: integer formats the server knows (see
/// `known_integer_format`). `without_cel` strips `x-kubernetes-validations`, which
/// servers older than Kubernetes 1.25 reject under server-side apply ("field not declared
/// in schema").
pub fn crd_json(without_cel: bool) -> Result<Value, CrdError> {
    let mut crd = serde_json::to_value(ZookeeperCluster::crd())?;
    map_integer_formats(&mut crd);
    add_name_rule(&mut crd);
    if without_cel {
        strip_cel_validations(&mut crd);
    }
    Ok(crd)
}

/// The CRD as YAML.
pub fn crd_yaml(without_cel: bool) -> Result<String, CrdError> {
    Ok(serde_norway::to_string(&crd_json(without_cel)?)?)
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

/// The cluster's name bounds every derived name (pods, Services, PVCs, labels); only a
/// root-level rule can see `metadata.name`, and the derive cannot place one there.
fn add_name_rule(crd: &mut Value) {
    let rule = serde_json::json!({
        "rule": format!("self.metadata.name.size() <= {MAX_NAME_LEN}"),
        "message": format!("metadata.name must be at most {MAX_NAME_LEN} characters so pod and service names stay valid"),
    });
    let versions = crd
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut);
    for version in versions.into_iter().flatten() {
        if let Some(Value::Object(schema)) = version.pointer_mut("/schema/openAPIV3Schema") {
            schema.insert(
                "x-kubernetes-validations".into(),
                Value::Array(vec![rule.clone()]),
            );
        }
    }
}

/// schemars names Rust's unsigned and narrow integers (`uint32`, `uint64`, `uint8`, ...);
/// the API server knows only `int32` and `int64` and warns once per unknown format at
/// every CRD apply. The bounds stay: schemars already writes `minimum: 0` (and the
/// narrow types' maximum), so only the format's name changes.
fn map_integer_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(format)) = map.get_mut("format")
                && let Some(known) = known_integer_format(format)
            {
                *format = known.to_string();
            }
            map.values_mut().for_each(map_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(map_integer_formats),
        _ => {}
    }
}

/// The smallest format the server knows that holds every value of `format`; `None` for
/// formats that need no change. A `uint64` above `i64::MAX` cannot be stored by the API
/// server anyway (JSON integers there are int64).
fn known_integer_format(format: &str) -> Option<&'static str> {
    match format {
        "int8" | "int16" | "uint8" | "uint16" => Some("int32"),
        "uint32" | "uint64" | "uint" => Some("int64"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format in the CRD is one Kubernetes' OpenAPI validation knows.
    #[test]
    fn every_format_is_known_to_the_api_server() {
        fn formats(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(f)) = map.get("format") {
                        out.push(f.clone());
                    }
                    map.values().for_each(|v| formats(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| formats(v, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        formats(&crd_json(false).expect("renders"), &mut found);
        // From k8s.io/kube-openapi/pkg/validation/strfmt (the formats the server checks).
        let known = [
            "int32",
            "int64",
            "float",
            "double",
            "byte",
            "date",
            "date-time",
            "duration",
        ];
        let unknown: Vec<_> = found
            .iter()
            .filter(|f| !known.contains(&f.as_str()))
            .collect();
        assert!(!found.is_empty(), "the CRD declares formats");
        assert!(unknown.is_empty(), "unknown formats: {unknown:?}");
    }

    /// The mapping changes only the format's name: every unsigned field keeps its
    /// `minimum` of 0 or more, so the server still rejects negative values.
    #[test]
    fn unsigned_fields_keep_their_lower_bound() {
        fn unsigned_minimums(value: &Value, out: &mut Vec<Option<f64>>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(f)) = map.get("format")
                        && f.starts_with("uint")
                    {
                        out.push(map.get("minimum").and_then(Value::as_f64));
                    }
                    map.values().for_each(|v| unsigned_minimums(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| unsigned_minimums(v, out)),
                _ => {}
            }
        }
        let raw = serde_json::to_value(ZookeeperCluster::crd()).expect("json");
        let mut minimums = Vec::new();
        unsigned_minimums(&raw, &mut minimums);
        assert!(!minimums.is_empty(), "the spec has unsigned fields");
        assert!(
            minimums.iter().all(|m| m.is_some_and(|m| m >= 0.0)),
            "{minimums:?}"
        );
        let finished = crd_json(false).expect("renders").to_string();
        assert!(!finished.contains("\"uint"), "no unsigned format is left");
        assert_eq!(known_integer_format("uint32"), Some("int64"));
        assert_eq!(known_integer_format("uint16"), Some("int32"));
        assert_eq!(known_integer_format("int32"), None);
    }
}
