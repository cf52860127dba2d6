//! The planner's answer for one pass.
use super::state::{RollStep, RolloutState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutDecision {
    /// Nothing outdated and nothing in flight.
    Idle,
    /// Restart this member now: persist the plan's state first, then delete the pod
    /// with the step's uid as precondition.
    Restart(RollStep),
    /// The step was persisted but its pod still lives: issue the same delete again.
    Reissue(RollStep),
    /// The step's member is not back yet.
    Waiting { step: RollStep, waiting_for: String },
    /// The step timeout passed without the member rejoining: the roll stops here.
    Stalled {
        step: RollStep,
        timeout: u64,
        waiting_for: String,
    },
    /// Members are outdated, but restarting one now could hurt the ensemble.
    Blocked { outdated: usize, why: String },
}

impl RolloutDecision {
    /// The step in flight or about to start.
    pub fn step(&self) -> Option<&RollStep> {
        match self {
            Self::Restart(step)
            | Self::Reissue(step)
            | Self::Waiting { step, .. }
            | Self::Stalled { step, .. } => Some(step),
            Self::Idle | Self::Blocked { .. } => None,
        }
    }

    /// A restart of the roll is under way and not given up on: recovery must not act.
    pub fn in_flight(&self) -> bool {
        matches!(
            self,
            Self::Restart(_) | Self::Reissue(_) | Self::Waiting { .. }
        )
    }

    /// Human summary for conditions and logs.
    pub fn message(&self) -> String {
        match self {
            Self::Idle => "no member runs an outdated pod template".into(),
            Self::Restart(step) | Self::Reissue(step) => {
                format!("restarting {}", step.describe())
            }
            Self::Waiting { step, waiting_for } => {
                format!("restarting {}; waiting for {waiting_for}", step.describe())
            }
            Self::Stalled {
                step,
                timeout,
                waiting_for,
            } => format!(
                "restarted {} but it did not rejoin within {timeout}s (waiting for \
                 {waiting_for}); the roll stops until it does",
                step.describe()
            ),
            Self::Blocked { outdated, why } => {
                format!("{outdated} member(s) to restart onto the new pod template; waiting: {why}")
            }
        }
    }
}

/// One pass of the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPlan {
    pub decision: RolloutDecision,
    /// What to persist in the status; `None` once no roll is under way.
    pub state: Option<RolloutState>,
    /// The step that completed in this pass, if one did.
    pub completed: Option<RollStep>,
    /// The roll ended in this pass (its last member came back): how many were restarted.
    pub finished: Option<usize>,
}
