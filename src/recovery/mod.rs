//! Pure recovery policy: assessment + pods + history -> the one safe action (or none).
//!
//! ```text
//! history' = observe(history, assessment, pods, now)       // "since" timestamps
//! decision = decide(policy, history', assessment, pods, now)
//! Restart  -> history'' = record_restart(..); persist; delete the pod (uid precondition)
//! ```
//! No I/O, no clock. The safety rules live in `safety.rs`, which members count as
//! failed in `failed.rs`, the ordering and precedence in `decide.rs`.
mod decide;
mod decision;
mod failed;
mod history;
mod policy;
mod safety;
mod view;

#[cfg(test)]
mod tests;

pub use decide::decide;
pub use decision::{Decision, Problem, RestartReason, WaitCause};
pub use history::{MemberHistory, RecoveryHistory, at, observe, record_restart, unix};
pub use policy::RecoveryPolicy;
