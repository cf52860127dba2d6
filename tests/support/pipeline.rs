//! A harness that runs the operator's `reconcile()` itself, one pass at a time, against
//! the real control plane with a scripted world: stand-in members (crash, freeze,
//! restore on demand) behind pods the real StatefulSet controller makes. The test decides
//! when a pass runs and what the world looks like in between, so a case the controller
//! loop would only hit by timing ("a crash while a roll step is in flight") is a script.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use tokio::task::JoinHandle;
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::standin::{StandinKubelet, StandinMember, StandinOptions};
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::controller::{self, Context, Error, Settings};
use zookeeper_operator::telemetry::Metrics;

use super::{create_namespace, install_crd};

/// Pods as one snapshot sees them: name -> (uid, being deleted).
pub type PodSnapshot = BTreeMap<String, (String, bool)>;

pub struct Pipeline {
    pub cp: ControlPlane,
    pub client: Client,
    pub kubelet: StandinKubelet,
    pub ctx: Arc<Context>,
    pub ns: String,
    watches: JoinHandle<()>,
    /// Pod uids seen deleted so far (each counts as one member change, once).
    deleted: BTreeSet<String>,
    last: PodSnapshot,
}

impl Pipeline {
    pub async fn start(ns: &str) -> Self {
        super::install_crypto();
        let cp = ControlPlane::start().await.expect("control plane starts");
        let client = cp.client();
        install_crd(&client).await;
        create_namespace(&client, ns).await;
        let kubelet = StandinKubelet::start(client.clone(), StandinOptions::default())
            .await
            .expect("stand-in kubelet starts");
        let (ctx, watches) =
            controller::standalone(client.clone(), Settings::default(), Metrics::default())
                .await
                .expect("the operator's context");
        Self {
            cp,
            client,
            kubelet,
            ctx,
            ns: ns.to_string(),
            watches,
            deleted: BTreeSet::new(),
            last: PodSnapshot::new(),
        }
    }

    pub fn clusters(&self) -> Api<ZookeeperCluster> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub async fn cluster(&self, name: &str) -> ZookeeperCluster {
        self.clusters().get(name).await.expect("read the cluster")
    }

    /// One reconcile of the cluster as it is now, as the Controller would run it; a
    /// failure goes through `error_policy` too (its Event, its backoff memory).
    pub async fn pass(&mut self, name: &str) -> Result<Action, Error> {
        let cluster = Arc::new(self.cluster(name).await);
        let result = controller::reconcile(cluster.clone(), self.ctx.clone()).await;
        if let Err(error) = &result {
            controller::error_policy(cluster, error, self.ctx.clone());
        }
        result
    }

    /// Passes (each after `gap`) until `done` holds for the cluster, at most `max`; every
    /// interval between two passes changes at most one member (see [`Self::one_change`]).
    pub async fn passes_until(
        &mut self,
        name: &str,
        what: &str,
        max: usize,
        done: impl Fn(&ZookeeperCluster) -> bool,
    ) -> ZookeeperCluster {
        for _ in 0..max {
            let _ = self.pass(name).await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            self.one_change().await;
            let cluster = self.cluster(name).await;
            if done(&cluster) {
                return cluster;
            }
        }
        panic!("{what}: not reached in {max} passes");
    }

    pub async fn pods(&self) -> PodSnapshot {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.ns);
        api.list(&ListParams::default())
            .await
            .expect("list pods")
            .items
            .into_iter()
            .map(|p| {
                let deleting = p.metadata.deletion_timestamp.is_some();
                (p.name_any(), (p.uid().unwrap_or_default(), deleting))
            })
            .collect()
    }

    /// The pods deleted since the last snapshot (by uid, each counted once), asserting
    /// there is at most one: recovery, the roll and scaling never change two members in
    /// one pass, and nothing else deletes pods here.
    pub async fn one_change(&mut self) -> Vec<String> {
        let now = self.pods().await;
        let mut changed = Vec::new();
        for (pod, (uid, _)) in &self.last {
            let gone = now
                .get(pod)
                .is_none_or(|(current, deleting)| current != uid || *deleting);
            if gone && self.deleted.insert(uid.clone()) {
                changed.push(pod.clone());
            }
        }
        assert!(
            changed.len() <= 1,
            "one pass changed more than one member: {changed:?}"
        );
        self.last = now;
        changed
    }

    /// Waits until the namespace has no pods, then starts counting member changes afresh
    /// (a deleted cluster's pods go all at once, by garbage collection, not by a pass).
    pub async fn no_pods(&mut self) {
        super::wait_for("every pod gone", Duration::from_secs(60), || async {
            self.pods().await.is_empty().then_some(())
        })
        .await;
        self.last = PodSnapshot::new();
    }

    /// The stand-in member serving `pod`, once its pod is not `old_uid` (a restart's
    /// replacement) and not being deleted.
    pub async fn member(&self, pod: &str, old_uid: Option<&str>) -> Arc<StandinMember> {
        super::wait_for(
            &format!("a stand-in member for {pod}"),
            Duration::from_secs(30),
            || async {
                let (uid, deleting) = self.pods().await.get(pod).cloned()?;
                (!deleting && Some(uid.as_str()) != old_uid)
                    .then(|| self.kubelet.member(&self.ns, pod))
                    .flatten()
            },
        )
        .await
    }

    /// Sets the pod's Ready condition, as a kubelet whose probe failed (or passed again)
    /// would; the stand-in kubelet reports Ready once, at start.
    pub async fn set_ready(&self, pod: &str, ready: bool) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.ns);
        // Not before the kubelet's own report, which would overwrite this one.
        super::wait_for(
            &format!("{pod} reported Ready by its kubelet"),
            Duration::from_secs(30),
            || async {
                let current = api.get_opt(pod).await.ok()??;
                (ready || zookeeper_operator::status::is_pod_ready(&current)).then_some(())
            },
        )
        .await;
        let status = if ready { "True" } else { "False" };
        let patch = serde_json::json!({"status": {"conditions": [
            {"type": "Ready", "status": status},
            {"type": "ContainersReady", "status": status},
        ]}});
        api.patch_status(pod, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .expect("patch the pod's readiness");
    }

    /// Merge-patches the cluster's spec.
    pub async fn patch_spec(&self, name: &str, spec: serde_json::Value) {
        self.clusters()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "spec": spec })),
            )
            .await
            .expect("patch the spec");
    }

    /// Every message of the cluster's conditions, one line each.
    pub fn messages(cluster: &ZookeeperCluster) -> Vec<String> {
        cluster
            .status
            .iter()
            .flat_map(|s| &s.conditions)
            .map(|c| format!("{}={} {}: {}", c.type_, c.status, c.reason, c.message))
            .collect()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.watches.abort();
    }
}

/// The cluster is Available with every member serving.
pub fn available(cluster: &ZookeeperCluster, members: usize) -> bool {
    let Some(status) = &cluster.status else {
        return false;
    };
    super::condition(cluster, "Available").is_some_and(|(s, _)| s == "True")
        && status.members.len() == members
        && status.members.iter().all(|m| m.serving == Some(true))
}
