//! `status.recovery`: what automatic recovery remembers across operator restarts. The
//! policy (`crate::recovery`) reads and updates it; only the shape lives here.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Recovery state of one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryHistory {
    /// By myid. The schema says string keys: JSON object keys are strings, and
    /// Kubernetes rejects the `patternProperties` an integer key would produce.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, MemberHistory>")]
    pub members: BTreeMap<u64, MemberHistory>,
    /// Since when the ensemble has had no leader (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaderless_since: Option<u64>,
}

/// Recovery state of one member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberHistory {
    /// Restarts within the policy window, oldest first (unix seconds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarts: Vec<u64>,
    /// The last restart, kept after it leaves the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart: Option<u64>,
    /// The pod deleted by the last restart (its uid), so a controller that restarts
    /// between persisting the decision and deleting the pod can tell whether the delete
    /// still has to be issued: see [`RecoveryHistory::restart_unconfirmed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<String>,
    /// The member was seen gone (pod missing, container not running or unreachable)
    /// since the last restart: the old process stopped, so "serving" now means the new
    /// one serves, not the one being deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone_since_restart: bool,
    /// The new process was seen back
    /// ([`super::view::MemberView::back_after_restart`]): the restart is over. Remembered
    /// so that a later failure of the same member counts as a new fault instead of
    /// holding every restart until the old one times out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub landed: bool,
    /// First seen unhealthy (not serving, not Ready or container not running); cleared
    /// once healthy again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<u64>,
}
