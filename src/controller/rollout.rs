//! Leader-last rolling restarts' I/O around the pure planner (`crate::rollout`):
//! inputs (pods, the StatefulSet's update revision, a fresh `mntr` from the leader) ->
//! plan (pure) -> the status persists the step -> act (delete the pod, uid precondition)
//! -> tell each step as an Event once.
use std::time::{Duration, SystemTime};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};

use super::act::{ActError, Result};
use super::context::Context;
use super::events::{self, Told};
use super::member_pod::delete_incarnation;
use super::memory::Poisoned;
use crate::api::{RESTART_REQUESTED_AT_ANNOTATION, ZookeeperCluster};
use crate::build::labels::{myid, pod_ordinal};
use crate::build::statefulset::{CONFIG_HASH_ANNOTATION, CONTAINER};
use crate::controller::arbitrate::Underway;
use crate::health::{EnsembleAssessment, MemberId};
use crate::recovery::unix;
use crate::rollout::{
    MemberPod, RolloutDecision, RolloutObservation, RolloutPlan, RolloutState, StepProgress,
    TemplateMarks, change_kind, decide, outdated, progress,
};
use crate::status::is_pod_ready;
use crate::status::notices::Notice;
use crate::validate::ValidCluster;

/// Event reasons: each step (member and role, so the leader-last order shows), a stall,
/// the end of a roll.
pub const MEMBER_ROLLED: &str = "MemberRolled";
pub const STALLED: &str = "RollingRestartStalled";
pub const COMPLETE: &str = "RollingRestartComplete";
/// The label the StatefulSet controller puts on each pod: its template revision.
const REVISION_LABEL: &str = "controller-revision-hash";
/// How often a roll under way is looked at: the leader's synced count and the members'
/// catch-up are not health changes, so nothing else wakes the reconcile for them. A roll
/// that waits on something else (blocked, stalled) is looked at less often.
const STEP_REQUEUE: Duration = Duration::from_secs(2);
const WAIT_REQUEUE: Duration = Duration::from_secs(10);

/// The roll's view of this pass, gathered before recovery plans (which must know whether
/// a roll step is in flight).
pub struct RolloutInputs {
    pods: Vec<MemberPod>,
    update_revision: Option<String>,
    replicas: usize,
    synced_followers: Option<u64>,
    state: Option<RolloutState>,
    timeout: u64,
}

impl RolloutInputs {
    fn observation<'a>(
        &'a self,
        assessment: Option<&'a EnsembleAssessment>,
        waiting_for: Option<&'a Underway>,
    ) -> RolloutObservation<'a> {
        RolloutObservation {
            update_revision: self.update_revision.as_deref(),
            replicas: self.replicas,
            pods: &self.pods,
            assessment,
            synced_followers: self.synced_followers,
            waiting_for,
        }
    }

    /// A roll is under way or due: the leader's synced count is worth asking for.
    pub fn due(&self) -> bool {
        self.state.is_some() || !outdated(&self.observation(None, None)).is_empty()
    }

    /// The leader's own count of synced followers, asked this pass.
    pub fn with_synced_followers(self, synced_followers: Option<u64>) -> Self {
        Self {
            synced_followers,
            ..self
        }
    }

    /// The persisted step, while it is under way and not timed out: recovery yields to it.
    pub fn step_in_flight(
        &self,
        assessment: Option<&EnsembleAssessment>,
        now: SystemTime,
    ) -> Option<Underway> {
        let step = self.state.as_ref()?.step.as_ref()?;
        let obs = self.observation(assessment, None);
        matches!(
            progress(step, &obs, unix(now), self.timeout),
            StepProgress::InFlight { .. }
        )
        .then(|| Underway::RollStep(step.describe()))
    }
}

/// When to look again for the roll's sake, if it is under way.
pub fn requeue(plan: &RolloutPlan) -> Option<Duration> {
    match plan.decision {
        RolloutDecision::Idle => None,
        RolloutDecision::Restart(_)
        | RolloutDecision::Reissue(_)
        | RolloutDecision::Waiting { .. } => Some(STEP_REQUEUE),
        RolloutDecision::Blocked { .. } | RolloutDecision::Stalled { .. } => Some(WAIT_REQUEUE),
    }
}

/// The roll's inputs from what gather read; gather adds the leader's synced count when
/// [`RolloutInputs::due`] (a roll under way or due), so a settled cluster costs nothing.
pub fn inputs(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    statefulset: Option<&StatefulSet>,
    pods: &[Pod],
) -> std::result::Result<RolloutInputs, Poisoned> {
    let template = statefulset
        .and_then(|s| s.spec.as_ref())
        .map(|s| &s.template);
    let template_meta = template.and_then(|t| t.metadata.as_ref());
    let template_marks = TemplateMarks {
        config_hash: annotation(template_meta, CONFIG_HASH_ANNOTATION),
        image: template
            .and_then(|t| t.spec.as_ref())
            .and_then(|s| s.containers.iter().find(|c| c.name == CONTAINER))
            .and_then(|c| c.image.as_deref()),
        restart_stamp: annotation(template_meta, RESTART_REQUESTED_AT_ANNOTATION),
    };
    let member_pods: Vec<MemberPod> = pods
        .iter()
        .filter_map(|pod| member_pod(valid, pod, template_marks))
        .collect();
    // Only a revision the StatefulSet controller computed for the current template: a
    // stale one right after a template change would call up-to-date pods outdated.
    let update_revision = statefulset
        .filter(|s| {
            s.status.as_ref().and_then(|st| st.observed_generation) >= s.metadata.generation
        })
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.update_revision.clone());
    let uid = cluster.meta().uid.clone().unwrap_or_default();
    let cached = cluster.status.as_ref().and_then(|s| s.rollout.clone());
    let state = newest(cached, ctx.written_rollout(&uid)?);
    Ok(RolloutInputs {
        pods: member_pods,
        update_revision,
        replicas: usize::try_from(valid.spec.replicas).unwrap_or(0),
        synced_followers: None,
        state,
        timeout: valid.spec.rollout.step_timeout_seconds(),
    })
}

