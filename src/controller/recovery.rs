//! Automatic recovery's I/O around the pure policy (`crate::recovery`):
//! plan (pure, from the cluster, its pods and the assessment) -> the status persists the
//! history -> act (delete the pod, with a uid precondition) -> tell the decision once.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams};
use kube::{Resource, ResourceExt};

use super::act::{ActError, Result};
use super::context::Context;
use super::events::{self, Told};
use super::member_pod::{delete_incarnation, gone_is_fine};
use super::quorum::pod_views;
use crate::api::ZookeeperCluster;
use crate::build::labels::pod_ordinal;
use crate::build::statefulset::DATA_VOLUME;
use crate::controller::arbitrate::Underway;
use crate::health::{EnsembleAssessment, MemberId, PodView};
use crate::recovery::{
    Decision, RecoveryHistory, RecoveryPolicy, corrupt_data, decide, decide_reset, exhausted,
    merged, next_check, observe, record_restart, yielding,
};
use crate::status::{RecoveryReport, notices::Notice};
use crate::telemetry::ClusterLabels;
use crate::validate::ValidCluster;

/// One pass of recovery, decided but not yet acted on.
#[derive(Debug)]
pub struct RecoveryPlan {
    /// For the status, which persists the history before anything is deleted.
    pub report: RecoveryReport,
    pub decision: Decision,
    /// Deletes to issue: this pass's restart, and restarts recorded by an earlier pass
    /// whose delete may not have been issued (the operator stopped in between).
    deletes: Vec<Delete>,
    /// When to look again although nothing else changes.
    pub requeue: Option<Duration>,
    /// Members restarted by the operator and not yet back: their outage is planned and
    /// does not page.
    pub restarting: BTreeSet<MemberId>,
}

#[derive(Debug, Clone, PartialEq)]
struct Delete {
    pod: String,
    uid: String,
    /// The member's volume claim, for a data reset.
    claim: Option<String>,
}

/// Pure: what recovery does this pass. `None` until the first assessment is in (nothing
/// is judged before every member was probed once).
pub fn plan(
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    pods: &[Pod],
    assessment: Option<&EnsembleAssessment>,
    written: Option<&RecoveryHistory>,
    underway: Option<&Underway>,
    now: SystemTime,
) -> Option<RecoveryPlan> {
    let assessment = assessment?;
    let policy = RecoveryPolicy::from_spec(&valid.spec.recovery, cluster.annotations());
    // A pod on its way out must not count as the restarted member being back.
    let live: Vec<Pod> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .cloned()
        .collect();
    let views = pod_views(&valid.name, valid.spec.replicas, &live);
    let cached = cluster
        .status
        .as_ref()
        .and_then(|s| s.recovery.clone())
        .unwrap_or_default();
    let previous = merged(&cached, written);
    let mut history = observe(&previous, assessment, &views, now);
    let corrupt = corrupt_members(&valid.name, &live, &policy);
    let decision = decide_now(
        &policy,
        cluster,
        &mut history,
        assessment,
        &views,
        &corrupt,
        now,
    );
    // While a roll or scale step is in flight its member is down on purpose: report only.
    let decision = match underway {
        Some(underway) => yielding(decision, underway),
        None => decision,
    };
    let (history, deletes) = deletes(&policy, history, &decision, &live, underway, now);
    Some(summarize(
        &policy, history, assessment, &views, decision, deletes, now,
    ))
}

/// This pass's decision before any yielding. Members still starting for the first time
/// are not failed members: until the ensemble has been Available once, recovery does
/// nothing (and its thresholds start counting once it has formed, not while members boot).
fn decide_now(
    policy: &RecoveryPolicy,
    cluster: &ZookeeperCluster,
    history: &mut RecoveryHistory,
    assessment: &EnsembleAssessment,
    views: &BTreeMap<MemberId, PodView>,
    corrupt: &BTreeSet<MemberId>,
    now: SystemTime,
) -> Decision {
    if crate::status::forming(cluster.status.as_ref()) {
        for member in history.members.values_mut() {
            member.failing_since = None;
        }
        return Decision::None;
    }
    decide_reset(policy, history, assessment, views, corrupt, now)
        .unwrap_or_else(|| decide(policy, history, assessment, views, now))
}

/// The deletes to issue, with this pass's restart recorded in the history.
fn deletes(
    policy: &RecoveryPolicy,
    mut history: RecoveryHistory,
    decision: &Decision,
    live: &[Pod],
    underway: Option<&Underway>,
    now: SystemTime,
) -> (RecoveryHistory, Vec<Delete>) {
    let mut deletes = Vec::new();
    let target = match decision {
        Decision::Restart { member, pod, .. } => Some((*member, pod, None)),
        Decision::ResetData { member, pod, .. } => {
            Some((*member, pod, Some(format!("{DATA_VOLUME}-{pod}"))))
        }
        _ => None,
    };
    if let Some((member, pod, claim)) = target {
        let uid = live
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(pod.as_str()))
            .and_then(|p| p.metadata.uid.clone());
        history = record_restart(policy, &history, member, uid.clone(), now);
        if let Some(uid) = uid {
            deletes.push(Delete {
                pod: pod.clone(),
                uid,
                claim,
            });
        }
    } else if policy.enabled && !policy.paused && underway.is_none() {
        deletes.extend(unconfirmed(&history, live));
    }
    (history, deletes)
}

