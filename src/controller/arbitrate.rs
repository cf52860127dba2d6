//! Stage 3, pure: which member-changing plan may act this pass, and what the others wait
//! for. Recovery, the rolling restart and scaling never change members at once; the
//! order is fixed here and nowhere else:
//!
//! 1. a roll step persisted in the status holds every scale step that changes pods
//!    (a joiner already started may still be waited for);
//! 2. recovery yields to a roll step in flight, else to a scale step under way;
//! 3. the roll yields to a recovery restart (issued now or still in flight), else to a
//!    scale step under way;
//! 4. a paused cluster (`spec.paused`) overrides all three: scaling holds, recovery and
//!    the roll wait for the pause, so each still reports what it would do.
//!
//! Each planner is then asked with its turn, so the one that waits names what it waits
//! for in its own words. No I/O, no clock: it cannot fail, so it has no error type.

/// A member change under way, with its own description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Underway {
    /// A rolling-restart step: `RolloutStep::describe` (pod, role, position, why).
    RollStep(String),
    /// Automatic recovery restarting (or re-creating) this member's pod.
    RecoveryRestart(String),
    /// A scale step: `ScaleStep::describe` ("adding member 4: starting its pod").
    ScaleStep(String),
    /// `spec.paused`: the operator changes nothing until it is unpaused.
    Paused,
}

impl Underway {
    /// The change as the object of "yields to" / "waits for".
    pub fn describe(&self) -> String {
        match self {
            Self::RollStep(step) => format!("the rolling restart (restarting {step})"),
            Self::RecoveryRestart(pod) => format!("automatic recovery restarting {pod}"),
            Self::ScaleStep(step) => format!("the scale change ({step})"),
            Self::Paused => "the pause (spec.paused)".to_string(),
        }
    }
}

/// What the roll has under way, as gathered before anyone plans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollClaim {
    /// A step is persisted in `status.rollout` (in flight, stalled or timed out).
    pub persisted: bool,
    /// That step is still in flight (its member not back, not timed out).
    pub in_flight: Option<Underway>,
}

/// A plan's turn this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// It may change a member.
    Acts,
    /// It reports what it would do and waits for this change.
    Waits(Underway),
    /// It keeps what runs and starts nothing (a persisted roll step may resume).
    Holds,
}

impl Turn {
    pub fn waits_for(&self) -> Option<&Underway> {
        match self {
            Self::Waits(underway) => Some(underway),
            Self::Acts | Self::Holds => None,
        }
    }

    pub fn acts(&self) -> bool {
        matches!(self, Self::Acts)
    }
}

/// Scaling's turn: held while paused or while the roll has a step persisted.
pub fn scale_turn(roll: &RollClaim, paused: bool) -> Turn {
    if paused || roll.persisted {
        Turn::Holds
    } else {
        Turn::Acts
    }
}

/// Recovery's turn, given the scale step this pass will take (after its own turn).
pub fn recovery_turn(roll: &RollClaim, scale_step: Option<&Underway>, paused: bool) -> Turn {
    if paused {
        return Turn::Waits(Underway::Paused);
    }
    match roll.in_flight.as_ref().or(scale_step) {
        Some(underway) => Turn::Waits(underway.clone()),
        None => Turn::Acts,
    }
}

/// The roll's turn, given the restart recovery issues or waits for, and the scale step.
pub fn roll_turn(
    recovery_restart: Option<&Underway>,
    scale_step: Option<&Underway>,
    paused: bool,
) -> Turn {
    if paused {
        return Turn::Waits(Underway::Paused);
    }
    match recovery_restart.or(scale_step) {
        Some(underway) => Turn::Waits(underway.clone()),
        None => Turn::Acts,
    }
}

/// The three turns of one pass, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arbitration {
    pub scale: Turn,
    pub recovery: Turn,
    pub roll: Turn,
}

impl Arbitration {
    /// How many plans may change a member: never more than one with something to do.
    pub fn acting(&self, wants: [bool; 3]) -> usize {
        [&self.scale, &self.recovery, &self.roll]
            .iter()
            .zip(wants)
            .filter(|(turn, wants)| turn.acts() && *wants)
            .count()
    }
}

