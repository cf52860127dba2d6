//! The reconcile pipeline: fetch -> validate -> build (pure) -> apply -> observe ->
//! roll inputs -> recovery plan (pure) -> roll plan (pure) -> status (pure) -> patch status only when it changed ->
//! recovery act (restart a member) -> roll act (leader-last rolling restart) -> Events for
//! transitions and decisions.
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::apply::sync_kind;
use super::caches;
use super::context::Context;
use super::error::{Error, Result};
use super::events;
use super::notifications::{FaultInput, NotifierReport};
use super::recovery;
use super::retention;
use super::rollout;
use super::scale;
use super::super_secret;
use crate::api::{AlertsStatus, ZookeeperCluster, ZookeeperClusterStatus};
use crate::build::labels::{MANAGER, owned_selector};
use crate::build::{DesiredObjects, desired_objects};
use crate::health::{EnsembleAssessment, MemberId, with_leaving};
use crate::recovery::{Decision, WaitCause};
use crate::scale::ScaleStep;
use crate::status::notices::{Notice, notices};
use crate::status::{self, Observed};
use crate::underway::Underway;
use crate::validate::{
    ValidCluster, ValidationError, check_immutable, check_server_support, validate,
};

/// How often a settled cluster is looked at even without a change (drift the watches
/// cannot see, e.g. a lost event).
const RESYNC: Duration = Duration::from_secs(300);

pub async fn reconcile(cluster: Arc<ZookeeperCluster>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = reconcile_inner(&cluster, &ctx).await;
    ctx.metrics
        .observe_reconcile(started.elapsed(), result.as_ref().err().map(Error::reason));
    let key = cluster_key(&cluster);
    if result.is_ok() {
        ctx.clear_failures(&key);
    }
    result
}

/// On failure: a Warning Event with the error's reason, and a retry with exponential
/// backoff (1 s doubling to 5 min) rather than a fixed interval.
pub fn error_policy(cluster: Arc<ZookeeperCluster>, error: &Error, ctx: Arc<Context>) -> Action {
    let failures = ctx.record_failure(&cluster_key(&cluster));
    let delay = Duration::from_secs(1u64 << failures.min(9)).min(Duration::from_secs(300));
    tracing::warn!(cluster = %cluster_key(&cluster), %error, retry_in = ?delay, "reconcile failed");
    let event = Event {
        type_: EventType::Warning,
        reason: error.reason().to_string(),
        note: Some(events::truncate(&error.to_string())),
        action: "Reconcile".to_string(),
        secondary: None,
    };
    let recorder = ctx.recorder.clone();
    let reference = cluster.object_ref(&());
    tokio::spawn(async move {
        if let Err(e) = recorder.publish(&event, &reference).await {
            tracing::warn!(error = %e, "cannot publish an event");
        }
    });
    Action::requeue(delay)
}

fn cluster_key(cluster: &ZookeeperCluster) -> String {
    format!(
        "{}/{}",
        cluster.namespace().unwrap_or_default(),
        cluster.name_any()
    )
}