/// The plan with what the status and the notifier need from the history.
fn summarize(
    policy: &RecoveryPolicy,
    history: RecoveryHistory,
    assessment: &EnsembleAssessment,
    views: &BTreeMap<MemberId, PodView>,
    decision: Decision,
    deletes: Vec<Delete>,
    now: SystemTime,
) -> RecoveryPlan {
    let recent: BTreeMap<MemberId, usize> = history
        .members
        .iter()
        .map(|(id, m)| (*id, m.recent_restarts(policy.window, now)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let requeue = next_check(policy, &history, now)
        .and_then(|t| t.duration_since(now).ok())
        .map(|d| d.max(Duration::from_secs(1)));
    let restarting: BTreeSet<MemberId> = history
        .members
        .iter()
        .filter(|(_, m)| m.in_flight_until(policy, now).is_some())
        .map(|(id, _)| *id)
        .collect();
    let exhausted = exhausted(policy, &history, assessment, views, now)
        .into_iter()
        // Not while its last restart may still help: the same moment the decision (and
        // its Event) says so.
        .filter(|id| !restarting.contains(id))
        .collect();
    RecoveryPlan {
        restarting,
        report: RecoveryReport {
            exhausted,
            history,
            recent,
        },
        decision,
        deletes,
        requeue,
    }
}

/// Restarts recorded whose pod (same uid) still lives and is not terminating: the
/// operator stopped between persisting the restart and deleting the pod.
fn unconfirmed(history: &RecoveryHistory, live: &[Pod]) -> Vec<Delete> {
    history
        .members
        .iter()
        .filter_map(|(member, m)| {
            let uid = m.incarnation.as_deref()?;
            let pod = live
                .iter()
                .find(|p| p.metadata.uid.as_deref() == Some(uid))?;
            history.restart_unconfirmed(*member, uid).then(|| Delete {
                pod: pod.name_any(),
                uid: uid.to_string(),
                claim: None,
            })
        })
        .collect()
}

/// Members whose container's last words say ZooKeeper cannot load its data.
fn corrupt_members(cluster: &str, pods: &[Pod], policy: &RecoveryPolicy) -> BTreeSet<MemberId> {
    if !policy.reset_corrupt_data {
        return BTreeSet::new();
    }
    pods.iter()
        .filter_map(|pod| {
            let ordinal = pod_ordinal(cluster, &pod.name_any())?;
            let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
            let words = [
                status.state.as_ref().and_then(|s| s.terminated.as_ref()),
                status
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref()),
            ];
            words
                .iter()
                .flatten()
                .filter_map(|t| t.message.as_deref())
                .any(corrupt_data)
                .then(|| crate::build::labels::myid(ordinal))
                .and_then(|id| u64::try_from(id).ok())
        })
        .collect()
}

/// Issues the plan's deletes (after the status persisted the history); the decision goes
/// to `told` as an Event, once per distinct decision.
pub async fn act(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    plan: &RecoveryPlan,
    told: &mut Vec<Told>,
) -> Result<()> {
    let decided = matches!(
        plan.decision,
        Decision::Restart { .. } | Decision::ResetData { .. }
    );
    for delete in &plan.deletes {
        issue(ctx, valid, delete).await?;
        if decided {
            ctx.metrics
                .member_restarts
                .get_or_create(&ClusterLabels {
                    namespace: valid.namespace.clone(),
                    cluster: valid.name.clone(),
                })
                .inc();
        }
    }
    told.extend(tell(ctx, cluster, valid, &plan.decision)?);
    Ok(())
}

async fn issue(ctx: &Context, valid: &ValidCluster, delete: &Delete) -> Result<()> {
    if let Some(claim) = &delete.claim {
        // The claim first: it stays (protected) until the pod is gone, then the
        // StatefulSet creates the pod and a fresh claim together.
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(ctx.client.clone(), &valid.namespace);
        gone_is_fine(claims.delete(claim, &DeleteParams::default()).await).map_err(|source| {
            ActError::Restart {
                what: format!("volume claim {claim}"),
                source,
            }
        })?;
    }
    tracing::info!(cluster = %valid.name, pod = %delete.pod, "restarting member");
    delete_incarnation(&ctx.client, &valid.namespace, &delete.pod, &delete.uid)
        .await
        .map_err(|source| ActError::Restart {
            what: format!("pod {}", delete.pod),
            source,
        })
}

/// The decision's Event, once per distinct decision.
fn tell(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    d: &Decision,
) -> Result<Option<Told>> {
    let uid = cluster.meta().uid.clone().unwrap_or_default();
    let Some(reason) = d.event_reason() else {
        ctx.first_telling(&uid, None)?;
        return Ok(None);
    };
    let message = d.message();
    tracing::info!(cluster = %valid.name, reason, %message, "recovery decision");
    if !ctx.first_telling(&uid, Some((reason.to_string(), message.clone())))? {
        return Ok(None);
    }
    let warning = !matches!(d, Decision::Restart { .. } | Decision::ResetData { .. });
    let related = d
        .member()
        .map(|id| events::pod_ref(valid, crate::status::member_name(valid, id)));
    let notice = Notice {
        warning,
        reason: reason.to_string(),
        message,
    };
    Ok(Some(Told { notice, related }))
}
