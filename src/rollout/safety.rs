//! When a member may be restarted: the ensemble is whole (every member Ready, serving,
//! caught up and counted synced by the leader) and a majority serves without the target.
//! A target that is down already weighs nothing: it may go while all the others are whole.
use super::observation::{MemberPod, RolloutObservation};
use crate::health::{EnsembleAssessment, MemberId, Role};

/// `Err(why)` unless every member is back: a Ready pod, serving as leader or follower,
/// its zxid caught up with the leader's, and the leader counting every other voter as a
/// synced follower. Also what "the previous step completed" means.
pub fn whole(obs: &RolloutObservation<'_>) -> Result<(), String> {
    let Some(assessment) = obs.assessment else {
        return Err("waiting for the first health probe of every member".into());
    };
    for ordinal in 0..obs.replicas {
        member_health(obs, assessment, ordinal as MemberId + 1)?;
    }
    quorum(assessment)?;
    if assessment.serving_voters < assessment.voters {
        return Err(format!(
            "only {}/{} voters serve",
            assessment.serving_voters, assessment.voters
        ));
    }
    let followers = assessment.voters.saturating_sub(1) as u64;
    if followers > 0 {
        match obs.synced_followers {
            None => return Err("the leader's count of synced followers is unknown".into()),
            Some(n) if n < followers => {
                return Err(format!(
                    "the leader counts {n} of {followers} followers synced"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `Err(why)` unless the member's pod is Ready and it serves, caught up with the leader.
pub(super) fn member_health(
    obs: &RolloutObservation<'_>,
    assessment: &EnsembleAssessment,
    id: MemberId,
) -> Result<(), String> {
    let Some(pod) = obs.live_pod(id) else {
        return Err(format!("member {id} has no running pod"));
    };
    if !pod.running || !pod.ready {
        return Err(format!("{} is not Ready", pod.name));
    }
    let Some(member) = assessment.member(id) else {
        return Err(format!("{} is not probed yet", pod.name));
    };
    if !member.serving {
        return Err(format!(
            "{} is not serving ({})",
            pod.name,
            member.role.as_str()
        ));
    }
    let behind =
        assessment.lagging.contains(&id) || (member.role == Role::Follower && member.lag.is_none());
    if behind {
        return Err(format!("{} has not caught up with the leader", pod.name));
    }
    Ok(())
}

fn quorum(assessment: &EnsembleAssessment) -> Result<(), String> {
    if !assessment.quorum || assessment.leader.is_none() {
        return Err("the ensemble has no serving quorum with a leader".into());
    }
    Ok(())
}

/// `Err(why)` when restarting `target` now is not safe.
pub(super) fn check(obs: &RolloutObservation<'_>, target: &MemberPod) -> Result<(), String> {
    if let Some(underway) = obs.waiting_for {
        return Err(format!("the roll waits for {}", underway.describe()));
    }
    let Some(assessment) = obs.assessment else {
        return Err("waiting for the first health probe of every member".into());
    };
    if member_health(obs, assessment, target.id).is_err() {
        // Down already (e.g. stuck on a template that was since replaced): restarting it
        // takes nothing from the quorum, as long as everyone else is whole.
        for ordinal in 0..obs.replicas {
            let id = ordinal as MemberId + 1;
            if id != target.id {
                member_health(obs, assessment, id)?;
            }
        }
        return quorum(assessment);
    }
    whole(obs)?;
    // Whole means every voter serves; a single-member ensemble cannot roll without an
    // outage, every larger one keeps a majority while one member restarts.
    if assessment.voters > 1 && assessment.serving_voters.saturating_sub(1) < assessment.majority {
        return Err(format!(
            "restarting {} would leave {} serving voters, fewer than the majority of {}",
            target.name,
            assessment.serving_voters.saturating_sub(1),
            assessment.majority
        ));
    }
    Ok(())
}

/// True when the member is Ready, serving and caught up (restarting it costs the quorum).
pub(super) fn healthy(obs: &RolloutObservation<'_>, id: MemberId) -> bool {
    obs.assessment
        .is_some_and(|a| member_health(obs, a, id).is_ok())
}
