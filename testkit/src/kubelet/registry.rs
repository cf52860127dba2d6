//! The pods this kubelet runs, by uid: what fault injection, DNS and teardown need to find
//! (network sandbox, container pids). Workers own the truth; this is a shared index.

use super::net::PodNet;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// The live process of one container, when it runs.
#[derive(Clone, Debug)]
pub struct RunningProc {
    pub outer_pid: u32,
    pub init_pid: Option<u32>,
    /// The container's env, reused by exec probes (they run with the container's env).
    pub env: Vec<(String, String)>,
}

/// Shared slot a supervisor fills while its container runs.
#[derive(Clone, Debug, Default)]
pub struct ContainerCtl(Arc<Mutex<Option<RunningProc>>>);

impl ContainerCtl {
    pub fn set(&self, p: Option<RunningProc>) {
        *lock(&self.0) = p;
    }

    pub fn get(&self) -> Option<RunningProc> {
        lock(&self.0).clone()
    }
}

#[derive(Clone, Debug)]
pub struct PodEntry {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub hostname: String,
    pub subdomain: Option<String>,
    pub net: PodNet,
    pub containers: BTreeMap<String, ContainerCtl>,
    /// Set once teardown started, so lookups by name prefer a replacement pod.
    pub terminating: bool,
}

#[derive(Default)]
pub struct Registry(Mutex<HashMap<String, PodEntry>>);

impl Registry {
    pub fn insert(&self, e: PodEntry) {
        lock(&self.0).insert(e.uid.clone(), e);
    }

    pub fn remove(&self, uid: &str) -> Option<PodEntry> {
        lock(&self.0).remove(uid)
    }

    pub fn mark_terminating(&self, uid: &str) {
        if let Some(e) = lock(&self.0).get_mut(uid) {
            e.terminating = true;
        }
    }

    /// The pod called `ns/name`, preferring one that is not being torn down.
    pub fn find(&self, ns: &str, name: &str) -> Option<PodEntry> {
        let map = lock(&self.0);
        let mut hits: Vec<&PodEntry> = map
            .values()
            .filter(|e| e.namespace == ns && e.name == name)
            .collect();
        hits.sort_by_key(|e| e.terminating);
        hits.first().map(|e| (*e).clone())
    }

    pub fn all(&self) -> Vec<PodEntry> {
        lock(&self.0).values().cloned().collect()
    }
}

/// Poisoning only means another thread panicked mid-update of plain data; keep going.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
