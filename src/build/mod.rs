//! Pure: a validated cluster -> the Kubernetes objects it should have. No client here.
pub mod config;
pub mod labels;
pub mod pdb;
pub mod scripts;
pub mod services;
pub mod statefulset;
pub mod super_secret;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use crate::validate::ValidCluster;

/// Every object a cluster owns, in the order they are applied (config before the pods
/// that read it).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObjects {
    pub config_map: ConfigMap,
    pub headless_service: Service,
    pub client_service: Service,
    pub statefulset: StatefulSet,
    /// `None` when the server has no `policy/v1` (Kubernetes older than 1.21).
    pub pdb: Option<PodDisruptionBudget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCapabilities {
    pub policy_v1: bool,
    /// The server's Kubernetes minor version (`36` for 1.36); `None` when unknown.
    pub minor: Option<u32>,
}

/// The membership the objects carry: how many pods the StatefulSet runs and which member
/// ids the ConfigMap lists for a member seeding its config. Equal to the spec when settled;
/// during a scale the planner's (`crate::scale`), one member at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub replicas: i32,
    /// Member ids (myid = ordinal + 1), ascending.
    pub members: Vec<u64>,
}

impl Membership {
    /// Every member of the spec, as for a new ensemble.
    pub fn of_spec(cluster: &ValidCluster) -> Self {
        let replicas = cluster.spec.replicas;
        Self {
            replicas,
            members: (1..=u64::try_from(replicas).unwrap_or(0)).collect(),
        }
    }
}

pub fn desired_objects(
    cluster: &ValidCluster,
    server: ServerCapabilities,
    membership: &Membership,
) -> DesiredObjects {
    let config_map = config::config_map(cluster, &membership.members);
    let hash = config::config_hash(&config_map);
    let config_map_name = labels::config_map_name(&cluster.name);
    DesiredObjects {
        statefulset: statefulset::statefulset(
            cluster,
            membership.replicas,
            &config_map_name,
            &hash,
        ),
        headless_service: services::headless_service(cluster),
        client_service: services::client_service(cluster),
        // Disabled: none desired, so the applier deletes the one it made before.
        pdb: (server.policy_v1 && cluster.spec.pdb.enabled())
            .then(|| pdb::pod_disruption_budget(cluster)),
        config_map,
    }
}

#[cfg(test)]
mod tests;
