//! One quorum watcher per cluster, apart from reconcile: it talks to every member and
//! triggers a reconcile only when the ensemble's health changes. Reconcile keeps its
//! member set in step with the pods and turns assessment changes into status and Events.
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc;

use super::memory::Poisoned;
use crate::api::ZookeeperCluster;
use crate::build::labels::{CLIENT_PORT, myid, pod_ordinal};
use crate::health::{
    ContainerState, EnsembleAssessment, Formation, MemberId, PodView, Transition, told_transitions,
};
use crate::observe::{EnsembleWatcher, MemberEndpoint, WatcherConfig};
use crate::status::is_pod_ready;

/// Health triggers waiting for the controller; beyond this the forwarders wait.
const TRIGGER_BACKLOG: usize = 256;

struct Watched {
    watcher: EnsembleWatcher,
    members: Vec<MemberEndpoint>,
    pods: BTreeMap<MemberId, PodView>,
    /// The assessment whose transitions were last told as Events.
    told: Option<EnsembleAssessment>,
    /// The formation grace ran out and what was wrong then was told.
    overdue_told: bool,
}

pub struct QuorumWatchers {
    config: WatcherConfig,
    trigger: mpsc::Sender<ObjectRef<ZookeeperCluster>>,
    clusters: Mutex<HashMap<ObjectRef<ZookeeperCluster>, Watched>>,
}

impl QuorumWatchers {
    /// Returns the registry and the stream of clusters whose health changed.
    pub fn new(config: WatcherConfig) -> (Self, mpsc::Receiver<ObjectRef<ZookeeperCluster>>) {
        let (trigger, triggered) = mpsc::channel(TRIGGER_BACKLOG);
        let registry = Self {
            config,
            trigger,
            clusters: Mutex::default(),
        };
        (registry, triggered)
    }

    /// Keeps the cluster's watcher in step with its pods; returns the current assessment.
    pub fn observe(
        &self,
        cluster: &ZookeeperCluster,
        replicas: i32,
        pods: &[Pod],
    ) -> Result<Option<EnsembleAssessment>, Poisoned> {
        let key = ObjectRef::from_obj(cluster);
        let name = cluster.name_any();
        let members = endpoints(&name, replicas, pods);
        let views = pod_views(&name, replicas, pods);
        let mut clusters = self.clusters.lock().map_err(|_| Poisoned)?;
        // Nothing to talk to yet (pods without IPs): an assessment of no members would
        // only say "no quorum" about an ensemble that has not started.
        if members.is_empty() && !clusters.contains_key(&key) {
            return Ok(None);
        }
        let watched = clusters.entry(key.clone()).or_insert_with(|| {
            let watcher = EnsembleWatcher::spawn(members.clone(), self.config.clone());
            spawn_trigger(&watcher, key.clone(), self.trigger.clone());
            Watched {
                watcher,
                members: members.clone(),
                pods: BTreeMap::new(),
                told: None,
                overdue_told: false,
            }
        });
        if watched.members != members {
            watched.watcher.set_members(members.clone());
            watched.members = members;
        }
        if watched.pods != views {
            watched.watcher.set_pods(views.clone());
            watched.pods = views;
        }
        Ok(watched.watcher.current())
    }

    /// The transitions from the assessment told last to `current` (the one this pass
    /// reports, with the members a scale-down removed marked; while the cluster forms, as
    /// its formation says ([`told_transitions`])). Reading them marks nothing:
    /// [`Self::mark_told`] does, once they were told, so a pass that fails before telling
    /// them (a failed apply) leaves them for the next pass.
    pub fn untold(
        &self,
        cluster: &ZookeeperCluster,
        current: &EnsembleAssessment,
        formation: Formation,
    ) -> Result<Vec<Transition>, Poisoned> {
        let key = ObjectRef::from_obj(cluster);
        let clusters = self.clusters.lock().map_err(|_| Poisoned)?;
        let Some(watched) = clusters.get(&key) else {
            return Ok(Vec::new());
        };
        let overdue_news = formation.overdue() && !watched.overdue_told;
        Ok(match &watched.told {
            Some(previous) if previous.same_health(current) && !overdue_news => Vec::new(),
            previous => told_transitions(formation, previous.as_ref(), current, overdue_news),
        })
    }

    /// `current`'s transitions were told as Events (and, past the formation grace, the
    /// faults a forming cluster still had).
    pub fn mark_told(
        &self,
        cluster: &ZookeeperCluster,
        current: &EnsembleAssessment,
        formation: Formation,
    ) -> Result<(), Poisoned> {
        let key = ObjectRef::from_obj(cluster);
        let mut clusters = self.clusters.lock().map_err(|_| Poisoned)?;
        if let Some(watched) = clusters.get_mut(&key) {
            watched.told = Some(current.clone());
            watched.overdue_told |= formation.overdue();
        }
        Ok(())
    }

    /// Stops watching a deleted cluster.
    pub async fn forget(&self, key: &ObjectRef<ZookeeperCluster>) {
        let stopped = self.clusters.lock().ok().and_then(|mut c| c.remove(key));
        if let Some(watched) = stopped {
            watched.watcher.shutdown().await;
        }
    }

