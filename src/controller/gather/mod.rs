//! Stage 1: every read of the pass. The cluster's StatefulSet (read first: validation
//! needs it), then its pods, volume claims, the super-user Secret, the members' health
//! from the quorum watcher, the committed ZooKeeper membership while a scale change is
//! wanted or under way, the roll's fresh `mntr`, and the scale-down's write check. Nothing
//! after this stage reads from the cluster or from ZooKeeper.
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

mod secret;
mod zookeeper;

use super::context::Context;
use super::events;
use super::memory::Poisoned;
use super::plan;
use super::rollout::{self, RolloutInputs};
use super::scale;
use super::super_secret::SuperPassword;
use crate::api::{StorageMode, ZookeeperCluster};
use crate::build::labels::{APP_NAME, INSTANCE_LABEL, NAME_LABEL, owned_selector};
use crate::health::{EnsembleAssessment, Formation, Transition, with_leaving};
use crate::recovery::RecoveryHistory;
use crate::scale::ScaleStep;
use crate::validate::ValidCluster;
use crate::zk::DynamicConfig;

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("cannot read {what}: {source}")]
    Fetch {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// Neither the password nor its generation is ever printed.
    #[error("the super-user Secret {0} has no usable password (or one could not be generated)")]
    SuperSecret(String),
    #[error("the resource has no {0}")]
    MissingMetadata(&'static str),
    #[error(transparent)]
    Memory(#[from] Poisoned),
}

impl GatherError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Fetch { .. } => "FetchFailed",
            Self::SuperSecret(_) => "SuperSecretInvalid",
            Self::MissingMetadata(_) => "MissingMetadata",
            Self::Memory(_) => "MemoryPoisoned",
        }
    }
}

pub type Result<T, E = GatherError> = std::result::Result<T, E>;

/// What one pass knows about the world, read once.
pub struct World {
    /// The StatefulSet as read at the start of the pass.
    pub live: Option<StatefulSet>,
    pub password: SuperPassword,
    pub pods: Vec<Pod>,
    /// The member claims (persistent storage only).
    pub claims: Vec<PersistentVolumeClaim>,
    /// The committed membership was asked for (see `scale::needs_committed`).
    pub committed_needed: bool,
    pub committed: Option<DynamicConfig>,
    /// The watcher's assessment as probed.
    pub probed: Option<EnsembleAssessment>,
    /// The same with the members a scale-down took out marked as leaving: what status,
    /// Events, recovery and alerts see.
    pub assessment: Option<EnsembleAssessment>,
    /// Where the cluster stands in its first formation (Events while it forms).
    pub formation: Formation,
    /// Health transitions not yet told as Events (marked told by the report stage).
    pub transitions: Vec<Transition>,
    pub roll: RolloutInputs,
    /// The recovery history this operator persisted last (the cache may lag).
    pub recovery_written: Option<RecoveryHistory>,
    /// A reconfig whose reply was lost in an earlier pass (see `scale::outcome`).
    pub reconfig_unknown: Option<(ScaleStep, std::time::Instant)>,
    /// The scale-down's write check through the remaining members, when this pass would
    /// remove a pod: `Err(why)` holds the removal.
    pub removal_proof: Option<Result<(), String>>,
}

/// The StatefulSet named as the cluster, read live (validation checks immutable fields
/// against it).
pub async fn statefulset(ctx: &Context, cluster: &ZookeeperCluster) -> Result<Option<StatefulSet>> {
    let namespace = cluster
        .namespace()
        .ok_or(GatherError::MissingMetadata("namespace"))?;
    let name = cluster.name_any();
    Api::<StatefulSet>::namespaced(ctx.client.clone(), &namespace)
        .get_opt(&name)
        .await
        .map_err(|source| GatherError::Fetch {
            what: format!("StatefulSet {name}"),
            source,
        })
}

/// Everything else, for a valid cluster.
pub async fn world(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    live: Option<StatefulSet>,
) -> Result<World> {
    let password = secret::read(ctx, valid).await?;
    let pods = list::<Pod>(ctx, valid, &owned_selector(&valid.name), "Pod list").await?;
    let claims = match valid.spec.storage.mode {
        StorageMode::Persistent => {
            let selector = format!("{NAME_LABEL}={APP_NAME},{INSTANCE_LABEL}={}", valid.name);
            list(ctx, valid, &selector, "PersistentVolumeClaim list").await?
        }
        StorageMode::Ephemeral => Vec::new(),
    };
    let watched = scale::watched_replicas(valid, live.as_ref());
    let probed = ctx.quorum.observe(cluster, watched, &pods)?;
    let committed_needed = scale::needs_committed(valid, live.as_ref(), cluster.status.as_ref());
    let committed = if committed_needed {
        zookeeper::committed(password.expose(), probed.as_ref()).await
    } else {
        None
    };
    let leaving = scale::leaving_members(valid, watched, committed.as_ref());
    let assessment = probed.as_ref().map(|a| with_leaving(a, &leaving));
    let formation = events::formation(cluster);
    let transitions = match &assessment {
        Some(a) => ctx.quorum.untold(cluster, a, formation)?,
        None => Vec::new(),
    };
    let roll = rollout::inputs(ctx, cluster, valid, live.as_ref(), &pods)?;
    let leader = assessment.as_ref().and_then(zookeeper::leader_address);
    let roll = match leader {
        Some(leader) if roll.due() => {
            let synced = zookeeper::synced_followers(leader).await;
            roll.with_synced_followers(synced)
        }
        _ => roll,
    };
    let mut world = World {
        recovery_written: ctx.written_recovery(&valid.uid)?,
        reconfig_unknown: ctx.memory.get(&valid.uid)?.and_then(|m| m.reconfig_unknown),
        live,
        password,
        pods,
        claims,
        committed_needed,
        committed,
        probed,
        assessment,
        formation,
        transitions,
        roll,
        removal_proof: None,
    };
    world.removal_proof = removal_proof(cluster, valid, &world).await;
    Ok(world)
}

/// Before a scale-down's pod goes, a write through the leader of the remaining members
/// must commit. Its result decides this pass's plans (a held removal lets recovery act),
/// so it is gathered, like a probe, not acted.
async fn removal_proof(
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    world: &World,
) -> Option<Result<(), String>> {
    let (scale, _) = plan::scale(cluster, valid, world);
    let Some(ScaleStep::RemovePod { member }) = scale.step else {
        return None;
    };
    let password = world.password.expose();
    Some(zookeeper::write_check(password, world.assessment.as_ref(), member).await)
}

async fn list<K>(ctx: &Context, valid: &ValidCluster, selector: &str, what: &str) -> Result<Vec<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::namespaced(ctx.client.clone(), &valid.namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .map(|list| list.items)
        .map_err(|source| GatherError::Fetch {
            what: what.into(),
            source,
        })
}
