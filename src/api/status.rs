//! The `ZookeeperCluster` status: where the ensemble stands.
//!
//! Nothing here changes unless the world changed: conditions keep their
//! `lastTransitionTime` until their status flips, so an unchanged cluster is never patched.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AlertsStatus, RecoveryHistory, RolloutState, ScaleStatus};

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZookeeperClusterStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Available`, `Progressing` and `Degraded`; `NotificationsReady` when the cluster
    /// has notification receivers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Members the StatefulSet runs.
    #[serde(default)]
    pub replicas: i32,
    /// Members whose pods are Ready (serving, by their readiness probe).
    #[serde(default)]
    pub ready_replicas: i32,
    /// Label selector of the members' pods, as a string (the scale subresource's
    /// `labelSelectorPath`, which autoscalers read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// One entry per member, ordered by myid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberStatus>,
    /// Pod name of the current leader, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Serving voters over voters, e.g. `3/3`, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<String>,
    /// Client connection string: `host:port,...` of every member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_string: Option<String>,
    /// What automatic recovery remembers: restarts per member within the window, the
    /// pod each restart deleted, since when members fail. Kept here so backoff and the
    /// restart cap survive an operator restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryHistory>,
    /// The rolling restart in progress: the revision rolled out, the members restarted
    /// so far and the restart in flight. Kept here so an operator restarted mid-roll
    /// neither restarts a member twice nor forgets where it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutState>,
    /// The membership change in progress or waiting to start. Kept here so an operator
    /// restarted mid-change, or a spec made invalid and fixed meanwhile, resumes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleStatus>,
    /// The last `zookeeper.ensemble.dev/restart-requested-at` value (RFC 3339) every
    /// member has been restarted for, the leader last; set once the last one is back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted_at: Option<String>,
    /// Alerts for this cluster: firing and pending counts, undelivered notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsStatus>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// Pod name.
    pub name: String,
    /// ZooKeeper server id (pod ordinal + 1).
    pub myid: i32,
    /// Pod Ready condition.
    pub ready: bool,
    /// `leader`, `follower`, `observer`, `looking`, `standalone` or `down`, once observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The member answers client requests (it is part of a serving quorum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<bool>,
    /// Last zxid seen (hex), refreshed when the ensemble's health changes, not on every
    /// write, so steady traffic causes no status writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zxid: Option<String>,
    /// Why the member is unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the member was last seen serving; set when it stops serving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Restarts by the operator within the recovery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// When the operator last restarted this member (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart: Option<String>,
}

/// A condition in the Kubernetes convention (`metav1.Condition` shape).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    /// RFC 3339 time of the last change of `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";
/// Present while the cluster has receivers: False when one cannot be notified.
pub const NOTIFICATIONS_READY: &str = "NotificationsReady";
