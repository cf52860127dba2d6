//! The next step of a roll: one member at a time, followers first, the leader last.
use super::decision::{RolloutDecision, RolloutPlan};
use super::observation::RolloutObservation;
use super::outdated::outdated;
use super::progress::{StepProgress, progress};
use super::safety;
use super::state::{RollStep, RolloutState};

/// Decides one pass. `state` is the persisted roll (if any), `now` unix seconds,
/// `timeout` the per-step timeout in seconds. Pure: same inputs, same plan.
pub fn decide(
    state: Option<&RolloutState>,
    obs: &RolloutObservation<'_>,
    now: u64,
    timeout: u64,
) -> RolloutPlan {
    let mut state = state.cloned();
    let mut completed = None;
    if let Some(current) = state.as_mut()
        && let Some(step) = current.step.clone()
    {
        let decision = match progress(&step, obs, now, timeout) {
            StepProgress::Done => {
                current.step = None;
                completed = Some(step);
                None
            }
            StepProgress::Superseded => {
                current.step = None;
                None
            }
            StepProgress::InFlight { reissue: true, .. } => Some(RolloutDecision::Reissue(step)),
            StepProgress::InFlight { waiting_for, .. } => {
                Some(RolloutDecision::Waiting { step, waiting_for })
            }
            StepProgress::Stalled { waiting_for, .. } => Some(RolloutDecision::Stalled {
                step,
                timeout,
                waiting_for,
            }),
        };
        if let Some(decision) = decision {
            return RolloutPlan {
                decision,
                state,
                completed: None,
                finished: None,
            };
        }
    }

    let Some(revision) = obs.update_revision else {
        // The StatefulSet controller has not observed the latest template yet: which
        // pods are outdated is unknown, so a roll under way neither continues nor ends.
        return RolloutPlan {
            decision: match state {
                Some(_) => RolloutDecision::Blocked {
                    outdated: 0,
                    why: "the StatefulSet controller has not observed the pod template yet".into(),
                },
                None => RolloutDecision::Idle,
            },
            state,
            completed,
            finished: None,
        };
    };
    let outdated = outdated(obs);
    if outdated.is_empty() {
        return RolloutPlan {
            decision: RolloutDecision::Idle,
            finished: state.as_ref().map(|s| s.rolled.len()).filter(|n| *n > 0),
            state: None,
            completed,
        };
    }
    // A newer revision mid-roll starts a new count; the members already rolled onto the
    // old one are outdated again and restarted once more, for the new template.
    let mut next = state
        .filter(|s| s.revision == revision)
        .unwrap_or_else(|| RolloutState {
            revision: revision.to_string(),
            ..RolloutState::default()
        });
    let leader = obs.assessment.and_then(|a| a.leader);
    // Members that are down first (restarting them costs nothing), then followers by
    // member id, the leader last: restarting it forces an election, so that happens
    // once, at the end.
    let Some(target) = outdated
        .iter()
        .min_by_key(|p| (safety::healthy(obs, p.id), Some(p.id) == leader, p.id))
    else {
        return RolloutPlan {
            decision: RolloutDecision::Idle,
            state: None,
            completed,
            finished: None,
        };
    };
    if let Err(why) = safety::check(obs, target) {
        return RolloutPlan {
            decision: RolloutDecision::Blocked {
                outdated: outdated.len(),
                why,
            },
            state: Some(next),
            completed,
            finished: None,
        };
    }
    let role = if Some(target.id) == leader {
        "leader".to_string()
    } else {
        obs.assessment
            .and_then(|a| a.member(target.id))
            .map_or("member", |m| m.role.as_str())
            .to_string()
    };
    let rolled = next.rolled.len();
    let step = RollStep {
        member: target.id,
        pod: target.name.clone(),
        uid: target.uid.clone(),
        role,
        started: now,
        position: u32::try_from(rolled + 1).unwrap_or(u32::MAX),
        total: u32::try_from(rolled + outdated.len()).unwrap_or(u32::MAX),
        why: target.change.as_str().to_string(),
    };
    next.rolled.push(target.name.clone());
    next.step = Some(step.clone());
    RolloutPlan {
        decision: RolloutDecision::Restart(step),
        state: Some(next),
        completed,
        finished: None,
    }
}
