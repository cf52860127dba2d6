//! `spec.recovery`: how eagerly the operator restarts failed members.
//!
//! Every field is optional: unset means the operator's default (see
//! `crate::recovery::RecoveryPolicy`), so defaults can improve without rewriting specs.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation on a `ZookeeperCluster` that pauses automatic recovery: with
/// `"true"` the operator only reports what it would do (Event `RecoveryPaused`).
pub const RECOVERY_PAUSED_ANNOTATION: &str = "zookeeper.ensemble.dev/recovery-paused";

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverySpec {
    /// Restart failed members automatically (default true). When false the operator
    /// only reports what it would do (Event `RecoveryDisabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// A member whose pod runs but which does not serve for this long has failed
    /// (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub not_serving_after_seconds: Option<u32>,
    /// A member whose pod is not Ready for this long has failed (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub not_ready_after_seconds: Option<u32>,
    /// Every member runs but no leader emerged for this long: members are restarted,
    /// the one with the most recent data last (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub leaderless_after_seconds: Option<u32>,
    /// After a restart, how long to wait for the member to come back before anything
    /// else is restarted (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub restart_timeout_seconds: Option<u32>,
    /// First wait between two restarts of the same member; it doubles (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub backoff_initial_seconds: Option<u32>,
    /// The longest wait between two restarts of the same member (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub backoff_max_seconds: Option<u32>,
    /// At most this many restarts of one member within the window; then recovery of
    /// that member stops with `Degraded=RecoveryExhausted` (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_restarts: Option<u32>,
    /// The window in which restarts are counted (default 1800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 604800))]
    pub window_seconds: Option<u32>,
    /// Reset a member whose data on disk ZooKeeper cannot load (delete its volume
    /// claim and pod so it resyncs from the leader), only while the others hold a
    /// healthy quorum. Off by default: deleting data must be asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_corrupt_data: Option<bool>,
}
