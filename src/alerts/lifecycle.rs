//! One evaluation: (book, active sources, now) -> (book', notifications queued).
//!
//! States: pending (waiting out `for`) -> firing -> resolved; a resolved alert whose
//! source comes back starts pending again. The book's per-receiver `delivered` map is
//! what each receiver was told (queued counts: the outbox is durable), so every change is
//! told once.
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use super::book::{
    Alert, AlertBook, AlertSnapshot, AlertState, Delivered, MAX_ANNOTATION_CHARS, MAX_BOOK_BYTES,
    Notification, Status, Told, cut,
};
use super::fingerprint::fingerprint;
use super::source::AlertSource;
use super::{flap, inhibit};
use crate::api::Severity;
use crate::health::MemberId;
use crate::recovery::unix;

/// Resolved alerts are kept this long (flap detection, no re-paging on a blip).
pub const KEEP_RESOLVED_SECS: u64 = 3600;
/// With no observation, an alert not seen for this long expires.
pub const STALE_SECS: u64 = 3600;
/// A notification still undelivered after this long is given up (and counted).
pub const MAX_NOTIFICATION_AGE_SECS: u64 = 24 * 3600;

/// Where a receiver wants to hear about what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub receiver: String,
    pub min_severity: Severity,
    pub send_resolved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Pending time before firing.
    pub for_secs: u64,
    pub repeat_secs: u64,
    /// How long a firing alert's source must stay gone before it resolves (Prometheus'
    /// `keep_firing_for`): gaps shorter than this are neither a resolution nor a flap.
    pub keep_firing_secs: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            for_secs: 30,
            repeat_secs: 4 * 3600,
            keep_firing_secs: 15,
        }
    }
}

/// Everything one evaluation looks at.
#[derive(Debug, Clone)]
pub struct Evaluation<'a> {
    pub namespace: &'a str,
    pub cluster: &'a str,
    /// `None`: nothing was observed this pass (no assessment yet); alerts keep their
    /// state until they go stale.
    pub sources: Option<&'a [AlertSource]>,
    /// The cluster's members, when known: alerts about others expire.
    pub members: Option<&'a BTreeSet<MemberId>>,
    /// Members the operator is restarting on purpose: their alerts do not page.
    pub restarting: &'a BTreeSet<MemberId>,
    /// The ensemble is forming for the first time: its members come and go as they join,
    /// which is not flapping.
    pub forming: bool,
    pub routes: &'a [Route],
    pub timing: Timing,
    pub now: SystemTime,
}

/// The member label: the pod name (`NAME-K` runs myid K+1).
pub fn member_label(cluster: &str, member: MemberId) -> String {
    format!("{cluster}-{}", member.saturating_sub(1))
}

fn labels_of(e: &Evaluation<'_>, s: &AlertSource) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("alertname".to_string(), s.alertname.clone()),
        ("namespace".to_string(), e.namespace.to_string()),
        ("cluster".to_string(), e.cluster.to_string()),
        ("severity".to_string(), s.severity.as_str().to_string()),
    ]);
    if let Some(m) = s.member {
        labels.insert("member".into(), member_label(e.cluster, m));
    }
    if let Some((k, v)) = &s.detail {
        labels.insert(k.clone(), v.clone());
    }
    labels
}

fn annotations_of(s: &AlertSource) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([
        ("summary".to_string(), cut(&s.summary, MAX_ANNOTATION_CHARS)),
        (
            "description".to_string(),
            cut(&s.description, MAX_ANNOTATION_CHARS),
        ),
    ]);
    for (k, v) in &s.values {
        a.insert(format!("value_{k}"), cut(v, MAX_ANNOTATION_CHARS));
    }
    a
}

