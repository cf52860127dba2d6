//! The only async glue: watches and the reconcile pipeline, one pass in five stages
//! (see `reconcile`): `gather` (every read) -> `plan` (pure) -> `arbitrate` (pure) ->
//! `act` (the writes) -> `report` (status, Events, metrics, notifications). The other
//! modules are the stages' helpers, one concern each.
mod act;
mod apply;
pub mod arbitrate;
mod caches;
mod context;
mod error;
mod events;
mod gather;
mod member_pod;
pub mod memory;
pub mod notifications;
mod plan;
mod quorum;
mod reconcile;
mod recovery;
mod report;
mod retention;
mod rollout;
mod scale;
mod super_secret;

pub use context::Context;
pub use error::Error;
pub use quorum::{QuorumWatchers, pod_view};
pub use reconcile::{error_policy, reconcile};
pub use retention::claim_ordinal;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Api, Client, ResourceExt};

use crate::api::ZookeeperCluster;
use crate::build::ServerCapabilities;
use crate::build::labels::{INSTANCE_LABEL, MANAGED_BY_LABEL, MANAGER};
use crate::observe::WatcherConfig;
use crate::telemetry::Metrics;

/// Where the operator watches: every namespace, or one.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub namespace: Option<String>,
}

/// How the operator runs: where it watches and how it watches members.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub scope: Scope,
    pub members: WatcherConfig,
    /// Receivers every cluster notifies unless it opts out.
    pub default_receivers: notifications::DefaultReceivers,
}

fn api<K>(client: &Client, scope: &Scope) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match &scope.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Asks the server which optional APIs it has (PodDisruptionBudget `policy/v1` is 1.21+)
/// and its version (fields newer than the server are refused by validation). Only a 404
/// means "not served": any other failure is retried, then fails the start, rather than
/// switching PodDisruptionBudgets off for the whole leadership term.
pub async fn server_capabilities(client: &Client) -> anyhow::Result<ServerCapabilities> {
    let mut delay = std::time::Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match probe_server(client).await {
            Ok(server) => return Ok(server),
            Err(error) if attempt < DISCOVERY_ATTEMPTS => {
                tracing::warn!(%error, attempt, retry_in = ?delay, "cannot ask the server which APIs it serves");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context("cannot ask the Kubernetes server which APIs it serves"));
            }
        }
    }
}

/// Discovery tries before the operator gives up starting (~8 s of backoff in all).
const DISCOVERY_ATTEMPTS: u32 = 5;

async fn probe_server(client: &Client) -> Result<ServerCapabilities, kube::Error> {
    let version = client.apiserver_version().await?;
    let minor = version.minor.trim_end_matches('+').parse().ok();
    let policy_v1 = match client.list_api_group_resources("policy/v1").await {
        Ok(list) => list
            .resources
            .iter()
            .any(|r| r.name == "poddisruptionbudgets"),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            tracing::info!(version = %version.git_version, "no policy/v1 API: PodDisruptionBudgets are skipped");
            false
        }
        Err(error) => return Err(error),
    };
    Ok(ServerCapabilities { policy_v1, minor })
}

/// Every 10 s: refreshes member gauges. Deleted clusters are forgotten on their delete
/// event ([`forget`]); this also forgets those whose delete event was missed (deleted
/// while the watch re-listed), so memory stays bounded.
fn spawn_janitor(
    store: kube::runtime::reflector::Store<ZookeeperCluster>,
    ctx: Arc<Context>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            every.tick().await;
            ctx.quorum.retain(|key| store.get(key).is_some()).await;
            // The one writer of the ensemble gauges: they follow the members between
            // health changes too (zxid lag, load), lose the series of members that left
            // and of deleted clusters.
            ctx.quorum.for_each_current(|key, assessment| {
                let namespace = key.namespace.as_deref().unwrap_or_default();
                ctx.metrics
                    .observe_ensemble(namespace, &key.name, assessment);
                let members_on = store.get(key).is_none_or(|c| c.spec.metrics.members());
                ctx.metrics
                    .observe_zk_members(namespace, &key.name, assessment, members_on);
            });
            ctx.metrics.retain_clusters(|namespace, name| {
                store.get(&ObjectRef::new(name).within(namespace)).is_some()
            });
            ctx.applied.retain_clusters(|namespace, name| {
                store.get(&ObjectRef::new(name).within(namespace)).is_some()
            });
            let uids: std::collections::HashSet<String> =
                store.state().iter().filter_map(|c| c.uid()).collect();
            if let Err(error) = ctx.memory.retain(|uid| uids.contains(uid)) {
                tracing::error!(%error, "cannot forget deleted clusters");
            }
            ctx.notifier.retain(|namespace, name| {
                store.get(&ObjectRef::new(name).within(namespace)).is_some()
            });
        }
    })
}

