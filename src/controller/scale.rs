//! Scaling's I/O around the pure planner (`crate::scale`): read the committed membership
//! from the leader when a change is wanted or under way -> plan (pure) -> the reconcile
//! applies the planned replicas and member list -> act: one reconfig (add or remove one
//! member), told as an Event. The plan is read back from the world at every pass, so
//! nothing about a step needs persisting.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;

use super::context::Context;
use super::events::{self, Told};
use super::memory::Poisoned;
use crate::api::{PROGRESSING, ZookeeperCluster, ZookeeperClusterStatus};
use crate::build::Membership;
use crate::build::config::member_spec;
use crate::build::labels::pod_name;
use crate::health::{EnsembleAssessment, MemberId};
use crate::scale::{
    ScaleBlock, ScaleObservation, ScalePlan, ScaleStep, leaving, plan as plan_scale,
};
use crate::status::notices::Notice;
use crate::validate::ValidCluster;
use crate::zk::{DynamicConfig, ReconfigClient, ReconfigError, ReconfigOptions};

/// Event reasons for a reconfig that committed; a failed one uses `ReconfigError::reason`.
pub const MEMBER_ADDED: &str = "MemberAdded";
pub const MEMBER_REMOVED: &str = "MemberRemoved";
/// The `Progressing` reason while a step is under way.
pub const SCALING: &str = "Scaling";
/// A joiner syncing or a reconfig committing changes no pod and no health: look again soon.
const STEP_REQUEUE: Duration = Duration::from_secs(2);
const BLOCKED_REQUEUE: Duration = Duration::from_secs(10);
/// A lost reply is looked for in the committed config for this long (a new leader takes
/// over meanwhile); passes come every [`STEP_REQUEUE`] while a step is under way.
const CONFIRM_WITHIN: Duration = Duration::from_secs(10);

/// The StatefulSet's replicas as applied last, if it exists.
pub fn statefulset_replicas(statefulset: Option<&StatefulSet>) -> Option<u64> {
    statefulset
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas)
        .and_then(|r| u64::try_from(r).ok())
}

/// The members to watch: every pod the StatefulSet has or will have, so the members being
/// removed (the leader among them) are still seen.
pub fn watched_replicas(valid: &ValidCluster, statefulset: Option<&StatefulSet>) -> i32 {
    let current = statefulset_replicas(statefulset)
        .and_then(|r| i32::try_from(r).ok())
        .unwrap_or(0);
    valid.spec.replicas.max(current)
}

/// The watched members a scale-down took out of the committed membership (their pods
/// still run): leaving, not down.
pub fn leaving_members(
    valid: &ValidCluster,
    watched: i32,
    committed: Option<&DynamicConfig>,
) -> BTreeSet<MemberId> {
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    leaving(count(valid.spec.replicas), count(watched), committed)
}

/// The committed membership is read only while a change is wanted or under way (the
/// previous pass said `Scaling`): a settled cluster costs no session.
pub fn needs_committed(
    valid: &ValidCluster,
    statefulset: Option<&StatefulSet>,
    status: Option<&ZookeeperClusterStatus>,
) -> bool {
    let Some(current) = statefulset_replicas(statefulset) else {
        return false;
    };
    u64::try_from(valid.spec.replicas).ok() != Some(current) || scaling(status)
}

/// The last status said a scale step was under way or waiting: `status.scale`, or the
/// `Scaling*` condition reason a status written before `status.scale` existed carries.
fn scaling(status: Option<&ZookeeperClusterStatus>) -> bool {
    let Some(status) = status else {
        return false;
    };
    status.scale.is_some()
        || status
            .conditions
            .iter()
            .find(|c| c.type_ == PROGRESSING)
            .is_some_and(|c| c.reason.starts_with(SCALING))
}

/// The replicas the planner starts from. Settled (no scale under way, the spec already
/// observed) means the StatefulSet should have `spec.replicas`: a different live value is
/// someone's edit, put back as any drift is. Otherwise the live value: the change under way.
fn current_replicas(
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    statefulset: Option<&StatefulSet>,
) -> Option<u64> {
    let live = statefulset_replicas(statefulset)?;
    let status = cluster.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation) == cluster.metadata.generation;
    if observed && !scaling(status) {
        u64::try_from(valid.spec.replicas).ok()
    } else {
        Some(live)
    }
}

