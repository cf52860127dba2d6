//! The planner's inputs and outputs.
use crate::health::{EnsembleAssessment, MemberId};
use crate::zk::dynamic_config::DynamicConfig;

/// What the planner sees in one pass.
#[derive(Debug, Clone, Copy)]
pub struct ScaleObservation<'a> {
    /// `spec.replicas`.
    pub desired: u64,
    /// The live StatefulSet's `spec.replicas`; `None` before it exists.
    pub statefulset_replicas: Option<u64>,
    /// The committed membership read from a member; `None` when none could be read.
    pub committed: Option<&'a DynamicConfig>,
    pub assessment: Option<&'a EnsembleAssessment>,
}

/// One membership step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleStep {
    /// Raise the StatefulSet's replicas by one: the pod of `member` starts as a
    /// non-voting learner from the ConfigMap's list (committed + itself).
    AddPod { member: MemberId },
    /// The joiner's pod runs but does not serve as a follower yet: wait.
    AwaitJoiner { member: MemberId },
    /// `add_participant(member)` against the committed config `version`.
    AddMember { member: MemberId, version: u64 },
    /// `remove(member)` against `version`, sent to `via`, a member that stays.
    RemoveMember {
        member: MemberId,
        version: u64,
        via: MemberId,
        leader: bool,
    },
    /// `member` is out of the committed config: lower the replicas by one (its pod goes).
    RemovePod { member: MemberId },
}

impl ScaleStep {
    pub fn member(&self) -> MemberId {
        match self {
            Self::AddPod { member }
            | Self::AwaitJoiner { member }
            | Self::AddMember { member, .. }
            | Self::RemoveMember { member, .. }
            | Self::RemovePod { member } => *member,
        }
    }

    /// The member whose pod this step starts or waits for: down on purpose until it
    /// serves, like a member a roll restarts.
    pub fn starting(&self) -> Option<MemberId> {
        match self {
            Self::AddPod { member } | Self::AwaitJoiner { member } => Some(*member),
            Self::AddMember { .. } | Self::RemoveMember { .. } | Self::RemovePod { .. } => None,
        }
    }

    /// For status messages and Events; never carries a credential.
    pub fn describe(&self) -> String {
        match self {
            Self::AddPod { member } => format!("adding member {member}: starting its pod"),
            Self::AwaitJoiner { member } => {
                format!("adding member {member}: waiting for it to sync as a follower")
            }
            Self::AddMember { member, .. } => {
                format!("adding member {member}: adding it to the committed membership")
            }
            Self::RemoveMember { member, leader, .. } => format!(
                "removing member {member}{}: removing it from the committed membership",
                if *leader { " (the leader)" } else { "" }
            ),
            Self::RemovePod { member } => {
                format!("removing member {member}: deleting its pod")
            }
        }
    }
}

/// Why a needed step does not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScaleBlock {
    /// No member answered with the committed membership.
    ConfigUnknown,
    /// No serving quorum under a leader.
    NoQuorum,
    /// These voters do not serve: a membership change now could lose the quorum.
    NotServing(Vec<MemberId>),
    /// The committed config has no version to reconfigure against.
    NoVersion,
    /// A write through the remaining members did not commit: `member`'s pod stays.
    WriteUnconfirmed { member: MemberId, detail: String },
}

impl ScaleBlock {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::ConfigUnknown => "ScalingConfigUnknown",
            Self::NoQuorum => "ScalingWaitsForQuorum",
            Self::NotServing(_) => "ScalingWaitsForHealthyMembers",
            Self::NoVersion => "ScalingConfigUnknown",
            Self::WriteUnconfirmed { .. } => "ScalingWaitsForWrite",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::ConfigUnknown => {
                "scaling waits: no member answered with the committed membership".into()
            }
            Self::NoQuorum => "scaling waits: the ensemble has no serving quorum".into(),
            Self::NotServing(ids) => format!(
                "scaling waits: member(s) {} do not serve; no membership change until every voter does",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::NoVersion => "scaling waits: the committed membership has no version".into(),
            Self::WriteUnconfirmed { member, detail } => format!(
                "scaling waits: a write through the remaining members did not commit \
                 ({detail}); the pod of member {member} stays until one does"
            ),
        }
    }
}

/// The plan for this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePlan {
    /// The StatefulSet replicas to apply (not `spec.replicas` while a change is under way).
    pub replicas: u64,
    /// The member ids the ConfigMap lists: committed participants plus a joiner.
    pub members: Vec<MemberId>,
    /// `None`: nothing to do, or a step cannot start (`blocked`).
    pub step: Option<ScaleStep>,
    pub blocked: Option<ScaleBlock>,
}

impl ScalePlan {
    /// This pass's pod removal held back: the replicas stay, the plan says why.
    pub fn hold_removal(self, detail: String) -> Self {
        match self.step {
            Some(ScaleStep::RemovePod { member }) => Self {
                replicas: member,
                step: None,
                blocked: Some(ScaleBlock::WriteUnconfirmed { member, detail }),
                ..self
            },
            _ => self,
        }
    }

    /// A step is under way (recovery and the roll yield).
    pub fn in_progress(&self) -> bool {
        self.step.is_some()
    }
}
