//! Pure recovery policy: assessment + pods + history -> the one safe action (or none).
//!
//! ```text
//! history' = observe(history, assessment, pods, now)       // "since" timestamps
//! decision = decide(policy, history', assessment, pods, now)
//! Restart  -> history'' = record_restart(..); persist; delete the pod (uid precondition)
//! ```
//! The controller's side of the contract:
//! - persist [`RecoveryHistory`] whenever `observe` or `record_restart` changed it
//!   (`observe` is idempotent in steady state, so that is only on transitions);
//! - record the restart and persist it *before* deleting the pod, and delete with a uid
//!   precondition: a crash in between then delays a restart, it never doubles one
//!   ([`RecoveryHistory::restart_unconfirmed`] tells whether to re-issue the delete);
//! - leave terminating pods (with a deletion timestamp) out of `pods`: a pod on its way
//!   out must not count as the restarted member being back.
//!
//! No I/O, no clock. The safety rules live in `safety.rs`, which members count as
//! failed in `failed.rs`, the ordering and precedence in `decide.rs`.
mod decide;
mod decision;
mod failed;
mod history;
mod policy;
mod reset;
mod safety;
mod view;

#[cfg(test)]
mod tests;

pub use decide::{decide, exhausted, yielding};
pub use decision::{Decision, Problem, RestartReason, WaitCause};
pub use history::{
    MemberHistory, RecoveryHistory, at, merged, next_check, observe, record_restart, unix,
};
pub use policy::RecoveryPolicy;
pub use reset::{corrupt_data, decide_reset};
