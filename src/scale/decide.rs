//! The one next step, read from the world each pass.
use std::collections::BTreeSet;

use super::decision::{ScaleBlock, ScaleObservation, ScalePlan, ScaleStep};
use crate::health::{EnsembleAssessment, MemberId, Role};

pub fn plan(obs: &ScaleObservation) -> ScalePlan {
    let desired = obs.desired;
    let Some(current) = obs.statefulset_replicas else {
        // A new ensemble forms all at once (Parallel): there is no membership to change.
        return hold(desired, (1..=desired).collect(), None);
    };
    let Some(config) = obs.committed else {
        // Without the committed membership nothing changes; the list stays as the pods.
        let blocked = (desired != current).then_some(ScaleBlock::ConfigUnknown);
        return hold(current, (1..=current).collect(), blocked);
    };
    let committed: BTreeSet<MemberId> = config.participants().into_iter().collect();
    // The ConfigMap: the committed voters plus a joiner whose pod is (to be) running.
    let members = |replicas: u64| -> Vec<MemberId> {
        committed
            .iter()
            .copied()
            .chain((1..=replicas.min(desired)).filter(|id| !committed.contains(id)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let step = |step: ScaleStep, replicas: u64| ScalePlan {
        replicas,
        members: members(replicas),
        step: Some(step),
        blocked: None,
    };
    let blocked = |block: ScaleBlock| hold(current, members(current), Some(block));

    // A pod beyond the target that is no voter (removed already, or a joiner no longer
    // wanted): its pod goes first. Safe whatever the health: it counts for no quorum.
    if current > desired && !committed.contains(&current) {
        return step(ScaleStep::RemovePod { member: current }, current - 1);
    }

    let surplus: Vec<MemberId> = committed
        .iter()
        .copied()
        .filter(|id| *id > desired)
        .collect();
    if !surplus.is_empty() {
        if let Err(block) = healthy(obs.assessment, &committed) {
            return blocked(block);
        }
        let Some(version) = config.version else {
            return blocked(ScaleBlock::NoVersion);
        };
        let leader = obs.assessment.and_then(|a| a.leader);
        // The highest follower first, the leader last.
        let Some(member) = surplus
            .iter()
            .rev()
            .copied()
            .find(|id| Some(*id) != leader)
            .or_else(|| surplus.last().copied())
        else {
            return hold(current, members(current), None);
        };
        // The request goes to a member that stays: one being removed (above all the
        // leader) drops its clients as the change commits, and the reply is lost.
        let Some(via) = committed
            .iter()
            .copied()
            .find(|id| *id <= desired && serving(obs.assessment, *id))
        else {
            return blocked(ScaleBlock::NoQuorum);
        };
        return step(
            ScaleStep::RemoveMember {
                member,
                version,
                via,
                leader: Some(member) == leader,
            },
            current,
        );
    }

    let Some(missing) = (1..=desired).find(|id| !committed.contains(id)) else {
        // Every wanted member votes; pods missing for voters (the StatefulSet was
        // lowered by hand) come back one at a time.
        if current < desired {
            return step(
                ScaleStep::AddPod {
                    member: current + 1,
                },
                current + 1,
            );
        }
        return hold(current, members(current), None);
    };
    if missing <= current {
        // The joiner's pod runs: it becomes a voter once it serves as a learner (an add
        // with an unsynced joiner would commit a dead voter).
        if !follows(obs.assessment, missing) {
            return step(ScaleStep::AwaitJoiner { member: missing }, current);
        }
        if let Err(block) = healthy(obs.assessment, &committed) {
            return blocked(block);
        }
        let Some(version) = config.version else {
            return blocked(ScaleBlock::NoVersion);
        };
        return step(
            ScaleStep::AddMember {
                member: missing,
                version,
            },
            current,
        );
    }
    if let Err(block) = healthy(obs.assessment, &committed) {
        return blocked(block);
    }
    step(
        ScaleStep::AddPod {
            member: current + 1,
        },
        current + 1,
    )
}

fn hold(replicas: u64, members: Vec<MemberId>, blocked: Option<ScaleBlock>) -> ScalePlan {
    ScalePlan {
        replicas,
        members,
        step: None,
        blocked,
    }
}

/// A change starts only with a leader and every committed voter serving: the new
/// configuration's majority must be able to commit it.
fn healthy(
    assessment: Option<&EnsembleAssessment>,
    committed: &BTreeSet<MemberId>,
) -> Result<(), ScaleBlock> {
    let Some(a) = assessment else {
        return Err(ScaleBlock::NoQuorum);
    };
    if !a.quorum || a.leader.is_none() {
        return Err(ScaleBlock::NoQuorum);
    }
    let down: Vec<MemberId> = committed
        .iter()
        .copied()
        .filter(|id| !serving(assessment, *id))
        .collect();
    if down.is_empty() {
        Ok(())
    } else {
        Err(ScaleBlock::NotServing(down))
    }
}

fn serving(assessment: Option<&EnsembleAssessment>, id: MemberId) -> bool {
    assessment
        .and_then(|a| a.member(id))
        .is_some_and(|m| m.serving && matches!(m.role, Role::Leader | Role::Follower))
}

fn follows(assessment: Option<&EnsembleAssessment>, id: MemberId) -> bool {
    assessment
        .and_then(|a| a.member(id))
        .is_some_and(|m| m.serving && m.role == Role::Follower)
}
