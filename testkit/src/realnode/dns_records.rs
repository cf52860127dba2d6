//! The cluster's DNS names as a hosts file (pure), the way CoreDNS's kubernetes plugin
//! answers them: `<svc>.<ns>.svc.cluster.local` is the ClusterIP, or for a headless
//! Service every ready address (publishNotReadyAddresses makes them all ready);
//! `<hostname>.<svc>.<ns>.svc.cluster.local` is each address that has a hostname (the
//! StatefulSet pods' peer names).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Endpoints, Service};
use kube::ResourceExt;

pub(crate) const DOMAIN: &str = "cluster.local";

fn key(ns: &str, name: &str) -> (String, String) {
    (ns.to_string(), name.to_string())
}

pub(crate) fn hosts_file(services: &[Service], endpoints: &[Endpoints]) -> String {
    let mut lines = BTreeSet::new();
    let mut headless = BTreeMap::new();
    for s in services {
        let ns = s.namespace().unwrap_or_default();
        let ip = s.spec.as_ref().and_then(|sp| sp.cluster_ip.clone());
        match ip.as_deref() {
            Some("None") => {
                headless.insert(key(&ns, &s.name_any()), ());
            }
            Some(ip) if !ip.is_empty() => {
                lines.insert(format!("{ip} {}.{ns}.svc.{DOMAIN}", s.name_any()));
            }
            _ => {}
        }
    }
    for e in endpoints {
        let ns = e.namespace().unwrap_or_default();
        let svc = e.name_any();
        let is_headless = headless.contains_key(&key(&ns, &svc));
        let addresses = e
            .subsets
            .iter()
            .flatten()
            .flat_map(|s| s.addresses.iter().flatten());
        for a in addresses {
            if is_headless {
                lines.insert(format!("{} {svc}.{ns}.svc.{DOMAIN}", a.ip));
            }
            if let Some(h) = &a.hostname {
                lines.insert(format!("{} {h}.{svc}.{ns}.svc.{DOMAIN}", a.ip));
            }
        }
    }
    lines.into_iter().map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, cluster_ip: &str) -> Service {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"clusterIP": cluster_ip}
        }))
        .expect("service")
    }

    fn endpoints(name: &str, addrs: &[(&str, Option<&str>)]) -> Endpoints {
        let addresses: Vec<_> = addrs
            .iter()
            .map(|(ip, h)| serde_json::json!({"ip": ip, "hostname": h}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns"},
            "subsets": [{"addresses": addresses}]
        }))
        .expect("endpoints")
    }

    #[test]
    fn headless_services_name_each_pod_and_cluster_ips_name_the_service() {
        let text = hosts_file(
            &[
                service("zk-headless", "None"),
                service("zk-client", "10.96.0.9"),
            ],
            &[
                endpoints(
                    "zk-headless",
                    &[("10.0.0.2", Some("zk-0")), ("10.0.0.3", Some("zk-1"))],
                ),
                endpoints("zk-client", &[("10.0.0.2", None)]),
            ],
        );
        assert_eq!(
            text,
            "10.0.0.2 zk-0.zk-headless.ns.svc.cluster.local\n\
             10.0.0.2 zk-headless.ns.svc.cluster.local\n\
             10.0.0.3 zk-1.zk-headless.ns.svc.cluster.local\n\
             10.0.0.3 zk-headless.ns.svc.cluster.local\n\
             10.96.0.9 zk-client.ns.svc.cluster.local\n"
        );
    }
}
