//! What automatic recovery contributes to the status: the persisted history, restart
//! counts per member, and `Degraded=RecoveryExhausted` once restarts stopped helping.
use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use super::conditions::Verdict;
use super::member_name;
use crate::api::DEGRADED;
use crate::health::MemberId;
use crate::recovery::RecoveryHistory;
use crate::validate::ValidCluster;

/// Computed by the controller's recovery step for this pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryReport {
    /// The history to persist (including a restart about to be performed).
    pub history: RecoveryHistory,
    /// Restarts within the policy window, per member (members without any left out).
    pub recent: BTreeMap<MemberId, usize>,
    /// Members whose restarts are used up while they still fail.
    pub exhausted: Vec<MemberId>,
}

pub const RECOVERY_EXHAUSTED: &str = "RecoveryExhausted";

impl RecoveryReport {
    /// `Degraded=True/RecoveryExhausted` naming the members, if any.
    pub fn degraded(&self, cluster: &ValidCluster) -> Option<Verdict> {
        if self.exhausted.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .exhausted
            .iter()
            .map(|id| {
                let restarts = self.recent.get(id).copied().unwrap_or_default();
                format!("{} ({restarts} restarts)", member_name(cluster, *id))
            })
            .collect();
        Some(Verdict::new(
            DEGRADED,
            true,
            RECOVERY_EXHAUSTED,
            format!(
                "automatic recovery stopped: restarts did not help {}; fix the cause, then \
                 delete the pod or wait for the restart window to pass",
                names.join(", ")
            ),
        ))
    }

    /// Restarts within the window and the last restart time (RFC 3339) of a member.
    pub fn member(&self, id: MemberId) -> (Option<u32>, Option<String>) {
        let recent = self
            .recent
            .get(&id)
            .and_then(|n| u32::try_from(*n).ok())
            .filter(|n| *n > 0);
        let last = self
            .history
            .member(id)
            .and_then(|m| m.last_restart)
            .and_then(|secs| Timestamp::from_second(i64::try_from(secs).ok()?).ok())
            .map(|t| t.to_string());
        (recent, last)
    }

    /// The history as persisted: absent when there is nothing to remember.
    pub fn persisted(&self) -> Option<RecoveryHistory> {
        (self.history != RecoveryHistory::default()).then(|| self.history.clone())
    }
}
