//! `spec.metrics`: what the operator exports about a cluster's members.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    /// Export each member's ZooKeeper metrics (read from `mntr`) on the operator's
    /// `/metrics`, under ZooKeeper's own names (default true). About 30 series per member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<bool>,
}

impl MetricsSpec {
    /// On unless switched off: monitoring should work out of the box.
    pub fn members(&self) -> bool {
        self.members.unwrap_or(true)
    }
}