    /// Stops watching clusters for which `keep` is false (deleted clusters).
    pub async fn retain(&self, keep: impl Fn(&ObjectRef<ZookeeperCluster>) -> bool) {
        let stopped: Vec<Watched> = match self.clusters.lock() {
            Ok(mut clusters) => {
                let gone: Vec<_> = clusters.keys().filter(|k| !keep(k)).cloned().collect();
                gone.iter().filter_map(|k| clusters.remove(k)).collect()
            }
            Err(_) => Vec::new(),
        };
        for watched in stopped {
            watched.watcher.shutdown().await;
        }
    }

    /// Calls `f` with each watched cluster's latest assessment (for metrics: the values
    /// behind the watch move with every probe, without waking anyone).
    pub fn for_each_current(
        &self,
        mut f: impl FnMut(&ObjectRef<ZookeeperCluster>, &EnsembleAssessment),
    ) {
        if let Ok(clusters) = self.clusters.lock() {
            for (key, watched) in clusters.iter() {
                if let Some(current) = watched.watcher.current() {
                    f(key, &current);
                }
            }
        }
    }

    pub fn count(&self) -> usize {
        self.clusters.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// Forwards the watcher's health changes as reconcile triggers. A full channel makes the
/// forwarder wait, and the changes it misses meanwhile fold into one (the watch keeps
/// only the latest): the backlog is bounded by the number of clusters, not by time.
fn spawn_trigger(
    watcher: &EnsembleWatcher,
    key: ObjectRef<ZookeeperCluster>,
    trigger: mpsc::Sender<ObjectRef<ZookeeperCluster>>,
) {
    let mut changes = watcher.subscribe();
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            if trigger.send(key.clone()).await.is_err() {
                break;
            }
        }
    });
}

/// The pods of the desired ordinals, with their member ids.
fn member_pods<'a>(
    cluster: &'a str,
    replicas: i32,
    pods: &'a [Pod],
) -> impl Iterator<Item = (MemberId, &'a Pod)> + 'a {
    pods.iter().filter_map(move |pod| {
        let ordinal = pod_ordinal(cluster, &pod.name_any()).filter(|o| *o < replicas)?;
        Some((u64::try_from(myid(ordinal)).ok()?, pod))
    })
}

/// Members to watch: the members' pods that have an IP.
fn endpoints(cluster: &str, replicas: i32, pods: &[Pod]) -> Vec<MemberEndpoint> {
    let port = u16::try_from(CLIENT_PORT).unwrap_or(2181);
    let mut out: Vec<MemberEndpoint> = member_pods(cluster, replicas, pods)
        .filter_map(|(id, pod)| {
            let ip = pod.status.as_ref()?.pod_ip.as_ref()?.parse().ok()?;
            Some(MemberEndpoint::new(
                id,
                pod.name_any(),
                SocketAddr::new(ip, port),
            ))
        })
        .collect();
    out.sort_by_key(|m| m.id);
    out
}

pub(super) fn pod_views(cluster: &str, replicas: i32, pods: &[Pod]) -> BTreeMap<MemberId, PodView> {
    member_pods(cluster, replicas, pods)
        .map(|(id, pod)| (id, pod_view(pod)))
        .collect()
}

pub fn pod_view(pod: &Pod) -> PodView {
    let status = pod.status.as_ref();
    let container = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.first());
    let state = container.and_then(|c| c.state.as_ref());
    let container_state = match state {
        Some(s) if s.running.is_some() => ContainerState::Running,
        Some(s) if s.waiting.is_some() => ContainerState::Waiting {
            reason: s
                .waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .unwrap_or_default(),
        },
        Some(s) if s.terminated.is_some() => {
            let t = s.terminated.as_ref();
            ContainerState::Terminated {
                reason: t.and_then(|t| t.reason.clone()).unwrap_or_default(),
                exit_code: t.map_or(0, |t| t.exit_code),
            }
        }
        _ => ContainerState::Unknown,
    };
    PodView {
        name: pod.name_any(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into()),
        ready: is_pod_ready(pod),
        container: container_state,
        restart_count: container.map_or(0, |c| u32::try_from(c.restart_count).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::health::{MemberObservation, Thresholds, assess};

    fn pod(name: &str, ip: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                pod_ip: Some(ip.into()),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[tokio::test]
    async fn transitions_stay_untold_until_they_are_told() {
        let (watchers, _triggers) = QuorumWatchers::new(WatcherConfig::default());
        let cluster = crate::validate::tests::cluster("replicas: 1");
        // A documentation address (TEST-NET-1): nothing answers, nothing is disturbed.
        let pods = [pod("zk-0", "192.0.2.1")];
        watchers.observe(&cluster, 1, &pods).expect("not poisoned");
        let down = assess(
            &[MemberObservation::new(1, "zk-0", "192.0.2.1:2181")],
            &Thresholds::default(),
        );
        let first = watchers
            .untold(&cluster, &down, Formation::Formed)
            .expect("not poisoned");
        assert!(!first.is_empty(), "a member down is a transition");
        // The pass failed before telling them (a failed apply): the next pass gets the
        // same transitions again, not nothing.
        assert_eq!(
            watchers
                .untold(&cluster, &down, Formation::Formed)
                .expect("not poisoned"),
            first
        );
        watchers
            .mark_told(&cluster, &down, Formation::Formed)
            .expect("not poisoned");
        assert!(
            watchers
                .untold(&cluster, &down, Formation::Formed)
                .expect("not poisoned")
                .is_empty()
        );
        watchers.forget(&ObjectRef::from_obj(&cluster)).await;
        assert_eq!(watchers.count(), 0);
    }
}
