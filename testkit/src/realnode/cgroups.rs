//! The node's own cgroup root (`--cgroup-root`). With `--cgroups-per-qos` the kubelet needs it
//! to exist in every v1 hierarchy; a root of ours keeps the node's pods apart from anything
//! else on the machine, and lets teardown find every process of the node by cgroup.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const CGROUP_FS: &str = "/sys/fs/cgroup";

/// v1 hierarchies (cgroup2 sits at `unified` on this machine and is not the kubelet's).
fn hierarchies() -> Vec<PathBuf> {
    std::fs::read_dir(CGROUP_FS)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !p.ends_with("unified"))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates `/<name>` in every hierarchy; cpuset needs its cpus/mems copied from the parent.
pub(crate) fn create(name: &str) -> Result<()> {
    for h in hierarchies() {
        let dir = h.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = std::fs::read_to_string(h.join(f)) {
                std::fs::write(dir.join(f), v).with_context(|| format!("{}", dir.display()))?;
            }
        }
    }
    Ok(())
}

fn subdirs_deepest_first(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                subdirs_deepest_first(&e.path(), out);
            }
        }
    }
    out.push(dir.to_path_buf());
}

/// Pids of every process in the tree (a container whose shim died first still sits here).
pub(crate) fn pids(name: &str) -> Vec<i32> {
    let mut dirs = Vec::new();
    subdirs_deepest_first(&Path::new(CGROUP_FS).join("pids").join(name), &mut dirs);
    dirs.iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Removes the tree from every hierarchy, deepest first (rmdir fails while a process lives).
pub(crate) fn remove(name: &str) {
    for h in hierarchies() {
        let mut dirs = Vec::new();
        let root = h.join(name);
        if root.is_dir() {
            subdirs_deepest_first(&root, &mut dirs);
        }
        for d in dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}
