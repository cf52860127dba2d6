//! One flat view per member, joining the assessment with the pod: members whose pod has
//! no IP yet are missing from the assessment but still need a verdict.
use std::collections::BTreeMap;

use crate::health::{ContainerState, EnsembleAssessment, MemberId, PodView, Role};

#[derive(Debug, Clone)]
pub(crate) struct MemberView<'a> {
    pub id: MemberId,
    pub name: &'a str,
    pub role: Role,
    pub voter: bool,
    pub serving: bool,
    pub zxid: Option<u64>,
    pub lagging: bool,
    pub pod: Option<&'a PodView>,
}

impl MemberView<'_> {
    /// Counts toward `serving_voters`, exactly as the assessment counts it.
    pub fn serving_voter(&self) -> bool {
        self.voter
            && self.serving
            && matches!(self.role, Role::Leader | Role::Follower | Role::Standalone)
    }

    pub fn container_running(&self) -> bool {
        self.pod
            .is_some_and(|p| p.phase == "Running" && p.container == ContainerState::Running)
    }

    /// Serving from a Ready pod whose container runs: nothing to recover.
    pub fn healthy(&self) -> bool {
        self.serving && self.container_running() && self.pod.is_some_and(|p| p.ready)
    }

    /// After a restart whose old process was seen gone: the new one runs and serves.
    /// Without quorum nobody can serve, so answering (not `Down`) is enough then.
    pub fn back_after_restart(&self, quorum: bool) -> bool {
        self.container_running() && (self.serving || (!quorum && self.role != Role::Down))
    }

    /// The process is observably gone: no pod, container not running, or unreachable.
    /// Seeing this after a restart proves the old process stopped.
    pub fn gone(&self) -> bool {
        !self.container_running() || self.role == Role::Down
    }
}

/// Every member of the assessment, plus pods the assessment does not know yet, by id.
pub(crate) fn members_of<'a>(
    assessment: &'a EnsembleAssessment,
    pods: &'a BTreeMap<MemberId, PodView>,
) -> Vec<MemberView<'a>> {
    let mut out: Vec<MemberView<'a>> = assessment
        .members
        .iter()
        .map(|m| MemberView {
            id: m.id,
            name: &m.name,
            role: m.role,
            voter: m.voter,
            serving: m.serving,
            zxid: m.zxid,
            lagging: assessment.lagging.contains(&m.id),
            pod: pods.get(&m.id),
        })
        .collect();
    for (id, pod) in pods {
        if assessment.member(*id).is_none() {
            // Unknown to the watcher (no IP yet): not serving, so it cannot weigh on the
            // majority; assume a voter, the conservative guess.
            out.push(MemberView {
                id: *id,
                name: &pod.name,
                role: Role::Down,
                voter: true,
                serving: false,
                zxid: None,
                lagging: false,
                pod: Some(pod),
            });
        }
    }
    out.sort_by_key(|v| v.id);
    out
}
