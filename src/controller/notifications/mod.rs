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
//!     forming: status::forming(cluster.status.as_ref()), // never Available yet
//! };
//! match ctx.notifier.observe(cluster, &faults, SystemTime::now()).await {
//!     Ok(report) => {
//!         for failure in &report.failures {     // NotificationFailed & co.
//!             events::publish(ctx, cluster, &Notice { warning: true,
//!                 reason: failure.reason().into(), message: failure.to_string() }).await;
//!         }
//!         // report.status: AlertsStatus for the cluster's status, if it carries one;
//!         // report.receivers / report.problems: the NotificationsReady condition.
//!     }
//!     Err(error) => tracing::warn!(%error, "notifications"), // never fails the reconcile
//! }
//! // When a cluster is deleted (janitor): ctx.notifier.forget(namespace, name).
//! ```
//! Call `observe` on every reconcile: it writes the ConfigMap only when the book changed
//! materially (states, what was told, the outbox; not moving values such as lag).
//! The ConfigMap carries the cluster's name/instance labels and `component: alerts` but
//! deliberately not `app.kubernetes.io/managed-by`: the applier deletes every
//! managed-by-labelled, cluster-owned ConfigMap it did not build, and the controller's
//! `owns` watch would reconcile on every delivery. The operator needs `get` on Secrets
//! (not `list`) for receivers' credentials, and get/create/patch on ConfigMaps.
mod delivery;
mod receivers;
mod store;

pub use store::{BookStore, KubeSecrets, MemoryBooks, Secrets};

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use kube::{Client, ResourceExt};
use tokio::sync::{Mutex, Notify};

use super::memory::Poisoned;
use crate::alerts::{self, AlertBook, AlertSource, Evaluation, Route, Timing};
use crate::api::{AlertsStatus, NotificationsSpec, ReceiverSpec, ZookeeperCluster};
use crate::health::{EnsembleAssessment, MemberId};
use crate::notify::{Deliverer, NotifyError, resolve};
use crate::recovery::{Decision, at};
use receivers::ReceiverHealth;

/// The ConfigMap key holding the book.
pub const BOOK_KEY: &str = "book.json";
/// Prefix of default receivers' names in the book and in Events.
pub const DEFAULT_PREFIX: &str = "operator/";
/// A delivery task with nothing due looks again at least this often.
const IDLE_WAKE: Duration = Duration::from_secs(60);
/// Faults of a cluster that has never been Available wait at least this long to page.
/// The same grace as the Events' ([`crate::health::FORMATION_GRACE_SECS`]).
pub const FORMING_GRACE: Duration = Duration::from_secs(crate::health::FORMATION_GRACE_SECS);

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
    /// The cluster has not been Available yet (its ensemble is still forming).
    pub forming: bool,
}

/// What one `observe` tells reconcile.
#[derive(Debug, Clone, Default)]
pub struct NotifierReport {
    pub status: AlertsStatus,
    /// Delivery failures and newly found receiver problems since the last call, each
    /// worth a Warning Event.
    pub failures: Vec<NotifyError>,
    /// How many receivers this cluster notifies (its own and the defaults).
    pub receivers: usize,
    /// What is wrong with their setup now (missing or malformed Secrets, settings that
    /// cannot work): for a condition.
    pub problems: Vec<NotifyError>,
    /// When to evaluate again although nothing changes (a pending alert's `for` ends).
    pub next_evaluation: Option<SystemTime>,
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
    #[error(transparent)]
    Memory(#[from] Poisoned),
}

impl NotifierError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::LoadBook { .. } => "AlertBookLoadFailed",
            Self::SaveBook { .. } => "AlertBookSaveFailed",
            Self::MissingMetadata(_) => "MissingMetadata",
            Self::Defaults(_) => "InvalidDefaultReceivers",
            Self::Memory(_) => "MemoryPoisoned",
        }
    }
}

/// Per cluster: the book (loaded lazily), the cluster as last seen, the delivery task.
struct Slot {
    state: Mutex<SlotState>,
    wake: Notify,
    failures: StdMutex<Vec<NotifyError>>,
    receivers: StdMutex<ReceiverHealth>,
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
    store: BookStore,
    secrets: Secrets,
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

/// What may alert this pass: the assessment's faults and recovery's decisions, and the
/// members the assessment knows (`None` while nothing was probed yet).
fn alert_sources(
    faults: &FaultInput<'_>,
) -> (Option<Vec<AlertSource>>, Option<BTreeSet<MemberId>>) {
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
            .collect()
    });
    let members = faults
        .assessment
        .map(|a| a.members.iter().map(|m| m.id).collect());
    (sources, members)
}

