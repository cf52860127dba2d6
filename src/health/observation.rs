//! Inputs of the assessment: what the operator last saw of each member.
use std::time::SystemTime;

use crate::zk::{Mntr, Srvr, ZkError, ZkErrorKind};

/// A member's `myid`.
pub type MemberId = u64;

/// Why a probe did not produce a reply, in a comparable, clonable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    pub kind: ZkErrorKind,
    pub message: String,
}

impl From<&ZkError> for ProbeFailure {
    fn from(err: &ZkError) -> Self {
        Self {
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

impl From<ZkError> for ProbeFailure {
    fn from(err: ZkError) -> Self {
        Self::from(&err)
    }
}

/// State of the ZooKeeper container as Kubernetes reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    Waiting { reason: String },
    Terminated { reason: String, exit_code: i32 },
    Unknown,
}

/// The Kubernetes view of a member's pod, when the caller has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    pub name: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    pub phase: String,
    pub ready: bool,
    pub container: ContainerState,
    pub restart_count: u32,
}

impl PodView {
    /// A short reason when the pod itself explains an outage, e.g. `CrashLoopBackOff`.
    pub fn problem(&self) -> Option<String> {
        match &self.container {
            ContainerState::Waiting { reason } => Some(format!("container waiting: {reason}")),
            ContainerState::Terminated { reason, exit_code } => Some(format!(
                "container terminated: {reason} (exit code {exit_code})"
            )),
            _ if self.phase != "Running" => Some(format!("pod {}", self.phase)),
            _ => None,
        }
    }
}

/// Everything known about one member at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberObservation {
    pub id: MemberId,
    /// Pod name, or the address when there is no pod.
    pub name: String,
    /// `host:port` of the client port.
    pub address: String,
    /// Configured as a non-voting observer.
    pub observer: bool,
    /// Last `srvr` outcome; `None` before the first probe finished. Its `zxid` may be
    /// refreshed from session pings, which report the same "last processed zxid".
    pub status: Option<Result<Srvr, ProbeFailure>>,
    /// Last `mntr` that answered while the member was in its current role.
    pub metrics: Option<Mntr>,
    /// When the member last answered anything. Informational only: it is not part of
    /// the assessment, so that assessments compare equal across time.
    pub last_seen: Option<SystemTime>,
    pub pod: Option<PodView>,
}

impl MemberObservation {
    /// A member not probed yet.
    pub fn new(id: MemberId, name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            address: address.into(),
            observer: false,
            status: None,
            metrics: None,
            last_seen: None,
            pod: None,
        }
    }

    pub fn with_status(mut self, status: Result<Srvr, ProbeFailure>) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_metrics(mut self, metrics: Mntr) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn with_pod(mut self, pod: PodView) -> Self {
        self.pod = Some(pod);
        self
    }

    pub fn as_observer(mut self) -> Self {
        self.observer = true;
        self
    }
}
