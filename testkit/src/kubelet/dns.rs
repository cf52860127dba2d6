//! Cluster DNS stand-in: keeps every local pod's /etc/netns/<netns>/hosts listing what
//! CoreDNS would answer in its namespace, derived like CoreDNS from Endpoints: a service
//! name resolves to its ready addresses (ClusterIPs do not exist here, so clients get the
//! pods directly), `HOSTNAME.SERVICE.NS.svc.cluster.local` to an address whose endpoint
//! carries that hostname (StatefulSet pods behind their headless service; not-ready pods
//! only with publishNotReadyAddresses), and `kubernetes.default.svc` to the apiserver
//! forwarder on the bridge.

use super::context::Shared;
use super::hosts::{
    HostEntry, own_entry, pod_dns_names, render_hosts, render_resolv, service_dns_names,
    write_in_place,
};
use super::names::etc_netns_dir;
use super::registry::PodEntry;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Endpoints;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Watches Endpoints and rewrites hosts files on every change, on kicks (pods added or
/// removed here), and every few seconds as a safety net.
pub async fn run(shared: Arc<Shared>) {
    let (store, writer) = reflector::store();
    let api: Api<Endpoints> = Api::all(shared.client.clone());
    let stream =
        reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    let mut stream = std::pin::pin!(stream);
    loop {
        refresh(&shared, &store);
        tokio::select! {
            ev = stream.next() => if ev.is_none() { return },
            _ = shared.dns_kick.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        // Coalesce a burst of events into one rewrite.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn refresh(shared: &Shared, endpoints: &Store<Endpoints>) {
    let endpoints = endpoints.state();
    for entry in shared.registry.all() {
        let content = hosts_file(shared, &entry, &endpoints);
        if let Err(e) = write_files(&entry.net.netns, &entry.namespace, &content) {
            tracing::warn!(pod = %entry.name, error = %e, "writing the pod's hosts file");
        }
    }
}

/// The hosts file for one local pod.
pub fn hosts_file(shared: &Shared, entry: &PodEntry, endpoints: &[Arc<Endpoints>]) -> String {
    let own = own_entry(
        IpAddr::V4(entry.net.ip),
        &entry.hostname,
        entry.subdomain.as_deref(),
        &entry.namespace,
    );
    let mut others = namespace_entries(endpoints, &entry.namespace);
    others.push(HostEntry {
        ip: IpAddr::V4(shared.names.gateway()),
        names: service_dns_names("kubernetes", "default"),
    });
    render_hosts(&own, &others)
}

/// Records of every Service of `ns`, from its Endpoints (the controller already applied
/// readiness and publishNotReadyAddresses when it filled `addresses`).
pub fn namespace_entries(endpoints: &[Arc<Endpoints>], ns: &str) -> Vec<HostEntry> {
    let mut out = Vec::new();
    for ep in endpoints
        .iter()
        .filter(|e| e.namespace().as_deref() == Some(ns))
    {
        let service = ep.name_any();
        let addresses = ep
            .subsets
            .iter()
            .flatten()
            .flat_map(|s| s.addresses.iter().flatten());
        for addr in addresses {
            let Ok(ip) = addr.ip.parse::<IpAddr>() else {
                continue;
            };
            out.push(HostEntry {
                ip,
                names: service_dns_names(&service, ns),
            });
            if let Some(host) = addr.hostname.as_deref().filter(|h| !h.is_empty()) {
                out.push(HostEntry {
                    ip,
                    names: pod_dns_names(host, &service, ns),
                });
            }
        }
    }
    out
}

/// Writes hosts and resolv.conf; `ip netns exec` bind-mounts them over /etc in the pod.
pub fn write_files(netns: &str, ns: &str, hosts: &str) -> std::io::Result<()> {
    let dir = etc_netns_dir(netns);
    std::fs::create_dir_all(&dir)?;
    write_in_place(&dir.join("hosts"), hosts)?;
    write_in_place(&dir.join("resolv.conf"), &render_resolv(ns))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset};

    fn endpoints(name: &str, ns: &str, addrs: &[(&str, Option<&str>)]) -> Arc<Endpoints> {
        let mut e = Endpoints::default();
        e.metadata.name = Some(name.into());
        e.metadata.namespace = Some(ns.into());
        e.subsets = Some(vec![EndpointSubset {
            addresses: Some(
                addrs
                    .iter()
                    .map(|(ip, host)| EndpointAddress {
                        ip: ip.to_string(),
                        hostname: host.map(String::from),
                        ..Default::default()
                    })
                    .collect(),
            ),
            not_ready_addresses: Some(vec![EndpointAddress {
                ip: "10.244.1.99".into(),
                hostname: Some("zk-9".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }]);
        Arc::new(e)
    }

    #[test]
    fn records_come_from_ready_endpoints_of_the_namespace() {
        let eps = vec![
            endpoints(
                "zk-hs",
                "a",
                &[("10.244.1.2", Some("zk-0")), ("10.244.1.3", Some("zk-1"))],
            ),
            endpoints("zk-client", "a", &[("10.244.1.2", None)]),
            endpoints("other", "b", &[("10.244.1.7", Some("x-0"))]),
        ];
        let entries = namespace_entries(&eps, "a");
        let lines: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {}", e.ip, e.names[0]))
            .collect();
        assert!(lines.contains(&"10.244.1.2 zk-0.zk-hs.a.svc.cluster.local".to_string()));
        assert!(lines.contains(&"10.244.1.3 zk-hs.a.svc.cluster.local".to_string()));
        assert!(lines.contains(&"10.244.1.2 zk-client.a.svc.cluster.local".to_string()));
        assert!(
            !lines.iter().any(|l| l.contains("zk-9")),
            "not-ready addresses do not resolve"
        );
        assert!(
            !lines.iter().any(|l| l.contains("x-0")),
            "other namespaces do not leak in"
        );
    }
}
