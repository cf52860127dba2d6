//! Starting and stopping a [`ProcessKubelet`], including the synchronous teardown in `Drop`
//! that guarantees no process, namespace, link or directory outlives it.

use super::context::Shared;
use super::manager::{Manager, Workers};
use super::options::KubeletOptions;
use super::slot::{Slot, sweep, sweep_host_objects};
use super::{dns, forwarder, net, node, process, pvc, shim};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::runtime::reflector;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Port of the apiserver forwarder on the bridge address (what in-cluster clients dial).
const API_PORT: u16 = 443;

/// A running process kubelet. Dropping it kills every pod process and removes its host
/// resources; [`ProcessKubelet::stop`] does the same and also removes the Node object.
pub struct ProcessKubelet {
    pub(super) shared: Arc<Shared>,
    workers: Workers,
    tasks: Vec<JoinHandle<()>>,
    slot: Option<Slot>,
}

impl ProcessKubelet {
    /// Starts a kubelet against the apiserver at `server_url` (whose CA is `ca_pem`, handed
    /// to pods as ca.crt), using `client` for its own API calls.
    pub async fn start_with(
        client: Client,
        server_url: &str,
        ca_pem: &str,
        opts: KubeletOptions,
    ) -> anyhow::Result<Self> {
        // kube's rustls needs a process-wide provider; another crate may have set one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let slot = tokio::task::spawn_blocking(Slot::claim).await??;
        let names = slot.names.clone();
        match Self::start_in_slot(client, server_url, ca_pem, opts, slot).await {
            Ok(k) => Ok(k),
            Err(e) => {
                sweep(&names);
                Err(e)
            }
        }
    }

    async fn start_in_slot(
        client: Client,
        server_url: &str,
        ca_pem: &str,
        opts: KubeletOptions,
        slot: Slot,
    ) -> anyhow::Result<Self> {
        let names = slot.names.clone();
        let root = opts
            .root_dir
            .clone()
            .unwrap_or_else(|| names.default_root());
        std::fs::create_dir_all(&root)?;
        slot.record_root(&root)?;
        let shim_bin = shim::install(&root)?;
        net::create_bridge(&names).await?;
        let upstream = forwarder::upstream_addr(server_url)?;
        let forward = forwarder::bind(names.gateway(), API_PORT, upstream).await?;
        let node_name = opts
            .node_name
            .clone()
            .unwrap_or_else(|| names.default_node_name());
        let shared = Arc::new(Shared::new(
            client,
            names,
            node_name,
            opts,
            root,
            shim_bin,
            ca_pem.to_string(),
            API_PORT,
        ));
        let since = Timestamp::now();
        node::register(&shared, since).await?;
        let (pods, pod_writer) = reflector::store();
        let (pvcs, pvc_writer) = reflector::store();
        let workers = Workers::default();
        let manager = Manager {
            shared: shared.clone(),
            workers: workers.clone(),
            pods: pods.clone(),
            pvcs,
        };
        let tasks = vec![
            tokio::spawn(forward),
            tokio::spawn(node::keep_alive(shared.clone(), since)),
            tokio::spawn(dns::run(shared.clone())),
            tokio::spawn(manager.run(pod_writer, pvc_writer)),
        ];
        tracing::info!(node = %shared.node_name, bridge = %shared.names.bridge(), "process kubelet started");
        Ok(Self {
            shared,
            workers,
            tasks,
            slot: Some(slot),
        })
    }

    /// The Node name this kubelet registered.
    pub fn node_name(&self) -> &str {
        &self.shared.node_name
    }

    /// The host's address on the pod bridge (pods' gateway, the node's InternalIP).
    pub fn host_ip(&self) -> std::net::Ipv4Addr {
        self.shared.names.gateway()
    }

    /// Stops all pods (SIGKILL), deregisters the Node and its PVs, removes host resources.
    /// Pod objects stay; the pod GC controller removes them once the Node is gone.
    pub async fn stop(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let handles: Vec<_> = {
            let mut w = self.workers.lock().unwrap_or_else(|p| p.into_inner());
            w.drain().map(|(_, h)| h).collect()
        };
        // Everyone stops at once (grace 0: SIGKILL), then we wait for all of them.
        for h in &handles {
            h.gone_tx.send_replace(true);
        }
        for h in handles {
            let _ = tokio::time::timeout(Duration::from_secs(10), h.join).await;
        }
        node::deregister(&self.shared).await;
        pvc::delete_all(&self.shared.client, &self.shared.node_name).await;
        self.teardown();
    }

    /// Synchronous and idempotent: kill what runs, remove everything named after the slot.
    fn teardown(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        for t in &self.tasks {
            t.abort();
        }
        // Workers must not outlive us: a supervisor seeing its container die would restart it.
        let workers: Vec<_> = {
            let mut w = self.workers.lock().unwrap_or_else(|p| p.into_inner());
            w.drain().map(|(_, h)| h).collect()
        };
        for h in workers {
            h.join.abort();
        }
        for entry in self.shared.registry.all() {
            for ctl in entry.containers.values() {
                if let Some(p) = ctl.get() {
                    if let Some(init) = p.init_pid {
                        process::signal(init as i32, libc::SIGKILL);
                    }
                    process::signal(p.outer_pid as i32, libc::SIGKILL);
                }
            }
        }
        let keep = std::env::var("ZKOP_KEEP").is_ok_and(|v| v == "1");
        if std::thread::panicking() || keep {
            // A failing test (or ZKOP_KEEP=1, as for the control plane): keep pod logs and
            // data for the post-mortem; the next owner of the slot removes them.
            sweep_host_objects(&slot.names);
            eprintln!(
                "zk-testkit: process kubelet files kept in {}",
                self.shared.root.display()
            );
        } else {
            sweep(&slot.names);
        }
        net::delete_bridge_sync(&slot.names);
    }
}

impl Drop for ProcessKubelet {
    fn drop(&mut self) {
        self.teardown();
    }
}

impl ProcessKubelet {
    /// Starts a kubelet against a test [`crate::controlplane::ControlPlane`].
    pub async fn start(
        cp: &crate::controlplane::ControlPlane,
        opts: KubeletOptions,
    ) -> anyhow::Result<Self> {
        Self::start_with(cp.client(), cp.server_url(), cp.ca_cert_pem(), opts).await
    }
}