/// A cluster's delete event: everything the operator remembers about it goes (its
/// memory by uid, its quorum watcher, applied-object cache and notifier state).
pub fn forget(ctx: &Arc<Context>, cluster: &ZookeeperCluster) {
    let (namespace, name) = (cluster.namespace().unwrap_or_default(), cluster.name_any());
    if let Some(uid) = cluster.uid()
        && let Err(error) = ctx.memory.forget(&uid)
    {
        tracing::error!(%error, cluster = %name, "cannot forget a deleted cluster");
    }
    ctx.applied
        .retain_clusters(|ns, n| !(ns == namespace && n == name));
    ctx.notifier.forget(&namespace, &name);
    let key = ObjectRef::from_obj(cluster);
    let ctx = ctx.clone();
    tokio::spawn(async move { ctx.quorum.forget(&key).await });
}

/// ConfigMaps, Services and PDBs trigger their owner's reconcile and fill the stores the
/// apply step reads (one watch each, not a list per reconcile).
#[allow(clippy::type_complexity)]
fn owned_watches(
    client: &Client,
    scope: &Scope,
    server: ServerCapabilities,
    owned: &watcher::Config,
) -> (
    caches::OwnedCaches,
    impl futures::Stream<Item = Result<ConfigMap, watcher::Error>> + Send + 'static,
    impl futures::Stream<Item = Result<Service, watcher::Error>> + Send + 'static,
    Option<
        impl futures::Stream<Item = Result<PodDisruptionBudget, watcher::Error>> + Send + 'static,
    >,
) {
    let (config_maps, config_map_events) = caches::reflect(
        api::<ConfigMap>(client, scope),
        owned.clone(),
        caches::strip_data,
    );
    let (services, service_events) = caches::reflect(
        api::<Service>(client, scope),
        owned.clone(),
        caches::keep_body,
    );
    let (pdbs, pdb_events) = if server.policy_v1 {
        let (store, events) = caches::reflect(
            api::<PodDisruptionBudget>(client, scope),
            owned.clone(),
            caches::keep_body,
        );
        (Some(store), Some(events))
    } else {
        (None, None)
    };
    let caches = caches::OwnedCaches {
        config_maps,
        services,
        pdbs,
    };
    (caches, config_map_events, service_events, pdb_events)
}

/// The cluster watch, built here rather than by Controller::new so that readiness can
/// follow its first complete list (InitDone) and delete events reach [`forget`].
/// Store::wait_until_ready must not be used for readiness: in kube-runtime 5 it wakes
/// only the most recent of concurrent waiters, and the controller's own runner already
/// waits on it, so a second waiter can sleep forever.
fn cluster_watch(
    api: Api<ZookeeperCluster>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    ctx: &Arc<Context>,
) -> (
    kube::runtime::reflector::Store<ZookeeperCluster>,
    impl futures::Stream<Item = Result<ZookeeperCluster, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let ctx = ctx.clone();
    let clusters = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .inspect(move |event| match event {
            Ok(watcher::Event::InitDone) => ready.store(true, std::sync::atomic::Ordering::SeqCst),
            Ok(watcher::Event::Delete(cluster)) => forget(&ctx, cluster),
            _ => {}
        })
        .applied_objects();
    (reader, clusters)
}

/// The owned objects the operator watches: those it labels as managed by it.
fn owned_config() -> watcher::Config {
    watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGER}"))
}

