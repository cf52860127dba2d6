//! Pure: whether this kubelet should bind a pending pod to its node. It honours what pins a
//! pod to nodes (nodeSelector, required node affinity, schedulerName) but deliberately
//! ignores pod (anti-)affinity and resources: one process kubelet stands in for many nodes.

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, Pod};
use std::collections::BTreeMap;

/// Why a pod is not ours to bind, or `Ok` to bind it.
pub fn bindable(pod: &Pod, node_labels: &BTreeMap<String, String>) -> Result<(), String> {
    let Some(spec) = pod.spec.as_ref() else {
        return Err("no spec".into());
    };
    if spec.node_name.as_deref().is_some_and(|n| !n.is_empty()) {
        return Err("already bound".into());
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return Err("being deleted".into());
    }
    if let Some(s) = spec.scheduler_name.as_deref()
        && s != "default-scheduler"
    {
        return Err(format!("schedulerName {s}"));
    }
    for (k, v) in spec.node_selector.iter().flatten() {
        if node_labels.get(k) != Some(v) {
            return Err(format!("nodeSelector {k}={v} does not match"));
        }
    }
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|s| s.node_selector_terms.clone());
    if let Some(terms) = terms {
        // Terms are ORed; expressions inside a term are ANDed.
        let ok = terms.iter().any(|t| {
            t.match_expressions
                .iter()
                .flatten()
                .all(|e| requirement_matches(e, node_labels))
        });
        if !ok {
            return Err("required node affinity does not match".into());
        }
    }
    Ok(())
}

fn requirement_matches(e: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&e.key);
    let values = e.values.clone().unwrap_or_default();
    match e.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if e.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Affinity, NodeAffinity, NodeSelector, NodeSelectorTerm, PodSpec,
    };

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("kubernetes.io/hostname".into(), "zk-node-1".into()),
            ("kubernetes.io/os".into(), "linux".into()),
        ])
    }

    fn pod(spec: PodSpec) -> Pod {
        Pod {
            spec: Some(spec),
            ..Default::default()
        }
    }

    #[test]
    fn selects_by_node_selector_and_affinity() {
        assert!(bindable(&pod(PodSpec::default()), &labels()).is_ok());
        let sel = PodSpec {
            node_selector: Some(BTreeMap::from([(
                "kubernetes.io/os".into(),
                "windows".into(),
            )])),
            ..Default::default()
        };
        assert!(bindable(&pod(sel), &labels()).is_err());
        let aff = |op: &str, vals: &[&str]| PodSpec {
            affinity: Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: "kubernetes.io/hostname".into(),
                                operator: op.into(),
                                values: Some(vals.iter().map(|v| v.to_string()).collect()),
                            }]),
                            match_fields: None,
                        }],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(bindable(&pod(aff("In", &["zk-node-1"])), &labels()).is_ok());
        assert!(bindable(&pod(aff("NotIn", &["zk-node-1"])), &labels()).is_err());
        let bound = PodSpec {
            node_name: Some("other".into()),
            ..Default::default()
        };
        assert!(bindable(&pod(bound), &labels()).is_err());
    }
}