async fn reconcile_inner(cluster: &ZookeeperCluster, ctx: &Context) -> Result<Action> {
    let namespace = cluster
        .namespace()
        .ok_or(Error::MissingMetadata("namespace"))?;
    let name = cluster.name_any();
    let client = ctx.client.clone();
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let existing = statefulsets
        .get_opt(&name)
        .await
        .map_err(|source| Error::Fetch {
            what: format!("StatefulSet {name}"),
            source,
        })?;

    let valid = match validate(cluster).and_then(|valid| {
        let mut errors = check_immutable(&valid.spec, existing.as_ref());
        errors.extend(check_server_support(&valid.spec, ctx.server));
        if errors.is_empty() {
            Ok(valid)
        } else {
            Err(ValidationError::InvalidSpec(errors))
        }
    }) {
        Ok(valid) => valid,
        Err(error) => {
            // Nothing is applied, deleted or restarted for an invalid spec: only reported.
            tracing::warn!(cluster = %name, %error, "invalid spec");
            let next = status::invalid(
                cluster.status.as_ref(),
                cluster.metadata.generation,
                &error,
                &now(),
            );
            publish_status(cluster, ctx, next).await?;
            return Ok(Action::await_change());
        }
    };

    if cluster.status.as_ref().and_then(|s| s.observed_generation) != valid.generation {
        for warning in &valid.warnings {
            events::publish(
                ctx,
                cluster,
                &Notice {
                    warning: true,
                    reason: warning.reason.into(),
                    message: warning.message.clone(),
                },
            )
            .await;
        }
    }

    let password = super_secret::ensure(ctx, &valid).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let pods = pods
        .list(&ListParams::default().labels(&owned_selector(&name)))
        .await
        .map_err(|source| Error::Fetch {
            what: "Pod list".into(),
            source,
        })?
        .items;
    // Every member the StatefulSet runs is watched, also those a scale-down removes.
    let watched = scale::watched_replicas(&valid, existing.as_ref());
    let probed = ctx.quorum.observe(cluster, watched, &pods);
    // The StatefulSet's replicas and the ConfigMap's member list come from the scale
    // planner: one member at a time, through ZooKeeper's committed membership.
    let committed_needed =
        scale::needs_committed(&valid, existing.as_ref(), cluster.status.as_ref());
    let committed = if committed_needed {
        scale::committed(&password, probed.as_ref()).await
    } else {
        None
    };
    let roll_step_persisted = cluster
        .status
        .as_ref()
        .and_then(|s| s.rollout.as_ref())
        .is_some_and(|r| r.step.is_some());
    let scale_plan = scale::plan(
        cluster,
        &valid,
        existing.as_ref(),
        committed.as_ref(),
        committed_needed,
        probed.as_ref(),
        roll_step_persisted,
    );
    // Members the scale-down took out of the committed membership are leaving, not down:
    // everything after this (status, Events, recovery, alerts) sees them so.
    let leaving = scale::leaving_members(&valid, watched, committed.as_ref());
    let assessment = probed.map(|a| with_leaving(&a, &leaving));
    let formation = events::formation(cluster);
    let transitions = assessment
        .as_ref()
        .map(|a| ctx.quorum.untold(cluster, a, formation))
        .unwrap_or_default();
    let scale_plan = scale::confirm_removal(scale_plan, &password, assessment.as_ref()).await;
    let scaling = scale_plan
        .step
        .as_ref()
        .map(|s| Underway::ScaleStep(s.describe()));

    let desired = desired_objects(&valid, ctx.server, &scale::membership(&scale_plan));
    if desired.pdb.is_none() && ctx.first_pdb_warning(&valid.uid) {
        let message = "this Kubernetes server does not serve policy/v1 PodDisruptionBudgets (Kubernetes 1.21+): no PodDisruptionBudget is created";
        events::publish(
            ctx,
            cluster,
            &Notice {
                warning: true,
                reason: "PodDisruptionBudgetUnsupported".into(),
                message: message.into(),
            },
        )
        .await;
    }
    let statefulset = apply_all(ctx, &valid, existing, desired).await?;
    if valid.spec.storage.mode == crate::api::StorageMode::Persistent {
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(client, &namespace);
        retention::enforce(&claims, &valid, &pods).await?;
    }
    // Told after the apply, close to the status patch that shows the same change.
    events::tell_transitions(ctx, cluster, &valid, &transitions).await;
    // The ensemble gauges have one writer, the janitor (controller/mod.rs).

    let now_t = SystemTime::now();
    // The roll and recovery never act at once: recovery yields while a roll step is in
    // flight, and a roll waits while recovery has a restart in flight.
    let roll_inputs = rollout::inputs(
        ctx,
        cluster,
        &valid,
        statefulset.as_ref(),
        &pods,
        assessment.as_ref(),
    )
    .await;
    // Recovery and the roll also yield to a scale step under way.
    let recovery_yields_to = roll_inputs
        .step_in_flight(assessment.as_ref(), now_t)
        .or_else(|| scaling.clone());
    let written = ctx.written_recovery(&valid.uid);
    let plan = recovery::plan(
        cluster,
        &valid,
        &pods,
        assessment.as_ref(),
        written.as_ref(),
        recovery_yields_to.as_ref(),
        now_t,
    );
    let recovering = plan
        .as_ref()
        .and_then(|p| recovery_in_flight(&valid, &p.decision));
    let roll = rollout::plan(
        &roll_inputs,
        assessment.as_ref(),
        recovering.as_ref().or(scaling.as_ref()),
        now_t,
    );
    let observed = Observed {
        statefulset: statefulset.as_ref(),
        pods: &pods,
        quorum: assessment.as_ref(),
        recovery: plan.as_ref().map(|p| &p.report),
        rollout: Some(&roll),
        scale: Some(&scale_plan),
    };
    let stamp = now();
    let mut next = status::compute(cluster.status.as_ref(), &valid, observed, &stamp);
    // The member a roll step restarts is down on purpose, like one recovery restarts, and
    // so is a joiner while its pod starts and syncs: neither pages.
    let rolled = roll
        .decision
        .in_flight()
        .then(|| roll.decision.step().map(|s| s.member))
        .flatten();
    let on_purpose: Vec<MemberId> = rolled
        .into_iter()
        .chain(scale_plan.step.as_ref().and_then(ScaleStep::starting))
        .collect();
    let mut wake = plan.as_ref().and_then(|p| p.requeue);
    wake = wake
        .into_iter()
        .chain(rollout::requeue(&roll))
        .chain(scale::requeue(&scale_plan))
        .min();
    if let Some(report) = notify(
        ctx,
        cluster,
        assessment.as_ref(),
        plan.as_ref(),
        &on_purpose,
    )
    .await
    {
        status::notifications::apply(
            &mut next,
            cluster.status.as_ref(),
            report.receivers,
            &report.problems,
            &stamp,
        );
        let alerts = report.status;
        next.alerts = (alerts != AlertsStatus::default()).then_some(alerts);
        let until_evaluation = report
            .next_evaluation
            .map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
        wake = wake.into_iter().chain(until_evaluation).min();
    }
    // Time alone changes a recovery or roll deadline or a pending alert: wake for the
    // earliest.
    let requeue = Action::requeue(wake.map_or(RESYNC, |d| d.clamp(Duration::from_secs(1), RESYNC)));
    // The status persists a restart (recovery's or the roll's) before the pod is
    // deleted: an operator that stops in between finds it recorded and re-issues the
    // same delete, never a second one.
    publish_status(cluster, ctx, next).await?;
    if let Some(plan) = &plan {
        ctx.remember_recovery(&valid.uid, plan.report.history.clone());
        recovery::act(ctx, cluster, &valid, plan).await?;
    }
    rollout::act(ctx, cluster, &valid, &roll).await?;
    scale::act(
        ctx,
        cluster,
        &valid,
        &scale_plan,
        &password,
        assessment.as_ref(),
    )
    .await;
    Ok(requeue)
}

