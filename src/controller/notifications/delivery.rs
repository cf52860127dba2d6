//! The per-cluster delivery task: sends what is due in the book's outbox, within each
//! receiver's rate limit, and persists after every delivery.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{DefaultReceivers, IDLE_WAKE, Shared, Slot, configured};
use crate::alerts::{AlertBook, Notification};
use crate::api::{ReceiverSpec, ZookeeperCluster};
use crate::notify::ratelimit::{Bucket, RateLimit, plan};
use crate::notify::{NotifyError, ResolvedReceiver, resolve};
use crate::recovery::unix;
use kube::ResourceExt;

/// Backoff between delivery rounds of one notification: 10 s doubling to 10 min.
pub(super) fn round_backoff(attempts: u32) -> u64 {
    (10u64 << attempts.min(6)).min(600)
}

/// Delivers the slot's outbox until the task is aborted.
pub(super) async fn deliver_loop(inner: Arc<Shared>, slot: Arc<Slot>) {
    let mut buckets: HashMap<String, Bucket> = HashMap::new();
    loop {
        let wait = deliver_due(&inner, &slot, &mut buckets).await;
        tokio::select! {
            _ = slot.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round: every receiver's due notifications, within its rate limit. Returns how
/// long to sleep when nothing else wakes the task.
async fn deliver_due(
    inner: &Shared,
    slot: &Slot,
    buckets: &mut HashMap<String, Bucket>,
) -> Duration {
    let now = unix(SystemTime::now());
    let Some((due, cluster, mut wait)) = take_due(inner, slot, now).await else {
        return IDLE_WAKE;
    };
    for (receiver, notifications) in due {
        let Some((spec, secret_ns)) = receiver_spec(&cluster, &inner.defaults, &receiver) else {
            // The receiver was removed from the spec: nobody is left to tell.
            finish(inner, slot, &cluster, &ids(&notifications), Err(None)).await;
            continue;
        };
        let resolved = match resolve(&spec, &receiver, &secret_ns, &inner.secrets).await {
            Ok(r) => r,
            Err(error) => {
                // Keep them: fixing the Secret delivers what is queued.
                postpone(inner, slot, &cluster, &ids(&notifications), 60, false).await;
                note(slot, &receiver, error);
                continue;
            }
        };
        let bucket = buckets.entry(receiver.clone()).or_insert_with(|| {
            Bucket::new(RateLimit::for_sink(resolved.sink.kind()), Instant::now())
        });
        let to = Recipient {
            cluster: &cluster,
            name: &receiver,
            resolved: &resolved,
        };
        wait = wait.min(send(inner, slot, &to, bucket, notifications).await);
    }
    wait
}

fn ids(notifications: &[Notification]) -> Vec<u64> {
    notifications.iter().map(|n| n.id).collect()
}

/// The outbox's due notifications by receiver (compacting the book, persisted if it
/// changed), the cluster they are about, and how long until the next postponed one.
async fn take_due(
    inner: &Shared,
    slot: &Slot,
    now: u64,
) -> Option<(
    BTreeMap<String, Vec<Notification>>,
    ZookeeperCluster,
    Duration,
)> {
    let mut state = slot.state.lock().await;
    let cluster = state.cluster.clone();
    let book = state.book.as_mut()?;
    let (by_receiver, compacted) = book.due_by_receiver(now);
    // Compacting again next round gives the same book, so a failed write is fine.
    if compacted
        && let Some(cluster) = &cluster
        && let Err(error) = inner.store.save(cluster, book).await
    {
        tracing::warn!(%error, "cannot persist the compacted alert book");
    }
    // Sleep until the earliest postponed notification is due, at most IDLE_WAKE.
    let wait = book
        .outbox
        .iter()
        .filter(|n| n.not_before > now)
        .map(|n| Duration::from_secs(n.not_before - now))
        .min()
        .map_or(IDLE_WAKE, |d| d.min(IDLE_WAKE));
    Some((by_receiver, cluster?, wait))
}

/// Where one receiver's notifications go.
struct Recipient<'a> {
    cluster: &'a ZookeeperCluster,
    name: &'a str,
    resolved: &'a ResolvedReceiver,
}

/// Sends one receiver's due notifications in order, within its rate limit; a transient
/// failure postpones the rest (nothing overtakes). Returns when the bucket refills.
async fn send(
    inner: &Shared,
    slot: &Slot,
    to: &Recipient<'_>,
    bucket: &mut Bucket,
    notifications: Vec<Notification>,
) -> Duration {
    let cluster = to.cluster;
    let batch = plan(notifications, bucket.available(Instant::now()));
    if batch.is_empty() {
        return bucket.wait();
    }
    for n in batch {
        if !bucket.take(Instant::now()) {
            return bucket.wait();
        }
        let covered = if n.merged_ids.is_empty() {
            vec![n.id]
        } else {
            n.merged_ids.clone()
        };
        match inner.deliverer.deliver(to.resolved, &n).await {
            Ok(()) => {
                if let Ok(mut h) = slot.receivers.lock() {
                    h.delivered(to.name);
                }
                finish(inner, slot, cluster, &covered, Ok(())).await
            }
            Err(error) if error.is_transient() => {
                let after = error
                    .retry_after()
                    .map_or(round_backoff(n.attempts), |d| d.as_secs().max(1));
                let maybe = error.may_have_arrived();
                postpone(inner, slot, cluster, &covered, after, maybe).await;
                if n.attempts == 0 {
                    record(slot, error);
                }
                return IDLE_WAKE;
            }
            // Every refused message is worth its Event.
            Err(error) => finish(inner, slot, cluster, &covered, Err(Some(error))).await,
        }
    }
    IDLE_WAKE
}

/// Records a receiver problem met while delivering; an Event only when it is news.
fn note(slot: &Slot, receiver: &str, error: NotifyError) {
    let news = match slot.receivers.lock() {
        Ok(mut h) => h.note(receiver, error),
        Err(_) => None,
    };
    record_all(slot, news);
}

pub(super) fn record_all(slot: &Slot, errors: impl IntoIterator<Item = NotifyError>) {
    for error in errors {
        record(slot, error);
    }
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

/// Removes delivered (`Ok`) or dropped notifications (`Err`: refused for good, with the
/// error, or nobody left to tell) and persists at once.
async fn finish(
    inner: &Shared,
    slot: &Slot,
    cluster: &ZookeeperCluster,
    ids: &[u64],
    outcome: Result<(), Option<NotifyError>>,
) {
    let now = unix(SystemTime::now());
    let took = outcome.is_ok();
    update(inner, slot, cluster, |book| {
        for id in ids {
            if took {
                book.delivered(*id, now);
            } else {
                book.remove(*id);
            }
        }
    })
    .await;
    if let Err(Some(error)) = outcome {
        record(slot, error);
    }
}

async fn postpone(
    inner: &Shared,
    slot: &Slot,
    cluster: &ZookeeperCluster,
    ids: &[u64],
    secs: u64,
    maybe_delivered: bool,
) {
    let until = unix(SystemTime::now()) + secs;
    update(inner, slot, cluster, |book| {
        for id in ids {
            book.postpone(*id, until, maybe_delivered);
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
    if let Err(error) = inner.store.save(cluster, book).await {
        // The in-memory book is right; the next successful write carries it.
        tracing::warn!(%error, "cannot persist the alert book after a delivery");
    }
}

/// The receiver spec and the namespace of its Secrets, by book name. A cluster without
/// `spec.notifications` still notifies the defaults.
fn receiver_spec(
    cluster: &ZookeeperCluster,
    defaults: &DefaultReceivers,
    name: &str,
) -> Option<(ReceiverSpec, String)> {
    let spec = cluster.spec.notifications.clone().unwrap_or_default();
    configured(&spec, &cluster.namespace().unwrap_or_default(), defaults)
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| (c.spec.clone(), c.secret_namespace))
}
