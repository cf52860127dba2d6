//! `spec.pdb`: the PodDisruptionBudget that paces voluntary disruptions (node drains,
//! cluster-autoscaler evictions) of the members.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Members a drain may take at once by default: one, so a drain never costs a quorum
/// of three or more.
pub const DEFAULT_MAX_UNAVAILABLE: i32 = 1;

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PdbSpec {
    /// Create the PodDisruptionBudget (default true). False deletes it: drains may then
    /// evict any number of members at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Members a voluntary disruption may take down at once (default 1). 0 blocks every
    /// eviction, so node drains hang until it is raised; more than the ensemble tolerates
    /// (replicas minus a majority) lets a drain take the quorum and gets a Warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 255))]
    pub max_unavailable: Option<i32>,
}

impl PdbSpec {
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    pub fn max_unavailable(&self) -> i32 {
        self.max_unavailable.unwrap_or(DEFAULT_MAX_UNAVAILABLE)
    }
}