/// The member recovery restarts in this pass or waits for, if any.
fn recovery_in_flight(valid: &ValidCluster, decision: &Decision) -> Option<Underway> {
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

/// Feeds this pass's faults and recovery decision to the notifier; its delivery failures
/// become Warning Events. Notifications never fail the reconcile.
async fn notify(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    assessment: Option<&EnsembleAssessment>,
    plan: Option<&recovery::RecoveryPlan>,
    on_purpose: &[MemberId],
) -> Option<NotifierReport> {
    let decisions: Vec<Decision> = plan.map(|p| p.decision.clone()).into_iter().collect();
    let mut restarting = plan.map(|p| p.restarting.clone()).unwrap_or_default();
    restarting.extend(on_purpose);
    let faults = FaultInput {
        assessment,
        decisions: &decisions,
        restarting: &restarting,
        forming: status::first_formation(cluster.status.as_ref()),
    };
    match ctx
        .notifier
        .observe(cluster, &faults, SystemTime::now())
        .await
    {
        Ok(report) => {
            for failure in &report.failures {
                let notice = Notice {
                    warning: true,
                    reason: failure.reason().to_string(),
                    message: failure.to_string(),
                };
                events::publish(ctx, cluster, &notice).await;
            }
            Some(report)
        }
        Err(error) => {
            tracing::warn!(cluster = %cluster.name_any(), %error, "notifications");
            None
        }
    }
}

/// Applies every kind in order (configuration before the pods that read it); returns the
/// live StatefulSet.
async fn apply_all(
    ctx: &Context,
    valid: &ValidCluster,
    existing: Option<StatefulSet>,
    desired: DesiredObjects,
) -> Result<Option<StatefulSet>> {
    let client = &ctx.client;
    let ns = &valid.namespace;
    let (name, uid, cache) = (&valid.name, &valid.uid, &ctx.applied);
    let caches = &ctx.caches;
    sync_kind(
        &Api::<ConfigMap>::namespaced(client.clone(), ns),
        cache,
        name,
        uid,
        caches::owned(&caches.config_maps, ns, name),
        vec![desired.config_map],
    )
    .await?;
    sync_kind(
        &Api::<Service>::namespaced(client.clone(), ns),
        cache,
        name,
        uid,
        caches::owned(&caches.services, ns, name),
        vec![desired.headless_service, desired.client_service],
    )
    .await?;
    // The StatefulSet as read live at the start of this pass (named as the cluster).
    let sts = sync_kind(
        &Api::<StatefulSet>::namespaced(client.clone(), ns),
        cache,
        name,
        uid,
        existing.into_iter().collect(),
        vec![desired.statefulset],
    )
    .await?;
    if let Some(pdbs) = &caches.pdbs {
        sync_kind(
            &Api::<PodDisruptionBudget>::namespaced(client.clone(), ns),
            cache,
            name,
            uid,
            caches::owned(pdbs, ns, name),
            desired.pdb.into_iter().collect(),
        )
        .await?;
    }
    Ok(sts.into_iter().next())
}

/// Tells the transitions as Events and patches the status, only if it changed.
async fn publish_status(
    cluster: &ZookeeperCluster,
    ctx: &Context,
    next: ZookeeperClusterStatus,
) -> Result<()> {
    let previous = cluster.status.as_ref();
    if !status::differs_materially(previous, &next) {
        return Ok(());
    }
    for notice in notices(previous, &next) {
        events::publish(ctx, cluster, &notice).await;
    }
    let api: Api<ZookeeperCluster> = Api::namespaced(
        ctx.client.clone(),
        &cluster
            .namespace()
            .ok_or(Error::MissingMetadata("namespace"))?,
    );
    let body = json!({
        "apiVersion": ZookeeperCluster::api_version(&()),
        "kind": ZookeeperCluster::kind(&()),
        "status": next,
    });
    api.patch_status(
        &cluster.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(Error::Status)?;
    ctx.metrics.status_patches.inc();
    Ok(())
}

fn now() -> String {
    Timestamp::now()
        .round(jiff_seconds())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| Timestamp::now().to_string())
}

fn jiff_seconds() -> k8s_openapi::jiff::Unit {
    k8s_openapi::jiff::Unit::Second
}
