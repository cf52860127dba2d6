//! What a roll remembers between reconciles and across operator restarts: the persisted
//! shapes are `crate::api::{RolloutState, RollStep}` (in the cluster's status); the
//! roll's reading of them lives here. Timestamps are whole unix seconds, as in
//! `crate::recovery`.
pub use crate::api::{RollStep, RolloutState};

impl RollStep {
    /// "zk-1 (follower) 2/3: configuration changed".
    pub fn describe(&self) -> String {
        format!(
            "{} ({}) {}/{}: {}",
            self.pod, self.role, self.position, self.total, self.why
        )
    }
}
