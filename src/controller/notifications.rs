//! The notification driver: the async side of `alerts` (pure) and `notify` (sinks).
//!
//! One [`Notifier`] per operator, held in the controller `Context`. Per cluster it keeps
//! the [`AlertBook`] in a ConfigMap `NAME-alerts` (key `book.json`), owned by the cluster
//! so it goes with it, and runs one background task that delivers the book's outbox,
//! persisting after every delivery: nothing delivered is sent again and nothing queued is
//! lost across an operator restart. A fault that cleared while the operator was down is
//! resolved by the first evaluation after the restart, and its resolved notice goes out.
//! (Delivery is at-least-once: a crash between a receiver's 2xx and the ConfigMap write
//! sends that one message again.)
//!
//! # How reconcile calls it
//!
//! ```ignore
//! // Context: pub notifier: Notifier, built in controller::run with
//! //   Notifier::new(client.clone(), Deliverer::new(RetryPolicy::default(), "")?, defaults)
//! // After the quorum assessment (and the recovery decision, once recovery is wired):
//! let faults = FaultInput {
//!     assessment: assessment.as_ref(),          // None: nothing observed this pass
//!     decisions: &[decision],                   // recovery verdicts (may be empty)
//!     restarting: &restarting,                  // members the operator is restarting
//! };
//! match ctx.notifier.observe(cluster, &faults, SystemTime::now()).await {
//!     Ok(report) => {
//!         for failure in &report.failures {     // NotificationFailed & co.
//!             events::publish(ctx, cluster, &Notice { warning: true,
//!                 reason: failure.reason().into(), message: failure.to_string() }).await;
//!         }
//!         // report.status: AlertsStatus for the cluster's status, if it carries one.
//!     }
//!     Err(error) => tracing::warn!(%error, "notifications"), // never fails the reconcile
//! }
//! // When a cluster is deleted (janitor): ctx.notifier.forget(namespace, name).
//! ```
//! Call `observe` on every reconcile: it writes the ConfigMap only when the book changed.
//! The ConfigMap carries the cluster's name/instance labels and `component: alerts` but
//! deliberately not `app.kubernetes.io/managed-by`: the applier deletes every
//! managed-by-labelled, cluster-owned ConfigMap it did not build, and the controller's
//! `owns` watch would reconcile on every delivery. The operator needs `get` on Secrets
//! (not `list`) for receivers' credentials, and get/create/patch on ConfigMaps.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use tokio::sync::{Mutex, Notify};

use crate::alerts::{self, AlertBook, AlertSource, Evaluation, Notification, Route, Timing};
use crate::api::{AlertsStatus, NotificationsSpec, ReceiverSpec, SecretKeyRef, ZookeeperCluster};
use crate::build::labels::{APP_NAME, COMPONENT_LABEL, INSTANCE_LABEL, NAME_LABEL};
use crate::health::{EnsembleAssessment, MemberId};
use crate::notify::ratelimit::{Bucket, RateLimit, plan};
use crate::notify::{
    Deliverer, NotifyError, SecretError, SecretResolver, SecretString, decode, resolve,
};
use crate::recovery::{Decision, unix};

/// The ConfigMap key holding the book.
pub const BOOK_KEY: &str = "book.json";
/// Field manager of the book's ConfigMap.
const FIELD_MANAGER: &str = "zookeeper-operator-alerts";
/// Prefix of default receivers' names in the book and in Events.
pub const DEFAULT_PREFIX: &str = "operator/";
/// A delivery task with nothing due looks again at least this often.
const IDLE_WAKE: Duration = Duration::from_secs(60);

pub fn book_config_map_name(cluster: &str) -> String {
    format!("{cluster}-alerts")
}

/// Operator-wide receivers, for every cluster that does not opt out; their Secrets live
/// in `namespace` (the operator's).
#[derive(Debug, Clone, Default)]
pub struct DefaultReceivers {
    pub namespace: String,
    pub receivers: Vec<ReceiverSpec>,
}

impl DefaultReceivers {
    /// Parses a YAML/JSON list of receivers (a ConfigMap key or Helm value), validated
    /// like `spec.notifications.receivers`.
    pub fn parse(namespace: &str, text: &str) -> Result<Self, NotifierError> {
        let receivers: Vec<ReceiverSpec> =
            serde_norway::from_str(text).map_err(|e| NotifierError::Defaults(e.to_string()))?;
        let errors = crate::validate::check_receivers(&receivers, "defaultReceivers");
        if let Some(first) = errors.first() {
            return Err(NotifierError::Defaults(first.to_string()));
        }
        Ok(Self {
            namespace: namespace.to_string(),
            receivers,
        })
    }
}

