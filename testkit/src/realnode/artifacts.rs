//! Where the real node's binaries and images are. Nothing is built from a test (a hidden
//! 6-minute stall): a missing piece is an error naming the script that makes it.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

const HINT: &str = "run testkit/scripts/install-deps.sh once (as root): it builds kubelet, \
                    kube-scheduler, the pause image and the ZooKeeper images";

pub(crate) struct Artifacts {
    pub(crate) kubelet: PathBuf,
    pub(crate) scheduler: PathBuf,
    pub(crate) pause_image: PathBuf,
    /// The tag inside the pause archive (containerd's `sandbox_image`).
    pub(crate) pause_ref: String,
    /// Image archives to import: ZooKeeper 3.9 and 3.8.
    pub(crate) images: Vec<PathBuf>,
}

fn cache() -> PathBuf {
    std::env::var_os("ZKOP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/zookeeper-operator"))
}

/// The most recently modified directory under `root` that holds every one of `files`.
fn newest_with(root: &Path, files: &[&str]) -> Option<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .flat_map(|d| [d.join("bin"), d])
        .filter(|d| files.iter().all(|f| d.join(f).is_file()))
        .filter_map(|d| Some((d.metadata().ok()?.modified().ok()?, d)))
        .collect();
    found.sort();
    found.pop().map(|(_, d)| d)
}

pub(crate) fn locate() -> Result<Artifacts> {
    let cache = cache();
    let node_files = ["kubelet", "kube-scheduler", "pause-image.tar"];
    let Some(bin) = newest_with(&cache.join("real-node"), &node_files) else {
        bail!(
            "no {node_files:?} under {}: {HINT}",
            cache.join("real-node").display()
        );
    };
    let image_files = ["zookeeper-3.9.tar", "zookeeper-3.8.tar"];
    let Some(images) = newest_with(&cache.join("zookeeper-images"), &image_files) else {
        bail!(
            "no ZooKeeper images under {}: {HINT}",
            cache.join("zookeeper-images").display()
        );
    };
    let version = std::fs::read_to_string(bin.join("pause.version")).unwrap_or_default();
    Ok(Artifacts {
        pause_ref: format!("localhost/zk-testkit/pause:{}", version.trim()),
        kubelet: bin.join("kubelet"),
        scheduler: bin.join("kube-scheduler"),
        pause_image: bin.join("pause-image.tar"),
        images: image_files.iter().map(|f| images.join(f)).collect(),
    })
}
