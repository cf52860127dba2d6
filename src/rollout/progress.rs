//! Whether the restart in flight has completed, is still under way, or has stalled.
use super::observation::RolloutObservation;
use super::safety::whole;
use super::state::RollStep;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepProgress {
    /// The member is back: a new pod Ready, the ensemble whole again.
    Done,
    /// Not back yet. `reissue`: the old pod still lives and is not terminating, so the
    /// delete may never have been issued (operator stopped in between): issue it again.
    InFlight { waiting_for: String, reissue: bool },
    /// The replacement pod already runs an older template than the StatefulSet's
    /// current one (the spec changed again): the step is over, that member is simply
    /// outdated again.
    Superseded,
    /// The step timeout passed without the member rejoining.
    Stalled { waited: u64, waiting_for: String },
}

/// Where the step stands at `now` (unix seconds).
pub fn progress(
    step: &RollStep,
    obs: &RolloutObservation<'_>,
    now: u64,
    timeout: u64,
) -> StepProgress {
    let old_alive = obs.pods.iter().any(|p| p.uid == step.uid && !p.terminating);
    let waiting_for = match obs.live_pod(step.member) {
        _ if old_alive => format!("{} to be deleted", step.pod),
        None => format!("{} to be recreated", step.pod),
        Some(pod) if pod.uid == step.uid => format!("{} to be deleted", step.pod),
        Some(pod)
            if obs
                .update_revision
                .is_some_and(|r| pod.revision.as_deref() != Some(r)) =>
        {
            return StepProgress::Superseded;
        }
        Some(pod) if !pod.running || !pod.ready => format!("{} to become Ready", step.pod),
        Some(_) => match whole(obs) {
            Ok(()) => return StepProgress::Done,
            Err(why) => format!("{} to rejoin and sync: {why}", step.pod),
        },
    };
    let waited = now.saturating_sub(step.started);
    if waited >= timeout {
        return StepProgress::Stalled {
            waited,
            waiting_for,
        };
    }
    StepProgress::InFlight {
        waiting_for,
        reissue: old_alive,
    }
}