impl Notifier {
    /// The operator's notifier: books in ConfigMaps, credentials from Secrets.
    pub fn new(client: Client, deliverer: Deliverer, defaults: DefaultReceivers) -> Self {
        Self::with_backends(
            BookStore::ConfigMaps(client.clone()),
            Secrets::Kube(KubeSecrets(client)),
            deliverer,
            defaults,
        )
    }

    /// A notifier with other backends (memory, static Secrets): tests and tools.
    pub fn with_backends(
        store: BookStore,
        secrets: Secrets,
        deliverer: Deliverer,
        defaults: DefaultReceivers,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    store,
                    secrets,
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
        let slot = self.slot(&namespace, &name)?;
        let mut state = slot.state.lock().await;
        state.cluster = Some(cluster.clone());
        let book = match state.book.take() {
            Some(book) => book,
            None => self.inner.shared.store.load(&namespace, &name).await?,
        };
        let spec = cluster.spec.notifications.clone().unwrap_or_default();
        let configured = configured(&spec, &namespace, &self.inner.shared.defaults);
        let routes = routes(&configured);
        let (sources, members) = alert_sources(faults);
        let evaluation = Evaluation {
            namespace: &namespace,
            cluster: &name,
            sources: sources.as_deref(),
            members: members.as_ref(),
            restarting: faults.restarting,
            forming: faults.forming,
            routes: &routes,
            timing: timing(&spec, faults.forming),
            now,
        };
        let (next, queued) = alerts::evaluate(&book, &evaluation);
        let changed = !next.same_material(&book);
        // Keep the evaluated book even if the write fails: the next pass writes it.
        state.book = Some(next.clone());
        if changed {
            self.inner.shared.store.save(cluster, &next).await?;
        }
        drop(state);
        self.check_receivers(&slot, &configured).await;
        // Also when nothing new was queued: a book just loaded after a restart may hold
        // notifications the task does not know about yet.
        if !queued.is_empty() || !next.outbox.is_empty() {
            slot.wake.notify_one();
        }
        let failures = std::mem::take(&mut *slot.failures.lock().map_err(|_| Poisoned)?);
        let (problems, recheck) = slot
            .receivers
            .lock()
            .map(|h| (h.problems(), h.recheck_in(Instant::now())))
            .map_err(|_| Poisoned)?;
        let next_evaluation = alerts::next_evaluation(&next, evaluation.timing)
            .map(at)
            .into_iter()
            .chain(recheck.map(|d| now + d))
            .min();
        Ok(NotifierReport {
            status: alerts::summary(&next),
            failures,
            receivers: configured.len(),
            problems,
            next_evaluation,
        })
    }

    /// Reads every receiver's Secrets when due (a spec change, or [`receivers::RECHECK`]
    /// since the last look), so a missing one is reported before a fault needs it and a
    /// fixed one is seen fixed. New problems go to the Events of the next report.
    async fn check_receivers(&self, slot: &Slot, configured: &[Configured<'_>]) {
        let specs = serde_json::to_string(
            &configured
                .iter()
                .map(|c| (&c.name, c.spec, &c.secret_namespace))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        let due = slot
            .receivers
            .lock()
            .is_ok_and(|h| h.due(&specs, Instant::now()));
        if !due {
            return;
        }
        let mut outcomes = Vec::with_capacity(configured.len());
        for c in configured {
            let outcome = resolve(
                c.spec,
                &c.name,
                &c.secret_namespace,
                &self.inner.shared.secrets,
            )
            .await
            .map(|_| ());
            outcomes.push((c.name.clone(), outcome));
        }
        let news = match slot.receivers.lock() {
            Ok(mut h) => h.checked(specs, outcomes, Instant::now()),
            Err(_) => Vec::new(),
        };
        delivery::record_all(slot, news);
    }

    /// Stops the cluster's delivery task and forgets its cached book (cluster deleted).
    pub fn forget(&self, namespace: &str, name: &str) {
        if let Ok(mut slots) = self.inner.slots.lock()
            && let Some((_, task)) = slots.remove(&(namespace.to_string(), name.to_string()))
        {
            task.abort();
        }
    }

    /// Forgets every cluster for which `keep(namespace, name)` is false (the janitor).
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        let gone: Vec<(String, String)> = match self.inner.slots.lock() {
            Ok(slots) => slots
                .keys()
                .filter(|(ns, n)| !keep(ns, n))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        for (namespace, name) in gone {
            self.forget(&namespace, &name);
        }
    }

    fn slot(&self, namespace: &str, name: &str) -> Result<Arc<Slot>, Poisoned> {
        let key = (namespace.to_string(), name.to_string());
        let mut slots = self.inner.slots.lock().map_err(|_| Poisoned)?;
        if let Some((slot, task)) = slots.get(&key)
            && !task.is_finished()
        {
            return Ok(slot.clone());
        }
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                book: None,
                cluster: None,
            }),
            wake: Notify::new(),
            failures: StdMutex::default(),
            receivers: StdMutex::default(),
        });
        let task = tokio::spawn(delivery::deliver_loop(
            self.inner.shared.clone(),
            slot.clone(),
        ));
        slots.insert(key, (slot.clone(), task));
        Ok(slot)
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

