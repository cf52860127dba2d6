//! The operator's memory of each cluster between passes, in one store keyed by the
//! cluster's uid: a cluster deleted and recreated under the same name has a new uid and
//! starts clean, and the delete event drops the entry. Nothing in an entry grows with
//! time: each field holds the latest value only.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::notify::SecretString;
use crate::recovery::RecoveryHistory;
use crate::rollout::RolloutState;
use crate::scale::ScaleStep;

/// A reconcile panicked while holding the store: what it held may be half-written, so
/// no pass trusts it (the error fails the pass; the process should be restarted).
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("the operator's per-cluster memory is poisoned (a reconcile panicked while holding it)")]
pub struct Poisoned;

/// What the operator remembers about one cluster.
#[derive(Debug, Default, Clone)]
pub struct ClusterMemory {
    /// Told once that this server has no PodDisruptionBudget API.
    pub pdb_warned: bool,
    /// The last unusable restart annotation told as an Event (annotations carry no
    /// generation, so "once per generation" cannot dedupe it).
    pub told_restart_warning: Option<String>,
    /// The last recovery decision told as an Event: a decision that holds for many
    /// passes (backoff, blocked, exhausted) is told once.
    pub told_recovery: Option<(String, String)>,
    /// The recovery history this operator persisted last: the cached cluster may not
    /// show it yet (see `crate::recovery::merged`).
    pub recovery_written: Option<RecoveryHistory>,
    /// The rolling-restart state this operator persisted last (`Some(None)`: written as
    /// "no roll"); the cached cluster may not show it yet.
    pub rollout_written: Option<Option<RolloutState>>,
    /// The last roll stall told as an Event.
    pub told_rollout: Option<(String, String)>,
    /// The super-user password and when it was read (see `super_secret`).
    pub super_password: Option<(SecretString, Instant)>,
    /// A reconfig whose reply was lost, and when: told once the committed config shows
    /// it (see `scale::outcome`).
    pub reconfig_unknown: Option<(ScaleStep, Instant)>,
    /// Consecutive failed passes, for the error backoff.
    pub failures: u32,
}

#[derive(Default)]
pub struct ClusterStore {
    clusters: Mutex<HashMap<String, ClusterMemory>>,
}

impl ClusterStore {
    /// Runs `f` on the cluster's memory (created empty on first use).
    pub fn with<T>(
        &self,
        uid: &str,
        f: impl FnOnce(&mut ClusterMemory) -> T,
    ) -> Result<T, Poisoned> {
        let mut clusters = self.clusters.lock().map_err(|_| Poisoned)?;
        Ok(f(clusters.entry(uid.to_string()).or_default()))
    }

    /// A copy of what is remembered, without creating an entry.
    pub fn get(&self, uid: &str) -> Result<Option<ClusterMemory>, Poisoned> {
        let clusters = self.clusters.lock().map_err(|_| Poisoned)?;
        Ok(clusters.get(uid).cloned())
    }

    /// Drops the cluster's memory (its delete event).
    pub fn forget(&self, uid: &str) -> Result<(), Poisoned> {
        self.clusters.lock().map_err(|_| Poisoned)?.remove(uid);
        Ok(())
    }

    /// Drops the memory of clusters (by uid) for which `live` is false: a delete event
    /// missed while the watch was re-listing.
    pub fn retain(&self, live: impl Fn(&str) -> bool) -> Result<(), Poisoned> {
        self.clusters
            .lock()
            .map_err(|_| Poisoned)?
            .retain(|uid, _| live(uid));
        Ok(())
    }

    pub fn len(&self) -> Result<usize, Poisoned> {
        Ok(self.clusters.lock().map_err(|_| Poisoned)?.len())
    }

    pub fn is_empty(&self) -> Result<bool, Poisoned> {
        self.len().map(|n| n == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_empty_after_the_delete_event() {
        let store = ClusterStore::default();
        store
            .with("uid-1", |m| {
                m.failures = 3;
                m.pdb_warned = true;
                m.told_rollout = Some(("RollingRestartStalled".into(), "zk-0@1".into()));
            })
            .expect("store");
        assert_eq!(store.len(), Ok(1));
        store.forget("uid-1").expect("store");
        assert_eq!(store.is_empty(), Ok(true));
        assert!(store.get("uid-1").expect("store").is_none());
    }

    #[test]
    fn a_cluster_recreated_under_the_same_name_starts_clean() {
        // Same namespace and name, new uid: nothing of the old one is seen.
        let store = ClusterStore::default();
        store
            .with("uid-old", |m| {
                m.failures = 5;
                m.told_recovery = Some(("MemberRestarted".into(), "restarting zk-1".into()));
            })
            .expect("store");
        let fresh = store.with("uid-new", |m| m.clone()).expect("store");
        assert_eq!(fresh.failures, 0);
        assert!(fresh.told_recovery.is_none());
        assert!(!fresh.pdb_warned);
        store.retain(|uid| uid == "uid-new").expect("store");
        assert_eq!(store.len(), Ok(1));
    }

    #[test]
    fn a_poisoned_store_is_an_error() {
        let store = std::sync::Arc::new(ClusterStore::default());
        let holder = store.clone();
        let panicked = std::thread::spawn(move || {
            let _ = holder.with("uid-1", |_| panic!("a pass panics while holding the store"));
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(store.with("uid-1", |m| m.failures), Err(Poisoned));
        assert_eq!(store.forget("uid-1"), Err(Poisoned));
    }
}
