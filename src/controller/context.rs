//! State shared by every reconcile: one client, one event recorder, caches.
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use kube::Client;
use kube::runtime::events::Recorder;

use super::apply::AppliedCache;
use super::caches::OwnedCaches;
use super::notifications::Notifier;
use super::quorum::QuorumWatchers;
use crate::build::ServerCapabilities;
use crate::notify::SecretString;
use crate::recovery::RecoveryHistory;
use crate::rollout::RolloutState;
use crate::telemetry::Metrics;

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Metrics,
    pub server: ServerCapabilities,
    pub applied: AppliedCache,
    pub caches: OwnedCaches,
    pub quorum: QuorumWatchers,
    pub notifier: Notifier,
    /// Clusters (by uid) already told that this server has no PodDisruptionBudget API.
    pub pdb_warned: Mutex<HashSet<String>>,
    /// The last recovery decision told as an Event, per cluster uid: a decision that
    /// holds for many passes (backoff, blocked, exhausted) is told once.
    pub told_recovery: Mutex<HashMap<String, (String, String)>>,
    /// The recovery history this operator persisted last, per cluster uid: the cached
    /// cluster may not show it yet (see `crate::recovery::merged`).
    pub recovery_written: Mutex<HashMap<String, RecoveryHistory>>,
    /// The rolling-restart state this operator persisted last, per cluster uid (`None`
    /// inside: written as "no roll"); the cached cluster may not show it yet.
    pub rollout_written: Mutex<HashMap<String, Option<RolloutState>>>,
    /// The last roll stall told as an Event, per cluster uid.
    pub told_rollout: Mutex<HashMap<String, (String, String)>>,
    /// The super-user password per cluster uid and when it was read (see
    /// `super_secret::ensure`).
    pub super_passwords: Mutex<HashMap<String, (SecretString, std::time::Instant)>>,
    /// Consecutive failures per cluster, for the error backoff.
    pub failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(
        client: Client,
        recorder: Recorder,
        metrics: Metrics,
        server: ServerCapabilities,
        quorum: QuorumWatchers,
        notifier: Notifier,
        caches: OwnedCaches,
    ) -> Self {
        Self {
            caches,
            quorum,
            notifier,
            client,
            recorder,
            metrics,
            server,
            applied: AppliedCache::default(),
            pdb_warned: Mutex::default(),
            told_recovery: Mutex::default(),
            recovery_written: Mutex::default(),
            rollout_written: Mutex::default(),
            told_rollout: Mutex::default(),
            super_passwords: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    /// Records one more failure and returns how many in a row.
    pub fn record_failure(&self, key: &str) -> u32 {
        self.failures
            .lock()
            .map(|mut f| {
                let n = f.entry(key.to_string()).or_insert(0);
                *n += 1;
                *n
            })
            .unwrap_or(1)
    }

    pub fn clear_failures(&self, key: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }

    /// True when `(reason, message)` differs from what was last told for the cluster;
    /// remembers it. `None` forgets, so the next decision is told again.
    pub fn first_telling(&self, uid: &str, told: Option<(String, String)>) -> bool {
        let Ok(mut map) = self.told_recovery.lock() else {
            return true;
        };
        match told {
            None => {
                map.remove(uid);
                false
            }
            Some(told) => map.insert(uid.to_string(), told.clone()).as_ref() != Some(&told),
        }
    }

    pub fn written_recovery(&self, uid: &str) -> Option<RecoveryHistory> {
        self.recovery_written.lock().ok()?.get(uid).cloned()
    }

    pub fn remember_recovery(&self, uid: &str, history: RecoveryHistory) {
        if let Ok(mut map) = self.recovery_written.lock() {
            map.insert(uid.to_string(), history);
        }
    }

    pub fn written_rollout(&self, uid: &str) -> Option<Option<RolloutState>> {
        self.rollout_written.lock().ok()?.get(uid).cloned()
    }

    pub fn remember_rollout(&self, uid: &str, state: Option<RolloutState>) {
        if let Ok(mut map) = self.rollout_written.lock() {
            map.insert(uid.to_string(), state);
        }
    }

    /// True when `told` differs from the roll notice last told for the cluster.
    pub fn first_roll_telling(&self, uid: &str, told: (String, String)) -> bool {
        let Ok(mut map) = self.told_rollout.lock() else {
            return true;
        };
        map.insert(uid.to_string(), told.clone()).as_ref() != Some(&told)
    }

    /// Forgets per-cluster memory of clusters (by uid) that no longer exist.
    pub fn retain_uids(&self, live: &HashSet<String>) {
        if let Ok(mut m) = self.told_recovery.lock() {
            m.retain(|uid, _| live.contains(uid));
        }
        if let Ok(mut m) = self.recovery_written.lock() {
            m.retain(|uid, _| live.contains(uid));
        }
        if let Ok(mut m) = self.rollout_written.lock() {
            m.retain(|uid, _| live.contains(uid));
        }
        if let Ok(mut m) = self.told_rollout.lock() {
            m.retain(|uid, _| live.contains(uid));
        }
        if let Ok(mut m) = self.pdb_warned.lock() {
            m.retain(|uid| live.contains(uid));
        }
        if let Ok(mut m) = self.super_passwords.lock() {
            m.retain(|uid, _| live.contains(uid));
        }
    }

    /// True the first time it is asked for a cluster.
    pub fn first_pdb_warning(&self, uid: &str) -> bool {
        self.pdb_warned
            .lock()
            .map(|mut w| w.insert(uid.to_string()))
            .unwrap_or(false)
    }
}
