//! Pure: what the operator observed -> the cluster's status.
//!
//! Conditions come from the quorum assessment (the operator talks to every member) once
//! the first probe round is in, and from pod readiness before that:
//! - `Available`: a serving quorum with a leader (before: a majority of pods Ready).
//! - `Progressing`: the StatefulSet is still creating or scaling members, or the
//!   operator's leader-last rolling restart is under way (or stalled).
//! - `Degraded`: a member is down, lagging or overloaded, or the quorum is lost; once
//!   degraded, losing the quorum keeps it so (things got worse, not better).
//! - `NotificationsReady`: set by the reconcile from the notifier ([`notifications`]);
//!   conditions this module does not compute keep their last value.
pub mod conditions;
pub mod members;
pub mod notices;
pub mod notifications;
mod recovery;
pub mod rollout;

pub use recovery::{RECOVERY_EXHAUSTED, RecoveryReport};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::api::{AVAILABLE, DEGRADED, PROGRESSING, ZookeeperClusterStatus};
use crate::build::labels::{CLIENT_PORT, member_host, pod_name, pod_selector};
use crate::health::{EnsembleAssessment, Fault};
use crate::validate::{ValidCluster, ValidationError, template_stamp};
use conditions::{Verdict, conditions, find, keep_others};

/// Reasons used in conditions (and as Event reasons where a condition flips).
pub mod reason {
    pub const CREATING: &str = "Creating";
    pub const QUORUM_READY: &str = "QuorumReady";
    pub const QUORUM_NOT_READY: &str = "QuorumNotReady";
    pub const ROLLING_OUT: &str = "RollingOut";
    pub const SCALING: &str = "Scaling";
    pub const RECONCILED: &str = "Reconciled";
    pub const MEMBERS_NOT_READY: &str = "MembersNotReady";
    pub const ALL_MEMBERS_READY: &str = "AllMembersReady";
    /// A new ensemble has its first quorum; the other members are still syncing.
    pub const MEMBERS_JOINING: &str = "MembersJoining";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const QUORUM_LOST: &str = "QuorumLost";
    pub const ELECTION_IN_PROGRESS: &str = "ElectionInProgress";
    /// `spec.paused`: Progressing False, and the Event when it starts.
    pub const PAUSED: &str = "Paused";
    /// The Event when a pause is lifted.
    pub const RESUMED: &str = "Resumed";
}

/// The `Progressing=False/Paused` message (also the `Paused` Event's note).
pub const PAUSED_MESSAGE: &str = "spec.paused is true: the operator changes nothing (no apply, rolling restart, recovery or scaling) until it is false; health is still observed and reported";

/// What the operator saw of the cluster's workload.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub statefulset: Option<&'a StatefulSet>,
    pub pods: &'a [Pod],
    /// The quorum assessment, once the first probe round of every member is in.
    pub quorum: Option<&'a EnsembleAssessment>,
    /// What automatic recovery did and remembers, once it has looked at the ensemble.
    pub recovery: Option<&'a RecoveryReport>,
    /// The rolling restart's plan for this pass, once it has looked.
    pub rollout: Option<&'a crate::rollout::RolloutPlan>,
    /// The scale planner's plan for this pass, once it has looked.
    pub scale: Option<&'a crate::scale::ScalePlan>,
}

/// Majority of `voters`: the fewest serving members that keep a quorum.
/// The cluster has never been Available: its ensemble is still forming for the first
/// time, so being without quorum is expected, not a fault worth acting or paging on.
pub fn forming(status: Option<&ZookeeperClusterStatus>) -> bool {
    status
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == AVAILABLE))
        .is_none_or(|c| c.reason == reason::CREATING)
}

/// Still in its first formation, for what it tells people (Events, notifications): that
/// ends when every member serves, not at the first quorum. The leader counts followers
/// as synced a moment before they answer clients; that moment is ZooKeeper's normal
/// start, not members going down. (Recovery waits only for [`forming`].)
pub fn first_formation(status: Option<&ZookeeperClusterStatus>) -> bool {
    forming(status)
        || status
            .and_then(|s| find(&s.conditions, DEGRADED))
            .is_some_and(|c| c.reason == reason::MEMBERS_JOINING)
}

