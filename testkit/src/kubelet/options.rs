//! Knobs for a [`super::ProcessKubelet`]; the defaults mimic a real kubelet closely enough
//! for the operator's behaviour to be meaningful, tests shorten the slow ones.

use std::path::PathBuf;
use std::time::Duration;

/// How the process kubelet runs pods.
#[derive(Clone, Debug)]
pub struct KubeletOptions {
    /// Node name; default `zk-node-<slot>` (unique per concurrently running kubelet).
    pub node_name: Option<String>,
    /// The operator binary that images containing `zookeeper-operator` map to.
    /// `None`: such pods fail with an image error.
    pub operator_binary: Option<PathBuf>,
    /// Where pod dirs, PVC dirs and shims live; default `/var/tmp/zk-kubelet-<slot>` (not /tmp, which pods mount over).
    /// Removed on stop.
    pub root_dir: Option<PathBuf>,
    /// First crash-loop back-off; doubles per restart up to `max_backoff` (kubelet: 10 s / 300 s).
    pub initial_backoff: Duration,
    /// Crash-loop back-off ceiling.
    pub max_backoff: Duration,
    /// How often configMap/secret volumes are re-read and rewritten on change.
    pub volume_refresh: Duration,
    /// Lease renewal period in kube-node-lease (the node lifecycle controller reads it).
    pub lease_renew: Duration,
    /// Node status heartbeat period (lastHeartbeatTime of the Ready condition).
    pub status_heartbeat: Duration,
    /// Extra labels on the Node object (nodeSelector matching uses them).
    pub node_labels: Vec<(String, String)>,
}

impl Default for KubeletOptions {
    fn default() -> Self {
        Self {
            node_name: None,
            operator_binary: None,
            root_dir: None,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(300),
            volume_refresh: Duration::from_secs(5),
            lease_renew: Duration::from_secs(10),
            status_heartbeat: Duration::from_secs(30),
            node_labels: Vec::new(),
        }
    }
}

impl KubeletOptions {
    /// Defaults with short back-offs, for tests that crash containers on purpose.
    pub fn fast() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            volume_refresh: Duration::from_secs(2),
            ..Self::default()
        }
    }

    /// Sets the operator binary (builder style).
    pub fn with_operator_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.operator_binary = Some(path.into());
        self
    }
}
