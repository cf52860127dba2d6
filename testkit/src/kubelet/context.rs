//! State shared by all of one kubelet's tasks.

use super::ipam::Ipam;
use super::names::SlotNames;
use super::options::KubeletOptions;
use super::registry::Registry;
use kube::Client;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::Notify;

pub struct Shared {
    pub client: Client,
    pub names: SlotNames,
    pub node_name: String,
    pub opts: KubeletOptions,
    pub root: PathBuf,
    pub shim_bin: PathBuf,
    pub ca_pem: String,
    /// How pods reach the apiserver: a name in their hosts file (it is in the apiserver's
    /// serving certificate, unlike our bridge IP) and the forwarder's port on the bridge.
    pub api_host: String,
    pub api_port: u16,
    pub node_cpu_cores: f64,
    pub node_memory_bytes: f64,
    pub ipam: Mutex<Ipam>,
    seq: AtomicU32,
    pub registry: Registry,
    /// Wakes the DNS writer (pod added/removed/IP known).
    pub dns_kick: Notify,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        names: SlotNames,
        node_name: String,
        opts: KubeletOptions,
        root: PathBuf,
        shim_bin: PathBuf,
        ca_pem: String,
        api_port: u16,
    ) -> Self {
        let (node_cpu_cores, node_memory_bytes) = host_resources();
        Self {
            client,
            names,
            node_name,
            opts,
            root,
            shim_bin,
            ca_pem,
            api_host: "kubernetes.default.svc".into(),
            api_port,
            node_cpu_cores,
            node_memory_bytes,
            ipam: Mutex::new(Ipam::default()),
            seq: AtomicU32::new(0),
            registry: Registry::default(),
            dns_kick: Notify::new(),
        }
    }

    /// A fresh number for per-pod host names (netns, veth).
    pub fn next_seq(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn pods_dir(&self) -> PathBuf {
        self.root.join("pods")
    }

    pub fn pvc_root(&self) -> PathBuf {
        self.root.join("pvcs")
    }
}

/// CPU count and MemTotal of this machine: the node's capacity.
fn host_resources() -> (f64, f64) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(4.0 * 1024.0 * 1024.0);
    (cpus, mem_kib * 1024.0)
}
