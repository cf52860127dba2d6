//! Stage 2, pure: from the gathered world to this pass's plans. Validation, the desired
//! objects, the scale plan, the recovery plan and the roll plan, each asked with the turn
//! `arbitrate` gives it, and the volume claims retention changes. No I/O, no clock (the
//! pass's `now` is an argument).
use std::time::{Duration, SystemTime};

use k8s_openapi::api::apps::v1::StatefulSet;

use super::arbitrate::{self, Arbitration, RollClaim, Turn, Underway};
use super::gather::World;
use super::recovery::{self, RecoveryPlan};
use super::retention::{self, ClaimChange};
use super::rollout;
use super::scale;
use crate::api::{StorageMode, ZookeeperCluster};
use crate::build::{DesiredObjects, ServerCapabilities, desired_objects};
use crate::health::MemberId;
use crate::recovery::{Decision, WaitCause};
use crate::rollout::RolloutPlan;
use crate::scale::{ScalePlan, ScaleStep};
use crate::status;
use crate::validate::{
    ValidCluster, ValidationError, check_immutable, check_server_support, restart_request,
    validate as validate_spec,
};

/// Everything this pass will do, decided before anything is done (the desired objects
/// go along separately: act moves them into the apply).
pub struct Plan {
    pub claims: Vec<ClaimChange>,
    pub scale: ScalePlan,
    pub recovery: Option<RecoveryPlan>,
    pub roll: RolloutPlan,
    pub arbitration: Arbitration,
    /// Members down on purpose (a roll step's, a joiner's): their outage does not page.
    pub on_purpose: Vec<MemberId>,
    /// When time alone changes a plan (a recovery or roll deadline, a scale step).
    pub requeue: Option<Duration>,
}

/// The spec as the operator accepts it, with the fields that cannot change checked
/// against the live StatefulSet and the fields the server is too old for refused, and
/// the restart annotation resolved against the live pod template.
pub fn validate(
    cluster: &ZookeeperCluster,
    live: Option<&StatefulSet>,
    server: ServerCapabilities,
) -> Result<ValidCluster, ValidationError> {
    let valid = validate_spec(cluster)?;
    let mut errors = check_immutable(&valid.spec, live);
    errors.extend(check_server_support(&valid.spec, server));
    if errors.is_empty() {
        Ok(valid.with_restart(restart_request(cluster, live)))
    } else {
        Err(ValidationError::InvalidSpec(errors))
    }
}

/// What the roll has under way, from the gathered state.
pub fn roll_claim(cluster: &ZookeeperCluster, world: &World, now: SystemTime) -> RollClaim {
    RollClaim {
        persisted: roll_persisted(cluster),
        in_flight: world.roll.step_in_flight(world.assessment.as_ref(), now),
    }
}

/// A roll step is persisted in the cluster's status.
fn roll_persisted(cluster: &ZookeeperCluster) -> bool {
    cluster
        .status
        .as_ref()
        .and_then(|s| s.rollout.as_ref())
        .is_some_and(|r| r.step.is_some())
}

/// The scale plan with its turn, and the write check's verdict on a pod removal.
pub fn scale(cluster: &ZookeeperCluster, valid: &ValidCluster, world: &World) -> (ScalePlan, Turn) {
    let roll = RollClaim {
        persisted: roll_persisted(cluster),
        in_flight: None,
    };
    let turn = arbitrate::scale_turn(&roll, valid.spec.paused);
    let plan = scale::plan(
        cluster,
        valid,
        world.live.as_ref(),
        world.committed.as_ref(),
        world.committed_needed,
        world.probed.as_ref(),
        turn == Turn::Holds,
    );
    let plan = match &world.removal_proof {
        Some(Err(why)) => plan.hold_removal(why.clone()),
        Some(Ok(())) | None => plan,
    };
    (plan, turn)
}

pub fn plan(
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    world: &World,
    server: ServerCapabilities,
    now: SystemTime,
) -> (Plan, DesiredObjects) {
    let roll_claim = roll_claim(cluster, world, now);
    let assessment = world.assessment.as_ref();
    let (scale_plan, scale_turn) = scale(cluster, valid, world);
    let scaling = scale_plan
        .step
        .as_ref()
        .map(|s| Underway::ScaleStep(s.describe()));
    let paused = valid.spec.paused;
    let recovery_turn = arbitrate::recovery_turn(&roll_claim, scaling.as_ref(), paused);
    let recovery = recovery::plan(
        cluster,
        valid,
        &world.pods,
        assessment,
        world.recovery_written.as_ref(),
        recovery_turn.waits_for(),
        now,
    );
    let restart = recovery
        .as_ref()
        .and_then(|p| recovery_restart(valid, &p.decision));
    let roll_turn = arbitrate::roll_turn(restart.as_ref(), scaling.as_ref(), paused);
    let roll = rollout::plan(&world.roll, assessment, roll_turn.waits_for(), now);
    let desired = desired_objects(valid, server, &scale::membership(&scale_plan));
    let plan = Plan {
        claims: claims(valid, world, &scale_plan),
        on_purpose: on_purpose(&roll, &scale_plan),
        requeue: requeue(recovery.as_ref(), &roll, &scale_plan),
        arbitration: Arbitration {
            scale: scale_turn,
            recovery: recovery_turn,
            roll: roll_turn,
        },
        scale: scale_plan,
        recovery,
        roll,
    };
    (plan, desired)
}

/// The member recovery restarts in this pass or waits for, if any.
fn recovery_restart(valid: &ValidCluster, decision: &Decision) -> Option<Underway> {
    let pod = match decision {
        Decision::Restart { pod, .. } | Decision::ResetData { pod, .. } => pod.clone(),
        Decision::Wait {
            member,
            cause: WaitCause::InFlight,
            ..
        } => status::member_name(valid, *member),
        _ => return None,
    };
    Some(Underway::RecoveryRestart(pod))
}

/// Claims to delete or re-own. A claim is scaled away only beyond every replica the
/// StatefulSet has or gets this pass: during a stepwise shrink the members between
/// `spec.replicas` and the live count still vote.
fn claims(valid: &ValidCluster, world: &World, scale: &ScalePlan) -> Vec<ClaimChange> {
    if valid.spec.storage.mode != StorageMode::Persistent {
        return Vec::new();
    }
    let live = scale::statefulset_replicas(world.live.as_ref()).unwrap_or(0);
    let replicas = i32::try_from(live.max(scale.replicas)).unwrap_or(i32::MAX);
    retention::plan(valid, &world.claims, &world.pods, replicas)
}

/// The member a roll step restarts is down on purpose, like one recovery restarts, and
/// so is a joiner while its pod starts and syncs: neither pages.
fn on_purpose(roll: &RolloutPlan, scale: &ScalePlan) -> Vec<MemberId> {
    let rolled = roll
        .decision
        .in_flight()
        .then(|| roll.decision.step().map(|s| s.member))
        .flatten();
    rolled
        .into_iter()
        .chain(scale.step.as_ref().and_then(ScaleStep::starting))
        .collect()
}

fn requeue(
    recovery: Option<&RecoveryPlan>,
    roll: &RolloutPlan,
    scale: &ScalePlan,
) -> Option<Duration> {
    recovery
        .and_then(|p| p.requeue)
        .into_iter()
        .chain(rollout::requeue(roll))
        .chain(scale::requeue(scale))
        .min()
}
