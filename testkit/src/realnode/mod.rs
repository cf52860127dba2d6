//! A real Kubernetes node beside a [`ControlPlane`]: containerd 1.6 + runc with the CNI
//! bridge, the real kubelet 1.20 and kube-scheduler, a tiny local-volume provisioner and
//! cluster DNS (dnsmasq fed from the API). Pods run as real containers with their
//! securityContext enforced, from images imported without a registry (the ZooKeeper
//! look-alikes of the official image: `zookeeper:3.9` = 3.9.6, `zookeeper:3.8` = 3.8.0).
//!
//! Needs root and the artefacts of `testkit/scripts/install-deps.sh`. One node per machine
//! (a lock file serializes concurrent test binaries); the host reaches every pod IP over
//! the bridge, so the operator and tests in this process talk to members directly.
//! Everything this machine needed is explained in docs/real-node-spike.md.

mod artifacts;
mod cgroups;
mod cmd;
mod containerd;
mod dns;
mod dns_records;
mod flags;
mod lock;
mod network;
mod sysctls;
mod teardown;
mod volumes;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use tokio::task::JoinHandle;

use crate::controlplane::ControlPlane;
use crate::controlplane::process::Managed;
use lock::NodeLock;
use teardown::Record;

pub const NODE_NAME: &str = "zk-testkit-node";
const CGROUP_ROOT: &str = "zk-testkit-node";
/// Node start on a loaded 2-core machine: ~10 s typical (spike), generous bound.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running node. Dropping it takes everything down (see [`teardown`]).
pub struct RealNode {
    // Field order is drop order for what has no explicit step: the lock goes last.
    tasks: Vec<JoinHandle<()>>,
    procs: Vec<Managed>,
    record: Record,
    socket: PathBuf,
    started_in: Duration,
    keep_logs: bool,
    _lock: NodeLock,
}

impl RealNode {
    /// Brings the node up against `cp` and returns once it is Ready with its images loaded.
    pub async fn start(cp: &ControlPlane) -> Result<RealNode> {
        let begun = Instant::now();
        let arts = artifacts::locate()?;
        let lock = NodeLock::acquire().await?;
        // We hold the lock: a record on disk belongs to a node whose process died.
        teardown::sweep_leftover();
        let dir = tempfile::Builder::new()
            .prefix("zk-testkit-node-")
            .tempdir()
            .context("cannot create the node's temp dir")?
            .keep();
        let created = teardown::KUBELET_HOST_PATHS
            .iter()
            .map(PathBuf::from)
            .filter(|p| !p.exists())
            .collect();
        let record = Record {
            dir: dir.clone(),
            cgroup_root: CGROUP_ROOT.into(),
            sysctls: sysctls::SavedSysctls::save(),
            created,
            logs_before: teardown::log_entries(),
        };
        record.save()?;
        let mut node = RealNode {
            tasks: Vec::new(),
            procs: Vec::new(),
            socket: containerd::paths(&dir).socket,
            record,
            started_in: Duration::ZERO,
            keep_logs: false,
            _lock: lock,
        };
        // On any error from here the partly built node is dropped, which tears it down
        // (keeping its logs: they say why).
        if let Err(e) = node.bring_up(cp, &arts).await {
            node.keep_logs = true;
            return Err(e.context(format!("logs in {}", dir.join("logs").display())));
        }
        node.started_in = begun.elapsed();
        tracing::info!(seconds = node.started_in.as_secs_f32(), "real node Ready");
        Ok(node)
    }

