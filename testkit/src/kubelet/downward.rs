//! The downward API: pod fields and container resources as strings, shared by env vars
//! (`valueFrom.fieldRef/resourceFieldRef`) and downwardAPI volume items.

use super::quantity;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// Facts about the running pod that are not in its spec.
#[derive(Clone, Debug)]
pub struct PodFacts {
    pub pod_ip: String,
    pub host_ip: String,
    pub node_name: String,
    /// Node allocatable, used when a container sets no limit (as the kubelet does).
    pub node_cpu_cores: f64,
    pub node_memory_bytes: f64,
}

/// Value of a `fieldRef.fieldPath`, or an error naming the unsupported path.
pub fn field_value(pod: &Pod, facts: &PodFacts, path: &str) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    if let Some(key) = bracket_key(path, "metadata.labels") {
        return Ok(lookup(meta.labels.as_ref(), &key));
    }
    if let Some(key) = bracket_key(path, "metadata.annotations") {
        return Ok(lookup(meta.annotations.as_ref(), &key));
    }
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => render_map(meta.labels.as_ref()),
        "metadata.annotations" => render_map(meta.annotations.as_ref()),
        "spec.nodeName" => facts.node_name.clone(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.clone(),
        "status.podIP" | "status.podIPs" => facts.pod_ip.clone(),
        other => return Err(format!("unsupported fieldRef {other:?}")),
    })
}

/// Value of a `resourceFieldRef` for `container` (`limits.memory`, `requests.cpu`, ...).
pub fn resource_value(
    container: &Container,
    facts: &PodFacts,
    resource: &str,
    divisor: Option<&Quantity>,
) -> Result<String, String> {
    let res = container.resources.as_ref();
    let (kind, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported resourceFieldRef {resource:?}"))?;
    let set = match kind {
        "limits" => res.and_then(|r| r.limits.as_ref()),
        "requests" => res.and_then(|r| r.requests.as_ref()),
        _ => return Err(format!("unsupported resourceFieldRef {resource:?}")),
    };
    let declared = set
        .and_then(|m| m.get(name))
        .and_then(|q| quantity::parse(&q.0));
    let value = match (declared, kind, name) {
        (Some(v), _, _) => v,
        (None, "limits", "cpu") => facts.node_cpu_cores,
        (None, "limits", "memory") => facts.node_memory_bytes,
        (None, _, _) => 0.0,
    };
    let divisor = match divisor {
        Some(q) => quantity::parse(&q.0).ok_or_else(|| format!("bad divisor {:?}", q.0))?,
        None => 1.0,
    };
    Ok(quantity::divided(value, divisor))
}

/// `metadata.labels['app']` -> `app`.
fn bracket_key(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?.strip_prefix("['")?;
    Some(rest.strip_suffix("']")?.to_string())
}

fn lookup(map: Option<&BTreeMap<String, String>>, key: &str) -> String {
    map.and_then(|m| m.get(key)).cloned().unwrap_or_default()
}

/// `key="value"` lines, sorted: the downward API file format for whole label maps.
fn render_map(map: Option<&BTreeMap<String, String>>) -> String {
    map.map(|m| {
        m.iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;

    fn facts() -> PodFacts {
        PodFacts {
            pod_ip: "10.244.1.5".into(),
            host_ip: "10.244.1.1".into(),
            node_name: "node".into(),
            node_cpu_cores: 2.0,
            node_memory_bytes: 4e9,
        }
    }

    #[test]
    fn fields_and_labels() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("zk-0".into());
        pod.metadata.labels = Some(BTreeMap::from([("app".into(), "zk".into())]));
        let f = facts();
        assert_eq!(field_value(&pod, &f, "metadata.name"), Ok("zk-0".into()));
        assert_eq!(
            field_value(&pod, &f, "metadata.labels['app']"),
            Ok("zk".into())
        );
        assert_eq!(
            field_value(&pod, &f, "status.podIP"),
            Ok("10.244.1.5".into())
        );
        assert!(field_value(&pod, &f, "spec.bogus").is_err());
    }

    #[test]
    fn resources_fall_back_to_node_allocatable() {
        let mut c = Container::default();
        let f = facts();
        assert_eq!(resource_value(&c, &f, "limits.cpu", None), Ok("2".into()));
        c.resources = Some(ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".into(), Quantity("1Gi".into()))])),
            ..Default::default()
        });
        let mi = Quantity("1Mi".into());
        assert_eq!(
            resource_value(&c, &f, "limits.memory", Some(&mi)),
            Ok("1024".into())
        );
    }
}
