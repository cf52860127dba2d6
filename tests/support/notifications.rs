//! Notification test support: a real HTTP receiver that records every request body (as
//! JSON) with its arrival time, the webhook Secret, and a deliverer that retries fast.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use zookeeper_operator::controller::notifications::FaultInput;
use zookeeper_operator::health::{EnsembleAssessment, MemberId};
use zookeeper_operator::notify::{Deliverer, RetryPolicy};

type Seen = Arc<Mutex<Vec<(Instant, Value)>>>;

#[derive(Clone, Default)]
pub struct Recorder {
    seen: Seen,
}

async fn record(State(seen): State<Seen>, body: Bytes) -> &'static str {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut seen) = seen.lock() {
        seen.push((Instant::now(), value));
    }
    "ok"
}

impl Recorder {
    /// Serves on `listener` until the test's runtime ends.
    pub async fn serve_on(listener: tokio::net::TcpListener) -> Self {
        let recorder = Self::default();
        let app = Router::new()
            .fallback(record)
            .with_state(recorder.seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        recorder
    }

    /// Serves on a free loopback port; returns the recorder and its URL.
    pub async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        (
            Self::serve_on(listener).await,
            format!("http://{addr}/hook"),
        )
    }

    /// Every body received so far, oldest first.
    pub fn bodies(&self) -> Vec<Value> {
        self.received().into_iter().map(|(_, v)| v).collect()
    }

    pub fn received(&self) -> Vec<(Instant, Value)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until a body received at or after `since` matches; its arrival time.
    pub async fn wait_for(
        &self,
        what: &str,
        since: Instant,
        timeout: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> (Instant, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            let hit = self
                .received()
                .into_iter()
                .find(|(at, v)| *at >= since && matches(v));
            if let Some(hit) = hit {
                return hit;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The Alertmanager v4 notifications in `bodies` about `alertname` of `member`, as
/// (status, fingerprint) pairs.
pub fn notices_about(bodies: &[Value], alertname: &str, member: &str) -> Vec<(String, String)> {
    bodies
        .iter()
        .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == alertname && a["labels"]["member"] == member)
        .map(|a| {
            (
                a["status"].as_str().unwrap_or_default().to_string(),
                a["fingerprint"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A Secret `name` in `ns` holding the webhook URL under `url`.
pub async fn webhook_secret(client: &Client, ns: &str, name: &str, url: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {"url": url}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&secret),
        )
        .await
        .expect("apply the webhook secret");
}

/// One attempt per round, 10 ms apart: tests see a failure at once instead of after the
/// production backoff.
pub fn fast_deliverer() -> Deliverer {
    Deliverer::new(
        RetryPolicy {
            attempts: 1,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(1),
        },
        "",
    )
    .expect("an HTTP client")
}

/// A 3-member cluster paging the webhook in Secret `hooks` (receiver `ops`) as soon as a
/// fault is seen (`forSeconds: 0`), resolved notices included.
pub fn paging_cluster(name: &str) -> zookeeper_operator::api::ZookeeperCluster {
    serde_json::from_value(json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": name},
        "spec": {"replicas": 3, "notifications": {"forSeconds": 0, "receivers": [
            {"name": "ops", "sendResolved": true,
             "webhook": {"urlSecret": {"name": "hooks", "key": "url"}}}
        ]}}
    }))
    .expect("cluster")
}

/// True when `body` tells that `alertname` of `member` is `status` (alert-level: a
/// notification may group a resolved alert with others still firing).
pub fn is_notice(body: &Value, status: &str, alertname: &str, member: &str) -> bool {
    notices_about(std::slice::from_ref(body), alertname, member)
        .iter()
        .any(|(s, _)| s == status)
}

static NOBODY_RESTARTING: std::collections::BTreeSet<MemberId> = std::collections::BTreeSet::new();

/// The faults of one pass over a formed cluster: `assessment`'s, no recovery decision,
/// nobody restarted by the operator.
pub fn faults_of(assessment: &EnsembleAssessment) -> FaultInput<'_> {
    FaultInput {
        assessment: Some(assessment),
        decisions: &[],
        restarting: &NOBODY_RESTARTING,
        forming: false,
    }
}
