//! The Node object: registered Ready with capacity and addresses, kept alive by a Lease in
//! kube-node-lease and periodic status heartbeats, so the node lifecycle controller never
//! marks it NotReady, taints it or evicts its pods.

use super::context::Shared;
use super::status::time;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Labels every node carries, plus the configured extras.
pub fn labels(shared: &Shared) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        (
            "kubernetes.io/hostname".to_string(),
            shared.node_name.clone(),
        ),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        (
            "kubernetes.io/arch".to_string(),
            std::env::consts::ARCH
                .replace("x86_64", "amd64")
                .replace("aarch64", "arm64"),
        ),
        ("zk-testkit/process-kubelet".to_string(), "true".to_string()),
    ]);
    l.extend(shared.opts.node_labels.iter().cloned());
    l
}

/// The status body: Ready and the pressure conditions all fine, capacity from the host.
pub fn status(shared: &Shared, since: Timestamp) -> Value {
    let now = time(Timestamp::now());
    let since = time(since);
    let cond = |kind: &str, status: &str, reason: &str| {
        json!({ "type": kind, "status": status, "reason": reason,
                "lastHeartbeatTime": now, "lastTransitionTime": since })
    };
    let capacity = json!({
        "cpu": format!("{}", shared.node_cpu_cores as i64),
        "memory": format!("{}Ki", (shared.node_memory_bytes / 1024.0) as i64),
        "pods": "250",
        "ephemeral-storage": "100Gi",
    });
    json!({
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID"),
            cond("Ready", "True", "KubeletReady"),
        ],
        "addresses": [
            { "type": "InternalIP", "address": shared.names.gateway().to_string() },
            { "type": "Hostname", "address": shared.node_name },
        ],
        "daemonEndpoints": { "kubeletEndpoint": { "Port": 10250 } },
        "nodeInfo": {
            "machineID": "zk-testkit", "systemUUID": "zk-testkit", "bootID": "zk-testkit",
            "kernelVersion": "", "osImage": "zk-testkit process kubelet",
            "containerRuntimeVersion": "process://zk-testkit", "kubeletVersion": "v1.20.2",
            "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH,
        },
    })
}

/// Creates (or adopts) the Node and reports it Ready.
pub async fn register(shared: &Shared, since: Timestamp) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(shared.client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(shared.node_name.clone()),
            labels: Some(labels(shared)),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let patch = json!({ "metadata": { "labels": labels(shared) } });
            api.patch(
                &shared.node_name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        }
        Err(e) => return Err(e.into()),
    }
    heartbeat(shared, since).await
}

async fn heartbeat(shared: &Shared, since: Timestamp) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(shared.client.clone());
    let patch = json!({ "status": status(shared, since) });
    api.patch_status(
        &shared.node_name,
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Status heartbeats and lease renewals until aborted. Failures are retried next period.
pub async fn keep_alive(shared: Arc<Shared>, since: Timestamp) {
    let mut status_tick = tokio::time::interval(shared.opts.status_heartbeat);
    let mut lease_tick = tokio::time::interval(shared.opts.lease_renew);
    loop {
        tokio::select! {
            _ = status_tick.tick() => {
                if let Err(e) = heartbeat(&shared, since).await {
                    tracing::warn!(error = %e, "node status heartbeat");
                }
            }
            _ = lease_tick.tick() => {
                if let Err(e) = renew_lease(&shared).await {
                    tracing::warn!(error = %e, "node lease renewal");
                }
            }
        }
    }
}

async fn renew_lease(shared: &Shared) -> anyhow::Result<()> {
    let api: Api<Lease> = Api::namespaced(shared.client.clone(), "kube-node-lease");
    let spec = LeaseSpec {
        holder_identity: Some(shared.node_name.clone()),
        lease_duration_seconds: Some(40),
        renew_time: Some(MicroTime(Timestamp::now())),
        ..Default::default()
    };
    let patch = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": { "name": shared.node_name },
        "spec": spec,
    });
    let pp = PatchParams::apply("zk-testkit-kubelet").force();
    api.patch(&shared.node_name, &pp, &Patch::Apply(&patch))
        .await?;
    Ok(())
}

/// Removes the Node and its Lease (the pod GC controller then cleans up its pods).
pub async fn deregister(shared: &Shared) {
    let nodes: Api<Node> = Api::all(shared.client.clone());
    let _ = nodes
        .delete(&shared.node_name, &DeleteParams::default())
        .await;
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), "kube-node-lease");
    let _ = leases
        .delete(&shared.node_name, &DeleteParams::default())
        .await;
}
