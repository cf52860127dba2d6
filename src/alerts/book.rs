//! The durable state: active alerts, what each receiver was told, and the outbox.
//!
//! Serialized into a ConfigMap, so it must stay well under 1 MiB: [`AlertBook::bound`]
//! drops the oldest resolved alerts, then the oldest notifications, and counts what it
//! dropped.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::Severity;

/// The serialized book never grows past this (ConfigMaps hold 1 MiB).
pub const MAX_BOOK_BYTES: usize = 512 * 1024;
/// Annotation values longer than this are cut: messages are for people, not logs.
pub const MAX_ANNOTATION_CHARS: usize = 1024;
/// `last_seen` only matters for staleness (an hour), so it is persisted this coarsely.
pub const SEEN_GRANULARITY_SECS: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertState {
    /// Active, waiting out the `for` duration.
    Pending,
    Firing,
    Resolved,
}

/// What a receiver was last told about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Told {
    Firing,
    Resolved,
    Flapping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    pub told: Told,
    /// Unix seconds when it was queued for the receiver.
    pub at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub severity: Severity,
    pub state: AlertState,
    /// When the source became active (Alertmanager's `startsAt`).
    pub active_since: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<u64>,
    /// Last pass that saw the source active.
    pub last_seen: u64,
    /// A firing alert's source has been gone since then; it resolves once that lasted
    /// `keep_firing` (a member restarting bounces through several states in seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_since: Option<u64>,
    /// Times the source turned on or off, within the flap window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<u64>,
    #[serde(default)]
    pub flapping: bool,
    /// Per receiver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delivered: BTreeMap<String, Delivered>,
}

impl Alert {
    pub fn alertname(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// `firing` or `resolved`, as in Alertmanager's payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// One alert as told in a notification: a copy, so the outbox survives GC of the alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSnapshot {
    pub status: Status,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<u64>,
    pub fingerprint: String,
    /// A "flapping" notice: further changes are held back until the alert is stable.
    #[serde(default)]
    pub flapping: bool,
    /// A reminder of an alert already told as firing.
    #[serde(default)]
    pub repeat: bool,
}

/// A message waiting for one receiver: every alert of one cluster that changed together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: u64,
    pub receiver: String,
    pub namespace: String,
    pub cluster: String,
    pub created_at: u64,
    pub alerts: Vec<AlertSnapshot>,
    #[serde(default)]
    pub attempts: u32,
    /// Not to be tried before (unix seconds): backoff between delivery rounds.
    #[serde(default)]
    pub not_before: u64,
    /// How many queued notifications a rate-limit digest folded into this one (0 or 1:
    /// not a digest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub merged: u32,
    /// The ids a digest stands for; all leave the outbox when it is delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_ids: Vec<u64>,
    /// A delivery attempt may have reached the receiver (it timed out after sending):
    /// the receiver counts as told, so what follows must not be cancelled.
    #[serde(default, skip_serializing_if = "is_false")]
    pub maybe_delivered: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Notification {
    /// `firing` when any alert fires, else `resolved` (Alertmanager's group status).
    pub fn status(&self) -> Status {
        if self.alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertBook {
    /// By fingerprint.
    #[serde(default)]
    pub alerts: BTreeMap<String, Alert>,
    /// Oldest first.
    #[serde(default)]
    pub outbox: Vec<Notification>,
    #[serde(default)]
    pub next_id: u64,
    /// Resolved alerts forgotten early to stay within [`MAX_BOOK_BYTES`].
    #[serde(default)]
    pub dropped_alerts: u64,
    /// Notifications given up: too old, or dropped to stay within the size bound.
    #[serde(default)]
    pub dropped_notifications: u64,
}

impl AlertBook {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// Equal in everything worth a write: states, what receivers were told, the outbox.
    /// Ignores alert annotations (current values such as lag move with every pass) and
    /// `last_seen` within [`SEEN_GRANULARITY_SECS`], so an active fault does not cost an
    /// API write per reconcile. A restart then loads slightly older values, which the
    /// next evaluation refreshes.
    pub fn same_material(&self, other: &Self) -> bool {
        fn material(book: &AlertBook) -> AlertBook {
            let mut b = book.clone();
            for a in b.alerts.values_mut() {
                a.annotations.clear();
                a.last_seen -= a.last_seen % SEEN_GRANULARITY_SECS;
            }
            b
        }
        material(self) == material(other)
    }

    /// The first notification due at `now`, oldest first, whatever its receiver (a
    /// delivery round takes [`due_by_receiver`](Self::due_by_receiver) instead: per
    /// receiver in order).
    pub fn due(&self, now: u64) -> Option<&Notification> {
        self.outbox.iter().find(|n| n.not_before <= now)
    }

    /// The earliest time any queued notification is due.
    pub fn next_due(&self) -> Option<u64> {
        self.outbox.iter().map(|n| n.not_before).min()
    }

    /// Removes a delivered (or permanently failed) notification.
    pub fn remove(&mut self, id: u64) -> Option<Notification> {
        let i = self.outbox.iter().position(|n| n.id == id)?;
        Some(self.outbox.remove(i))
    }

    /// Records a failed delivery round: tried again at `until`. `maybe_delivered`: the
    /// round may have reached the receiver (a timeout after sending).
    pub fn postpone(&mut self, id: u64, until: u64, maybe_delivered: bool) {
        if let Some(n) = self.outbox.iter_mut().find(|n| n.id == id) {
            n.attempts += 1;
            n.not_before = until;
            n.maybe_delivered |= maybe_delivered;
        }
    }

    /// Keeps the serialized book under `max_bytes`: oldest resolved alerts go first (they
    /// only serve flap detection now), then the oldest notifications.
    pub fn bound(&mut self, max_bytes: usize) {
        // Serialize once, then subtract what each removal saves (a slight underestimate:
        // keys and commas go too), so a full book costs one pass, not one per removal.
        let mut size = self.to_json().len();
        while size > max_bytes {
            let oldest_resolved = self
                .alerts
                .iter()
                .filter(|(_, a)| a.state == AlertState::Resolved)
                .min_by_key(|(_, a)| a.resolved_at.unwrap_or(0))
                .map(|(fp, _)| fp.clone());
            // Only active alerts left once resolved ones and the outbox are gone: forget
            // the oldest rather than fail to persist at all.
            let oldest_active = || {
                self.alerts
                    .iter()
                    .min_by_key(|(_, a)| a.active_since)
                    .map(|(fp, _)| fp.clone())
            };
            let saved = if let Some(fp) = oldest_resolved {
                self.dropped_alerts += 1;
                json_len(&self.alerts.remove(&fp))
            } else if !self.outbox.is_empty() {
                self.dropped_notifications += 1;
                json_len(&self.outbox.remove(0))
            } else if let Some(fp) = oldest_active() {
                self.dropped_alerts += 1;
                json_len(&self.alerts.remove(&fp))
            } else {
                return;
            };
            size = size.saturating_sub(saved.max(1));
        }
    }
}

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.len())
}

/// Cuts a string to at most `max` characters, marking the cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
