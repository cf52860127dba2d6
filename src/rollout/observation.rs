//! The planner's inputs, flattened from pods, the StatefulSet and the assessment.
use crate::controller::arbitrate::Underway;
use crate::health::{EnsembleAssessment, MemberId};

/// One member's pod, as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPod {
    pub id: MemberId,
    pub name: String,
    pub uid: String,
    /// The pod's `controller-revision-hash` label.
    pub revision: Option<String>,
    /// What changed between the pod and the StatefulSet's template, for messages.
    pub change: super::ChangeKind,
    pub ready: bool,
    pub running: bool,
    /// Has a deletion timestamp: on its way out.
    pub terminating: bool,
}

/// Everything one pass of the planner looks at.
#[derive(Debug, Clone, Copy)]
pub struct RolloutObservation<'a> {
    /// The StatefulSet's `status.updateRevision`; `None` until its controller set it.
    pub update_revision: Option<&'a str>,
    /// Desired members.
    pub replicas: usize,
    /// The pods of the desired ordinals (terminating ones included).
    pub pods: &'a [MemberPod],
    /// `None` until every member was probed once.
    pub assessment: Option<&'a EnsembleAssessment>,
    /// The leader's `zk_synced_followers`, freshly asked (not the watcher's cached
    /// `mntr`, which can predate the last restart).
    pub synced_followers: Option<u64>,
    /// A recovery restart or a scale step in flight, if any: a roll waits for it.
    pub waiting_for: Option<&'a Underway>,
}

impl RolloutObservation<'_> {
    /// The live (not terminating) pod of a member.
    pub fn live_pod(&self, id: MemberId) -> Option<&MemberPod> {
        self.pods.iter().find(|p| p.id == id && !p.terminating)
    }
}
