//! What a rolling restart contributes to the status: `Progressing` while it runs (which
//! member, its role, how far, why), `False/RollingRestartStalled` when a step timed out.
use super::conditions::Verdict;
use crate::api::PROGRESSING;
use crate::rollout::RolloutDecision;

pub const ROLLING_RESTART: &str = "RollingRestart";
pub const ROLLING_RESTART_STALLED: &str = "RollingRestartStalled";

/// `Progressing` for a roll under way; `None` when nothing is to roll.
pub fn progressing(decision: &RolloutDecision) -> Option<Verdict> {
    match decision {
        RolloutDecision::Idle => None,
        RolloutDecision::Stalled { .. } => Some(Verdict::new(
            PROGRESSING,
            false,
            ROLLING_RESTART_STALLED,
            decision.message(),
        )),
        RolloutDecision::Restart(_)
        | RolloutDecision::Reissue(_)
        | RolloutDecision::Waiting { .. }
        | RolloutDecision::Blocked { .. } => Some(Verdict::new(
            PROGRESSING,
            true,
            ROLLING_RESTART,
            decision.message(),
        )),
    }
}
