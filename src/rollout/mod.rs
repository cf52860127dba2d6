//! Pure rolling-restart planner: pods + StatefulSet revision + assessment + persisted
//! state -> the one next step of a leader-last roll (or a reason to wait).
//!
//! ```text
//! progress = progress(state.step, observation, now, timeout)   // in flight, done, stalled
//! decision = decide(state, observation, now, timeout)
//! Restart -> persist the step (status), then delete the pod (uid precondition)
//! ```
//! The StatefulSet uses `updateStrategy: OnDelete`, so nothing restarts a member but
//! this planner. Rules (each in one file):
//! - `outdated.rs`: a member is outdated when its pod's `controller-revision-hash`
//!   differs from the StatefulSet's `status.updateRevision`;
//! - `safety.rs`: nothing restarts unless every member is Ready, serving, caught up with
//!   the leader and counted synced by the leader, and a majority still serves without the
//!   target (never below quorum), and recovery has no restart in flight;
//! - `progress.rs`: a step is done once a new pod runs Ready and the ensemble is whole
//!   again; stalled once the step timeout passes first;
//! - `decide.rs`: one member at a time, followers by ordinal, the leader last.
//!
//! The controller's side: persist the step before deleting the pod, delete with the old
//! pod's uid as precondition, and re-issue that delete while the old pod still lives (an
//! operator stopped in between). No I/O, no clock.
mod decide;
mod decision;
mod observation;
mod outdated;
mod progress;
mod safety;
mod state;

#[cfg(test)]
mod tests;

pub use decide::decide;
pub use decision::{RolloutDecision, RolloutPlan};
pub use observation::{MemberPod, RolloutObservation};
pub use outdated::{ChangeKind, TemplateMarks, change_kind, outdated};
pub use progress::{StepProgress, progress};
pub use safety::whole;
pub use state::{RollStep, RolloutState};
