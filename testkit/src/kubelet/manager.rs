//! The kubelet's main loop: watches pods and claims, binds pending pods, starts a worker per
//! pod bound here, forwards updates to it, and tells it when its object vanished.

use super::binder;
use super::context::Shared;
use super::node;
use super::pod_worker::{self, WorkerHandle};
use super::pvc;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::{Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

pub type Workers = Arc<Mutex<HashMap<String, WorkerHandle>>>;

pub struct Manager {
    pub shared: Arc<Shared>,
    pub workers: Workers,
    pub pods: Store<Pod>,
    pub pvcs: Store<PersistentVolumeClaim>,
}

/// What the loop remembers between passes, per pod uid.
#[derive(Default)]
struct Memo {
    bind_attempts: HashMap<String, Instant>,
    deletes: HashMap<String, Instant>,
    /// Workers that ended; their pods are never started again.
    finished: HashSet<String>,
}

/// Retry spacing for API calls that failed or did not apply yet (binding, final delete).
const RETRY: Duration = Duration::from_secs(1);

impl Manager {
    pub async fn run(self, pod_writer: Writer<Pod>, pvc_writer: Writer<PersistentVolumeClaim>) {
        let client = self.shared.client.clone();
        let pods =
            reflector(pod_writer, watcher(Api::<Pod>::all(client.clone()))).default_backoff();
        let pvcs = reflector(
            pvc_writer,
            watcher(Api::<PersistentVolumeClaim>::all(client)),
        )
        .default_backoff();
        let mut pods = std::pin::pin!(pods);
        let mut pvcs = std::pin::pin!(pvcs);
        let (mut pods_ready, mut pvcs_ready) = (false, false);
        let mut memo = Memo::default();
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            let mut pvc_pass = false;
            tokio::select! {
                ev = pods.next() => match ev {
                    Some(Ok(Event::InitDone)) => pods_ready = true,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::debug!(error = %e, "pod watch"),
                    None => return,
                },
                ev = pvcs.next() => {
                    pvc_pass = true;
                    match ev {
                        Some(Ok(Event::InitDone)) => pvcs_ready = true,
                        Some(Ok(_)) => {}
                        Some(Err(e)) => tracing::debug!(error = %e, "pvc watch"),
                        None => return,
                    }
                }
                _ = tick.tick() => pvc_pass = true,
            }
            // Acting on a partial list could delete PVs of claims not listed yet.
            if !(pods_ready && pvcs_ready) {
                continue;
            }
            if pvc_pass {
                pvc::reconcile(&self.shared, &self.pvcs).await;
            }
            self.reconcile_pods(&mut memo).await;
        }
    }

    async fn reconcile_pods(&self, memo: &mut Memo) {
        let me = self.shared.node_name.clone();
        let labels = node::labels(&self.shared);
        let pods = self.pods.state();
        let mut seen = HashSet::new();
        let now = Instant::now();
        let due = |map: &HashMap<String, Instant>, uid: &str| {
            map.get(uid)
                .is_none_or(|at| now.duration_since(*at) >= RETRY)
        };
        for pod in &pods {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            seen.insert(uid.clone());
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            if node.is_empty() {
                if due(&memo.bind_attempts, &uid) {
                    match binder::try_bind(&self.shared.client, pod, &me, &labels, &self.pvcs).await
                    {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => tracing::debug!(pod = %pod.name_any(), error = %e, "binding"),
                    }
                    memo.bind_attempts.insert(uid, now);
                }
                continue;
            }
            if node != me {
                continue;
            }
            if self.forward(&uid, pod) {
                continue;
            }
            let deleting = pod.metadata.deletion_timestamp.is_some();
            let phase = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            if deleting {
                // Nothing (left) running for it here: finishing the deletion is our job.
                if due(&memo.deletes, &uid) {
                    memo.deletes.insert(uid, now);
                    delete_now(&self.shared, pod).await;
                }
            } else if phase != "Succeeded" && phase != "Failed" && !memo.finished.contains(&uid) {
                let handle = pod_worker::spawn(self.shared.clone(), pod.clone());
                self.lock().insert(uid, handle);
            }
        }
        let mut workers = self.lock();
        for (uid, w) in workers.iter() {
            if !seen.contains(uid) {
                w.gone_tx.send_replace(true);
            }
        }
        workers.retain(|uid, w| {
            let done = w.join.is_finished();
            if done {
                // Never restarted for this uid: its object is being deleted or is gone.
                memo.finished.insert(uid.clone());
            }
            !done
        });
        drop(workers);
        memo.bind_attempts.retain(|uid, _| seen.contains(uid));
        memo.deletes.retain(|uid, _| seen.contains(uid));
        memo.finished.retain(|uid| seen.contains(uid));
    }

    /// Hands the latest object to its worker; false when there is no worker.
    fn forward(&self, uid: &str, pod: &Arc<Pod>) -> bool {
        let workers = self.lock();
        let Some(w) = workers.get(uid) else {
            return false;
        };
        w.pod_tx.send_if_modified(|old| {
            let changed = old.resource_version() != pod.resource_version();
            if changed {
                *old = pod.clone();
            }
            changed
        });
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, WorkerHandle>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn delete_now(shared: &Shared, pod: &Pod) {
    let api: Api<Pod> =
        Api::namespaced(shared.client.clone(), &pod.namespace().unwrap_or_default());
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    let _ = api.delete(&pod.name_any(), &dp).await;
}

fn watcher<K>(api: Api<K>) -> impl futures::Stream<Item = Result<Event<K>, watcher::Error>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    watcher::watcher(api, watcher::Config::default())
}
