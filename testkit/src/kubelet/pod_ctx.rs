//! What every container supervisor of one pod shares.

use super::context::Shared;
use super::downward::PodFacts;
use super::net::PodNet;
use k8s_openapi::api::core::v1::{Pod, VolumeMount};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub struct PodCtx {
    pub shared: Arc<Shared>,
    /// The pod as admitted; its spec is immutable for what we use.
    pub pod: Arc<Pod>,
    pub net: PodNet,
    pub facts: PodFacts,
    pub hostname: String,
    pub pod_dir: PathBuf,
    pub log_dir: PathBuf,
    pub volume_dirs: BTreeMap<String, PathBuf>,
    /// The service-account mount the kubelet added itself, if any.
    pub extra_mount: Option<VolumeMount>,
    /// `Some(grace)` once the pod must stop.
    pub stop: watch::Receiver<Option<Duration>>,
}

impl PodCtx {
    pub fn name(&self) -> String {
        self.pod.metadata.name.clone().unwrap_or_default()
    }

    pub fn restart_policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    /// Resolves when the pod is asked to stop, with the grace period to honour.
    pub async fn stopped(&self) -> Duration {
        let mut rx = self.stop.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.unwrap_or_default(),
            // The worker is gone: nothing will ever ask more politely.
            Err(_) => Duration::ZERO,
        }
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.borrow().is_some()
    }

    /// Sleeps, returning false early if the pod is asked to stop meanwhile.
    pub async fn sleep_unless_stopped(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.stopped() => false,
        }
    }
}
