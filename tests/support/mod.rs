//! Shared helpers for end-to-end tests: install the CRD, run the operator in-process
//! against a real control plane, apply examples, wait for conditions.
#![allow(dead_code)] // each test binary uses a different subset

pub mod bench;
pub mod notifications;
pub mod pipeline;
mod quorum_monitor;
mod recovery;
mod scale;
pub mod told;
mod workload;
#[allow(unused_imports)] // only the rolling-restart and scaling suites
pub use quorum_monitor::*;
#[allow(unused_imports)] // only the recovery suites
pub use recovery::*;
#[allow(unused_imports)] // only the scaling suites
pub use scale::*;
#[allow(unused_imports)] // not every test binary runs ZooKeeper
pub use workload::*;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, CustomResourceExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zookeeper_operator::api::{Condition, ZookeeperCluster, strip_cel_validations};
use zookeeper_operator::controller::{self, Settings};
use zookeeper_operator::telemetry::Metrics;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Installs the CRD (without CEL rules: the test server is Kubernetes 1.20) and waits
/// until it is served.
pub async fn install_crd(client: &Client) {
    let mut crd = serde_json::to_value(ZookeeperCluster::crd()).expect("crd to json");
    strip_cel_validations(&mut crd);
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        "zookeeperclusters.zookeeper.ensemble.dev",
        &PatchParams::apply("e2e-test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .expect("apply the CRD");
    wait_for(
        "the CRD to be established",
        Duration::from_secs(30),
        || async {
            let crd = api
                .get("zookeeperclusters.zookeeper.ensemble.dev")
                .await
                .ok()?;
            crd.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        },
    )
    .await;
    // Discovery can lag the Established condition by a moment.
    let zk: Api<ZookeeperCluster> = Api::all(client.clone());
    wait_for(
        "the ZookeeperCluster API to be served",
        Duration::from_secs(30),
        || async { zk.list(&Default::default()).await.ok().map(|_| ()) },
    )
    .await;
}

/// The operator's controller running in this process until dropped or stopped.
pub struct Operator {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    pub metrics: Metrics,
}

impl Operator {
    pub fn start(client: &Client) -> Self {
        // RUST_LOG=zookeeper_operator=debug shows the operator's own log in a test's output.
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let metrics = Metrics::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let ready = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(controller::run(
            client.clone(),
            Settings::default(),
            metrics.clone(),
            ready,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            stop: Some(stop),
            task: Some(task),
            metrics,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

pub async fn create_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

/// Reads an example from manifests/examples.
pub fn example(file: &str) -> ZookeeperCluster {
    let text =
        std::fs::read_to_string(format!("{ROOT}/manifests/examples/{file}")).expect("example file");
    serde_norway::from_str(&text).expect("example parses")
}

/// Creates a cluster from YAML text in `namespace` (as `kubectl apply` would).
pub async fn apply_cluster(
    client: &Client,
    namespace: &str,
    cluster: &ZookeeperCluster,
) -> ZookeeperCluster {
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), namespace);
    let mut body = serde_json::to_value(cluster).expect("cluster to json");
    body["metadata"]["namespace"] = namespace.into();
    let name = cluster.metadata.name.clone().expect("example has a name");
    api.patch(
        &name,
        &PatchParams::apply("e2e-test").force(),
        &Patch::Apply(&body),
    )
    .await
    .expect("apply the cluster")
}

/// Polls `check` every 250 ms until it yields a value; panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The condition of `type_` on the live cluster, if set.
pub fn find_condition(cluster: &ZookeeperCluster, type_: &str) -> Option<Condition> {
    cluster
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
}

/// The condition's (status, reason) on the live cluster, if set.
pub fn condition(cluster: &ZookeeperCluster, type_: &str) -> Option<(String, String)> {
    find_condition(cluster, type_).map(|c| (c.status, c.reason))
}

/// The Events with `reason` in `ns`.
pub async fn events(client: &Client, ns: &str, reason: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .collect()
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How many times an Event was recorded (the recorder folds repeats into a series),
/// optionally only those about one member's pod.
pub async fn event_count(client: &Client, ns: &str, reason: &str, pod: Option<&str>) -> i32 {
    events(client, ns, reason)
        .await
        .iter()
        .filter(|e| {
            pod.is_none_or(|p| e.related.as_ref().and_then(|r| r.name.as_deref()) == Some(p))
        })
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum()
}

/// The parts of an end-to-end test with real ZooKeeper: the control plane with the CRD
/// installed, a process kubelet, and the test's namespace.
pub async fn control_plane_with_kubelet(
    namespace: &str,
) -> (
    zk_testkit::controlplane::ControlPlane,
    Client,
    zk_testkit::kubelet::ProcessKubelet,
) {
    let cp = zk_testkit::controlplane::ControlPlane::start()
        .await
        .expect("control plane starts");
    let client = cp.client();
    install_crd(&client).await;
    let kubelet = zk_testkit::kubelet::ProcessKubelet::start(
        &cp,
        zk_testkit::kubelet::KubeletOptions::fast(),
    )
    .await
    .expect("kubelet starts");
    create_namespace(&client, namespace).await;
    (cp, client, kubelet)
}

/// The parts of an end-to-end test on a real node: the control plane with the CRD
/// installed, a real kubelet + containerd + scheduler + DNS (`zk_testkit::realnode`) and
/// the test's namespace. Waits for the node lock if another test binary holds the node.
pub async fn control_plane_with_real_node(
    namespace: &str,
) -> (
    zk_testkit::controlplane::ControlPlane,
    Client,
    zk_testkit::realnode::RealNode,
) {
    let cp = zk_testkit::controlplane::ControlPlane::start()
        .await
        .expect("control plane starts");
    let client = cp.client();
    install_crd(&client).await;
    let node = zk_testkit::realnode::RealNode::start(&cp)
        .await
        .expect("real node starts");
    println!("real node Ready in {:.1?}", node.started_in());
    create_namespace(&client, namespace).await;
    (cp, client, node)
}
