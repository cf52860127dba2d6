//! containerd 1.6 for the node: every path (root, state, sockets, runc's state, the CNI
//! config) under the node's temp dir, so it shares nothing with any other containerd.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::cmd;

pub(crate) struct Paths {
    pub(crate) config: PathBuf,
    pub(crate) socket: PathBuf,
}

pub(crate) fn paths(dir: &Path) -> Paths {
    Paths {
        config: dir.join("containerd/config.toml"),
        socket: dir.join("containerd/containerd.sock"),
    }
}

pub(crate) fn write_config(dir: &Path, sandbox_image: &str, cni_conf_dir: &Path) -> Result<()> {
    let p = paths(dir);
    let d = dir.join("containerd");
    std::fs::create_dir_all(&d)?;
    let config = format!(
        r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  # Root here lacks CAP_SYS_RESOURCE, so no process may lower an oom_score_adj; the CRI
  # plugin asks -998 for every sandbox and runc's nsexec dies on it ("can't get final
  # child's PID from pipe: EOF"). This clamps every request to containerd's own value
  # (docs/real-node-spike.md, "The one blocker").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state (default /run/containerd/runc, shared machine-wide) in ours.
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
    max_conf_num = 1
"#,
        root = d.join("root").display(),
        state = d.join("state").display(),
        sock = p.socket.display(),
        opt = d.join("opt").display(),
        runc = dir.join("runc").display(),
        cni = cni_conf_dir.display(),
    );
    std::fs::write(&p.config, config).context("cannot write containerd's config")
}

/// `ctr` against this node's containerd, in the CRI plugin's namespace.
pub(crate) fn ctr(socket: &Path, args: &[&str]) -> Result<String> {
    let sock = socket.display().to_string();
    let mut all = vec!["--address", sock.as_str(), "-n", "k8s.io"];
    all.extend_from_slice(args);
    cmd::run("ctr", &all)
}

pub(crate) fn import(socket: &Path, archive: &Path) -> Result<()> {
    let a = archive.display().to_string();
    ctr(socket, &["images", "import", &a]).map(|_| ())
}

/// Kills and deletes every task and container (teardown, when the kubelet is gone).
pub(crate) fn remove_all(socket: &Path) {
    let ids = |what: &str| -> Vec<String> {
        ctr(socket, &[what, "ls", "-q"])
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let tasks = ids("task");
    for id in &tasks {
        let _ = ctr(socket, &["task", "kill", "-s", "SIGKILL", id]);
    }
    if !tasks.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    for id in &tasks {
        let _ = ctr(socket, &["task", "delete", "-f", id]);
    }
    for id in ids("container") {
        let _ = ctr(socket, &["container", "delete", &id]);
    }
}