/// Pure: the roll's plan for this pass.
pub fn plan(
    inputs: &RolloutInputs,
    assessment: Option<&EnsembleAssessment>,
    waiting_for: Option<&Underway>,
    now: SystemTime,
) -> RolloutPlan {
    let obs = inputs.observation(assessment, waiting_for);
    decide(inputs.state.as_ref(), &obs, unix(now), inputs.timeout)
}

/// The state this operator wrote last wins over the cached cluster's, unless the cache
/// shows a later step (written by another operator instance that led meanwhile).
fn newest(
    cached: Option<RolloutState>,
    written: Option<Option<RolloutState>>,
) -> Option<RolloutState> {
    let Some(written) = written else {
        return cached;
    };
    let started = |s: &Option<RolloutState>| {
        s.as_ref()
            .and_then(|s| s.step.as_ref())
            .map(|step| step.started)
    };
    if started(&cached) > started(&written) {
        cached
    } else {
        written
    }
}

fn annotation<'a>(meta: Option<&'a ObjectMeta>, key: &str) -> Option<&'a str> {
    meta?.annotations.as_ref()?.get(key).map(String::as_str)
}

fn member_pod(valid: &ValidCluster, pod: &Pod, template: TemplateMarks<'_>) -> Option<MemberPod> {
    let ordinal = pod_ordinal(&valid.name, &pod.name_any()).filter(|o| *o < valid.spec.replicas)?;
    let id = MemberId::try_from(myid(ordinal)).ok()?;
    let spec_image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == CONTAINER))
        .and_then(|c| c.image.as_deref());
    let running = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == CONTAINER))
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.running.is_some());
    Some(MemberPod {
        id,
        name: pod.name_any(),
        uid: pod.metadata.uid.clone()?,
        revision: pod.labels().get(REVISION_LABEL).cloned(),
        change: change_kind(
            TemplateMarks {
                config_hash: annotation(Some(&pod.metadata), CONFIG_HASH_ANNOTATION),
                image: spec_image,
                restart_stamp: annotation(Some(&pod.metadata), RESTART_REQUESTED_AT_ANNOTATION),
            },
            template,
        ),
        ready: is_pod_ready(pod),
        running,
        terminating: pod.metadata.deletion_timestamp.is_some(),
    })
}

/// Issues the plan's delete (after the status persisted the step); the step, the stall
/// and the end of the roll go to `told` as Events, each once.
pub async fn act(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    plan: &RolloutPlan,
    told: &mut Vec<Told>,
) -> Result<()> {
    let uid = cluster.meta().uid.clone().unwrap_or_default();
    ctx.remember_rollout(&uid, plan.state.clone())?;
    match &plan.decision {
        RolloutDecision::Restart(step) => {
            let message = format!("restarting {}", step.describe());
            tracing::info!(cluster = %valid.name, %message, "rolling restart");
            delete(ctx, valid, &step.pod, &step.uid).await?;
            let notice = Notice {
                warning: false,
                reason: MEMBER_ROLLED.into(),
                message,
            };
            let related = Some(events::pod_ref(valid, step.pod.clone()));
            told.push(Told { notice, related });
        }
        RolloutDecision::Reissue(step) => {
            tracing::info!(cluster = %valid.name, pod = %step.pod, "re-issuing a roll step's delete");
            delete(ctx, valid, &step.pod, &step.uid).await?;
        }
        RolloutDecision::Stalled { step, .. } => {
            let stall = (
                STALLED.to_string(),
                format!("{}@{}", step.pod, step.started),
            );
            if ctx.first_roll_telling(&uid, stall)? {
                let notice = Notice {
                    warning: true,
                    reason: STALLED.into(),
                    message: plan.decision.message(),
                };
                let related = Some(events::pod_ref(valid, step.pod.clone()));
                told.push(Told { notice, related });
            }
        }
        RolloutDecision::Idle
        | RolloutDecision::Waiting { .. }
        | RolloutDecision::Blocked { .. } => {}
    }
    if let Some(rolled) = plan.finished {
        let notice = Notice {
            warning: false,
            reason: COMPLETE.into(),
            message: format!(
                "rolling restart complete: {rolled} member(s) restarted, the leader last"
            ),
        };
        told.push(Told {
            notice,
            related: None,
        });
    }
    Ok(())
}

async fn delete(ctx: &Context, valid: &ValidCluster, pod: &str, uid: &str) -> Result<()> {
    delete_incarnation(&ctx.client, &valid.namespace, pod, uid)
        .await
        .map_err(|source| ActError::Roll {
            what: format!("pod {pod}"),
            source,
        })
}