/// Evaluates one pass. Returns the new book and the notifications it queued (they are
/// also in the book's outbox).
pub fn evaluate(book: &AlertBook, e: &Evaluation<'_>) -> (AlertBook, Vec<Notification>) {
    let now = unix(e.now);
    let mut book = book.clone();
    let restarting: BTreeSet<String> = e
        .restarting
        .iter()
        .map(|m| member_label(e.cluster, *m))
        .collect();
    let members: Option<BTreeSet<String>> = e
        .members
        .map(|ms| ms.iter().map(|m| member_label(e.cluster, *m)).collect());

    // 1. Sources that are active now.
    let mut active = BTreeSet::new();
    for s in e.sources.unwrap_or_default() {
        let labels = labels_of(e, s);
        let fp = fingerprint(&labels);
        active.insert(fp.clone());
        let annotations = annotations_of(s);
        let alert = book.alerts.entry(fp).or_insert_with(|| Alert {
            labels,
            annotations: annotations.clone(),
            severity: s.severity,
            state: AlertState::Resolved,
            active_since: now,
            resolved_at: None,
            last_seen: now,
            clear_since: None,
            changes: Vec::new(),
            flapping: false,
            delivered: BTreeMap::new(),
        });
        alert.annotations = annotations;
        alert.last_seen = now;
        alert.clear_since = None;
        if alert.state == AlertState::Resolved {
            alert.state = AlertState::Pending;
            alert.active_since = now;
            alert.resolved_at = None;
            if !e.forming {
                flap::record_change(alert, now);
            }
        }
    }

    // 2. Alerts whose source is gone: resolved when observed, expired when their member
    //    left the cluster or nobody has seen them for long.
    for (fp, alert) in book.alerts.iter_mut() {
        if alert.state == AlertState::Resolved || active.contains(fp) {
            continue;
        }
        let member_gone = match (&members, alert.label("member")) {
            (Some(ms), Some(m)) => !ms.contains(m),
            _ => false,
        };
        let stale = now.saturating_sub(alert.last_seen) >= STALE_SECS;
        let mut cleared_at = now;
        if e.sources.is_some() && !member_gone && alert.state == AlertState::Firing {
            let since = *alert.clear_since.get_or_insert(now);
            if now.saturating_sub(since) < e.timing.keep_firing_secs {
                continue;
            }
            cleared_at = since;
        }
        if e.sources.is_some() || member_gone || stale {
            if member_gone || (e.sources.is_none() && stale) {
                alert.annotations.insert(
                    "resolution".into(),
                    "expired: its source is no longer observed".into(),
                );
            }
            alert.state = AlertState::Resolved;
            alert.resolved_at = Some(cleared_at);
            alert.clear_since = None;
            if !e.forming {
                flap::record_change(alert, cleared_at);
            }
        }
    }

    // 3. Pending -> firing; flap bookkeeping.
    for alert in book.alerts.values_mut() {
        if alert.state == AlertState::Pending
            && now.saturating_sub(alert.active_since) >= e.timing.for_secs
        {
            alert.state = AlertState::Firing;
            // Flapping is about blips too short to fire; an alert that fires is told as
            // it is, each episode with its own firing and resolved notice.
            alert.changes.clear();
            alert.flapping = false;
        }
        flap::update(alert, now);
    }

    // 4. What each receiver must be told.
    let quorum_lost = inhibit::quorum_lost(book.alerts.values());
    let mut queued = Vec::new();
    for route in e.routes {
        let mut told = Vec::new();
        for (fp, alert) in book.alerts.iter_mut() {
            let muted = inhibit::muted(alert, quorum_lost, &restarting);
            if let Some(snapshot) = tell(alert, fp, route, muted, e.timing, now) {
                told.push(snapshot);
            }
        }
        if !told.is_empty() {
            let n = Notification {
                id: book.next_id,
                receiver: route.receiver.clone(),
                namespace: e.namespace.to_string(),
                cluster: e.cluster.to_string(),
                created_at: now,
                alerts: told,
                attempts: 0,
                not_before: 0,
                merged: 0,
                merged_ids: Vec::new(),
                maybe_delivered: false,
            };
            book.next_id += 1;
            queued.push(n.clone());
            book.outbox.push(n);
        }
    }

    // 5. Forget what no longer matters, then stay within the size bound.
    book.alerts.retain(|_, a| {
        a.state != AlertState::Resolved
            || a.flapping
            || now.saturating_sub(a.resolved_at.unwrap_or(now)) < KEEP_RESOLVED_SECS
    });
    let before = book.outbox.len();
    book.outbox
        .retain(|n| now.saturating_sub(n.created_at) < MAX_NOTIFICATION_AGE_SECS);
    book.dropped_notifications += (before - book.outbox.len()) as u64;
    book.bound(MAX_BOOK_BYTES);
    (book, queued)
}

