//! The PodDisruptionBudget: voluntary disruptions (drains) take at most
//! `spec.pdb.maxUnavailable` members at a time (one by default).
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{object_meta, selector_labels};
use crate::validate::ValidCluster;

pub fn pod_disruption_budget(cluster: &ValidCluster) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: object_meta(cluster, cluster.name.clone()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(cluster.spec.pdb.max_unavailable())),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(&cluster.name)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