/// All three turns in the order a pass asks them: `scale` is the step scaling takes
/// when asked with its turn, `recovery` the restart recovery issues when asked with its.
pub fn arbitrate(
    roll: &RollClaim,
    paused: bool,
    scale: impl FnOnce(&Turn) -> Option<Underway>,
    recovery: impl FnOnce(&Turn) -> Option<Underway>,
) -> Arbitration {
    let scale_turn = scale_turn(roll, paused);
    let scale_step = scale(&scale_turn);
    let recovery_turn = recovery_turn(roll, scale_step.as_ref(), paused);
    let restart = recovery(&recovery_turn);
    Arbitration {
        roll: roll_turn(restart.as_ref(), scale_step.as_ref(), paused),
        scale: scale_turn,
        recovery: recovery_turn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roll_step() -> Underway {
        Underway::RollStep("zk-0 (follower) 1/3: image changed".into())
    }

    fn scale_step() -> Underway {
        Underway::ScaleStep("adding member 4: starting its pod".into())
    }

    fn restart() -> Underway {
        Underway::RecoveryRestart("zk-2".into())
    }

    fn in_flight() -> RollClaim {
        RollClaim {
            persisted: true,
            in_flight: Some(roll_step()),
        }
    }

    #[test]
    fn each_change_is_named_for_what_it_is() {
        assert_eq!(
            roll_step().describe(),
            "the rolling restart (restarting zk-0 (follower) 1/3: image changed)"
        );
        assert_eq!(restart().describe(), "automatic recovery restarting zk-2");
        assert_eq!(
            scale_step().describe(),
            "the scale change (adding member 4: starting its pod)"
        );
    }

    #[test]
    fn nothing_under_way_lets_each_plan_act() {
        let a = arbitrate(&RollClaim::default(), false, |_| None, |_| None);
        assert_eq!(a.scale, Turn::Acts);
        assert_eq!(a.recovery, Turn::Acts);
        assert_eq!(a.roll, Turn::Acts);
    }

    #[test]
    fn a_roll_step_in_flight_holds_recovery() {
        let a = arbitrate(
            &in_flight(),
            false,
            |_| None,
            |turn| turn.acts().then(restart),
        );
        assert_eq!(a.recovery, Turn::Waits(roll_step()));
        assert_eq!(a.roll, Turn::Acts);
    }

    #[test]
    fn a_persisted_roll_step_holds_scaling() {
        let stalled = RollClaim {
            persisted: true,
            in_flight: None,
        };
        assert_eq!(scale_turn(&stalled, false), Turn::Holds);
        assert_eq!(scale_turn(&in_flight(), false), Turn::Holds);
        // Stalled (not in flight): recovery may act on the stuck member, and the roll
        // then waits for it.
        let a = arbitrate(&stalled, false, |_| None, |turn| turn.acts().then(restart));
        assert_eq!(a.recovery, Turn::Acts);
        assert_eq!(a.roll, Turn::Waits(restart()));
    }

    #[test]
    fn a_recovery_restart_in_flight_holds_the_roll() {
        let a = arbitrate(&RollClaim::default(), false, |_| None, |_| Some(restart()));
        assert_eq!(a.recovery, Turn::Acts);
        assert_eq!(a.roll, Turn::Waits(restart()));
    }

    #[test]
    fn scaling_holds_both() {
        let a = arbitrate(
            &RollClaim::default(),
            false,
            |turn| turn.acts().then(scale_step),
            |turn| turn.acts().then(restart),
        );
        assert_eq!(a.scale, Turn::Acts);
        assert_eq!(a.recovery, Turn::Waits(scale_step()));
        assert_eq!(a.roll, Turn::Waits(scale_step()));
    }

    #[test]
    fn a_roll_step_in_flight_is_named_before_a_scale_step() {
        // A joiner already started may still be waited for while a roll step runs:
        // recovery names the roll, the roll goes on.
        let a = arbitrate(&in_flight(), false, |_| Some(scale_step()), |_| None);
        assert_eq!(a.recovery, Turn::Waits(roll_step()));
        assert_eq!(a.roll, Turn::Waits(scale_step()));
    }

    #[test]
    fn a_recovery_restart_is_named_before_a_scale_step_by_the_roll() {
        assert_eq!(
            roll_turn(Some(&restart()), Some(&scale_step()), false),
            Turn::Waits(restart())
        );
    }

    #[test]
    fn a_pause_lets_no_plan_act_whatever_is_under_way() {
        for roll in [RollClaim::default(), in_flight()] {
            let a = arbitrate(
                &roll,
                true,
                |turn| turn.acts().then(scale_step),
                |turn| turn.acts().then(restart),
            );
            assert_eq!(a.scale, Turn::Holds, "{roll:?}");
            assert_eq!(a.recovery, Turn::Waits(Underway::Paused), "{roll:?}");
            assert_eq!(a.roll, Turn::Waits(Underway::Paused), "{roll:?}");
            assert_eq!(a.acting([true, true, true]), 0);
        }
        assert_eq!(Underway::Paused.describe(), "the pause (spec.paused)");
    }

    #[test]
    fn never_more_than_one_plan_acts_on_a_member() {
        // Every combination of claims: at most one of the plans that want to act may.
        for persisted in [false, true] {
            for roll_in_flight in [false, true] {
                for scale_wants in [false, true] {
                    for recovery_wants in [false, true] {
                        let roll = RollClaim {
                            persisted: persisted || roll_in_flight,
                            in_flight: roll_in_flight.then(roll_step),
                        };
                        let a = arbitrate(
                            &roll,
                            false,
                            |turn| (turn.acts() && scale_wants).then(scale_step),
                            |turn| (turn.acts() && recovery_wants).then(restart),
                        );
                        // The roll always has a step to take when its turn comes.
                        let wants = [scale_wants, recovery_wants, true];
                        assert!(a.acting(wants) <= 1, "{roll:?} {wants:?} -> {a:?}");
                        if roll.persisted {
                            assert_eq!(a.scale, Turn::Holds);
                        }
                        if roll_in_flight {
                            assert_eq!(a.recovery, Turn::Waits(roll_step()));
                        }
                        if scale_wants && !roll.persisted {
                            assert!(!a.recovery.acts() && !a.roll.acts(), "{a:?}");
                        }
                        if recovery_wants && a.recovery.acts() {
                            assert_eq!(a.roll, Turn::Waits(restart()));
                        }
                    }
                }
            }
        }
    }
}
