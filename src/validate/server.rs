//! Fields the CRD accepts that an older Kubernetes does not know. The operator's client is
//! built for the 1.33 API, so the CRD takes the pod fields of 1.33; applied to an older
//! server, a StatefulSet carrying one fails as a whole ("field not declared in schema") or
//! loses the field silently (a feature gate off). Either way the user asked for something
//! that server cannot do: say so, naming the field, before anything is applied.
use serde_json::Value;

use super::FieldError;
use crate::api::ZookeeperClusterSpec;
use crate::build::ServerCapabilities;

/// (field name, where in the spec it counts, the first Kubernetes minor that serves it on
/// by default). From the Kubernetes changelogs: podAffinityTerm `matchLabelKeys` and
/// `mismatchLabelKeys` (beta 1.31), topology spread `minDomains` (beta 1.25),
/// `nodeAffinityPolicy`/`nodeTaintsPolicy` (beta 1.26), `matchLabelKeys` (beta 1.27),
/// resource `claims` (1.26) and a claim's `request` (1.31).
const NEWER_FIELDS: &[(&str, &str, u32)] = &[
    ("matchLabelKeys", "spec.pod.affinity", 31),
    ("mismatchLabelKeys", "spec.pod.affinity", 31),
    ("minDomains", "spec.pod.topologySpreadConstraints", 25),
    (
        "nodeAffinityPolicy",
        "spec.pod.topologySpreadConstraints",
        26,
    ),
    ("nodeTaintsPolicy", "spec.pod.topologySpreadConstraints", 26),
    ("matchLabelKeys", "spec.pod.topologySpreadConstraints", 27),
    ("claims", "spec.resources", 26),
    ("request", "spec.resources.claims", 31),
];

/// Every field of `spec` that `server` is too old for. Nothing when the server's version
/// is unknown (its discovery failed): the apply then reports what the server refuses.
pub fn check_server_support(
    spec: &ZookeeperClusterSpec,
    server: ServerCapabilities,
) -> Vec<FieldError> {
    let Some(minor) = server.minor else {
        return Vec::new();
    };
    let Ok(value) = serde_json::to_value(spec) else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    walk(&value, "spec", &mut |path, key| {
        for (name, under, since) in NEWER_FIELDS {
            if key == *name && path.starts_with(under) && minor < *since {
                errors.push(FieldError::new(
                    format!("{path}.{key}"),
                    format!("needs Kubernetes 1.{since} or newer; this server is 1.{minor}"),
                ));
            }
        }
    });
    errors
}

/// Calls `visit(path of the parent, key)` for every object key below `value`; list items
/// are `[i]` in the path, as in the API server's field paths.
fn walk(value: &Value, path: &str, visit: &mut impl FnMut(&str, &str)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if child.is_null() {
                    continue;
                }
                visit(path, key);
                walk(child, &format!("{path}.{key}"), visit);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::cluster;

    fn server(minor: u32) -> ServerCapabilities {
        ServerCapabilities {
            policy_v1: minor >= 21,
            minor: Some(minor),
        }
    }

    const AFFINITY: &str = "pod:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector: {matchLabels: {app: zk}}
        matchLabelKeys: [pod-template-hash]
";

    #[test]
    fn a_field_newer_than_the_server_is_named_with_both_versions() {
        let spec = cluster(AFFINITY).spec;
        let errors = check_server_support(&spec, server(20));
        assert_eq!(
            errors,
            [FieldError::new(
                "spec.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys",
                "needs Kubernetes 1.31 or newer; this server is 1.20"
            )]
        );
        assert!(check_server_support(&spec, server(31)).is_empty());
        assert!(check_server_support(&spec, server(36)).is_empty());
    }

    #[test]
    fn an_unknown_server_version_checks_nothing() {
        let spec = cluster(AFFINITY).spec;
        let unknown = ServerCapabilities {
            policy_v1: true,
            minor: None,
        };
        assert!(check_server_support(&spec, unknown).is_empty());
    }

    #[test]
    fn resource_claims_and_spread_fields_have_their_own_versions() {
        let spec = cluster(
            "resources:
  claims: [{name: gpu, request: one}]
pod:
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: zone
    whenUnsatisfiable: DoNotSchedule
    minDomains: 2
    matchLabelKeys: [x]
",
        )
        .spec;
        let fields = |minor| -> Vec<String> {
            check_server_support(&spec, server(minor))
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(24),
            [
                "spec.pod.topologySpreadConstraints[0].matchLabelKeys",
                "spec.pod.topologySpreadConstraints[0].minDomains",
                "spec.resources.claims",
                "spec.resources.claims[0].request",
            ]
        );
        assert_eq!(
            fields(26),
            [
                "spec.pod.topologySpreadConstraints[0].matchLabelKeys",
                "spec.resources.claims[0].request",
            ]
        );
        assert!(fields(31).is_empty());
        // The defaults use nothing newer than 1.20.
        assert!(check_server_support(&cluster("{}").spec, server(20)).is_empty());
    }
}