/// The faults of one pass.
#[derive(Debug, Clone, Copy)]
pub struct FaultInput<'a> {
    /// `None` when nothing was observed (no assessment yet): alerts are kept as they are.
    pub assessment: Option<&'a EnsembleAssessment>,
    pub decisions: &'a [Decision],
    pub restarting: &'a BTreeSet<MemberId>,
}

/// What one `observe` tells reconcile.
#[derive(Debug, Clone, Default)]
pub struct NotifierReport {
    pub status: AlertsStatus,
    /// Delivery failures since the last call, each worth a Warning Event.
    pub failures: Vec<NotifyError>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("cannot read the alert book ConfigMap {name}: {source}")]
    LoadBook { name: String, source: kube::Error },
    #[error("cannot write the alert book ConfigMap {name}: {source}")]
    SaveBook { name: String, source: kube::Error },
    #[error("the cluster has no {0}")]
    MissingMetadata(&'static str),
    #[error("invalid default receivers: {0}")]
    Defaults(String),
}

impl NotifierError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::LoadBook { .. } => "AlertBookLoadFailed",
            Self::SaveBook { .. } => "AlertBookSaveFailed",
            Self::MissingMetadata(_) => "MissingMetadata",
            Self::Defaults(_) => "InvalidDefaultReceivers",
        }
    }
}

/// Secrets read through the API, one `get` per credential (no list, no cache: Secrets
/// change rarely and deliveries are rare).
#[derive(Clone)]
pub struct KubeSecrets(pub Client);

impl SecretResolver for KubeSecrets {
    async fn resolve(
        &self,
        namespace: &str,
        reference: &SecretKeyRef,
    ) -> Result<SecretString, SecretError> {
        let api: Api<Secret> = Api::namespaced(self.0.clone(), namespace);
        let secret = api
            .get_opt(&reference.name)
            .await
            .map_err(|e| SecretError::Unreadable {
                namespace: namespace.into(),
                name: reference.name.clone(),
                detail: e.to_string(),
            })?
            .ok_or_else(|| SecretError::NotFound {
                namespace: namespace.into(),
                name: reference.name.clone(),
            })?;
        let data = secret.data.as_ref().and_then(|d| d.get(&reference.key));
        decode(namespace, reference, data.map(|b| b.0.as_slice()))
    }
}

/// Per cluster: the book (loaded lazily), the cluster as last seen, the delivery task.
struct Slot {
    state: Mutex<SlotState>,
    wake: Notify,
    failures: StdMutex<Vec<NotifyError>>,
}

struct SlotState {
    book: Option<AlertBook>,
    cluster: Option<ZookeeperCluster>,
}

/// A cluster's slot and its delivery task, by (namespace, name).
type Slots = HashMap<(String, String), (Arc<Slot>, tokio::task::JoinHandle<()>)>;

/// What delivery tasks need. Kept apart from [`Inner`] so that tasks do not keep the
/// notifier alive: dropping the last `Notifier` aborts them.
struct Shared {
    client: Client,
    deliverer: Deliverer,
    defaults: DefaultReceivers,
}

struct Inner {
    shared: Arc<Shared>,
    slots: StdMutex<Slots>,
}

