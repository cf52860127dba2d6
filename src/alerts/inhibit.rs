//! Which alerts are muted: their firing notices are held back (resolved notices are not,
//! so a receiver never keeps an alert open that we told it about).
use std::collections::BTreeSet;

use super::book::{Alert, AlertState};

/// Alertnames a lost quorum explains: with no quorum, members being down is the symptom.
const QUORUM_LOST_MUTES: &[&str] = &["MemberDown"];

/// Muted when the cluster has lost its quorum (for MemberDown) or when the alert is
/// about a member the operator is restarting itself: that downtime is intended.
pub fn muted(alert: &Alert, quorum_lost: bool, restarting: &BTreeSet<String>) -> bool {
    if quorum_lost && QUORUM_LOST_MUTES.contains(&alert.alertname()) {
        return true;
    }
    alert.alertname() != "RecoveryExhausted"
        && alert
            .label("member")
            .is_some_and(|m| restarting.contains(m))
}

/// Whether the cluster's QuorumLost alert is active (pending or firing).
pub fn quorum_lost<'a>(alerts: impl IntoIterator<Item = &'a Alert>) -> bool {
    alerts
        .into_iter()
        .any(|a| a.alertname() == "QuorumLost" && a.state != AlertState::Resolved)
}
