//! The life of one pod on this node: sandbox (netns, IP, hosts file), volumes, init
//! containers, containers, then on deletion a graceful stop, teardown, and removal of the
//! pod object (grace 0), which is what lets a StatefulSet create the replacement.

use super::automount;
use super::context::Shared;
use super::downward::PodFacts;
use super::env::pod_hostname;
use super::pod_ctx::PodCtx;
use super::pod_state::{CState, ContainerRecord, PodRecord};
use super::reporter::Reporter;
use super::sandbox::Sandbox;
use super::state_handle::StateHandle;
use super::supervisor::{self, Outcome};
use super::volumes::{VolumeContext, VolumeSet};
use k8s_openapi::api::core::v1::{Pod, Volume};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Preconditions};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The manager's handle on a running worker.
pub struct WorkerHandle {
    pub pod_tx: watch::Sender<Arc<Pod>>,
    /// Set when the pod object vanished from the API (force delete): stop at once.
    pub gone_tx: watch::Sender<bool>,
    pub join: tokio::task::JoinHandle<()>,
}

pub fn spawn(shared: Arc<Shared>, pod: Arc<Pod>) -> WorkerHandle {
    let (pod_tx, pod_rx) = watch::channel(pod);
    let (gone_tx, gone_rx) = watch::channel(false);
    let join = tokio::spawn(run(shared, pod_rx, gone_rx));
    WorkerHandle {
        pod_tx,
        gone_tx,
        join,
    }
}

/// Grace period the pod's deletion asks for, if it is being deleted.
fn deletion_grace(pod: &Pod) -> Option<Duration> {
    pod.metadata.deletion_timestamp.as_ref()?;
    let secs = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30);
    Some(Duration::from_secs(secs.max(0) as u64))
}

/// Turns pod updates / disappearance into a single stop signal with a grace period.
async fn watch_for_stop(
    mut pod_rx: watch::Receiver<Arc<Pod>>,
    mut gone_rx: watch::Receiver<bool>,
    stop_tx: watch::Sender<Option<Duration>>,
) {
    loop {
        if *gone_rx.borrow() {
            stop_tx.send_replace(Some(Duration::ZERO));
            return;
        }
        let grace = deletion_grace(&pod_rx.borrow());
        if let Some(g) = grace
            && stop_tx.borrow().is_none()
        {
            tracing::debug!(grace = ?g, "pod deletion observed");
            stop_tx.send_replace(Some(g));
        }
        tokio::select! {
            r = pod_rx.changed() => if r.is_err() { return },
            r = gone_rx.changed() => if r.is_err() { return },
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    pod_rx: watch::Receiver<Arc<Pod>>,
    gone_rx: watch::Receiver<bool>,
) {
    let pod = pod_rx.borrow().clone();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);

    let (stop_tx, stop_rx) = watch::channel(None);
    let stop_watch = tokio::spawn(watch_for_stop(pod_rx.clone(), gone_rx.clone(), stop_tx));

    let sandbox = match Sandbox::create(&shared, &pod).await {
        Ok(s) => s,
        Err(e) => {
            // Without a sandbox nothing can run; say so on the pod and wait for deletion.
            tracing::warn!(pod = %name, error = %e, "creating the pod sandbox");
            report_sandbox_failure(&api, &name, &e).await;
            let mut stop = stop_rx.clone();
            let _ = stop.wait_for(Option::is_some).await;
            stop_watch.abort();
            let gone = *gone_rx.borrow();
            finish(&api, &name, &uid, gone).await;
            return;
        }
    };

    let record = Arc::new(watch::Sender::new(initial_record(&pod, &sandbox, &shared)));
    let reporter = tokio::spawn(
        Reporter {
            api: api.clone(),
            name: name.clone(),
            record: record.clone(),
            pod: pod_rx.clone(),
        }
        .run(),
    );

    let outcome = run_pod(&shared, &pod, &sandbox, &record, stop_rx.clone()).await;
    tracing::debug!(pod = %name, ?outcome, "pod containers finished");

    // Deletion (or a terminal phase) reached: wait until the pod is really being deleted.
    let mut stop = stop_rx.clone();
    let _ = stop.wait_for(Option::is_some).await;
    tracing::debug!(pod = %name, "tearing down the sandbox");
    shared.registry.mark_terminating(&uid);
    sandbox.destroy(&shared).await;
    shared.dns_kick.notify_one();
    reporter.abort();
    stop_watch.abort();
    let gone = *gone_rx.borrow();
    if !gone {
        // Final word on the containers before the object goes away.
        let r = Reporter {
            api: api.clone(),
            name: name.clone(),
            record,
            pod: pod_rx.clone(),
        };
        let body = r.render();
        let _ = r.patch(&body).await;
    }
    finish(&api, &name, &uid, gone).await;
    tracing::debug!(pod = %name, gone, "pod finished");
}

/// Volumes, init containers, then all containers until they end for good or stop.
async fn run_pod(
    shared: &Arc<Shared>,
    pod: &Arc<Pod>,
    sandbox: &Sandbox,
    record: &Arc<watch::Sender<PodRecord>>,
    stop_rx: watch::Receiver<Option<Duration>>,
) -> Option<Outcome> {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut volumes_list: Vec<Volume> = spec.volumes.clone().unwrap_or_default();
    let extra_mount = match automount::needs_synthetic(&shared.client, pod).await {
        Ok(true) => {
            volumes_list.push(automount::synthetic_volume());
            Some(automount::synthetic_mount())
        }
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "checking service account automount");
            None
        }
    };
    let facts = sandbox.facts(shared);
    let mut volumes = VolumeSet::default();
    let mut ctx = PodCtx {
        shared: shared.clone(),
        pod: pod.clone(),
        net: sandbox.net.clone(),
        facts: facts.clone(),
        hostname: pod_hostname(pod),
        pod_dir: sandbox.pod_dir.clone(),
        log_dir: sandbox.log_dir.clone(),
        volume_dirs: BTreeMap::new(),
        extra_mount,
        stop: stop_rx,
    };

    // Volumes first: containers wait in ContainerCreating until every volume is there.
    loop {
        let vctx = volume_ctx(shared, pod, &facts, sandbox);
        match volumes.sync(&vctx, &volumes_list).await {
            Ok(()) => break,
            Err(msg) => {
                record.send_if_modified(|r| {
                    let mut changed = false;
                    for c in r.init.iter_mut().chain(r.containers.iter_mut()) {
                        let want = CState::waiting("ContainerCreating", Some(msg.clone()));
                        changed |= c.state != want;
                        c.state = want;
                    }
                    changed
                });
                if !ctx.sleep_unless_stopped(Duration::from_secs(2)).await {
                    return None;
                }
            }
        }
    }
    ctx.volume_dirs = volumes.dirs.clone();
    let ctx = Arc::new(ctx);
    let ctls = sandbox.ctls.clone();

    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let handle = StateHandle {
            tx: record.clone(),
            init: true,
            index: i,
        };
        let ctl = ctls.get(&c.name).cloned().unwrap_or_default();
        match supervisor::supervise(ctx.clone(), c.clone(), handle, ctl).await {
            Outcome::Exited { success: true } => {}
            Outcome::Exited { success: false } => {
                record.send_modify(|r| r.init_failed = true);
                return Some(Outcome::Exited { success: false });
            }
            Outcome::Stopped => return Some(Outcome::Stopped),
        }
    }
    record.send_modify(|r| r.initialized = true);

    let mut set = JoinSet::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let handle = StateHandle {
            tx: record.clone(),
            init: false,
            index: i,
        };
        let ctl = ctls.get(&c.name).cloned().unwrap_or_default();
        set.spawn(supervisor::supervise(ctx.clone(), c.clone(), handle, ctl));
    }
    // ConfigMap/Secret/token contents follow the API while the containers run.
    let refresh = async {
        loop {
            tokio::time::sleep(shared.opts.volume_refresh).await;
            let vctx = volume_ctx(shared, pod, &facts, sandbox);
            if let Err(e) = volumes.sync(&vctx, &volumes_list).await {
                tracing::debug!(error = %e, "refreshing volumes");
            }
        }
    };
    let all_done = async {
        let mut last = None;
        while let Some(r) = set.join_next().await {
            last = r.ok();
        }
        last
    };
    tokio::select! {
        r = all_done => r,
        () = refresh => None,
    }
}

