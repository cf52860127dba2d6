//! Patches the pod's status whenever the kubelet's record of it changes, and only then:
//! the last rendered status is remembered and identical renders are not sent.

use super::pod_state::PodRecord;
use super::status;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub struct Reporter {
    pub api: Api<Pod>,
    pub name: String,
    pub record: Arc<watch::Sender<PodRecord>>,
    /// Latest pod object from the watch (readiness gates, foreign conditions).
    pub pod: watch::Receiver<Arc<Pod>>,
}

impl Reporter {
    pub async fn run(mut self) {
        let mut rx = self.record.subscribe();
        let mut last: Option<Value> = None;
        loop {
            let body = self.render();
            if last.as_ref() != Some(&body) {
                match self.patch(&body).await {
                    Ok(()) => last = Some(body),
                    Err(e) => {
                        tracing::debug!(pod = %self.name, error = %e, "status patch failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return },
                r = self.pod.changed() => if r.is_err() { return },
            }
            // Coalesce bursts (a restart touches the record several times).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Refreshes conditions in the shared record (their transition times must persist) and
    /// renders the status body.
    pub fn render(&self) -> Value {
        let pod = self.pod.borrow().clone();
        let foreign = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        let gates_ok = pod
            .spec
            .as_ref()
            .and_then(|s| s.readiness_gates.as_ref())
            .is_none_or(|gates| {
                gates.iter().all(|g| {
                    foreign
                        .iter()
                        .any(|c| c.type_ == g.condition_type && c.status == "True")
                })
            });
        self.record.send_if_modified(|r| {
            let before = r.conditions.clone();
            r.refresh_conditions(gates_ok, Timestamp::now());
            r.conditions != before
        });
        let rec = self.record.borrow().clone();
        status::render(&rec, &foreign)
    }

    pub async fn patch(&self, body: &Value) -> kube::Result<()> {
        let patch = json!({ "status": body });
        self.api
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
    }
}
