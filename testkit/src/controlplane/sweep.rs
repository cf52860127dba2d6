//! Leftovers of control planes whose test process is gone.
//!
//! A `ControlPlane` that is never dropped (kept in a `static`, or its process SIGKILLed) has its
//! processes killed by the kernel, but its temp dir stays, with etcd's preallocated WAL (64 MB+).
//! Each dir records its owner's pid; `start` deletes the etcd data of dirs whose owner is gone
//! (logs are small and may be wanted for a post-mortem) and whole dirs after a day.

use std::path::Path;
use std::time::Duration;

const OWNER_FILE: &str = "owner.pid";
const PREFIX: &str = "zk-testkit-cp-";
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn record_owner(dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string())
}

/// A zombie counts as dead: a killed test process may wait a while to be reaped.
fn pid_alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

fn owner_alive(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join(OWNER_FILE)) {
        Ok(pid) => pid_alive(pid.trim()),
        // Not written yet (an instance being created right now) or not ours: leave it.
        Err(_) => true,
    }
}

/// Best effort: errors are ignored, another process may be sweeping the same dirs.
pub(crate) fn sweep_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) || owner_alive(&dir) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > MAX_AGE);
        if old {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            let _ = std::fs::remove_dir_all(dir.join("etcd-data"));
        }
    }
}
