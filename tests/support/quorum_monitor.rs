//! What a test sees every 250 ms while members change: the serving quorum asked of the
//! members themselves (`srvr` to every pod IP, not the operator's view), each pod name's
//! uids in order; and every `Progressing` condition written, from a watch. Shared by the rolling-restart and scaling
//! end-to-end tests.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::zk::{FourLetterClient, ProbeLimits, ServerMode};

const SAMPLE_EVERY: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct Seen {
    /// (when, a leader answers and a majority of its committed voters serve)
    pub quorum: Vec<(Instant, bool)>,
    pub uids: BTreeMap<String, Vec<String>>,
    /// Pod names in the order their uid changed.
    pub replaced: Vec<String>,
    pub progressing: Vec<(String, String, String)>,
}

pub struct Monitor {
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
    conditions: tokio::task::JoinHandle<()>,
}

impl Monitor {
    /// Samples the members of cluster `zk` in `ns`.
    pub fn start(client: Client, ns: &str) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
        let zk: Api<ZookeeperCluster> = Api::namespaced(client, ns);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let listed = pods
                    .list(&ListParams::default().labels("app.kubernetes.io/instance=zk"))
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default();
                let ips: Vec<String> = listed
                    .iter()
                    .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
                    .collect();
                let answers = futures::future::join_all(ips.iter().map(|ip| async move {
                    let addr = format!("{ip}:2181").parse().ok()?;
                    let client = FourLetterClient::new(
                        addr,
                        ProbeLimits::with_timeout(Duration::from_secs(1)),
                    );
                    let mode = client.srvr().await.ok()?.mode;
                    // The leader knows the committed voters (it changes while scaling).
                    let voters = match mode {
                        ServerMode::Leader => client.mntr().await.ok().and_then(|m| m.quorum_size),
                        _ => None,
                    };
                    Some((mode, voters))
                }))
                .await;
                let serving = answers
                    .iter()
                    .flatten()
                    .filter(|(m, _)| matches!(m, ServerMode::Leader | ServerMode::Follower))
                    .count();
                let voters = answers
                    .iter()
                    .flatten()
                    .find_map(|(m, v)| (*m == ServerMode::Leader).then_some(*v));
                // A leader whose committed voters (the pods, if it did not say) have a
                // serving majority; a joiner still starting or a removed member whose pod
                // has not gone yet does not serve.
                let quorum = voters.is_some_and(|v| {
                    let voters = v.and_then(|v| usize::try_from(v).ok()).unwrap_or(ips.len());
                    serving > voters / 2
                });
                if let Ok(mut seen) = log.lock() {
                    seen.quorum.push((Instant::now(), quorum));
                    for pod in &listed {
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        let name = pod.name_any();
                        let uids = seen.uids.entry(name.clone()).or_default();
                        if !uids.contains(&uid) {
                            let replaced = !uids.is_empty();
                            uids.push(uid);
                            if replaced {
                                seen.replaced.push(name);
                            }
                        }
                    }
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        });
        // Progressing from a watch, not the 250 ms samples: a step of a fast shrink can
        // be written and replaced within one sample (a 5 -> 3 shrink takes ~1.2 s), and a
        // watch delivers every version of the object.
        let log = seen.clone();
        let conditions = tokio::spawn(async move {
            use futures::StreamExt;
            use kube::runtime::{WatchStreamExt, watcher};
            let config = watcher::Config::default().fields("metadata.name=zk");
            let mut stream = std::pin::pin!(watcher(zk, config).applied_objects());
            while let Some(next) = stream.next().await {
                let Ok(cluster) = next else { continue };
                let progressing = cluster.status.and_then(|s| {
                    let c = s
                        .conditions
                        .into_iter()
                        .find(|c| c.type_ == "Progressing")?;
                    Some((c.status, c.reason, c.message))
                });
                if let (Some(p), Ok(mut seen)) = (progressing, log.lock())
                    && seen.progressing.last() != Some(&p)
                {
                    seen.progressing.push(p);
                }
            }
        });
        Self {
            seen,
            task,
            conditions,
        }
    }

    /// Takes what was seen so far and starts afresh (uids are kept to spot replacements).
    pub fn take(&self) -> Seen {
        let mut seen = self.seen.lock().expect("monitor");
        let uids = seen.uids.clone();
        let taken = std::mem::take(&mut *seen);
        seen.uids = uids;
        taken
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
        self.conditions.abort();
    }
}

impl Seen {
    /// Quorum outages of at least `min`, in order; one still under way at the last
    /// sample counts up to that sample.
    pub fn outages(&self, min: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        let mut down_since: Option<Instant> = None;
        for (at, ok) in &self.quorum {
            match (ok, down_since) {
                (false, None) => down_since = Some(*at),
                (true, Some(since)) => {
                    out.push(at.duration_since(since));
                    down_since = None;
                }
                _ => {}
            }
        }
        if let (Some(since), Some((last, _))) = (down_since, self.quorum.last()) {
            out.push(last.duration_since(since));
        }
        out.into_iter().filter(|d| *d >= min).collect()
    }
}