/// The context of one leadership term, and the stream of clusters whose health changed.
fn new_context(
    client: &Client,
    settings: Settings,
    metrics: Metrics,
    server: ServerCapabilities,
    caches: caches::OwnedCaches,
) -> anyhow::Result<(Arc<Context>, HealthChanges)> {
    let reporter = Reporter {
        controller: MANAGER.to_string(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let (quorum, health_changes) = QuorumWatchers::new(settings.members);
    let deliverer =
        crate::notify::Deliverer::new(crate::notify::RetryPolicy::default(), String::new())?;
    let notifier =
        notifications::Notifier::new(client.clone(), deliverer, settings.default_receivers);
    let ctx = Context::new(
        client.clone(),
        recorder,
        metrics,
        server,
        quorum,
        notifier,
        caches,
    );
    Ok((Arc::new(ctx), health_changes))
}

type HealthChanges = tokio::sync::mpsc::Receiver<ObjectRef<ZookeeperCluster>>;

/// The context [`run`] builds, for a harness that calls [`reconcile`] itself, pass by
/// pass: the returned task drives the owned objects' caches and the cluster watch (whose
/// delete events [`forget`]), as the Controller would. Health triggers are drained
/// unused: the harness decides when a pass runs. Abort the task to stop.
pub async fn standalone(
    client: Client,
    settings: Settings,
    metrics: Metrics,
) -> anyhow::Result<(Arc<Context>, tokio::task::JoinHandle<()>)> {
    let server = server_capabilities(&client).await?;
    let scope = settings.scope.clone();
    let (caches, config_maps, services, pdbs) =
        owned_watches(&client, &scope, server, &owned_config());
    let (ctx, mut health_changes) = new_context(&client, settings, metrics, server, caches)?;
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (_, clusters) = cluster_watch(api::<ZookeeperCluster>(&client, &scope), ready, &ctx);
    let task = tokio::spawn(async move {
        tokio::join!(
            config_maps.for_each(|_| async {}),
            services.for_each(|_| async {}),
            async {
                if let Some(pdbs) = pdbs {
                    pdbs.for_each(|_| async {}).await;
                }
            },
            clusters.for_each(|_| async {}),
            async { while health_changes.recv().await.is_some() {} },
        );
    });
    Ok((ctx, task))
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    settings: Settings,
    metrics: Metrics,
    ready: Arc<std::sync::atomic::AtomicBool>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let server = server_capabilities(&client).await?;
    let scope = settings.scope.clone();
    let owned = owned_config();
    let (owned_caches, config_map_events, service_events, pdb_events) =
        owned_watches(&client, &scope, server, &owned);
    let (ctx, health_changes) = new_context(&client, settings, metrics, server, owned_caches)?;

    let (reader, clusters) = cluster_watch(api::<ZookeeperCluster>(&client, &scope), ready, &ctx);
    let mut controller = Controller::for_stream(clusters, reader)
        .owns(api::<StatefulSet>(&client, &scope), owned.clone())
        .owns_stream(service_events)
        .owns_stream(config_map_events)
        // Pods are not owned by the cluster (the StatefulSet owns them): map by label.
        .watches(api::<Pod>(&client, &scope), owned.clone(), |pod: Pod| {
            let cluster = pod.labels().get(INSTANCE_LABEL)?.clone();
            Some(ObjectRef::new(&cluster).within(&pod.namespace()?))
        });
    if let Some(events) = pdb_events {
        controller = controller.owns_stream(events);
    }
    // Health changes seen by the quorum watchers reconcile just that cluster.
    let health_changes = futures::stream::unfold(health_changes, |mut rx| async move {
        rx.recv().await.map(|key| (key, rx))
    });
    controller = controller.reconcile_on(health_changes);
    let janitor = spawn_janitor(controller.store(), ctx.clone());
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, action)) => tracing::debug!(cluster = %object, ?action, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile error"),
            }
        })
        .await;
    // The janitor holds the context, and with it every member session: when this term
    // ends (shutdown, or leadership lost) they must go with it.
    janitor.abort();
    Ok(())
}