/// Pure: the plan for this pass. While a roll or recovery restart is in flight (`busy`)
/// no step starts; the StatefulSet keeps its replicas. `committed_needed`: the committed
/// membership was asked for (see [`needs_committed`]).
pub fn plan(
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    statefulset: Option<&StatefulSet>,
    committed: Option<&DynamicConfig>,
    committed_needed: bool,
    assessment: Option<&EnsembleAssessment>,
    busy: bool,
) -> ScalePlan {
    let current = current_replicas(cluster, valid, statefulset);
    let mut plan = plan_scale(&ScaleObservation {
        desired: u64::try_from(valid.spec.replicas).unwrap_or(0),
        statefulset_replicas: current,
        committed,
        assessment,
    });
    // Asked for and not read (e.g. a new operator's first pass, before any member was
    // probed) while the replicas already match: a joiner may still wait to be added. Not
    // knowing must keep the `Scaling*` reason, or the next pass would take the cluster as
    // settled and never ask again.
    if committed_needed && committed.is_none() && plan.step.is_none() && plan.blocked.is_none() {
        plan.blocked = Some(ScaleBlock::ConfigUnknown);
    }
    match (&plan.step, current) {
        (Some(ScaleStep::AwaitJoiner { .. }) | None, _) | (_, None) => plan,
        (Some(_), Some(current)) if busy => ScalePlan {
            replicas: current,
            step: None,
            ..plan
        },
        _ => plan,
    }
}

pub fn membership(plan: &ScalePlan) -> Membership {
    Membership {
        replicas: i32::try_from(plan.replicas).unwrap_or(i32::MAX),
        members: plan.members.clone(),
    }
}

/// When to look again for the scale's sake.
pub fn requeue(plan: &ScalePlan) -> Option<Duration> {
    if plan.step.is_some() {
        Some(STEP_REQUEUE)
    } else if plan.blocked.is_some() {
        Some(BLOCKED_REQUEUE)
    } else {
        None
    }
}

/// Act: the one reconfig of this pass, if the step is one. Pod count changes need nothing
/// here: the StatefulSet was applied with the planned replicas. A failed reconfig is a
/// Warning Event with its reason and is tried again next pass (the plan is re-read from
/// the committed config, so a change that did commit is never sent twice). A lost reply
/// is remembered, not waited for: a later pass reads the committed config and tells the
/// outcome ([`outcome`]).
pub async fn act(
    ctx: &Context,
    valid: &ValidCluster,
    plan: &ScalePlan,
    password: &str,
    assessment: Option<&EnsembleAssessment>,
    told: &mut Vec<Told>,
) -> Result<(), Poisoned> {
    let Some(step) = &plan.step else {
        return Ok(());
    };
    let Some(outcome) = reconfig(valid, step, password, assessment).await else {
        return Ok(());
    };
    let notice = match outcome {
        Ok(config) => {
            let notice = committed_notice(step, &config);
            tracing::info!(cluster = %valid.name, message = %notice.message, "membership changed");
            notice
        }
        // The reply was lost (the leader moved and the member we asked dropped its
        // clients): the committed config tells whether it happened, next pass.
        Err(ReconfigError::OutcomeUnknown(error)) => {
            tracing::info!(cluster = %valid.name, %error, step = %step.describe(), "reconfig outcome unknown; re-read next pass");
            return ctx.memory.with(&valid.uid, |m| {
                m.reconfig_unknown = Some((step.clone(), Instant::now()))
            });
        }
        Err(error) => {
            tracing::warn!(cluster = %valid.name, %error, step = %step.describe(), "reconfig failed");
            Notice {
                warning: true,
                reason: error.reason().into(),
                message: format!("{}: {error}", step.describe()),
            }
        }
    };
    told.push(about_member(valid, step, notice));
    Ok(())
}

/// Sends the step's reconfig; `None` when the step is none or no member to send it to.
async fn reconfig(
    valid: &ValidCluster,
    step: &ScaleStep,
    password: &str,
    assessment: Option<&EnsembleAssessment>,
) -> Option<Result<DynamicConfig, ReconfigError>> {
    // An addition goes to the leader, a removal to a member that stays.
    let (via, add) = match step {
        ScaleStep::AddMember { member, .. } => (None, Some(member_spec(valid, *member))),
        ScaleStep::RemoveMember { via, .. } => (Some(*via), None),
        _ => return None,
    };
    let addr = address(assessment, via)?;
    let version = match step {
        ScaleStep::AddMember { version, .. } | ScaleStep::RemoveMember { version, .. } => *version,
        _ => return None,
    };
    let result = async {
        let mut client =
            ReconfigClient::connect(addr, password, ReconfigOptions::default()).await?;
        let result = match &add {
            Some(spec) => client.add_participant(spec, version).await,
            None => client.remove(step.member(), version).await,
        };
        client.close().await;
        result
    }
    .await;
    Some(result)
}

