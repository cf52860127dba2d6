//! `spec.rollout`: how the operator rolls members onto a new pod template.
//!
//! The StatefulSet uses `updateStrategy: OnDelete`; the operator restarts outdated
//! members itself, followers first and the leader last (see `crate::rollout`).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default per-step timeout: a member that has not rejoined and synced by then stalls
/// the roll (`Progressing=False/RollingRestartStalled`).
pub const DEFAULT_STEP_TIMEOUT_SECONDS: u32 = 600;
pub const MIN_STEP_TIMEOUT_SECONDS: u32 = 10;
pub const MAX_STEP_TIMEOUT_SECONDS: u32 = 86400;

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// How long one restarted member may take to come back Ready, serving and synced
    /// before the roll stops with `Progressing=False/RollingRestartStalled` (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub step_timeout_seconds: Option<u32>,
}

impl RolloutSpec {
    pub fn step_timeout_seconds(&self) -> u64 {
        u64::from(
            self.step_timeout_seconds
                .unwrap_or(DEFAULT_STEP_TIMEOUT_SECONDS),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    /// The StatefulSet revision (`status.updateRevision`) being rolled out.
    pub revision: String,
    /// Pods restarted for this revision so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rolled: Vec<String>,
    /// The restart in flight, until its member is back Ready, serving and synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<RollStep>,
}

/// One restart of a roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollStep {
    /// ZooKeeper id of the member.
    pub member: u64,
    pub pod: String,
    /// Uid of the pod deleted: a pod with this uid still alive means the delete may not
    /// have been issued; any other pod of that name is the replacement.
    pub uid: String,
    /// `leader` or `follower` when the restart was decided.
    pub role: String,
    /// When the restart was decided (unix seconds).
    pub started: u64,
    /// 1-based position in the roll and the roll's size, for messages.
    pub position: u32,
    pub total: u32,
    /// Why the member is restarted, e.g. "configuration changed".
    pub why: String,
}
