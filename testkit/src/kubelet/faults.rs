//! Fault injection and inspection for tests: kill, freeze and cut off pods; read their logs
//! and run commands inside them.

use super::lifecycle::ProcessKubelet;
use super::registry::PodEntry;
use super::{net, process, proctree};
use anyhow::{Context, anyhow};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

impl ProcessKubelet {
    fn entry(&self, ns: &str, pod: &str) -> anyhow::Result<PodEntry> {
        self.shared
            .registry
            .find(ns, pod)
            .ok_or_else(|| anyhow!("pod {ns}/{pod} is not running on {}", self.shared.node_name))
    }

    /// The pod's IP, once its sandbox exists on this node.
    pub fn pod_ip(&self, ns: &str, pod: &str) -> Option<Ipv4Addr> {
        self.shared.registry.find(ns, pod).map(|e| e.net.ip)
    }

    /// SIGKILLs the container (its whole PID namespace); the kubelet then restarts it per
    /// restartPolicy and counts the restart.
    pub fn kill_container(&self, ns: &str, pod: &str, container: &str) -> anyhow::Result<()> {
        let p = self
            .entry(ns, pod)?
            .containers
            .get(container)
            .and_then(|c| c.get())
            .ok_or_else(|| anyhow!("container {container} of {ns}/{pod} is not running"))?;
        process::signal(p.init_pid.unwrap_or(p.outer_pid) as i32, libc::SIGKILL);
        Ok(())
    }

    /// SIGSTOPs every process of every container of the pod (a hung member: the process
    /// holds its sockets but answers nothing).
    pub fn freeze(&self, ns: &str, pod: &str) -> anyhow::Result<()> {
        self.signal_pod(ns, pod, libc::SIGSTOP)
    }

    /// SIGCONTs what [`Self::freeze`] stopped.
    pub fn thaw(&self, ns: &str, pod: &str) -> anyhow::Result<()> {
        self.signal_pod(ns, pod, libc::SIGCONT)
    }

    fn signal_pod(&self, ns: &str, pod: &str, sig: i32) -> anyhow::Result<()> {
        let entry = self.entry(ns, pod)?;
        let mut n = 0;
        for ctl in entry.containers.values() {
            if let Some(init) = ctl.get().and_then(|p| p.init_pid) {
                n += proctree::signal_all(init, sig);
            }
        }
        anyhow::ensure!(n > 0, "pod {ns}/{pod} has no running process");
        Ok(())
    }

    /// Takes the pod's link down: it can reach nothing and nothing reaches it.
    pub async fn cut_network(&self, ns: &str, pod: &str) -> anyhow::Result<()> {
        net::set_link(&self.entry(ns, pod)?.net, false).await
    }

    /// Brings the pod's link back up.
    pub async fn restore_network(&self, ns: &str, pod: &str) -> anyhow::Result<()> {
        net::set_link(&self.entry(ns, pod)?.net, true).await
    }

    /// Output of a container (all its runs), also after the pod was deleted (until stop).
    pub fn logs(&self, ns: &str, pod: &str, container: &str) -> anyhow::Result<String> {
        let dir = self.log_dir(ns, pod)?;
        let path = dir.join(format!("{container}.log"));
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The most recent log dir of `ns/pod` (pods with the same name get new uids).
    fn log_dir(&self, ns: &str, pod: &str) -> anyhow::Result<PathBuf> {
        let prefix = format!("{ns}_{pod}_");
        let logs = self.shared.root.join("logs");
        std::fs::read_dir(&logs)
            .with_context(|| format!("reading {}", logs.display()))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
            .map(|e| e.path())
            .ok_or_else(|| anyhow!("no logs for {ns}/{pod}"))
    }

    /// Runs `argv` inside a running container (its namespaces and env), like `kubectl exec`.
    /// Returns the exit code and combined output.
    pub async fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        argv: &[&str],
        timeout: Duration,
    ) -> anyhow::Result<(i32, String)> {
        let p = self
            .entry(ns, pod)?
            .containers
            .get(container)
            .and_then(|c| c.get())
            .ok_or_else(|| anyhow!("container {container} of {ns}/{pod} is not running"))?;
        let init = p
            .init_pid
            .ok_or_else(|| anyhow!("container {container} has no known init pid"))?;
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        match process::exec_in(init, &argv, &p.env, timeout).await? {
            Some((status, out)) => Ok((process::exit_code(&status), out)),
            None => Err(anyhow!("exec in {ns}/{pod} timed out after {timeout:?}")),
        }
    }
}