/// Still joining after the first quorum: not every member serves yet, and the
/// formation grace (counted from when Degraded last turned False, the cluster's start
/// for a new one) has not run out.
fn joining(previous: Option<&ZookeeperClusterStatus>, q: &EnsembleAssessment, now: &str) -> bool {
    let not_all_serving = q
        .faults
        .iter()
        .any(|f| matches!(f, Fault::MemberDown { .. }));
    let since = previous
        .and_then(|p| find(&p.conditions, DEGRADED))
        .and_then(|c| c.last_transition_time.as_deref())
        .and_then(|t| t.parse::<Timestamp>().ok());
    let within_grace = match (since, now.parse::<Timestamp>()) {
        (Some(since), Ok(now)) => {
            now.as_second().saturating_sub(since.as_second())
                < i64::try_from(crate::health::FORMATION_GRACE_SECS).unwrap_or(i64::MAX)
        }
        _ => true,
    };
    q.quorum && first_formation(previous) && not_all_serving && within_grace
}

pub fn majority(voters: i32) -> i32 {
    voters / 2 + 1
}

pub fn is_pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Status of a valid cluster.
pub fn compute(
    previous: Option<&ZookeeperClusterStatus>,
    cluster: &ValidCluster,
    observed: Observed<'_>,
    now: &str,
) -> ZookeeperClusterStatus {
    let desired = cluster.spec.replicas;
    let members = members::members(previous, cluster, observed, now);
    let ready = members.iter().filter(|m| m.ready).count() as i32;
    let not_ready: Vec<&str> = members
        .iter()
        .filter(|m| !m.ready)
        .map(|m| m.name.as_str())
        .collect();
    let running = observed
        .statefulset
        .and_then(|s| s.status.as_ref())
        .map_or(0, |s| s.replicas);

    let prior = previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    let was_available = find(prior, AVAILABLE)
        .is_some_and(|c| c.reason != reason::CREATING && c.reason != reason::INVALID_SPEC);
    let available = match observed.quorum {
        Some(q) => q.quorum,
        None => ready >= majority(desired),
    };
    let creating = !available && !was_available;
    // The StatefulSet follows the scale planner's replicas, one member at a time.
    let planned = observed
        .scale
        .map_or(desired, |s| i32::try_from(s.replicas).unwrap_or(desired));
    let rollout = rollout_in_progress(observed.statefulset, planned);

    let mut available_message = match observed.quorum {
        Some(q) => quorum_message(q, cluster),
        None => format!(
            "{ready}/{desired} members ready, {} needed for a quorum",
            majority(desired)
        ),
    };
    for warning in &cluster.warnings {
        available_message.push_str("; warning: ");
        available_message.push_str(&warning.message);
    }
    let available_reason = match (available, creating, observed.quorum) {
        (true, _, _) => reason::QUORUM_READY,
        (false, true, _) => reason::CREATING,
        (false, false, Some(q)) if q.election_in_progress => reason::ELECTION_IN_PROGRESS,
        (false, false, Some(_)) => reason::QUORUM_LOST,
        (false, false, None) => reason::QUORUM_NOT_READY,
    };
    let progressing = match (&rollout, creating) {
        (Some(why), _) => Verdict::new(PROGRESSING, true, reason::ROLLING_OUT, why.clone()),
        (None, true) => Verdict::new(
            PROGRESSING,
            true,
            reason::CREATING,
            "waiting for a quorum of members to become ready",
        ),
        (None, false) => Verdict::new(
            PROGRESSING,
            false,
            reason::RECONCILED,
            "all objects are up to date",
        ),
    };
    // A roll the operator drives says more than the StatefulSet's counters.
    let progressing = observed
        .rollout
        .and_then(|r| rollout::progressing(&r.decision))
        .unwrap_or(progressing);
    // A membership change says the most: the roll and recovery yield to it.
    let progressing = observed
        .scale
        .and_then(scale_progressing)
        .unwrap_or(progressing);
    // Paused says the most: nothing above is carried out until it is lifted.
    let progressing = if cluster.spec.paused {
        paused(&progressing)
    } else {
        progressing
    };
    let degraded = match observed.quorum {
        Some(q) if !creating && joining(previous, q, now) => Verdict::new(
            DEGRADED,
            false,
            reason::MEMBERS_JOINING,
            "the first quorum formed; members are still joining",
        ),
        Some(q) if !creating => quorum_degraded(q, cluster, available_reason),
        _ if !not_ready.is_empty() && rollout.is_none() && !creating => Verdict::new(
            DEGRADED,
            true,
            reason::MEMBERS_NOT_READY,
            format!("not ready: {}", not_ready.join(", ")),
        ),
        _ => Verdict::new(
            DEGRADED,
            false,
            reason::ALL_MEMBERS_READY,
            if not_ready.is_empty() {
                "every member is ready"
            } else {
                "members are starting"
            },
        ),
    };
    let degraded = observed
        .recovery
        .and_then(|r| r.degraded(cluster))
        .unwrap_or(degraded);
    let verdicts = vec![
        Verdict::new(AVAILABLE, available, available_reason, available_message),
        progressing,
        degraded,
    ];

    ZookeeperClusterStatus {
        observed_generation: cluster.generation,
        conditions: keep_others(conditions(prior, verdicts, cluster.generation, now), prior),
        replicas: running,
        ready_replicas: ready,
        selector: Some(pod_selector(&cluster.name)),
        connection_string: Some(connection_string(cluster)),
        members,
        leader: observed
            .quorum
            .and_then(|q| q.leader)
            .map(|id| member_name(cluster, id)),
        quorum: observed
            .quorum
            .map(|q| format!("{}/{}", q.serving_voters, q.voters)),
        // Kept as last persisted until recovery looks again: forgetting it would forget
        // restarts, and with them the backoff and the cap.
        restarted_at: restarted_at(previous, cluster, observed, rollout.is_none()),
        // Set by the reconcile from the notifier; kept until it says otherwise.
        alerts: previous.and_then(|p| p.alerts.clone()),
        rollout: match observed.rollout {
            Some(r) => r.state.clone(),
            None => previous.and_then(|p| p.rollout.clone()),
        },
        scale: match observed.scale {
            Some(plan) => scale_status(plan),
            None => previous.and_then(|p| p.scale.clone()),
        },
        recovery: match observed.recovery {
            Some(r) => r.persisted(),
            None => previous.and_then(|p| p.recovery.clone()),
        },
    }
}

