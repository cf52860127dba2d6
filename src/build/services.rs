//! The headless Service (peer DNS for quorum and election) and the client Service.
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels::{
    CLIENT_PORT, ELECTION_PORT, QUORUM_PORT, client_service_name, headless_service_name,
    object_meta, selector_labels,
};
use crate::validate::ValidCluster;

fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }
}

/// Peers must resolve each other before they are Ready (they become Ready only once a
/// quorum formed), hence `publishNotReadyAddresses`.
pub fn headless_service(cluster: &ValidCluster) -> Service {
    Service {
        metadata: object_meta(cluster, headless_service_name(&cluster.name)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(&cluster.name)),
            ports: Some(vec![
                port("client", CLIENT_PORT),
                port("quorum", QUORUM_PORT),
                port("leader-election", ELECTION_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// Clients reach only Ready (serving) members.
pub fn client_service(cluster: &ValidCluster) -> Service {
    Service {
        metadata: object_meta(cluster, client_service_name(&cluster.name)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(selector_labels(&cluster.name)),
            ports: Some(vec![port("client", CLIENT_PORT)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
