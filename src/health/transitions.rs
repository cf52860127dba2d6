//! What changed between two assessments, as Event-worthy transitions.
//!
//! Rules: a fault that appears gives its "started" transition, a fault that disappears
//! gives its "ended" transition (MemberRecovered, QuorumRestored, FaultCleared), and a
//! new leader or epoch gives LeaderElected. With no previous assessment (operator start)
//! only the faults present are reported: nothing was elected or recovered that we saw.
//! ElectionInProgress has no transition of its own: QuorumLost and LeaderElected
//! bracket an election.
use std::collections::BTreeMap;

use super::assessment::{EnsembleAssessment, Role};
use super::fault::{Fault, FaultKey, OverloadKind};
use super::observation::MemberId;

/// A change worth a Kubernetes Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    MemberDown {
        member: MemberId,
        reason: String,
    },
    MemberRecovered {
        member: MemberId,
        role: Role,
    },
    LeaderElected {
        member: MemberId,
        epoch: u32,
    },
    QuorumLost {
        serving_voters: usize,
        majority: usize,
        electing: bool,
    },
    QuorumRestored {
        leader: Option<MemberId>,
    },
    SplitBrainSuspected {
        leaders: Vec<MemberId>,
    },
    FollowerLagging {
        member: MemberId,
        lag: u64,
    },
    Overloaded {
        member: MemberId,
        what: OverloadKind,
        value: u64,
        limit: u64,
    },
    /// A lagging, overload or split-brain fault ended.
    FaultCleared {
        fault: FaultKey,
    },
    /// Forming: a member is not serving yet (what MemberDown is once formed).
    MemberStarting {
        member: MemberId,
        reason: String,
    },
    /// Forming: a member serves for the first time.
    MemberJoined {
        member: MemberId,
        role: Role,
    },
    /// Forming: a majority serves for the first time.
    QuorumFormed {
        leader: Option<MemberId>,
    },
}

impl Transition {
    /// CamelCase Event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MemberDown { .. } => "MemberDown",
            Self::MemberRecovered { .. } => "MemberRecovered",
            Self::LeaderElected { .. } => "LeaderElected",
            Self::QuorumLost { .. } => "QuorumLost",
            Self::QuorumRestored { .. } => "QuorumRestored",
            Self::SplitBrainSuspected { .. } => "SplitBrainSuspected",
            Self::FollowerLagging { .. } => "FollowerLagging",
            Self::Overloaded { .. } => "Overloaded",
            Self::FaultCleared { .. } => "FaultCleared",
            Self::MemberStarting { .. } => "MemberStarting",
            Self::MemberJoined { .. } => "MemberJoined",
            Self::QuorumFormed { .. } => "QuorumFormed",
        }
    }

    /// `Warning` transitions start a problem; the others end one or are informational.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            Self::MemberDown { .. }
                | Self::QuorumLost { .. }
                | Self::SplitBrainSuspected { .. }
                | Self::FollowerLagging { .. }
                | Self::Overloaded { .. }
        )
    }

    pub fn message(&self) -> String {
        match self {
            Self::MemberDown { member, reason } => format!("member {member} is down: {reason}"),
            // A LOOKING member is not serving: never "serving again as looking".
            Self::MemberRecovered { member, role } if !role.serves() => format!(
                "member {member} is reachable again but not serving ({})",
                role.as_str()
            ),
            Self::MemberRecovered { member, role } => {
                format!("member {member} is serving again as {}", role.as_str())
            }
            Self::MemberStarting { member, reason } => {
                format!("member {member} is starting: {reason}")
            }
            Self::MemberJoined { member, role } => {
                format!("member {member} joined the ensemble as {}", role.as_str())
            }
            Self::QuorumFormed { leader: Some(l) } => {
                format!("quorum formed with member {l} as leader")
            }
            Self::QuorumFormed { leader: None } => "quorum formed".into(),
            Self::LeaderElected { member, epoch } => {
                format!("member {member} was elected leader (epoch {epoch})")
            }
            Self::QuorumLost {
                serving_voters,
                majority,
                electing,
            } => {
                let why = if *electing {
                    "leader election in progress"
                } else {
                    "not enough voters reachable to elect a leader"
                };
                format!("quorum lost: {serving_voters} serving voters, {majority} needed ({why})")
            }
            Self::QuorumRestored { leader: Some(l) } => {
                format!("quorum restored with member {l} as leader")
            }
            Self::QuorumRestored { leader: None } => "quorum restored".into(),
            Self::SplitBrainSuspected { leaders } => {
                format!("split brain suspected: members {leaders:?} all claim leadership")
            }
            // The same words as the fault that started it.
            Self::FollowerLagging { member, lag } => Fault::FollowerLagging {
                member: *member,
                lag: *lag,
            }
            .message(),
            Self::Overloaded {
                member,
                what,
                value,
                limit,
            } => Fault::Overloaded {
                member: *member,
                what: *what,
                value: *value,
                limit: *limit,
            }
            .message(),
            Self::FaultCleared { fault } => format!("{} cleared", fault.id()),
        }
    }
}