fn volume_ctx<'a>(
    shared: &'a Shared,
    pod: &'a Pod,
    facts: &'a PodFacts,
    sandbox: &'a Sandbox,
) -> VolumeContext<'a> {
    VolumeContext {
        client: &shared.client,
        pod,
        facts,
        pod_dir: &sandbox.pod_dir,
        pvc_root: sandbox.pvc_root.as_path(),
        ca_pem: &shared.ca_pem,
    }
}

fn initial_record(pod: &Pod, sandbox: &Sandbox, shared: &Shared) -> PodRecord {
    let spec = pod.spec.clone().unwrap_or_default();
    let rec = |c: &k8s_openapi::api::core::v1::Container| {
        ContainerRecord::new(&c.name, c.image.as_deref().unwrap_or_default())
    };
    let now = Timestamp::now();
    let mut r = PodRecord {
        restart_policy: spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into()),
        init: spec.init_containers.iter().flatten().map(rec).collect(),
        containers: spec.containers.iter().map(rec).collect(),
        initialized: spec.init_containers.as_ref().is_none_or(Vec::is_empty),
        init_failed: false,
        pod_ip: Some(sandbox.net.ip.to_string()),
        host_ip: shared.names.gateway().to_string(),
        start_time: now,
        conditions: BTreeMap::new(),
    };
    r.set_condition("PodScheduled", true, now);
    r
}

async fn report_sandbox_failure(api: &Api<Pod>, name: &str, e: &anyhow::Error) {
    let patch = serde_json::json!({ "status": {
        "phase": "Pending",
        "conditions": [{ "type": "PodScheduled", "status": "True" },
                       { "type": "Ready", "status": "False", "reason": "SandboxFailed", "message": format!("{e:#}") }],
    }});
    let _ = api
        .patch_status(name, &Default::default(), &kube::api::Patch::Merge(&patch))
        .await;
}

/// Removes the pod object (grace 0, only this incarnation), unless it is already gone.
async fn finish(api: &Api<Pod>, name: &str, uid: &str, gone: bool) {
    if gone {
        return;
    }
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    if let Err(e) = api.delete(name, &dp).await {
        tracing::debug!(pod = %name, error = %e, "final pod delete");
    }
}
