//! Names and labels every object of a cluster shares.
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::validate::ValidCluster;

pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const APP_NAME: &str = "zookeeper";
pub const MANAGER: &str = "zookeeper-operator";

/// Labels that select a cluster's pods; users may not override them.
pub const SELECTOR_LABEL_KEYS: &[&str] = &[NAME_LABEL, INSTANCE_LABEL];

pub const CLIENT_PORT: i32 = 2181;
pub const QUORUM_PORT: i32 = 2888;
pub const ELECTION_PORT: i32 = 3888;

pub fn headless_service_name(cluster: &str) -> String {
    format!("{cluster}-headless")
}

pub fn client_service_name(cluster: &str) -> String {
    format!("{cluster}-client")
}

pub fn config_map_name(cluster: &str) -> String {
    format!("{cluster}-config")
}

/// Pod `NAME-K` runs the member with myid `K + 1` (ZooKeeper ids start at 1).
pub fn pod_name(cluster: &str, ordinal: i32) -> String {
    format!("{cluster}-{ordinal}")
}

/// The ordinal of pod `NAME-K`, if the name is one of the cluster's.
pub fn pod_ordinal(cluster: &str, pod: &str) -> Option<i32> {
    pod.strip_prefix(cluster)?.strip_prefix('-')?.parse().ok()
}

pub fn myid(ordinal: i32) -> i32 {
    ordinal + 1
}

/// The stable DNS name of a member: `NAME-K.NAME-headless.NS.svc.DOMAIN`.
pub fn member_host(cluster: &ValidCluster, ordinal: i32) -> String {
    format!(
        "{}.{}.{}.svc.{}",
        pod_name(&cluster.name, ordinal),
        headless_service_name(&cluster.name),
        cluster.namespace,
        cluster.spec.cluster_domain
    )
}

pub fn selector_labels(cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME_LABEL.to_string(), APP_NAME.to_string()),
        (INSTANCE_LABEL.to_string(), cluster.to_string()),
    ])
}

/// The label selector (as a string) matching a cluster's member pods, for
/// `status.selector`.
pub fn pod_selector(cluster: &str) -> String {
    selector_labels(cluster)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The label selector (as a string) matching every object the operator made for a cluster.
pub fn owned_selector(cluster: &str) -> String {
    format!("{NAME_LABEL}={APP_NAME},{INSTANCE_LABEL}={cluster},{MANAGED_BY_LABEL}={MANAGER}")
}

pub fn object_labels(cluster: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(cluster);
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGER.to_string());
    labels.insert(COMPONENT_LABEL.to_string(), "server".to_string());
    labels
}

pub fn owner_reference(cluster: &ValidCluster) -> OwnerReference {
    OwnerReference {
        api_version: "zookeeper.ensemble.dev/v1alpha1".to_string(),
        kind: "ZookeeperCluster".to_string(),
        name: cluster.name.clone(),
        uid: cluster.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Metadata of an owned object: name, namespace, labels, controller owner reference.
pub fn object_meta(cluster: &ValidCluster, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(cluster.namespace.clone()),
        labels: Some(object_labels(&cluster.name)),
        owner_references: Some(vec![owner_reference(cluster)]),
        ..ObjectMeta::default()
    }
}