/// After a lost reply: once the committed config shows the step done, its Event (to
/// tell) and the step is forgotten; not shown within [`CONFIRM_WITHIN`], it is forgotten
/// (the plan, re-read from the committed config, decides again).
pub fn outcome(
    ctx: &Context,
    valid: &ValidCluster,
    unknown: Option<&(ScaleStep, Instant)>,
    committed: Option<&DynamicConfig>,
) -> Result<Option<Told>, Poisoned> {
    let Some((step, since)) = unknown else {
        return Ok(None);
    };
    let done = committed.filter(|c| {
        c.participants().contains(&step.member()) == matches!(step, ScaleStep::AddMember { .. })
    });
    let told = match done {
        Some(config) => Some(about_member(valid, step, committed_notice(step, config))),
        None if since.elapsed() < CONFIRM_WITHIN => return Ok(None),
        None => None,
    };
    ctx.memory.with(&valid.uid, |m| m.reconfig_unknown = None)?;
    Ok(told)
}

/// The Event of a committed step.
fn committed_notice(step: &ScaleStep, config: &DynamicConfig) -> Notice {
    let member = step.member();
    let (reason, message) = match step {
        ScaleStep::RemoveMember { leader, .. } => {
            (MEMBER_REMOVED, removed_message(member, *leader, config))
        }
        _ => (MEMBER_ADDED, added_message(member, config)),
    };
    Notice {
        warning: false,
        reason: reason.into(),
        message,
    }
}

/// About the member's pod, so each member's Event stands on its own (the recorder
/// folds Events with the same reason and object into one series).
fn about_member(valid: &ValidCluster, step: &ScaleStep, notice: Notice) -> Told {
    let ordinal = i32::try_from(step.member().saturating_sub(1)).unwrap_or(i32::MAX);
    let related = Some(events::pod_ref(valid, pod_name(&valid.name, ordinal)));
    Told { notice, related }
}

/// `via` if given (a member that stays), else the leader (a follower would forward).
pub(super) fn address(
    assessment: Option<&EnsembleAssessment>,
    via: Option<MemberId>,
) -> Option<SocketAddr> {
    let a = assessment?;
    let id = via.or(a.leader)?;
    a.member(id)?.address.parse().ok()
}

fn added_message(member: MemberId, config: &DynamicConfig) -> String {
    format!(
        "member {member} joined the committed membership (now {}; version {})",
        ids(config),
        config.version_hex().unwrap_or_default()
    )
}

fn removed_message(member: MemberId, leader: bool, config: &DynamicConfig) -> String {
    format!(
        "member {member}{} left the committed membership (now {}; version {})",
        if leader { " (the leader)" } else { "" },
        ids(config),
        config.version_hex().unwrap_or_default()
    )
}

