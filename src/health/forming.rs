//! Events while a new ensemble forms for the first time. Its members start one by one,
//! so "down" and "no quorum" are its normal state then, not faults: within the grace
//! they are told as Normal progress (members starting, joining, the quorum forming,
//! the first leader elected); a cluster still not formed after the grace gets the
//! Warnings, once for what is wrong then and as usual afterwards.
use super::assessment::EnsembleAssessment;
use super::transitions::{Transition, transitions};

/// How long a new cluster may take to form before its faults are Warnings (and page).
pub const FORMATION_GRACE_SECS: u64 = 300;

/// Where a cluster stands in its first formation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formation {
    /// Available at least once: faults are faults.
    Formed,
    /// Never Available yet, created this long ago.
    Forming { age_secs: u64 },
}

impl Formation {
    /// `forming`: never Available yet; times in unix seconds.
    pub fn of(forming: bool, created: Option<u64>, now: u64) -> Self {
        if forming {
            Self::Forming {
                age_secs: created.map_or(0, |c| now.saturating_sub(c)),
            }
        } else {
            Self::Formed
        }
    }

    pub fn in_grace(self) -> bool {
        matches!(self, Self::Forming { age_secs } if age_secs < FORMATION_GRACE_SECS)
    }

    /// Forming for longer than the grace.
    pub fn overdue(self) -> bool {
        matches!(self, Self::Forming { .. }) && !self.in_grace()
    }
}

/// What to tell for the change from `previous` to `current`. `overdue_news`: the grace
/// ran out since the last call, so every fault present now is told as a Warning.
pub fn told_transitions(
    formation: Formation,
    previous: Option<&EnsembleAssessment>,
    current: &EnsembleAssessment,
    overdue_news: bool,
) -> Vec<Transition> {
    if overdue_news {
        return transitions(None, current);
    }
    let all = transitions(previous, current);
    if !formation.in_grace() {
        return all;
    }
    let mut out: Vec<Transition> = all
        .into_iter()
        .filter_map(|t| match t {
            Transition::MemberDown { member, reason } => {
                Some(Transition::MemberStarting { member, reason })
            }
            // Joins are told from the roles below; no quorum yet is the starting point.
            Transition::MemberRecovered { .. } | Transition::QuorumLost { .. } => None,
            Transition::QuorumRestored { leader } => Some(Transition::QuorumFormed { leader }),
            other => Some(other),
        })
        .collect();
    for m in &current.members {
        let served = previous
            .and_then(|p| p.member(m.id))
            .is_some_and(|p| p.role.serves());
        if m.role.serves() && !served {
            out.push(Transition::MemberJoined {
                member: m.id,
                role: m.role,
            });
        }
    }
    out
}
