//! The stand-in kubelet's Node: Ready, with a Lease renewed every 10 s, so the node
//! lifecycle controller never taints it and the pod GC never deletes its pods as orphans.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const LEASE_RENEW: Duration = Duration::from_secs(10);
const STATUS_HEARTBEAT: Duration = Duration::from_secs(30);

pub async fn register(client: &Client, name: &str) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let node = Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(BTreeMap::from([
                ("kubernetes.io/hostname".to_string(), name.to_string()),
                ("zk-testkit/standin-kubelet".to_string(), "true".to_string()),
            ])),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    heartbeat(client, name).await?;
    renew_lease(client, name).await
}

async fn heartbeat(client: &Client, name: &str) -> anyhow::Result<()> {
    let now = Timestamp::now().to_string();
    let capacity = json!({ "cpu": "64", "memory": "256Gi", "pods": "10000" });
    let status = json!({ "status": {
        "capacity": capacity, "allocatable": capacity,
        "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
                         "lastHeartbeatTime": now, "lastTransitionTime": now }],
        "addresses": [{ "type": "InternalIP", "address": "127.0.0.1" },
                      { "type": "Hostname", "address": name }],
        "nodeInfo": { "machineID": "standin", "systemUUID": "standin", "bootID": "standin",
            "kernelVersion": "", "osImage": "zk-testkit stand-in kubelet",
            "containerRuntimeVersion": "standin://0", "kubeletVersion": "v1.20.2",
            "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux",
            "architecture": "amd64" },
    }});
    let api: Api<Node> = Api::all(client.clone());
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

async fn renew_lease(client: &Client, name: &str) -> anyhow::Result<()> {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let spec = LeaseSpec {
        holder_identity: Some(name.to_string()),
        lease_duration_seconds: Some(40),
        renew_time: Some(MicroTime(Timestamp::now())),
        ..Default::default()
    };
    let patch = json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": { "name": name }, "spec": spec,
    });
    let pp = PatchParams::apply("zk-testkit-standin").force();
    api.patch(name, &pp, &Patch::Apply(&patch)).await?;
    Ok(())
}

/// Lease renewals and status heartbeats until aborted; failures retry next period.
pub async fn keep_alive(client: Client, name: String) {
    let mut lease = tokio::time::interval(LEASE_RENEW);
    let mut status = tokio::time::interval(STATUS_HEARTBEAT);
    loop {
        tokio::select! {
            _ = lease.tick() => if let Err(e) = renew_lease(&client, &name).await {
                tracing::warn!(error = %e, "stand-in node lease");
            },
            _ = status.tick() => if let Err(e) = heartbeat(&client, &name).await {
                tracing::warn!(error = %e, "stand-in node heartbeat");
            },
        }
    }
}

pub async fn deregister(client: &Client, name: &str) {
    let _ = Api::<Node>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
    let _ = Api::<Lease>::namespaced(client.clone(), "kube-node-lease")
        .delete(name, &DeleteParams::default())
        .await;
}