fn ids(config: &DynamicConfig) -> String {
    config
        .participants()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::StatefulSetSpec;

    use super::*;
    use crate::api::Condition;
    use crate::validate::validate;

    fn sts(replicas: i32) -> StatefulSet {
        StatefulSet {
            spec: Some(StatefulSetSpec {
                replicas: Some(replicas),
                ..StatefulSetSpec::default()
            }),
            ..StatefulSet::default()
        }
    }

    fn cluster(replicas: i32, observed: Option<i64>, progressing: &str) -> ZookeeperCluster {
        let mut c = crate::validate::tests::cluster(&format!("replicas: {replicas}"));
        c.status = Some(ZookeeperClusterStatus {
            observed_generation: observed,
            conditions: vec![Condition {
                type_: PROGRESSING.into(),
                status: "True".into(),
                reason: progressing.into(),
                message: String::new(),
                last_transition_time: None,
                observed_generation: observed,
            }],
            ..ZookeeperClusterStatus::default()
        });
        c
    }

    #[test]
    fn settled_clusters_put_an_edited_statefulset_back_to_the_spec() {
        // Generation 1 observed, nothing scaling: the live 1 is someone's edit.
        let c = cluster(3, Some(1), "Reconciled");
        let valid = validate(&c).expect("valid");
        assert_eq!(current_replicas(&c, &valid, Some(&sts(1))), Some(3));
        let plan = plan(&c, &valid, Some(&sts(1)), None, false, None, false);
        assert_eq!(plan.replicas, 3);
    }

    #[test]
    fn a_new_spec_or_a_scale_under_way_starts_from_the_live_replicas() {
        let new_spec = cluster(5, Some(0), "Reconciled");
        let valid = validate(&new_spec).expect("valid");
        assert_eq!(current_replicas(&new_spec, &valid, Some(&sts(3))), Some(3));
        assert!(needs_committed(
            &valid,
            Some(&sts(3)),
            new_spec.status.as_ref()
        ));
        // Without the committed membership nothing moves.
        let held = plan(&new_spec, &valid, Some(&sts(3)), None, true, None, false);
        assert_eq!(held.replicas, 3);

        let under_way = cluster(5, Some(1), SCALING);
        assert_eq!(current_replicas(&under_way, &valid, Some(&sts(5))), Some(5));
        assert!(needs_committed(
            &valid,
            Some(&sts(5)),
            under_way.status.as_ref()
        ));
        let waiting = cluster(5, Some(1), "ScalingWaitsForQuorum");
        assert_eq!(current_replicas(&waiting, &valid, Some(&sts(4))), Some(4));

        let settled = cluster(5, Some(1), "Reconciled");
        assert!(!needs_committed(
            &valid,
            Some(&sts(5)),
            settled.status.as_ref()
        ));
        assert_eq!(current_replicas(&settled, &valid, None), None);
    }

    #[test]
    fn an_unread_committed_membership_keeps_a_scale_under_way_from_looking_settled() {
        // A new operator's first pass mid-grow: the StatefulSet already runs the 5th
        // pod, the status says Scaling, no member was probed yet to read the membership.
        let c = cluster(5, Some(1), SCALING);
        let valid = validate(&c).expect("valid");
        let unread = plan(&c, &valid, Some(&sts(5)), None, true, None, false);
        assert_eq!(unread.replicas, 5);
        assert_eq!(unread.step, None);
        assert_eq!(unread.blocked, Some(ScaleBlock::ConfigUnknown));
        assert!(
            unread
                .blocked
                .as_ref()
                .is_some_and(|b| b.reason().starts_with(SCALING))
        );
        // Not asked for (settled): nothing to say.
        let settled = cluster(5, Some(1), "Reconciled");
        let quiet = plan(&settled, &valid, Some(&sts(5)), None, false, None, false);
        assert_eq!(quiet.blocked, None);
    }

    #[test]
    fn an_invalid_edit_reverted_mid_grow_keeps_the_step() {
        // 3 -> 5: the 5th pod runs and waits to be added when someone makes the spec
        // invalid; the invalid status says nothing about scaling in its conditions.
        let mut c = cluster(5, Some(1), SCALING);
        let valid = validate(&c).expect("valid");
        let plan = plan(&c, &valid, Some(&sts(5)), None, true, None, false);
        let scaling = crate::status::compute(
            c.status.as_ref(),
            &valid,
            crate::status::Observed {
                statefulset: Some(&sts(5)),
                pods: &[],
                quorum: None,
                recovery: None,
                rollout: None,
                scale: Some(&plan),
            },
            "2026-12-07T12:00:00Z",
        );
        assert!(scaling.scale.is_some(), "{scaling:?}");
        let error = crate::validate::ValidationError::InvalidSpec(Vec::new());
        let invalid =
            crate::status::invalid(Some(&scaling), Some(2), &error, "2026-12-07T12:00:01Z");
        assert!(
            invalid
                .conditions
                .iter()
                .all(|c| !c.reason.starts_with(SCALING))
        );
        // Reverted (generation 3): the committed membership is still asked for, so the
        // joiner is added rather than the cluster taken as settled.
        c.status = Some(invalid);
        c.metadata.generation = Some(3);
        assert!(needs_committed(&valid, Some(&sts(5)), c.status.as_ref()));
    }

    #[test]
    fn members_beyond_the_spec_out_of_the_committed_membership_are_leaving() {
        let c = cluster(3, Some(1), SCALING);
        let valid = validate(&c).expect("valid");
        let committed = DynamicConfig::parse(
            "server.1=a:2888:3888:participant;0.0.0.0:2181\nserver.2=b:2888:3888:participant;0.0.0.0:2181\nserver.3=c:2888:3888:participant;0.0.0.0:2181\nserver.4=d:2888:3888:participant;0.0.0.0:2181\nversion=100000009\n",
        )
        .expect("config");
        assert_eq!(
            leaving_members(&valid, 5, Some(&committed)),
            BTreeSet::from([5])
        );
        assert_eq!(
            leaving_members(&valid, 3, Some(&committed)),
            BTreeSet::new()
        );
    }
}
