//! The status a kubelet reports for a pod whose containers all run and are ready.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// JSON merge patch body: Running, every condition True, one running container status per
/// container of the spec, the pod IP.
pub fn running(pod: &Pod, ip: Ipv4Addr, since: &str) -> Value {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let containers: Vec<Value> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| {
            json!({
                "name": c.name, "image": c.image.clone().unwrap_or_default(), "imageID": "",
                "containerID": format!("standin://{uid}/{}", c.name),
                "ready": true, "started": true, "restartCount": 0,
                "state": { "running": { "startedAt": since } }, "lastState": {},
            })
        })
        .collect();
    let condition = |kind: &str| {
        json!({ "type": kind, "status": "True", "lastProbeTime": null,
                "lastTransitionTime": since })
    };
    let conditions = ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map(condition);
    json!({ "status": {
        "phase": "Running",
        "hostIP": "127.0.0.1",
        "podIP": ip.to_string(),
        "podIPs": [{ "ip": ip.to_string() }],
        "startTime": since,
        "conditions": conditions,
        "containerStatuses": containers,
    }})
}