/// `status.restartedAt`: the requested restart once the StatefulSet's template carries
/// it, every member runs that template (`settled`) and no roll step is under way; until
/// then the last one recorded.
fn restarted_at(
    previous: Option<&ZookeeperClusterStatus>,
    cluster: &ValidCluster,
    observed: Observed<'_>,
    settled: bool,
) -> Option<String> {
    let recorded = previous.and_then(|p| p.restarted_at.clone());
    let Some(stamp) = &cluster.restart_requested_at else {
        return recorded;
    };
    let rolled = settled
        && template_stamp(observed.statefulset).as_ref() == Some(stamp)
        && observed
            .rollout
            .is_none_or(|r| r.decision == crate::rollout::RolloutDecision::Idle);
    if rolled {
        Some(stamp.clone())
    } else {
        recorded
    }
}

/// Pod name of the member with ZooKeeper id `id` (ids are ordinal + 1).
pub fn member_name(cluster: &ValidCluster, id: u64) -> String {
    i32::try_from(id)
        .ok()
        .and_then(|id| id.checked_sub(1))
        .map_or_else(
            || format!("myid {id}"),
            |ordinal| pod_name(&cluster.name, ordinal),
        )
}

fn quorum_message(q: &EnsembleAssessment, cluster: &ValidCluster) -> String {
    let serving = format!("{}/{} voters serving", q.serving_voters, q.voters);
    match (q.quorum, q.leader) {
        (true, Some(id)) => {
            let epoch = q.epoch.map(|e| format!(" (epoch {e})")).unwrap_or_default();
            format!("leader {}{epoch}; {serving}", member_name(cluster, id))
        }
        (true, None) => format!("serving; {serving}"),
        (false, _) => format!("no quorum: {serving}, {} needed", q.majority),
    }
}

/// `Degraded` from the assessment: the first fault names the reason, all are listed.
fn quorum_degraded(
    q: &EnsembleAssessment,
    cluster: &ValidCluster,
    available_reason: &str,
) -> Verdict {
    if !q.quorum {
        return Verdict::new(
            DEGRADED,
            true,
            available_reason,
            "the ensemble has no serving quorum",
        );
    }
    let Some(first) = q.faults.first() else {
        return Verdict::new(
            DEGRADED,
            false,
            reason::ALL_MEMBERS_READY,
            "every member is serving",
        );
    };
    let message = q
        .faults
        .iter()
        .map(|f| {
            let who = f
                .key()
                .member()
                .map(|id| format!("{}: ", member_name(cluster, id)))
                .unwrap_or_default();
            format!("{who}{}", fault_summary(f))
        })
        .collect::<Vec<_>>()
        .join("; ");
    Verdict::new(DEGRADED, true, first.reason(), message)
}