/// The operator's notification driver. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl Notifier {
    pub fn new(client: Client, deliverer: Deliverer, defaults: DefaultReceivers) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    client,
                    deliverer,
                    defaults,
                }),
                slots: StdMutex::default(),
            }),
        }
    }

    /// Evaluates the cluster's faults at `now`, persists the book when it changed, wakes
    /// the delivery task, and reports the alert summary and recent delivery failures.
    pub async fn observe(
        &self,
        cluster: &ZookeeperCluster,
        faults: &FaultInput<'_>,
        now: SystemTime,
    ) -> Result<NotifierReport, NotifierError> {
        let namespace = cluster
            .namespace()
            .ok_or(NotifierError::MissingMetadata("namespace"))?;
        let name = cluster.name_any();
        let slot = self.slot(&namespace, &name);
        let mut state = slot.state.lock().await;
        state.cluster = Some(cluster.clone());
        let book = match state.book.take() {
            Some(book) => book,
            None => load(&self.inner.shared.client, &namespace, &name).await?,
        };
        let spec = cluster.spec.notifications.clone().unwrap_or_default();
        let routes = routes(&spec, &self.inner.shared.defaults);
        let sources = faults.assessment.map(|a| {
            a.faults
                .iter()
                .map(AlertSource::from_fault)
                .chain(
                    faults
                        .decisions
                        .iter()
                        .filter_map(AlertSource::from_decision),
                )
                .collect::<Vec<_>>()
        });
        let members: Option<BTreeSet<MemberId>> = faults
            .assessment
            .map(|a| a.members.iter().map(|m| m.id).collect());
        let evaluation = Evaluation {
            namespace: &namespace,
            cluster: &name,
            sources: sources.as_deref(),
            members: members.as_ref(),
            restarting: faults.restarting,
            routes: &routes,
            timing: timing(&spec),
            now,
        };
        let (next, queued) = alerts::evaluate(&book, &evaluation);
        let changed = !next.same_material(&book);
        // Keep the evaluated book even if the write fails: the next pass writes it.
        state.book = Some(next.clone());
        if changed {
            save(&self.inner.shared.client, cluster, &next).await?;
        }
        drop(state);
        // Also when nothing new was queued: a book just loaded after a restart may hold
        // notifications the task does not know about yet.
        if !queued.is_empty() || !next.outbox.is_empty() {
            slot.wake.notify_one();
        }
        let failures = slot
            .failures
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default();
        Ok(NotifierReport {
            status: alerts::summary(&next),
            failures,
        })
    }

    /// Stops the cluster's delivery task and forgets its cached book (cluster deleted).
    pub fn forget(&self, namespace: &str, name: &str) {
        if let Ok(mut slots) = self.inner.slots.lock()
            && let Some((_, task)) = slots.remove(&(namespace.to_string(), name.to_string()))
        {
            task.abort();
        }
    }

    fn slot(&self, namespace: &str, name: &str) -> Arc<Slot> {
        let key = (namespace.to_string(), name.to_string());
        let mut slots = match self.inner.slots.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((slot, task)) = slots.get(&key)
            && !task.is_finished()
        {
            return slot.clone();
        }
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                book: None,
                cluster: None,
            }),
            wake: Notify::new(),
            failures: StdMutex::default(),
        });
        let task = tokio::spawn(deliver_loop(self.inner.shared.clone(), slot.clone()));
        slots.insert(key, (slot.clone(), task));
        slot
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(slots) = self.slots.lock() {
            for (_, task) in slots.values() {
                task.abort();
            }
        }
    }
}

/// The cluster's receivers, then the defaults (prefixed) unless it opted out.
fn routes(spec: &NotificationsSpec, defaults: &DefaultReceivers) -> Vec<Route> {
    let own = spec.receivers.iter().map(|r| (r.name.clone(), r));
    let default = defaults
        .receivers
        .iter()
        .filter(|_| spec.use_default_receivers)
        .map(|r| (format!("{DEFAULT_PREFIX}{}", r.name), r));
    own.chain(default)
        .map(|(name, r)| Route {
            receiver: name,
            min_severity: r.min_severity,
            send_resolved: r.send_resolved,
        })
        .collect()
}

fn timing(spec: &NotificationsSpec) -> Timing {
    Timing {
        for_secs: u64::try_from(spec.for_seconds).unwrap_or(30),
        repeat_secs: u64::try_from(spec.repeat_interval_seconds).unwrap_or(4 * 3600),
    }
}

/// The receiver spec and the namespace of its Secrets, by book name.
fn receiver_spec<'a>(
    cluster: &'a ZookeeperCluster,
    defaults: &'a DefaultReceivers,
    name: &str,
) -> Option<(&'a ReceiverSpec, String)> {
    let spec = cluster.spec.notifications.as_ref();
    if let Some(default) = name.strip_prefix(DEFAULT_PREFIX) {
        if !spec.is_none_or(|s| s.use_default_receivers) {
            return None;
        }
        return defaults
            .receivers
            .iter()
            .find(|r| r.name == default)
            .map(|r| (r, defaults.namespace.clone()));
    }
    spec?
        .receivers
        .iter()
        .find(|r| r.name == name)
        .map(|r| (r, cluster.namespace().unwrap_or_default()))
}

