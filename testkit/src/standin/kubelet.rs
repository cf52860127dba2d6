//! The stand-in kubelet: binds pods to its node, starts an in-process stand-in member for
//! each on its own loopback IP, and reports the pod Running and Ready with that IP.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::ips::IpPool;
use super::member::StandinMember;
use super::node;
use super::pod_status;
use super::shared::Ensemble;

/// Which pods, on which node.
#[derive(Debug, Clone)]
pub struct StandinOptions {
    pub node_name: String,
    /// Only pods matching this label selector are bound and run (e.g.
    /// `app.kubernetes.io/managed-by=zookeeper-operator`), so a process kubelet on the same
    /// control plane can run others.
    pub label_selector: Option<String>,
    pub client_port: u16,
    /// Pods started at once (binding, member, status patch).
    pub concurrency: usize,
}

impl Default for StandinOptions {
    fn default() -> Self {
        Self {
            node_name: "zk-standin-node".into(),
            label_selector: None,
            client_port: 2181,
            concurrency: 32,
        }
    }
}

/// One pod this kubelet runs; `member` is `None` while it is being started.
struct PodEntry {
    namespace: String,
    name: String,
    member: Option<Arc<StandinMember>>,
}

struct Inner {
    client: Client,
    opts: StandinOptions,
    pods: Mutex<HashMap<String, PodEntry>>,
    ensembles: Mutex<HashMap<(String, String), Arc<Ensemble>>>,
    ips: Mutex<IpPool>,
    starting: Semaphore,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a map insert or lookup: nothing half-done to recover from.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs until stopped or dropped (dropping crashes every member and leaves the Node).
pub struct StandinKubelet {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

impl StandinKubelet {
    /// Registers the Node and starts watching pods.
    pub async fn start(client: Client, opts: StandinOptions) -> anyhow::Result<Self> {
        node::register(&client, &opts.node_name).await?;
        let inner = Arc::new(Inner {
            client: client.clone(),
            starting: Semaphore::new(opts.concurrency.max(1)),
            opts,
            pods: Mutex::default(),
            ensembles: Mutex::default(),
            ips: Mutex::new(IpPool::random()),
        });
        let keep_alive = tokio::spawn(node::keep_alive(client, inner.opts.node_name.clone()));
        let pods = tokio::spawn(watch_pods(inner.clone()));
        Ok(Self {
            inner,
            tasks: vec![keep_alive, pods],
        })
    }

    /// The member serving pod `namespace/name`, once it runs.
    pub fn member(&self, namespace: &str, name: &str) -> Option<Arc<StandinMember>> {
        lock(&self.inner.pods)
            .values()
            .find(|e| e.namespace == namespace && e.name == name)
            .and_then(|e| e.member.clone())
    }

    pub fn pod_ip(&self, namespace: &str, name: &str) -> Option<Ipv4Addr> {
        match self.member(namespace, name)?.addr().ip() {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        }
    }

    /// How many members run.
    pub fn running(&self) -> usize {
        lock(&self.inner.pods)
            .values()
            .filter(|e| e.member.is_some())
            .count()
    }

    /// Stops watching, crashes every member and removes the Node.
    pub async fn stop(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        lock(&self.inner.pods).clear();
        node::deregister(&self.inner.client, &self.inner.opts.node_name).await;
    }
}

impl Drop for StandinKubelet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        lock(&self.inner.pods).clear();
    }
}

async fn watch_pods(inner: Arc<Inner>) {
    let mut config = watcher::Config::default();
    if let Some(selector) = &inner.opts.label_selector {
        config = config.labels(selector);
    }
    let api: Api<Pod> = Api::all(inner.client.clone());
    let mut events = watcher(api, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                on_pod(&inner, pod);
            }
            Ok(watcher::Event::Delete(pod)) => {
                if let Some(uid) = pod.uid() {
                    lock(&inner.pods).remove(&uid);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "stand-in kubelet pod watch"),
        }
    }
}

fn on_pod(inner: &Arc<Inner>, pod: Pod) {
    let Some(uid) = pod.uid() else { return };
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    if node.as_ref().is_some_and(|n| *n != inner.opts.node_name) {
        return;
    }
    if pod.metadata.deletion_timestamp.is_some() {
        // Graceful deletion: the "container" stops at once, then the object goes, as the
        // kubelet finishes a deletion, so the StatefulSet can recreate the pod.
        if lock(&inner.pods).remove(&uid).is_some() || node.is_some() {
            let inner = inner.clone();
            tokio::spawn(async move { finish_deletion(&inner, &pod).await });
        }
        return;
    }
    {
        let mut pods = lock(&inner.pods);
        if pods.contains_key(&uid) {
            return;
        }
        pods.insert(
            uid.clone(),
            PodEntry {
                namespace: pod.namespace().unwrap_or_default(),
                name: pod.name_any(),
                member: None,
            },
        );
    }
    let inner = inner.clone();
    tokio::spawn(async move {
        let Ok(_permit) = inner.starting.acquire().await else {
            return;
        };
        if let Err(e) = start_pod(&inner, &pod, &uid).await {
            tracing::warn!(pod = %pod.name_any(), error = %format!("{e:#}"), "stand-in pod start");
            // Forget it so the next event for the pod tries again.
            lock(&inner.pods).remove(&uid);
        }
    });
}

