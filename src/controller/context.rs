//! State shared by every reconcile: one client, one event recorder, caches, and the one
//! per-cluster memory (`memory::ClusterStore`, by uid).
use std::time::{Duration, Instant};

use kube::Client;
use kube::runtime::events::Recorder;

use super::apply::AppliedCache;
use super::caches::OwnedCaches;
use super::memory::{ClusterStore, Poisoned};
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
    /// What the operator remembers per cluster between passes, by uid.
    pub memory: ClusterStore,
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
            memory: ClusterStore::default(),
        }
    }

    /// Records one more failure and returns how many in a row.
    pub fn record_failure(&self, uid: &str) -> Result<u32, Poisoned> {
        self.memory.with(uid, |m| {
            m.failures = m.failures.saturating_add(1);
            m.failures
        })
    }

    pub fn clear_failures(&self, uid: &str) -> Result<(), Poisoned> {
        self.memory.with(uid, |m| m.failures = 0)
    }

    /// True when `(reason, message)` differs from what was last told for the cluster;
    /// remembers it. `None` forgets, so the next decision is told again.
    pub fn first_telling(
        &self,
        uid: &str,
        told: Option<(String, String)>,
    ) -> Result<bool, Poisoned> {
        self.memory.with(uid, |m| match told {
            None => {
                m.told_recovery = None;
                false
            }
            Some(told) => m.told_recovery.replace(told.clone()) != Some(told),
        })
    }

    pub fn written_recovery(&self, uid: &str) -> Result<Option<RecoveryHistory>, Poisoned> {
        Ok(self.memory.get(uid)?.and_then(|m| m.recovery_written))
    }

    pub fn remember_recovery(&self, uid: &str, history: RecoveryHistory) -> Result<(), Poisoned> {
        self.memory
            .with(uid, |m| m.recovery_written = Some(history))
    }

    pub fn written_rollout(&self, uid: &str) -> Result<Option<Option<RolloutState>>, Poisoned> {
        Ok(self.memory.get(uid)?.and_then(|m| m.rollout_written))
    }

    pub fn remember_rollout(&self, uid: &str, state: Option<RolloutState>) -> Result<(), Poisoned> {
        self.memory.with(uid, |m| m.rollout_written = Some(state))
    }

    /// True when `told` differs from the roll notice last told for the cluster.
    pub fn first_roll_telling(&self, uid: &str, told: (String, String)) -> Result<bool, Poisoned> {
        self.memory
            .with(uid, |m| m.told_rollout.replace(told.clone()) != Some(told))
    }

    /// True when `message` differs from the restart-annotation warning last told.
    pub fn first_restart_warning(&self, uid: &str, message: &str) -> Result<bool, Poisoned> {
        self.memory.with(uid, |m| {
            m.told_restart_warning
                .replace(message.to_string())
                .as_deref()
                != Some(message)
        })
    }

    /// True the first time it is asked for a cluster.
    pub fn first_pdb_warning(&self, uid: &str) -> Result<bool, Poisoned> {
        self.memory
            .with(uid, |m| !std::mem::replace(&mut m.pdb_warned, true))
    }

    /// The super-user password, if read less than `reread` ago.
    pub fn super_password(
        &self,
        uid: &str,
        reread: Duration,
    ) -> Result<Option<SecretString>, Poisoned> {
        Ok(self.memory.get(uid)?.and_then(|m| {
            m.super_password
                .filter(|(_, read)| read.elapsed() < reread)
                .map(|(password, _)| password)
        }))
    }

    pub fn remember_super_password(
        &self,
        uid: &str,
        password: SecretString,
        read: Instant,
    ) -> Result<(), Poisoned> {
        self.memory
            .with(uid, |m| m.super_password = Some((password, read)))
    }
}
