//! One pass over one cluster, in five stages that read top to bottom:
//!
//! 1. **gather** (`gather.rs`): every read: the StatefulSet, pods, claims, the super-user
//!    Secret, the members' health, the committed membership, the roll's fresh `mntr`,
//!    the scale-down's write check. Nothing later reads the cluster or ZooKeeper.
//! 2. **plan** (`plan.rs`, pure): validation, desired objects, the scale, recovery and
//!    roll plans, the claims retention changes.
//! 3. **arbitrate** (`arbitrate.rs`, pure, asked by plan): which member-changing plan may
//!    act this pass, and what the others wait for.
//! 4. **act** (`act.rs`): the writes: the Secret, the objects, the claims; later the one
//!    member change.
//! 5. **report** (`report.rs`): Events, gauges, notifications and the status (patched
//!    only when it changed), persisted before act's member change so an operator that
//!    stops in between finds the restart recorded and re-issues the same delete; then
//!    the Events of what the member change did.
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::error::{Error, Result};
use super::{act, events, gather, plan, report};
use crate::api::ZookeeperCluster;

pub async fn reconcile(cluster: Arc<ZookeeperCluster>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = reconcile_inner(&cluster, &ctx).await;
    ctx.metrics
        .observe_reconcile(started.elapsed(), result.as_ref().err().map(Error::reason));
    if result.is_ok() {
        ctx.clear_failures(&memory_key(&cluster))?;
    }
    result
}

/// On failure: a Warning Event with the error's reason, and a retry with exponential
/// backoff (1 s doubling to 5 min) rather than a fixed interval.
pub fn error_policy(cluster: Arc<ZookeeperCluster>, error: &Error, ctx: Arc<Context>) -> Action {
    // A poisoned memory counts as the most failures: the longest backoff.
    let failures = ctx
        .record_failure(&memory_key(&cluster))
        .unwrap_or(u32::MAX);
    let delay = Duration::from_secs(1u64 << failures.min(9)).min(Duration::from_secs(300));
    tracing::warn!(cluster = %cluster.name_any(), %error, retry_in = ?delay, "reconcile failed");
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

/// The cluster's key in the per-cluster memory: its uid (a cluster recreated under the
/// same name starts clean).
fn memory_key(cluster: &ZookeeperCluster) -> String {
    cluster.uid().unwrap_or_else(|| {
        format!(
            "{}/{}",
            cluster.namespace().unwrap_or_default(),
            cluster.name_any()
        )
    })
}

async fn reconcile_inner(cluster: &ZookeeperCluster, ctx: &Context) -> Result<Action> {
    let live = gather::statefulset(ctx, cluster).await?;
    let valid = match plan::validate(cluster, live.as_ref(), ctx.server) {
        Ok(valid) => valid,
        Err(error) => return Ok(report::invalid(ctx, cluster, &error).await?),
    };
    let mut world = gather::world(ctx, cluster, &valid, live).await?;

    let (plan, desired) = plan::plan(cluster, &valid, &world, ctx.server, SystemTime::now());
    tracing::debug!(cluster = %valid.name, arbitration = ?plan.arbitration, "planned");

    let pdb_unsupported = valid.spec.pdb.enabled() && !ctx.server.policy_v1;
    report::spec_warnings(ctx, cluster, &valid, pdb_unsupported).await?;
    let statefulset = act::objects(ctx, &valid, &mut world, desired, &plan).await?;
    report::transitions(ctx, cluster, &valid, &world).await?;
    let notifications =
        report::status(ctx, cluster, &valid, &world, &plan, statefulset.as_ref()).await?;
    let mut told = Vec::new();
    let acted = act::member_change(ctx, cluster, &valid, &world, &plan, &mut told).await;
    report::member_events(ctx, cluster, &told).await;
    acted?;
    Ok(report::requeue(&plan, notifications))
}
