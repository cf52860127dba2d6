//! One real node per machine. The kubelet 1.20 hard-codes host paths outside its
//! `--root-dir` (`/var/log/pods`, `/var/lib/kubelet/device-plugins/kubelet.sock`) and the
//! bridge, cgroup root and host sysctls are machine-wide, so concurrent test binaries take
//! turns: an exclusive `flock` held for the node's lifetime (the kernel drops it if the
//! holder dies, even by SIGKILL).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};

pub(crate) const LOCK_FILE: &str = "/run/zk-testkit-real-node.lock";

pub(crate) struct NodeLock {
    _file: File,
}

impl NodeLock {
    /// Blocks (on a blocking thread) until no other real node runs on this machine.
    pub(crate) async fn acquire() -> Result<NodeLock> {
        tokio::task::spawn_blocking(|| Self::acquire_blocking(Path::new(LOCK_FILE)))
            .await
            .context("the lock waiter panicked")?
    }

    fn acquire_blocking(path: &Path) -> Result<NodeLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on an fd we own; blocks until granted.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot lock {}", path.display()));
        }
        Ok(NodeLock { _file: file })
    }
}
