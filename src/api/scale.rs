//! `status.scale`: a membership change under way or waiting to start.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Set while the scale planner has a step to take or one that waits; cleared once the
/// committed membership, the StatefulSet and `spec.replicas` agree. Kept through an
/// invalid spec (nothing is acted on then), so the change resumes once it is fixed.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleStatus {
    /// The StatefulSet's replicas as planned for this step.
    pub replicas: i32,
    /// The step under way, e.g. "adding member 4: starting its pod"; or why none starts.
    pub step: String,
}
