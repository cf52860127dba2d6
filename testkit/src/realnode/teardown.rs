//! Taking a node apart so nothing is left: no process, mount, cgroup, link, sysctl change
//! or file (the spike's order, docs/real-node-spike.md). Synchronous, so `Drop` can run it,
//! and driven by a record on disk, so the next node can finish what a SIGKILLed test left.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sysctls::SavedSysctls;
use super::{cgroups, cmd, containerd, network};

/// Where the running node describes itself (read back if its process died).
pub(crate) const RECORD: &str = "/run/zk-testkit-real-node.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) dir: PathBuf,
    pub(crate) cgroup_root: String,
    pub(crate) sysctls: SavedSysctls,
    /// Hard-coded kubelet paths that did not exist before the node: removed afterwards.
    pub(crate) created: Vec<PathBuf>,
    /// Entries of /var/log/pods and /var/log/containers before the node started.
    pub(crate) logs_before: Vec<PathBuf>,
}

pub(crate) const KUBELET_HOST_PATHS: [&str; 3] =
    ["/var/lib/kubelet", "/var/log/pods", "/var/log/containers"];

pub(crate) fn log_entries() -> Vec<PathBuf> {
    ["/var/log/pods", "/var/log/containers"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .collect()
}

impl Record {
    pub(crate) fn save(&self) -> anyhow::Result<()> {
        std::fs::write(RECORD, serde_json::to_vec(self)?)?;
        Ok(())
    }

    /// A record left by a node whose process is gone (the lock proves it is not running).
    pub(crate) fn leftover() -> Option<Record> {
        serde_json::from_slice(&std::fs::read(RECORD).ok()?).ok()
    }

    /// Everything after the node's own children (kubelet, scheduler, dnsmasq, containerd)
    /// are stopped: containerd's shims, the pods' processes, mounts, the bridge, cgroups,
    /// host files, sysctls. `keep_logs`: leave `dir/logs` for a failed test's post-mortem.
    pub(crate) fn finish(&self, keep_logs: bool) {
        kill_by_cmdline(&self.dir);
        for pid in cgroups::pids(&self.cgroup_root) {
            // SAFETY: plain kill(2) of a pid in our own cgroup tree.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        unmount_under(&self.dir);
        network::delete_bridge();
        cgroups::remove(&self.cgroup_root);
        for e in log_entries() {
            if !self.logs_before.contains(&e) {
                let _ = std::fs::remove_dir_all(&e).or_else(|_| std::fs::remove_file(&e));
            }
        }
        for p in self.created.iter().rev() {
            let _ = std::fs::remove_dir_all(p);
        }
        self.sysctls.restore();
        if keep_logs {
            for sub in ["containerd", "kubelet", "volumes", "runc", "cni"] {
                let _ = std::fs::remove_dir_all(self.dir.join(sub));
            }
            eprintln!(
                "zk-testkit: real node logs kept in {}",
                self.dir.join("logs").display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        let _ = std::fs::remove_file(RECORD);
    }
}

/// containerd's shims (and anything else) carrying the node's dir on their command line.
fn kill_by_cmdline(dir: &Path) {
    let needle = format!("{}/", dir.display());
    let me = std::process::id();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if pid != me
            && String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(&needle)
        {
            // SAFETY: plain kill(2) of a process that names our temp dir.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

/// Rootfs overlays, shm, netns and volume bind mounts under `dir`, deepest first.
fn unmount_under(dir: &Path) {
    let prefix = format!("{}/", dir.display());
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_unstable_by(|a, b| b.cmp(a));
    for p in points {
        if cmd::run("umount", &[p]).is_err() {
            cmd::quietly("umount", &["-l", p]);
        }
    }
}

/// The whole teardown of a node whose process died: its children died with it
/// (PR_SET_PDEATHSIG) except containerd's shims, which [`Record::finish`] handles.
pub(crate) fn sweep_leftover() {
    if let Some(r) = Record::leftover() {
        let sock = containerd::paths(&r.dir).socket;
        if sock.exists() {
            containerd::remove_all(&sock);
        }
        r.finish(false);
    }
}
