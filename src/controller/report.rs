//! Stage 5: what the pass tells. Spec warnings, quorum-health transitions (marked told
//! only once told, so a pass that fails before them tells them next time), member
//! gauges, notifications, and the status, patched only when it changed. The status
//! patch runs before act's member change: it records the restart before the delete.
use std::time::{Duration, SystemTime};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::context::Context;
use super::events::{self, Told};
use super::gather::World;
use super::memory::Poisoned;
use super::notifications::{FaultInput, NotifierReport};
use super::plan::Plan;
use super::scale;
use crate::api::{AlertsStatus, ZookeeperCluster, ZookeeperClusterStatus};
use crate::build::labels::MANAGER;
use crate::recovery::Decision;
use crate::status::notices::{Notice, notices};
use crate::status::{self, Observed};
use crate::validate::{INVALID_RESTART_REQUEST, ValidCluster, ValidationError};

/// How often a settled cluster is looked at even without a change (drift the watches
/// cannot see, e.g. a lost event).
const RESYNC: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot update the status: {0}")]
    Status(#[source] kube::Error),
    #[error("the resource has no {0}")]
    MissingMetadata(&'static str),
    #[error(transparent)]
    Memory(#[from] Poisoned),
}

impl ReportError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Status(_) => "StatusUpdateFailed",
            Self::MissingMetadata(_) => "MissingMetadata",
            Self::Memory(_) => "MemoryPoisoned",
        }
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// An invalid spec: nothing is applied, deleted or restarted, only reported.
pub async fn invalid(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    error: &ValidationError,
) -> Result<Action> {
    tracing::warn!(cluster = %cluster.name_any(), %error, "invalid spec");
    let next = status::invalid(
        cluster.status.as_ref(),
        cluster.metadata.generation,
        error,
        &now(),
    );
    publish_status(ctx, cluster, next).await?;
    Ok(Action::await_change())
}

/// The spec's warnings once per generation (an unusable restart annotation once per
/// value); a server without PodDisruptionBudgets once.
pub async fn spec_warnings(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    without_pdb: bool,
) -> Result<()> {
    let new_generation =
        cluster.status.as_ref().and_then(|s| s.observed_generation) != valid.generation;
    for warning in &valid.warnings {
        // An annotation changes no generation: the restart warning is told once per value.
        let tell = if warning.reason == INVALID_RESTART_REQUEST {
            ctx.first_restart_warning(&valid.uid, &warning.message)?
        } else {
            new_generation
        };
        if tell {
            let notice = warning_notice(warning.reason, warning.message.clone());
            events::publish(ctx, cluster, &notice).await;
        }
    }
    if without_pdb && ctx.first_pdb_warning(&valid.uid)? {
        let message = "this Kubernetes server does not serve policy/v1 PodDisruptionBudgets (Kubernetes 1.21+): no PodDisruptionBudget is created";
        let notice = warning_notice("PodDisruptionBudgetUnsupported", message.into());
        events::publish(ctx, cluster, &notice).await;
    }
    Ok(())
}

fn warning_notice(reason: &str, message: String) -> Notice {
    Notice {
        warning: true,
        reason: reason.into(),
        message,
    }
}

/// Tells the gathered transitions (after the apply, close to the status patch that shows
/// the same change), then marks them told; tells a reconfig
/// whose reply was lost once the committed membership shows it.
pub async fn transitions(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    world: &World,
) -> Result<()> {
    events::tell_transitions(ctx, cluster, valid, &world.transitions).await;
    if let Some(assessment) = &world.assessment {
        ctx.quorum.mark_told(cluster, assessment, world.formation)?;
    }
    let unknown = world.reconfig_unknown.as_ref();
    if let Some(told) = scale::outcome(ctx, valid, unknown, world.committed.as_ref())? {
        events::tell_all(ctx, cluster, &[told]).await;
    }
    Ok(())
}

/// Computes the status from the pass, feeds the notifier, patches the status if it
/// changed. Returns when the notifier wants to evaluate again.
pub async fn status(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    world: &World,
    plan: &Plan,
    statefulset: Option<&StatefulSet>,
) -> Result<Option<Duration>> {
    let observed = Observed {
        statefulset,
        pods: &world.pods,
        quorum: world.assessment.as_ref(),
        recovery: plan.recovery.as_ref().map(|p| &p.report),
        rollout: Some(&plan.roll),
        scale: Some(&plan.scale),
    };
    let stamp = now();
    let mut next = status::compute(cluster.status.as_ref(), valid, observed, &stamp);
    let mut wake = None;
    if let Some(report) = notify(ctx, cluster, world, plan).await {
        status::notifications::apply(
            &mut next,
            cluster.status.as_ref(),
            report.receivers,
            &report.problems,
            &stamp,
        );
        let alerts = report.status;
        next.alerts = (alerts != AlertsStatus::default()).then_some(alerts);
        wake = report
            .next_evaluation
            .map(|t| t.duration_since(SystemTime::now()).unwrap_or_default());
    }
    publish_status(ctx, cluster, next).await?;
    Ok(wake)
}

/// The Events of act's member change (a restart, a roll step, a membership change).
pub async fn member_events(ctx: &Context, cluster: &ZookeeperCluster, told: &[Told]) {
    events::tell_all(ctx, cluster, told).await;
}

/// Time alone changes a recovery or roll deadline or a pending alert: wake for the
/// earliest, else resync.
pub fn requeue(plan: &Plan, notifications: Option<Duration>) -> Action {
    let wake = plan.requeue.into_iter().chain(notifications).min();
    Action::requeue(wake.map_or(RESYNC, |d| d.clamp(Duration::from_secs(1), RESYNC)))
}

/// Feeds this pass's faults and recovery decision to the notifier; its delivery failures
/// become Warning Events. Notifications never fail the reconcile.
async fn notify(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    world: &World,
    plan: &Plan,
) -> Option<NotifierReport> {
    let recovery = plan.recovery.as_ref();
    let decisions: Vec<Decision> = recovery.map(|p| p.decision.clone()).into_iter().collect();
    let mut restarting = recovery.map(|p| p.restarting.clone()).unwrap_or_default();
    restarting.extend(&plan.on_purpose);
    let faults = FaultInput {
        assessment: world.assessment.as_ref(),
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
                let notice = warning_notice(failure.reason(), failure.to_string());
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

/// Tells the status's notices as Events and patches the status, only if it changed.
async fn publish_status(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    next: ZookeeperClusterStatus,
) -> Result<()> {
    let previous = cluster.status.as_ref();
    if !status::differs_materially(previous, &next) {
        return Ok(());
    }
    for notice in notices(previous, &next) {
        events::publish(ctx, cluster, &notice).await;
    }
    let namespace = cluster
        .namespace()
        .ok_or(ReportError::MissingMetadata("namespace"))?;
    let api: Api<ZookeeperCluster> = Api::namespaced(ctx.client.clone(), &namespace);
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
    .map_err(ReportError::Status)?;
    ctx.metrics.status_patches.inc();
    Ok(())
}

/// Status timestamps, to the second.
fn now() -> String {
    Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| Timestamp::now().to_string())
}
