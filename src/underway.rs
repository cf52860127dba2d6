//! The one member change in flight this pass. Recovery, the rolling restart and scaling
//! never act at once; the one that waits names what it waits for, in its own words.

/// What is under way, with its own description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Underway {
    /// A rolling-restart step: `RolloutStep::describe` (pod, role, position, why).
    RollStep(String),
    /// Automatic recovery restarting (or re-creating) this member's pod.
    RecoveryRestart(String),
    /// A scale step: `ScaleStep::describe` ("adding member 4: starting its pod").
    ScaleStep(String),
}

impl Underway {
    /// The change as the object of "yields to" / "waits for".
    pub fn describe(&self) -> String {
        match self {
            Self::RollStep(step) => format!("the rolling restart (restarting {step})"),
            Self::RecoveryRestart(pod) => format!("automatic recovery restarting {pod}"),
            Self::ScaleStep(step) => format!("the scale change ({step})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_is_named_for_what_it_is() {
        assert_eq!(
            Underway::RollStep("zk-0 (follower) 1/3: image changed".into()).describe(),
            "the rolling restart (restarting zk-0 (follower) 1/3: image changed)"
        );
        assert_eq!(
            Underway::RecoveryRestart("zk-2".into()).describe(),
            "automatic recovery restarting zk-2"
        );
        assert_eq!(
            Underway::ScaleStep("adding member 4: starting its pod".into()).describe(),
            "the scale change (adding member 4: starting its pod)"
        );
    }
}