async fn load(client: &Client, namespace: &str, name: &str) -> Result<AlertBook, NotifierError> {
    let cm_name = book_config_map_name(name);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let cm = api
        .get_opt(&cm_name)
        .await
        .map_err(|source| NotifierError::LoadBook {
            name: cm_name.clone(),
            source,
        })?;
    let text = cm.and_then(|c| c.data).and_then(|mut d| d.remove(BOOK_KEY));
    Ok(match text.map(|t| AlertBook::from_json(&t)) {
        Some(Ok(book)) => book,
        Some(Err(error)) => {
            // A damaged book must not stop notifications for good: start over, loudly.
            tracing::warn!(configmap = %cm_name, %error, "alert book unreadable; starting a new one");
            AlertBook::default()
        }
        None => AlertBook::default(),
    })
}

async fn save(
    client: &Client,
    cluster: &ZookeeperCluster,
    book: &AlertBook,
) -> Result<(), NotifierError> {
    let namespace = cluster
        .namespace()
        .ok_or(NotifierError::MissingMetadata("namespace"))?;
    let name = cluster.name_any();
    let cm_name = book_config_map_name(&name);
    let owner = OwnerReference {
        api_version: ZookeeperCluster::api_version(&()).to_string(),
        kind: ZookeeperCluster::kind(&()).to_string(),
        name: name.clone(),
        uid: cluster.uid().ok_or(NotifierError::MissingMetadata("uid"))?,
        ..OwnerReference::default()
    };
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(cm_name.clone()),
            namespace: Some(namespace.clone()),
            labels: Some(BTreeMap::from([
                (NAME_LABEL.to_string(), APP_NAME.to_string()),
                (INSTANCE_LABEL.to_string(), name.clone()),
                (COMPONENT_LABEL.to_string(), "alerts".to_string()),
            ])),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(BOOK_KEY.to_string(), book.to_json())])),
        ..ConfigMap::default()
    };
    let mut body = serde_json::to_value(&cm).unwrap_or_default();
    body["apiVersion"] = "v1".into();
    body["kind"] = "ConfigMap".into();
    Api::<ConfigMap>::namespaced(client.clone(), &namespace)
        .patch(
            &cm_name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|source| NotifierError::SaveBook {
            name: cm_name,
            source,
        })?;
    Ok(())
}

/// Backoff between delivery rounds of one notification: 10 s doubling to 10 min.
fn round_backoff(attempts: u32) -> u64 {
    (10u64 << attempts.min(6)).min(600)
}

