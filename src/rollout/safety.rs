//! When a member may be restarted: the ensemble is whole (every member Ready, serving,
//! caught up and counted synced by the leader) and a majority serves without the target.
use super::observation::{MemberPod, RolloutObservation};
use crate::health::{MemberId, Role};

/// `Err(why)` unless every member is back: a Ready pod, serving as leader or follower,
/// its zxid caught up with the leader's, and the leader counting every other voter as a
/// synced follower. Also what "the previous step completed" means.
pub fn whole(obs: &RolloutObservation<'_>) -> Result<(), String> {
    let Some(assessment) = obs.assessment else {
        return Err("waiting for the first health probe of every member".into());
    };
    for ordinal in 0..obs.replicas {
        let id = ordinal as MemberId + 1;
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
            return Err(format!("{} is not serving ({})", pod.name, member.role.as_str()));
        }
        let behind = assessment.lagging.contains(&id)
            || (member.role == Role::Follower && member.lag.is_none());
        if behind {
            return Err(format!("{} has not caught up with the leader", pod.name));
        }
    }
    if !assessment.quorum || assessment.leader.is_none() {
        return Err("the ensemble has no serving quorum with a leader".into());
    }
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

/// `Err(why)` when restarting `target` now is not safe.
pub(super) fn check(obs: &RolloutObservation<'_>, target: &MemberPod) -> Result<(), String> {
    if let Some(member) = obs.recovery_restarting {
        return Err(format!(
            "automatic recovery is restarting {member}; the roll waits for it"
        ));
    }
    whole(obs)?;
    // Whole means every voter serves; a single-member ensemble cannot roll without an
    // outage, every larger one keeps a majority while one member restarts.
    if let Some(a) = obs.assessment
        && a.voters > 1
        && a.serving_voters.saturating_sub(1) < a.majority
    {
        return Err(format!(
            "restarting {} would leave {} serving voters, fewer than the majority of {}",
            target.name,
            a.serving_voters.saturating_sub(1),
            a.majority
        ));
    }
    Ok(())
}
