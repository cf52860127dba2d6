//! The outcome of one recovery pass: at most one action for the whole cluster.
use std::time::SystemTime;

use crate::health::MemberId;

/// Why a member is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartReason {
    /// Container waiting in `CrashLoopBackOff`.
    CrashLoop,
    /// Container terminated and not started again.
    Terminated,
    /// Pod phase `Failed` (e.g. evicted): the StatefulSet only replaces it once deleted.
    PodFailed,
    /// The pod claims to run but the member has not served beyond the threshold.
    NotServing,
    /// The pod has not been Ready beyond the threshold.
    NotReady,
    /// Every member runs but no leader emerged beyond the threshold.
    Leaderless,
}

impl RestartReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CrashLoop => "CrashLoopBackOff",
            Self::Terminated => "ContainerTerminated",
            Self::PodFailed => "PodFailed",
            Self::NotServing => "NotServing",
            Self::NotReady => "NotReady",
            Self::Leaderless => "NoLeaderElected",
        }
    }
}

/// A failure a restart cannot fix: reported, never acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Pending beyond the threshold: unschedulable, a PVC not bound, or still creating.
    Pending { pod: String },
    /// `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, ...
    Image { pod: String, reason: String },
    /// `CreateContainerConfigError` and friends: a missing ConfigMap/Secret key.
    ContainerConfig { pod: String, reason: String },
    /// The member's pod does not exist beyond the threshold (the StatefulSet owns it).
    PodMissing { member: MemberId },
}

impl Problem {
    /// The Kubernetes Event reason.
    pub fn event_reason(&self) -> &'static str {
        match self {
            Self::Pending { .. } => "MemberPending",
            Self::Image { .. } => "ImagePullFailed",
            Self::ContainerConfig { .. } => "ContainerConfigError",
            Self::PodMissing { .. } => "MemberPodMissing",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Pending { pod } => format!(
                "pod {pod} is Pending: unschedulable, volume not bound or not created; \
                 a restart cannot fix this, not restarting"
            ),
            Self::Image { pod, reason } => {
                format!("pod {pod} cannot pull its image ({reason}); not restarting")
            }
            Self::ContainerConfig { pod, reason } => {
                format!("pod {pod} cannot create its container ({reason}); not restarting")
            }
            Self::PodMissing { member } => {
                format!("member {member} has no pod; waiting for the StatefulSet")
            }
        }
    }
}

/// Why nothing is restarted right now although a member failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCause {
    /// The member's own backoff has not elapsed.
    Backoff,
    /// A previous restart (of `member`) has not come back yet; nothing else is touched.
    InFlight,
}

/// What the controller should do for a cluster in this pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Delete the member's pod (honouring its grace period); record it first with
    /// [`super::record_restart`]. Event `MemberRestarted`.
    Restart {
        member: MemberId,
        pod: String,
        reason: RestartReason,
        explanation: String,
    },
    /// Delete the member's PVC, then its pod: ZooKeeper cannot load its data, and the
    /// member resyncs from the leader. Record it with [`super::record_restart`] too.
    /// Event `MemberDataReset`.
    ResetData {
        member: MemberId,
        pod: String,
        explanation: String,
    },
    /// Nothing before `until`. Event `RecoveryBackoff` for [`WaitCause::Backoff`].
    Wait {
        member: MemberId,
        until: SystemTime,
        cause: WaitCause,
        reason: String,
    },
    /// The member used up its restarts in the window: stop, `Degraded` with reason
    /// `RecoveryExhausted`, Event `RecoveryExhausted`.
    Exhausted {
        member: MemberId,
        restarts: usize,
        reason: String,
    },
    /// A restart would break a safety rule (majority, leader last); wait for the
    /// ensemble to heal first.
    Blocked {
        member: MemberId,
        reason: String,
    },
    /// A failure a restart cannot fix.
    Report {
        member: MemberId,
        problem: Problem,
    },
    /// The pause annotation is set: what would have been done, reported only.
    Paused {
        member: MemberId,
        reason: String,
    },
    /// `spec.recovery.enabled: false`: what would have been done, reported only.
    Disabled {
        member: MemberId,
        reason: String,
    },
    None,
}

impl Decision {
    /// The member concerned, if any.
    pub fn member(&self) -> Option<MemberId> {
        match self {
            Self::Restart { member, .. }
            | Self::ResetData { member, .. }
            | Self::Wait { member, .. }
            | Self::Exhausted { member, .. }
            | Self::Blocked { member, .. }
            | Self::Report { member, .. }
            | Self::Paused { member, .. }
            | Self::Disabled { member, .. } => Some(*member),
            Self::None => None,
        }
    }

    /// The member to delete, if the controller must act.
    pub fn restart(&self) -> Option<MemberId> {
        match self {
            Self::Restart { member, .. } => Some(*member),
            _ => None,
        }
    }

    /// The Kubernetes Event reason, when this decision deserves an Event.
    pub fn event_reason(&self) -> Option<&'static str> {
        match self {
            Self::Restart { .. } => Some("MemberRestarted"),
            Self::ResetData { .. } => Some("MemberDataReset"),
            Self::Wait {
                cause: WaitCause::Backoff,
                ..
            } => Some("RecoveryBackoff"),
            Self::Exhausted { .. } => Some("RecoveryExhausted"),
            Self::Blocked { .. } => Some("RecoveryBlocked"),
            Self::Report { problem, .. } => Some(problem.event_reason()),
            Self::Paused { .. } => Some("RecoveryPaused"),
            Self::Disabled { .. } => Some("RecoveryDisabled"),
            Self::Wait { .. } | Self::None => None,
        }
    }

    /// The human message for the Event.
    pub fn message(&self) -> String {
        match self {
            Self::Restart { explanation, .. } | Self::ResetData { explanation, .. } => {
                explanation.clone()
            }
            Self::Wait { reason, .. }
            | Self::Exhausted { reason, .. }
            | Self::Blocked { reason, .. }
            | Self::Paused { reason, .. }
            | Self::Disabled { reason, .. } => reason.clone(),
            Self::Report { problem, .. } => problem.message(),
            Self::None => String::new(),
        }
    }
}