/// Fault text without wall-clock or per-write numbers, so the message (and status) only
/// changes when the fault set does.
fn fault_summary(fault: &Fault) -> String {
    match fault {
        Fault::MemberDown { reason, .. } => format!("down ({reason})"),
        Fault::FollowerLagging { .. } => "lagging behind the leader".to_string(),
        Fault::Overloaded { what, limit, .. } => {
            format!("overloaded ({} above {limit})", what.as_str())
        }
        other => other.reason().to_string(),
    }
}

/// Whether a status differs in more than the per-write numbers (zxids): those alone are
/// not worth a write, so steady client traffic costs no status patches.
pub fn differs_materially(
    previous: Option<&ZookeeperClusterStatus>,
    next: &ZookeeperClusterStatus,
) -> bool {
    let strip = |s: &ZookeeperClusterStatus| {
        let mut s = s.clone();
        s.members.iter_mut().for_each(|m| m.zxid = None);
        s
    };
    previous.is_none_or(|p| strip(p) != strip(next))
}

/// Status of a cluster whose spec is invalid: `Available=False/InvalidSpec`; everything
/// else is kept as last observed, since the operator changes nothing for an invalid spec.
pub fn invalid(
    previous: Option<&ZookeeperClusterStatus>,
    generation: Option<i64>,
    error: &ValidationError,
    now: &str,
) -> ZookeeperClusterStatus {
    let base = previous.cloned().unwrap_or_default();
    let prior = base.conditions.clone();
    let message = error.to_string();
    let verdicts = vec![
        Verdict::new(AVAILABLE, false, error.reason(), message.clone()),
        Verdict::new(
            PROGRESSING,
            false,
            error.reason(),
            "the operator changes nothing until the spec is fixed",
        ),
        match find(&prior, DEGRADED) {
            Some(d) => Verdict::new(
                DEGRADED,
                d.status == conditions::TRUE,
                &d.reason,
                d.message.clone(),
            ),
            None => Verdict::new(
                DEGRADED,
                false,
                error.reason(),
                "unknown until the spec is valid",
            ),
        },
    ];
    ZookeeperClusterStatus {
        observed_generation: generation,
        conditions: keep_others(conditions(&prior, verdicts, generation, now), &prior),
        ..base
    }
}

/// `Progressing=False/Paused`, naming what waits for the pause, if anything does.
fn paused(would: &Verdict) -> Verdict {
    let message = if would.status {
        format!("{PAUSED_MESSAGE}; waiting: {}", would.message)
    } else {
        PAUSED_MESSAGE.to_string()
    };
    Verdict::new(PROGRESSING, false, reason::PAUSED, message)
}

/// `Progressing` while a scale step is under way (True, `Scaling`, naming the member and
/// the step) or cannot start (False, the block's reason).
fn scale_progressing(plan: &crate::scale::ScalePlan) -> Option<Verdict> {
    if let Some(step) = &plan.step {
        return Some(Verdict::new(
            PROGRESSING,
            true,
            reason::SCALING,
            step.describe(),
        ));
    }
    plan.blocked
        .as_ref()
        .map(|b| Verdict::new(PROGRESSING, false, b.reason(), b.describe()))
}

/// `status.scale`: the step under way or why none starts; `None` when settled.
fn scale_status(plan: &crate::scale::ScalePlan) -> Option<crate::api::ScaleStatus> {
    let step = match (&plan.step, &plan.blocked) {
        (Some(step), _) => step.describe(),
        (None, Some(blocked)) => blocked.describe(),
        (None, None) => return None,
    };
    Some(crate::api::ScaleStatus {
        replicas: i32::try_from(plan.replicas).unwrap_or(i32::MAX),
        step,
    })
}

/// Why the StatefulSet is still moving, or `None` when it is settled.
fn rollout_in_progress(statefulset: Option<&StatefulSet>, desired: i32) -> Option<String> {
    let Some(sts) = statefulset else {
        return Some("creating the StatefulSet".to_string());
    };
    let status = sts.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation);
    if observed < sts.metadata.generation {
        return Some("waiting for the StatefulSet controller".to_string());
    }
    let replicas = status.map_or(0, |s| s.replicas);
    if replicas != desired {
        return Some(format!("scaling from {replicas} to {desired} members"));
    }
    // Not `currentRevision != updateRevision`: with `OnDelete` the StatefulSet
    // controller never advances `currentRevision`; updated pods are what count.
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    if updated < desired {
        return Some(format!(
            "{updated}/{desired} members updated to the latest revision"
        ));
    }
    None
}

pub fn connection_string(cluster: &ValidCluster) -> String {
    (0..cluster.spec.replicas)
        .map(|ordinal| format!("{}:{CLIENT_PORT}", member_host(cluster, ordinal)))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
