//! Pure scale planner: desired replicas + the StatefulSet's replicas + the committed
//! dynamic config + the assessment -> the one next step of a membership change made
//! through ZooKeeper dynamic reconfiguration, one member at a time.
//!
//! ```text
//! grow:   replicas + 1 (ConfigMap = committed + joiner) -> joiner serves as follower
//!         -> add_participant(joiner) -> committed config lists it -> next
//! shrink: remove(highest, followers first, leader last; sent to a member that stays)
//!         -> committed config no longer lists it -> replicas - 1 -> next
//! ```
//! Stateless on purpose: every step is read back from the world (the StatefulSet and the
//! committed config), so an operator restarted mid-change resumes where it was. Nothing
//! starts unless every voter serves under a leader; a step under way finishes first.
//! Member ids are myids (`ordinal + 1`). No I/O, no clock.
mod decide;
mod decision;
mod leaving;

#[cfg(test)]
mod tests;

pub use decide::plan;
pub use decision::{ScaleBlock, ScaleObservation, ScalePlan, ScaleStep};
pub use leaving::leaving;
