//! Where the control-plane executables are.
//!
//! Nothing is installed from here: `testkit/scripts/install-deps.sh` does that (apt packages
//! and a one-time ~5 minute build of kube-apiserver/kube-controller-manager). Building from a
//! test would hide a 5-minute stall inside an innocent-looking test, so a missing binary is an
//! error that names the script to run.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub(crate) struct Binaries {
    pub(crate) etcd: PathBuf,
    pub(crate) apiserver: PathBuf,
    pub(crate) controller_manager: PathBuf,
}

const HINT: &str = "run testkit/scripts/install-deps.sh once (as root) to install etcd and \
                    build kube-apiserver/kube-controller-manager";

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Directory holding kube-apiserver and kube-controller-manager: `$ZKOP_K8S_BIN_DIR`, else the
/// newest `kubernetes-*/bin` in the build script's cache (`$ZKOP_CACHE`, default
/// /var/cache/zookeeper-operator).
fn kube_bin_dir() -> Result<PathBuf> {
    let complete = |d: &Path| {
        is_executable(&d.join("kube-apiserver"))
            && is_executable(&d.join("kube-controller-manager"))
    };
    if let Some(dir) = std::env::var_os("ZKOP_K8S_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if complete(&dir) {
            return Ok(dir);
        }
        bail!(
            "ZKOP_K8S_BIN_DIR={} lacks kube-apiserver or kube-controller-manager",
            dir.display()
        );
    }
    let cache = std::env::var_os("ZKOP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/zookeeper-operator"));
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("kubernetes-"))
                .map(|e| e.path().join("bin"))
                .filter(|d| complete(d))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    match candidates.pop() {
        Some(dir) => Ok(dir),
        None => bail!(
            "kube-apiserver is not built (looked in {}/kubernetes-*/bin): {HINT}",
            cache.display()
        ),
    }
}

fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

pub(crate) fn locate() -> Result<Binaries> {
    let etcd = match std::env::var_os("ZKOP_ETCD") {
        Some(p) => PathBuf::from(p),
        None => in_path("etcd")
            .or_else(|| Some(PathBuf::from("/usr/bin/etcd")).filter(|p| is_executable(p)))
            .ok_or_else(|| anyhow::anyhow!("etcd is not installed: {HINT}"))?,
    };
    let dir = kube_bin_dir()?;
    Ok(Binaries {
        etcd,
        apiserver: dir.join("kube-apiserver"),
        controller_manager: dir.join("kube-controller-manager"),
    })
}
