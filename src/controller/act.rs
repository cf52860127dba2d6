//! Stage 4: the only writes to the cluster's objects and members. `objects`: the
//! super-user Secret (created once), every desired object in order, the claims retention
//! changes. `member_change`: the one member action arbitration allowed (recovery's
//! restart, the roll's step, the scale step's reconfig), issued only after the report
//! stage persisted the status that records it. A paused cluster gets neither.
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;

use super::apply::sync_kind;
use super::caches;
use super::context::Context;
use super::events::Told;
use super::gather::World;
use super::memory::Poisoned;
use super::plan::Plan;
use super::recovery;
use super::retention;
use super::rollout;
use super::scale;
use super::super_secret;
use crate::api::ZookeeperCluster;
use crate::build::DesiredObjects;
use crate::validate::ValidCluster;

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("cannot apply {what}: {source}")]
    Apply {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot delete {what}: {source}")]
    Delete {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot restart {what}: {source}")]
    Restart {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot restart {what} for the rolling restart: {source}")]
    Roll {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Memory(#[from] Poisoned),
}

impl ActError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Apply { .. } => "ApplyFailed",
            Self::Delete { .. } => "DeleteFailed",
            Self::Restart { .. } => "RestartFailed",
            Self::Roll { .. } => "RollingRestartFailed",
            Self::Encode { .. } => "EncodeFailed",
            Self::Memory(_) => "MemoryPoisoned",
        }
    }
}

pub type Result<T, E = ActError> = std::result::Result<T, E>;

/// The Secret, the objects, the claims; returns the StatefulSet as applied.
/// `live`: the StatefulSet gathered at the start of the pass (moved, not cloned).
pub async fn objects(
    ctx: &Context,
    valid: &ValidCluster,
    world: &mut World,
    desired: DesiredObjects,
    plan: &Plan,
) -> Result<Option<StatefulSet>> {
    // Paused: no write at all; the StatefulSet as it runs is what the status reports.
    if valid.spec.paused {
        return Ok(world.live.take());
    }
    if world.password.create {
        super_secret::create(ctx, valid, &world.password).await?;
    }
    let statefulset = apply_all(ctx, valid, world.live.take(), desired).await?;
    if !plan.claims.is_empty() {
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(ctx.client.clone(), &valid.namespace);
        retention::enforce(&claims, &plan.claims).await?;
    }
    Ok(statefulset)
}

/// The member actions, in arbitration's order: at most one of them changes a member.
/// Their Events go to `told` as each is done, for report to tell even when a later one
/// fails.
pub async fn member_change(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    world: &World,
    plan: &Plan,
    told: &mut Vec<Told>,
) -> Result<()> {
    // Arbitration let no plan act while paused; nothing is issued either. A persisted
    // roll step's delete is re-issued once unpaused, unless the pause outlasted the
    // step's timeout: the step is then Stalled and reported, not re-issued.
    if valid.spec.paused {
        // What the status now holds is remembered as written, as when acting.
        if let Some(recovery) = &plan.recovery {
            ctx.remember_recovery(&valid.uid, recovery.report.history.clone())?;
        }
        ctx.remember_rollout(&valid.uid, plan.roll.state.clone())?;
        return Ok(());
    }
    if let Some(recovery) = &plan.recovery {
        ctx.remember_recovery(&valid.uid, recovery.report.history.clone())?;
        recovery::act(ctx, cluster, valid, recovery, told).await?;
    }
    rollout::act(ctx, cluster, valid, &plan.roll, told).await?;
    scale::act(
        ctx,
        valid,
        &plan.scale,
        world.password.expose(),
        world.assessment.as_ref(),
        told,
    )
    .await?;
    Ok(())
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
