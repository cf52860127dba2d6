//! What a roll remembers between reconciles and across operator restarts (persisted in
//! the cluster's status). Timestamps are whole unix seconds, as in `crate::recovery`.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::health::MemberId;

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
    pub member: MemberId,
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

impl RollStep {
    /// "zk-1 (follower) 2/3: configuration changed".
    pub fn describe(&self) -> String {
        format!(
            "{} ({}) {}/{}: {}",
            self.pod, self.role, self.position, self.total, self.why
        )
    }
}
