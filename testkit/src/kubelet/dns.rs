//! Cluster DNS stand-in: keeps every local pod's /etc/netns/<netns>/hosts listing the pod
//! DNS names (`POD.SUBDOMAIN.NS.svc.cluster.local`) of all live pods of its namespace, the
//! headless-service name itself, and `kubernetes.default.svc` (the apiserver forwarder).

use super::context::Shared;
use super::env::pod_hostname;
use super::hosts::{
    HostEntry, own_entry, pod_dns_names, render_hosts, render_resolv, service_dns_names,
    write_in_place,
};
use super::names::etc_netns_dir;
use super::registry::PodEntry;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::Store;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Rewrites hosts files whenever kicked, and every few seconds as a safety net (pod IPs of
/// other kubelets' pods arrive through the watch without a kick).
pub async fn run(shared: Arc<Shared>, store: Store<Pod>) {
    loop {
        refresh(&shared, &store.state());
        tokio::select! {
            _ = shared.dns_kick.notified() => {
                // Coalesce a burst of pod events into one rewrite.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

pub fn refresh(shared: &Shared, pods: &[Arc<Pod>]) {
    let local = shared.registry.all();
    for entry in &local {
        let content = hosts_file(shared, entry, pods, &local);
        if let Err(e) = write_files(&entry.net.netns, &entry.namespace, &content) {
            tracing::warn!(pod = %entry.name, error = %e, "writing the pod's hosts file");
        }
    }
}

/// The hosts file for one local pod.
pub fn hosts_file(
    shared: &Shared,
    entry: &PodEntry,
    pods: &[Arc<Pod>],
    local: &[PodEntry],
) -> String {
    let own = own_entry(
        IpAddr::V4(entry.net.ip),
        &entry.hostname,
        entry.subdomain.as_deref(),
        &entry.namespace,
    );
    let mut others = namespace_entries(pods, local, &entry.namespace);
    others.push(HostEntry {
        ip: IpAddr::V4(shared.names.gateway()),
        names: service_dns_names("kubernetes", "default"),
    });
    render_hosts(&own, &others)
}

/// Entries for every live pod of `ns` that has a subdomain: its own names and the
/// subdomain (headless service) name. Local pods count with their IP before the status
/// patch carrying it lands, so peers can resolve each other as early as possible.
pub fn namespace_entries(pods: &[Arc<Pod>], local: &[PodEntry], ns: &str) -> Vec<HostEntry> {
    let mut out = Vec::new();
    let mut push = |ip: IpAddr, hostname: &str, sub: &str| {
        out.push(HostEntry {
            ip,
            names: pod_dns_names(hostname, sub, ns),
        });
        out.push(HostEntry {
            ip,
            names: service_dns_names(sub, ns),
        });
    };
    for e in local.iter().filter(|e| e.namespace == ns && !e.terminating) {
        if let Some(sub) = e.subdomain.as_deref().filter(|s| !s.is_empty()) {
            push(IpAddr::V4(e.net.ip), &e.hostname, sub);
        }
    }
    for pod in pods {
        if pod.metadata.namespace.as_deref() != Some(ns)
            || pod.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        if local.iter().any(|e| e.uid == uid) {
            continue;
        }
        let status = pod.status.as_ref();
        if matches!(
            status.and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        ) {
            continue;
        }
        let ip = status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse().ok());
        let sub = pod
            .spec
            .as_ref()
            .and_then(|s| s.subdomain.as_deref())
            .filter(|s| !s.is_empty());
        if let (Some(ip), Some(sub)) = (ip, sub) {
            push(ip, &pod_hostname(pod), sub);
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
    use crate::kubelet::net::PodNet;
    use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
    use std::collections::BTreeMap;

    fn pod(name: &str, ns: &str, ip: Option<&str>, phase: &str) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some(ns.into());
        p.metadata.uid = Some(format!("uid-{name}"));
        p.spec = Some(PodSpec {
            hostname: Some(name.into()),
            subdomain: Some("zk-hs".into()),
            ..Default::default()
        });
        p.status = Some(PodStatus {
            pod_ip: ip.map(String::from),
            phase: Some(phase.into()),
            ..Default::default()
        });
        Arc::new(p)
    }

    #[test]
    fn lists_live_pods_of_the_namespace_and_local_ones_early() {
        let local = PodEntry {
            uid: "uid-zk-0".into(),
            namespace: "a".into(),
            name: "zk-0".into(),
            hostname: "zk-0".into(),
            subdomain: Some("zk-hs".into()),
            net: PodNet {
                netns: "zk1-p1".into(),
                host_veth: "zk1h1".into(),
                ip: "10.244.1.2".parse().expect("ip"),
            },
            containers: BTreeMap::new(),
            terminating: false,
        };
        let pods = vec![
            pod("zk-0", "a", None, "Pending"),
            pod("zk-1", "a", Some("10.244.1.3"), "Running"),
            pod("zk-2", "a", Some("10.244.1.4"), "Failed"),
            pod("zk-9", "b", Some("10.244.1.9"), "Running"),
        ];
        let entries = namespace_entries(&pods, &[local], "a");
        let names: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {}", e.ip, e.names[0]))
            .collect();
        assert!(names.contains(&"10.244.1.2 zk-0.zk-hs.a.svc.cluster.local".to_string()));
        assert!(names.contains(&"10.244.1.3 zk-1.zk-hs.a.svc.cluster.local".to_string()));
        assert!(names.contains(&"10.244.1.3 zk-hs.a.svc.cluster.local".to_string()));
        assert!(
            !names
                .iter()
                .any(|n| n.contains("zk-2") || n.contains("zk-9"))
        );
    }
}