/// The next moment an evaluation would change something with no new observation: a
/// pending alert reaching `for`, a firing one due for its reminder or clear for long
/// enough to resolve, a flapping one becoming stable. The controller requeues the
/// cluster then; faults alone wake it only when health changes.
pub fn next_evaluation(book: &AlertBook, timing: Timing) -> Option<u64> {
    book.alerts
        .values()
        .flat_map(|alert| {
            let pending = (alert.state == AlertState::Pending)
                .then(|| alert.active_since.saturating_add(timing.for_secs));
            let reminders = alert
                .delivered
                .values()
                .filter(|d| alert.state == AlertState::Firing && d.told == Told::Firing)
                .map(|d| d.at.saturating_add(timing.repeat_secs));
            let clears = alert
                .clear_since
                .map(|since| since.saturating_add(timing.keep_firing_secs));
            let settles = alert
                .flapping
                .then(|| alert.changes.last().copied())
                .flatten()
                .map(|last| last.saturating_add(flap::FLAP_QUIET_SECS));
            pending
                .into_iter()
                .chain(reminders)
                .chain(clears)
                .chain(settles)
        })
        .min()
}

/// Decides what `route` hears about `alert` now, and records it as told.
///
/// Per receiver the alert is a small state machine over [`Told`]:
///
/// ```text
/// (never) / Resolved --firing, not muted, source active now--> Firing
/// (never) / Resolved --blips shorter than `for`, flapping, active now--> Flapping
/// Firing --repeat interval passed, source active now--> Firing (a repeat)
/// Flapping --fires for real--> Firing (a repeat: the receiver already holds it open)
/// Firing / Flapping --resolved (flapping: stable again)--> Resolved
/// ```
///
/// Invariants (checked by `tests/alert_props.rs` over random fault and delivery
/// sequences; the numbers are the issue's):
/// 1. a receiver told firing hears resolved once the alert resolves (muting never
///    holds back a resolution);
/// 2. a first firing notice is only queued while the source is active (not while it
///    waits out `keepFiringFor`); queued firing notices still undelivered when it
///    resolves are withdrawn ([`AlertBook::compact`]);
/// 3. resolved only follows firing or flapping to the same receiver; when the firing
///    notice was withdrawn before it could reach the receiver, so is the resolved one;
/// 4. a resolution sets the receiver back to Resolved, so the next episode pages;
/// 5. an already-told firing alert is repeated only after the repeat interval, and a
///    grouped notification carries only the alerts whose told state changed;
/// 6. all of it lives in the persisted book (`delivered` and the outbox).
fn tell(
    alert: &mut Alert,
    fp: &str,
    route: &Route,
    muted: bool,
    timing: Timing,
    now: u64,
) -> Option<AlertSnapshot> {
    if alert.severity < route.min_severity {
        return None;
    }
    let last = alert.delivered.get(&route.receiver).copied();
    let last_told = last.map(|d| d.told);
    let told_firing = matches!(last_told, Some(Told::Firing | Told::Flapping));
    // The source is there now (a firing alert waiting out keep_firing is not).
    let active_now = alert.state != AlertState::Resolved && alert.clear_since.is_none();
    let (told, repeat) = match alert.state {
        AlertState::Firing if !muted && active_now => match last {
            Some(d) if d.told == Told::Firing => {
                if now.saturating_sub(d.at) < timing.repeat_secs {
                    return None;
                }
                (Told::Firing, true)
            }
            Some(d) if d.told == Told::Flapping => (Told::Firing, true),
            _ => (Told::Firing, false),
        },
        // One notice for blips that each were too short to fire; the resolution waits
        // until it is stable.
        AlertState::Pending if alert.flapping && !muted && !told_firing => (Told::Flapping, false),
        AlertState::Resolved if told_firing && !alert.flapping => {
            alert.delivered.insert(
                route.receiver.clone(),
                Delivered {
                    told: Told::Resolved,
                    at: now,
                },
            );
            return route
                .send_resolved
                .then(|| snapshot(alert, fp, Status::Resolved, false, false));
        }
        _ => return None,
    };
    alert
        .delivered
        .insert(route.receiver.clone(), Delivered { told, at: now });
    Some(snapshot(
        alert,
        fp,
        Status::Firing,
        told == Told::Flapping,
        repeat,
    ))
}

fn snapshot(
    alert: &Alert,
    fp: &str,
    status: Status,
    flapping: bool,
    repeat: bool,
) -> AlertSnapshot {
    let mut annotations = alert.annotations.clone();
    if flapping {
        annotations.insert(
            "flapping".into(),
            format!(
                "changed state {} times in {} minutes; further changes are held back until it is stable for {} minutes",
                alert.changes.len(),
                flap::FLAP_WINDOW_SECS / 60,
                flap::FLAP_QUIET_SECS / 60
            ),
        );
    }
    AlertSnapshot {
        status,
        labels: alert.labels.clone(),
        annotations,
        starts_at: alert.active_since,
        ends_at: alert.resolved_at.filter(|_| status == Status::Resolved),
        fingerprint: fp.to_string(),
        flapping,
        repeat,
    }
}