    async fn bring_up(&mut self, cp: &ControlPlane, arts: &artifacts::Artifacts) -> Result<()> {
        let dir = self.record.dir.clone();
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let node_ip = network::node_ip();
        network::create_bridge()?;
        network::write_cni_config(&dir.join("cni/net.d"), &dir.join("cni/ipam"))?;
        cgroups::create(CGROUP_ROOT)?;

        containerd::write_config(&dir, &arts.pause_ref, &dir.join("cni/net.d"))?;
        let config = containerd::paths(&dir).config.display().to_string();
        self.spawn(
            "containerd",
            Path::new("/usr/bin/containerd"),
            &[
                "--config".into(),
                config,
                "--log-level".into(),
                "info".into(),
            ],
        )?;
        self.wait("containerd", Duration::from_secs(30), |n| async move {
            containerd::ctr(&n, &["version"]).is_ok()
        })
        .await?;
        for archive in std::iter::once(&arts.pause_image).chain(&arts.images) {
            containerd::import(&self.socket, archive)
                .with_context(|| format!("importing {}", archive.display()))?;
        }

        // DNS before the kubelet: the first pods look their peers up at once.
        std::fs::write(dir.join("resolv.conf"), "")?;
        let hosts = dns::hosts_path(&dir);
        std::fs::create_dir_all(hosts.parent().unwrap_or(&dir))?;
        std::fs::write(&hosts, "")?;
        let dnsmasq = self.spawn(
            "dnsmasq",
            Path::new("/usr/sbin/dnsmasq"),
            &flags::dnsmasq(&node_ip, &hosts),
        )?;
        // Its SIGHUP handler exists once it listens; a SIGHUP before that kills it.
        let dns_addr = format!("{node_ip}:53");
        self.wait("dnsmasq", Duration::from_secs(10), |_| {
            let a = dns_addr.clone();
            async move { tokio::net::TcpStream::connect(a).await.is_ok() }
        })
        .await?;
        self.tasks
            .push(tokio::spawn(dns::feed(cp.client(), hosts, dnsmasq)));
        self.tasks.push(tokio::spawn(volumes::provision(
            cp.client(),
            dir.join("volumes"),
            NODE_NAME.into(),
        )));

        let kubeconfig = cp.kubeconfig_path();
        self.spawn(
            "kube-scheduler",
            &arts.scheduler,
            &flags::scheduler(kubeconfig),
        )?;
        let ports = flags::KubeletPorts {
            port: crate::controlplane::free_port()?,
            healthz: crate::controlplane::free_port()?,
        };
        let args = flags::kubelet(
            &dir,
            kubeconfig,
            &self.socket,
            NODE_NAME,
            &node_ip,
            CGROUP_ROOT,
            &ports,
        );
        self.spawn("kubelet", &arts.kubelet, &args)?;
        self.wait_ready(cp).await
    }

    fn spawn(&mut self, name: &'static str, program: &Path, args: &[String]) -> Result<u32> {
        let log = self.record.dir.join("logs").join(format!("{name}.log"));
        let p = Managed::spawn(name, program, args, &self.record.dir, log)?;
        let pid = p.pid();
        self.procs.push(p);
        Ok(pid)
    }

    /// Polls `check(socket)` every 200 ms; fails early if a node process exited.
    async fn wait<F, Fut>(&mut self, what: &str, timeout: Duration, check: F) -> Result<()>
    where
        F: Fn(PathBuf) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if check(self.socket.clone()).await {
                return Ok(());
            }
            if let Some(dead) = self.exited() {
                bail!("waiting for {what}: {dead}");
            }
            if Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn exited(&mut self) -> Option<String> {
        self.procs.iter_mut().find_map(|p| {
            let how = p.exited()?;
            Some(format!("{} exited ({how}): {}", p.name, p.log_tail(5)))
        })
    }

    async fn wait_ready(&mut self, cp: &ControlPlane) -> Result<()> {
        let nodes: Api<Node> = Api::all(cp.client());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let ready = nodes
                .get_opt(NODE_NAME)
                .await
                .ok()
                .flatten()
                .is_some_and(|n| {
                    n.status
                        .and_then(|s| s.conditions)
                        .into_iter()
                        .flatten()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                });
            if ready {
                return Ok(());
            }
            if let Some(dead) = self.exited() {
                bail!("node did not become Ready: {dead}");
            }
            if Instant::now() > deadline {
                bail!("node {NODE_NAME} not Ready after {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// How long [`Self::start`] took (lock wait included).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The node's temp dir (`logs/` holds kubelet.log, containerd.log, ...).
    pub fn dir(&self) -> &Path {
        &self.record.dir
    }

    /// The node's IP (the bridge's gateway), also the cluster DNS server.
    pub fn node_ip(&self) -> String {
        network::node_ip()
    }

    /// The host pid of a container's main process, from its `containerd://<id>` status id,
    /// for checks and faults from the host (`/proc/<pid>/status`, SIGSTOP, SIGKILL).
    pub fn container_pid(&self, container_id: &str) -> Result<u32> {
        let id = container_id.trim_start_matches("containerd://");
        let tasks = containerd::ctr(&self.socket, &["task", "ls"])?;
        tasks
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?, f.next()?))
            })
            .find(|(task, _)| *task == id)
            .and_then(|(_, pid)| pid.parse().ok())
            .with_context(|| format!("no running task for container {id}"))
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // The kubelet first, so it restarts nothing; containerd must still run to remove
        // its tasks; then the rest of the node's processes.
        let mut containerd = None;
        while let Some(mut p) = self.procs.pop() {
            if p.name == "containerd" {
                containerd = Some(p);
            } else {
                p.kill();
            }
        }
        containerd::remove_all(&self.socket);
        if let Some(mut c) = containerd {
            c.kill();
        }
        let keep = self.keep_logs
            || std::thread::panicking()
            || std::env::var("ZKOP_KEEP").is_ok_and(|v| v == "1");
        self.record.finish(keep);
    }
}