/// Delivers the slot's outbox until the task is aborted.
async fn deliver_loop(inner: Arc<Shared>, slot: Arc<Slot>) {
    let secrets = KubeSecrets(inner.client.clone());
    let mut buckets: HashMap<String, Bucket> = HashMap::new();
    loop {
        let wait = deliver_due(&inner, &slot, &secrets, &mut buckets).await;
        tokio::select! {
            _ = slot.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round: every receiver's due notifications, within its rate limit. Returns how
/// long to sleep when nothing else wakes the task.
async fn deliver_due<R: SecretResolver>(
    inner: &Shared,
    slot: &Slot,
    secrets: &R,
    buckets: &mut HashMap<String, Bucket>,
) -> Duration {
    let now = unix(SystemTime::now());
    let (due, cluster, mut wait) = {
        let state = slot.state.lock().await;
        let Some(book) = state.book.as_ref() else {
            return IDLE_WAKE;
        };
        // Sleep until the earliest postponed notification is due, at most IDLE_WAKE.
        let wait = book
            .outbox
            .iter()
            .filter(|n| n.not_before > now)
            .map(|n| Duration::from_secs(n.not_before - now))
            .min()
            .map_or(IDLE_WAKE, |d| d.min(IDLE_WAKE));
        let mut by_receiver: BTreeMap<String, Vec<Notification>> = BTreeMap::new();
        for n in book.outbox.iter().filter(|n| n.not_before <= now) {
            by_receiver
                .entry(n.receiver.clone())
                .or_default()
                .push(n.clone());
        }
        (by_receiver, state.cluster.clone(), wait)
    };
    let Some(cluster) = cluster else {
        return IDLE_WAKE;
    };
    for (receiver, notifications) in due {
        let ids = |ns: &[Notification]| ns.iter().map(|n| n.id).collect::<Vec<_>>();
        let Some((spec, secret_ns)) = receiver_spec(&cluster, &inner.defaults, &receiver) else {
            // The receiver was removed from the spec: nobody is left to tell.
            finish(inner, slot, &cluster, &ids(&notifications), None).await;
            continue;
        };
        let resolved = match resolve(spec, &receiver, &secret_ns, secrets).await {
            Ok(r) => r,
            Err(error) => {
                // Keep them: fixing the Secret delivers what is queued.
                let first = notifications.iter().all(|n| n.attempts == 0);
                postpone(inner, slot, &cluster, &ids(&notifications), 60).await;
                if first {
                    record(slot, error);
                }
                continue;
            }
        };
        let bucket = buckets.entry(receiver.clone()).or_insert_with(|| {
            Bucket::new(RateLimit::for_sink(resolved.sink.kind()), Instant::now())
        });
        let batch = plan(notifications, bucket.available(Instant::now()));
        if batch.is_empty() {
            wait = wait.min(bucket.wait());
        }
        for n in batch {
            if !bucket.take(Instant::now()) {
                wait = wait.min(bucket.wait());
                break;
            }
            let covered = if n.merged_ids.is_empty() {
                vec![n.id]
            } else {
                n.merged_ids.clone()
            };
            match inner.deliverer.deliver(&resolved, &n).await {
                Ok(()) => finish(inner, slot, &cluster, &covered, None).await,
                Err(error) if error.is_transient() => {
                    let after = error
                        .retry_after()
                        .map_or(round_backoff(n.attempts), |d| d.as_secs().max(1));
                    postpone(inner, slot, &cluster, &covered, after).await;
                    if n.attempts == 0 {
                        record(slot, error);
                    }
                }
                Err(error) => finish(inner, slot, &cluster, &covered, Some(error)).await,
            }
        }
    }
    wait
}

fn record(slot: &Slot, error: NotifyError) {
    tracing::warn!(%error, reason = error.reason(), "notification not delivered");
    if let Ok(mut f) = slot.failures.lock() {
        // Bounded: reconcile drains it, but may not run for a while.
        if f.len() < 32 {
            f.push(error);
        }
    }
}

/// Removes delivered (or permanently failed) notifications and persists at once.
async fn finish(
    inner: &Shared,
    slot: &Slot,
    cluster: &ZookeeperCluster,
    ids: &[u64],
    failure: Option<NotifyError>,
) {
    update(inner, slot, cluster, |book| {
        for id in ids {
            book.remove(*id);
        }
    })
    .await;
    if let Some(error) = failure {
        record(slot, error);
    }
}

async fn postpone(inner: &Shared, slot: &Slot, cluster: &ZookeeperCluster, ids: &[u64], secs: u64) {
    let until = unix(SystemTime::now()) + secs;
    update(inner, slot, cluster, |book| {
        for id in ids {
            book.postpone(*id, until);
        }
    })
    .await;
}

async fn update(
    inner: &Shared,
    slot: &Slot,
    cluster: &ZookeeperCluster,
    change: impl FnOnce(&mut AlertBook),
) {
    let mut state = slot.state.lock().await;
    let Some(book) = state.book.as_mut() else {
        return;
    };
    change(book);
    if let Err(error) = save(&inner.client, cluster, book).await {
        // The in-memory book is right; the next successful write carries it.
        tracing::warn!(%error, "cannot persist the alert book after a delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_prefixed_and_opt_out_works() {
        let defaults = DefaultReceivers::parse(
            "operator-ns",
            "- name: team\n  slack: {urlSecret: {name: s, key: url}}\n",
        )
        .expect("valid");
        let mut spec = NotificationsSpec::default();
        let names = |s: &NotificationsSpec| {
            routes(s, &defaults)
                .into_iter()
                .map(|r| r.receiver)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&spec), vec!["operator/team"]);
        spec.use_default_receivers = false;
        assert!(names(&spec).is_empty());
        assert!(
            DefaultReceivers::parse("ns", "- name: a\n- name: a\n")
                .is_err_and(|e| e.to_string().contains("defaultReceivers[0]"))
        );
    }

    #[test]
    fn round_backoff_grows_and_caps() {
        assert_eq!(round_backoff(0), 10);
        assert_eq!(round_backoff(1), 20);
        assert_eq!(round_backoff(30), 600);
    }
}