/// Transitions from `previous` (None at operator start) to `current`.
pub fn transitions(
    previous: Option<&EnsembleAssessment>,
    current: &EnsembleAssessment,
) -> Vec<Transition> {
    let before: BTreeMap<FaultKey, &Fault> = previous
        .map(|p| p.faults.iter().map(|f| (f.key(), f)).collect())
        .unwrap_or_default();
    let after: BTreeMap<FaultKey, &Fault> = current.faults.iter().map(|f| (f.key(), f)).collect();
    let mut out = Vec::new();

    for (key, fault) in &after {
        if !before.contains_key(key)
            && let Some(t) = started(fault, current)
        {
            out.push(t);
        }
    }
    if let Some(prev) = previous {
        for key in before.keys().filter(|k| !after.contains_key(k)) {
            if let Some(t) = ended(*key, current) {
                out.push(t);
            }
        }
        if let (Some(member), Some(epoch)) = (current.leader, current.epoch)
            && (prev.leader, prev.epoch) != (current.leader, current.epoch)
        {
            out.push(Transition::LeaderElected { member, epoch });
        }
    }
    out
}

fn started(fault: &Fault, current: &EnsembleAssessment) -> Option<Transition> {
    Some(match fault.clone() {
        Fault::MemberDown { member, reason } => Transition::MemberDown { member, reason },
        Fault::QuorumLost => Transition::QuorumLost {
            serving_voters: current.serving_voters,
            majority: current.majority,
            electing: current.election_in_progress,
        },
        Fault::ElectionInProgress => return None,
        Fault::SplitBrainSuspected { leaders } => Transition::SplitBrainSuspected { leaders },
        Fault::FollowerLagging { member, lag } => Transition::FollowerLagging { member, lag },
        Fault::Overloaded {
            member,
            what,
            value,
            limit,
        } => Transition::Overloaded {
            member,
            what,
            value,
            limit,
        },
    })
}

fn ended(key: FaultKey, current: &EnsembleAssessment) -> Option<Transition> {
    match key {
        // A member removed from the ensemble did not recover; say nothing. Nor did one
        // that is only LOOKING now: it is no longer counted down because the quorum is
        // lost (QuorumLost says so), but it does not serve.
        FaultKey::MemberDown(member) => {
            current.member(member).filter(|m| m.role.serves()).map(|m| {
                Transition::MemberRecovered {
                    member,
                    role: m.role,
                }
            })
        }
        FaultKey::QuorumLost => Some(Transition::QuorumRestored {
            leader: current.leader,
        }),
        FaultKey::ElectionInProgress => None,
        FaultKey::SplitBrainSuspected | FaultKey::FollowerLagging(_) | FaultKey::Overloaded(..) => {
            Some(Transition::FaultCleared { fault: key })
        }
    }
}