/// A receiver a cluster notifies: its name in the book, its spec, where its Secrets are.
struct Configured<'a> {
    name: String,
    spec: &'a ReceiverSpec,
    secret_namespace: String,
}

/// The cluster's receivers (Secrets in `namespace`), then the defaults (prefixed, their
/// Secrets in the operator's namespace) unless it opted out.
fn configured<'a>(
    spec: &'a NotificationsSpec,
    namespace: &str,
    defaults: &'a DefaultReceivers,
) -> Vec<Configured<'a>> {
    let own = spec.receivers.iter().map(|r| Configured {
        name: r.name.clone(),
        spec: r,
        secret_namespace: namespace.to_string(),
    });
    let default = defaults
        .receivers
        .iter()
        .filter(|_| spec.use_default_receivers)
        .map(|r| Configured {
            name: format!("{DEFAULT_PREFIX}{}", r.name),
            spec: r,
            secret_namespace: defaults.namespace.clone(),
        });
    own.chain(default).collect()
}

fn routes(configured: &[Configured<'_>]) -> Vec<Route> {
    configured
        .iter()
        .map(|c| Route {
            receiver: c.name.clone(),
            min_severity: c.spec.min_severity,
            send_resolved: c.spec.send_resolved,
        })
        .collect()
}

fn timing(spec: &NotificationsSpec, forming: bool) -> Timing {
    let d = Timing::default();
    let secs = |v: i32, default: u64| u64::try_from(v).unwrap_or(default);
    let for_secs = secs(spec.for_seconds, d.for_secs);
    Timing {
        // A new ensemble is without quorum until it forms: that pages only if forming
        // takes longer than FORMING_GRACE, not on every cluster created.
        for_secs: if forming {
            for_secs.max(FORMING_GRACE.as_secs())
        } else {
            for_secs
        },
        repeat_secs: secs(spec.repeat_interval_seconds, d.repeat_secs),
        keep_firing_secs: secs(spec.keep_firing_for_seconds, d.keep_firing_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forming_cluster_pages_only_after_the_grace() {
        let spec = NotificationsSpec {
            for_seconds: 0,
            keep_firing_for_seconds: 7,
            ..NotificationsSpec::default()
        };
        assert_eq!(timing(&spec, false).for_secs, 0);
        assert_eq!(timing(&spec, true).for_secs, FORMING_GRACE.as_secs());
        let slow = NotificationsSpec {
            for_seconds: 900,
            ..spec.clone()
        };
        assert_eq!(timing(&slow, true).for_secs, 900, "a longer `for` stays");
        assert_eq!(timing(&spec, true).keep_firing_secs, 7);
    }

    #[test]
    fn defaults_are_prefixed_and_opt_out_works() {
        let defaults = DefaultReceivers::parse(
            "operator-ns",
            "- name: team\n  slack: {urlSecret: {name: s, key: url}}\n",
        )
        .expect("valid");
        let mut spec = NotificationsSpec::default();
        let names = |s: &NotificationsSpec| {
            routes(&configured(s, "prod", &defaults))
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
        use super::delivery::round_backoff;
        assert_eq!(round_backoff(0), 10);
        assert_eq!(round_backoff(1), 20);
        assert_eq!(round_backoff(30), 600);
    }
}
