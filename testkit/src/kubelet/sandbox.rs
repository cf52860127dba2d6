//! A pod's host-side sandbox: its IP, network namespace, hosts file, directories and
//! registry entry (what fault injection and DNS look up), created before any container
//! and destroyed after the last one stopped.

use super::context::Shared;
use super::dns;
use super::downward::PodFacts;
use super::env::pod_hostname;
use super::hosts::{own_entry, render_hosts};
use super::net::{self, PodNet};
use super::registry::{ContainerCtl, PodEntry};
use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

/// The per-pod host resources.
pub struct Sandbox {
    pub uid: String,
    pub net: PodNet,
    pub host_number: u8,
    pub pod_dir: PathBuf,
    pub log_dir: PathBuf,
    pub pvc_root: PathBuf,
    pub ctls: BTreeMap<String, ContainerCtl>,
}

impl Sandbox {
    pub async fn create(shared: &Arc<Shared>, pod: &Pod) -> anyhow::Result<Sandbox> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let host_number = shared
            .ipam
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allocate()
            .ok_or_else(|| {
                anyhow::anyhow!("no free pod address in {}.0/24", shared.names.gateway())
            })?;
        let ip: Ipv4Addr = shared.names.pod_ip(host_number);
        let seq = shared.next_seq();
        let net = match net::create_pod_net(&shared.names, seq, ip).await {
            Ok(n) => n,
            Err(e) => {
                shared
                    .ipam
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .release(host_number);
                return Err(e);
            }
        };
        let pod_dir = shared.pods_dir().join(&uid);
        let log_dir = shared.root.join("logs").join(format!("{ns}_{name}_{uid}"));
        std::fs::create_dir_all(&pod_dir)?;
        std::fs::create_dir_all(&log_dir)?;
        let spec = pod.spec.clone().unwrap_or_default();
        let ctls: BTreeMap<String, ContainerCtl> = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .map(|c| (c.name.clone(), ContainerCtl::default()))
            .collect();
        let hostname = pod_hostname(pod);
        let subdomain = spec.subdomain.clone().filter(|s| !s.is_empty());
        // The hosts file must exist before the first container starts: `ip netns exec`
        // only bind-mounts files present at exec time. The DNS writer fills in peers.
        let own = own_entry(IpAddr::V4(ip), &hostname, subdomain.as_deref(), &ns);
        dns::write_files(&net.netns, &ns, &render_hosts(&own, &[]))?;
        shared.registry.insert(PodEntry {
            uid: uid.clone(),
            namespace: ns,
            name,
            hostname,
            subdomain,
            net: net.clone(),
            containers: ctls.clone(),
            terminating: false,
        });
        shared.dns_kick.notify_one();
        Ok(Sandbox {
            uid,
            net,
            host_number,
            pod_dir,
            log_dir,
            pvc_root: shared.pvc_root(),
            ctls,
        })
    }

    pub fn facts(&self, shared: &Shared) -> PodFacts {
        PodFacts {
            pod_ip: self.net.ip.to_string(),
            host_ip: shared.names.gateway().to_string(),
            node_name: shared.node_name.clone(),
            node_cpu_cores: shared.node_cpu_cores,
            node_memory_bytes: shared.node_memory_bytes,
        }
    }

    /// Kills leftovers, removes netns/veth, frees the IP, drops emptyDirs and the pod dir.
    /// PVC dirs live elsewhere and survive; logs stay until the kubelet stops.
    pub async fn destroy(&self, shared: &Shared) {
        net::remove_pod_net(&self.net).await;
        shared
            .ipam
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .release(self.host_number);
        shared.registry.remove(&self.uid);
        let _ = tokio::fs::remove_dir_all(&self.pod_dir).await;
    }
}
