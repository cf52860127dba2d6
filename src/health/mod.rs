//! Pure: member observations -> ensemble assessment (quorum, leader, faults), and the
//! transitions between two assessments that deserve a Kubernetes Event.
//!
//! ```text
//! MemberObservation (srvr/mntr outcome, pod view) --assess--> EnsembleAssessment
//! (previous, current) --transitions--> Vec<Transition>
//! ```
//! No I/O, no clock: the same observations always give the same assessment.
mod assess;
mod assessment;
mod fault;
mod forming;
mod leaving;
mod member;
mod observation;
mod signals;
mod thresholds;
mod transitions;

#[cfg(test)]
mod forming_tests;
#[cfg(test)]
mod tests;

pub use assess::assess;
pub use assessment::{EnsembleAssessment, Health, MemberAssessment, Role};
pub use fault::{Fault, FaultKey, OverloadKind};
pub use forming::{FORMATION_GRACE_SECS, Formation, told_transitions};
pub use leaving::with_leaving;
pub use observation::{ContainerState, MemberId, MemberObservation, PodView, ProbeFailure};
pub use signals::zxid_lag;
pub use thresholds::Thresholds;
pub use transitions::{Transition, transitions};
