//! Members that have left the ensemble (a scale-down took them out of the committed
//! membership) but whose pods still run until the StatefulSet shrinks: such a member no
//! longer serves, which is the point, so it is neither a voter nor `MemberDown` (no Event,
//! no alert, nothing for recovery to restart).
use std::collections::BTreeSet;

use super::assessment::EnsembleAssessment;
use super::fault::Fault;
use super::observation::MemberId;

const LEAVING: &str = "removed from the ensemble by the scale-down; its pod goes next";

/// The assessment with the `leaving` members marked as such.
pub fn with_leaving(
    assessment: &EnsembleAssessment,
    leaving: &BTreeSet<MemberId>,
) -> EnsembleAssessment {
    let mut out = assessment.clone();
    if leaving.is_empty() {
        return out;
    }
    for member in out.members.iter_mut().filter(|m| leaving.contains(&m.id)) {
        member.voter = false;
        if !member.serving {
            member.reason = Some(LEAVING.into());
        }
    }
    out.faults
        .retain(|f| !matches!(f, Fault::MemberDown { member, .. } if leaving.contains(member)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::tests::srvr;
    use crate::health::{MemberObservation, ProbeFailure, Thresholds, assess};
    use crate::zk::{ServerMode, ZkErrorKind};

    /// 5 -> 3 with member 5 removed: it answers "not serving", its pod still runs.
    fn member_five_removed() -> EnsembleAssessment {
        let mut obs: Vec<MemberObservation> = (1..=4)
            .map(|id| {
                let mode = if id == 1 {
                    ServerMode::Leader
                } else {
                    ServerMode::Follower
                };
                MemberObservation::new(id, format!("zk-{}", id - 1), "a:1")
                    .with_status(Ok(srvr(mode, 0x1_0000_0010)))
            })
            .collect();
        obs.push(
            MemberObservation::new(5, "zk-4", "a:1").with_status(Err(ProbeFailure {
                kind: ZkErrorKind::NotServing,
                message: "member is not serving requests".into(),
            })),
        );
        assess(&obs, &Thresholds::default())
    }

    #[test]
    fn a_removed_member_is_not_down() {
        let raw = member_five_removed();
        // What the bare assessment says, and what it used to be reported as.
        assert!(raw.has_fault(crate::health::FaultKey::MemberDown(5)));
        let marked = with_leaving(&raw, &BTreeSet::from([5]));
        assert!(marked.faults.is_empty(), "{:?}", marked.faults);
        let five = marked.member(5).expect("member 5");
        assert!(!five.voter);
        assert_eq!(five.reason.as_deref(), Some(LEAVING));
        assert!(marked.quorum);
        assert_eq!(marked.leader, Some(1));
        // No transition to tell: nothing went down.
        assert!(crate::health::transitions(Some(&marked), &marked).is_empty());
    }

    #[test]
    fn members_not_leaving_keep_their_faults() {
        let raw = member_five_removed();
        assert_eq!(with_leaving(&raw, &BTreeSet::new()), raw);
        let marked = with_leaving(&raw, &BTreeSet::from([4]));
        assert!(marked.has_fault(crate::health::FaultKey::MemberDown(5)));
        // A serving member that leaves keeps its role; it is only no voter any more.
        let four = marked.member(4).expect("member 4");
        assert!(four.serving && !four.voter && four.reason.is_none());
    }
}