async fn finish_deletion(inner: &Inner, pod: &Pod) {
    let api: Api<Pod> = Api::namespaced(inner.client.clone(), &pod.namespace().unwrap_or_default());
    let mut dp = DeleteParams::default().grace_period(0);
    if let Some(uid) = pod.uid() {
        dp = dp.preconditions(kube::api::Preconditions {
            uid: Some(uid),
            resource_version: None,
        });
    }
    let _ = api.delete(&pod.name_any(), &dp).await;
}

async fn retry<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(100);
    for _ in 0..5 {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => tracing::debug!(error = %e, what, "retrying"),
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    f().await.map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

async fn start_pod(inner: &Inner, pod: &Pod, uid: &str) -> anyhow::Result<()> {
    let ns = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let api: Api<Pod> = Api::namespaced(inner.client.clone(), &ns);
    if pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_ref())
        .is_none()
    {
        bind(inner, &api, pod).await?;
    }
    let ensemble = ensemble_of(inner, pod).await;
    let myid = name
        .rsplit_once('-')
        .and_then(|(_, ordinal)| ordinal.parse::<u64>().ok())
        .map_or(1, |o| o + 1);
    let subdomain = pod.spec.as_ref().and_then(|s| s.subdomain.clone());
    let host = match subdomain {
        Some(svc) => format!("{name}.{svc}.{ns}.svc.cluster.local"),
        None => name.clone(),
    };
    let member = start_member(inner, myid, host, ensemble).await?;
    let ip = match member.addr().ip() {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(_) => anyhow::bail!("stand-in members bind IPv4 loopback addresses"),
    };
    let member = Arc::new(member);
    // Published before the status patch so that whoever sees the IP can find the member.
    match lock(&inner.pods).get_mut(uid) {
        Some(entry) => entry.member = Some(member),
        None => return Ok(()), // deleted meanwhile: dropping the member stops it
    }
    let body = pod_status::running(pod, ip, &Timestamp::now().to_string());
    let (pp, patch) = (PatchParams::default(), Patch::Merge(&body));
    retry("pod status", || api.patch_status(&name, &pp, &patch)).await?;
    Ok(())
}

async fn bind(inner: &Inner, api: &Api<Pod>, pod: &Pod) -> anyhow::Result<()> {
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(pod.name_any()),
            namespace: pod.namespace(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(inner.opts.node_name.clone()),
            ..Default::default()
        },
    };
    let name = pod.name_any();
    retry("binding", || async {
        match api
            .create_subresource::<_, serde_json::Value>(
                "binding",
                &name,
                &PostParams::default(),
                &binding,
            )
            .await
        {
            // Already bound (by an earlier try whose answer was lost): fine.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(serde_json::Value::Null),
            other => other,
        }
    })
    .await?;
    Ok(())
}

/// The pod's ensemble: its StatefulSet's, sized by the StatefulSet's replicas (read once;
/// scaling is not modelled); a pod without one is an ensemble of one.
async fn ensemble_of(inner: &Inner, pod: &Pod) -> Arc<Ensemble> {
    let ns = pod.namespace().unwrap_or_default();
    let owner = pod
        .owner_references()
        .iter()
        .find(|o| o.kind == "StatefulSet")
        .map(|o| o.name.clone());
    let key = (ns.clone(), owner.clone().unwrap_or_else(|| pod.name_any()));
    if let Some(e) = lock(&inner.ensembles).get(&key) {
        return e.clone();
    }
    let voters = match &owner {
        Some(sts) => Api::<StatefulSet>::namespaced(inner.client.clone(), &ns)
            .get(sts)
            .await
            .ok()
            .and_then(|s| s.spec?.replicas)
            .and_then(|r| usize::try_from(r).ok())
            .unwrap_or(1),
        None => 1,
    };
    lock(&inner.ensembles)
        .entry(key)
        .or_insert_with(|| Ensemble::new(voters))
        .clone()
}

async fn start_member(
    inner: &Inner,
    myid: u64,
    host: String,
    ensemble: Arc<Ensemble>,
) -> anyhow::Result<StandinMember> {
    let mut last = None;
    for _ in 0..8 {
        let ip = lock(&inner.ips).next_ip();
        let addr = SocketAddr::new(IpAddr::V4(ip), inner.opts.client_port);
        match StandinMember::start(addr, myid, host.clone(), ensemble.clone()).await {
            Ok(m) => return Ok(m),
            // Someone else's address: take the next one.
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::anyhow!(
        "no free loopback address for a stand-in member: {last:?}"
    ))
}
