//! Pure rendering of a [`PodRecord`] into the `status` body of a JSON merge patch. Merge
//! patches replace lists wholesale, so containerStatuses and conditions are always complete;
//! conditions owned by others (readiness gates) are carried over from the live object.

use super::pod_state::{CState, ContainerRecord, PodRecord};
use k8s_openapi::api::core::v1::PodCondition;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// Condition types the kubelet owns, in the order kubectl shows them.
const OWN: [&str; 4] = ["PodScheduled", "Initialized", "ContainersReady", "Ready"];

pub fn render(rec: &PodRecord, foreign: &[PodCondition]) -> Value {
    let mut conditions: Vec<Value> = OWN
        .iter()
        .filter_map(|kind| rec.conditions.get(*kind).map(|(s, t)| (kind, s, t)))
        .map(|(kind, status, at)| {
            json!({
                "type": kind,
                "status": if *status { "True" } else { "False" },
                "lastProbeTime": null,
                "lastTransitionTime": time(*at),
            })
        })
        .collect();
    for c in foreign.iter().filter(|c| !OWN.contains(&c.type_.as_str())) {
        conditions.push(serde_json::to_value(c).unwrap_or(Value::Null));
    }
    let mut status = json!({
        "phase": rec.phase().as_str(),
        "hostIP": rec.host_ip,
        "startTime": time(rec.start_time),
        "conditions": conditions,
        "containerStatuses": rec.containers.iter().map(container).collect::<Vec<_>>(),
        "podIP": rec.pod_ip,
        "podIPs": rec.pod_ip.as_ref().map(|ip| json!([{ "ip": ip }])),
    });
    if !rec.init.is_empty() {
        status["initContainerStatuses"] = rec.init.iter().map(container).collect();
    }
    status
}

fn container(c: &ContainerRecord) -> Value {
    let mut v = json!({
        "name": c.name,
        "image": c.image,
        "imageID": "",
        "ready": c.ready,
        "started": c.started,
        "restartCount": c.restart_count,
        "state": state(&c.state, c.container_id.as_deref()),
        "lastState": c.last_state.as_ref().map_or(json!({}), |s| state(s, None)),
    });
    if let Some(id) = &c.container_id {
        v["containerID"] = json!(id);
    }
    v
}

fn state(s: &CState, id: Option<&str>) -> Value {
    match s {
        CState::Waiting { reason, message } => {
            let mut w = json!({ "reason": reason });
            if let Some(m) = message {
                w["message"] = json!(m);
            }
            json!({ "waiting": w })
        }
        CState::Running { started_at } => json!({ "running": { "startedAt": time(*started_at) } }),
        CState::Terminated {
            exit_code,
            signal,
            reason,
            message,
            started_at,
            finished_at,
        } => {
            let mut t = json!({
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": started_at.map(time),
                "finishedAt": time(*finished_at),
            });
            if let Some(sig) = signal {
                t["signal"] = json!(sig);
            }
            if let Some(m) = message {
                t["message"] = json!(m);
            }
            if let Some(id) = id {
                t["containerID"] = json!(id);
            }
            json!({ "terminated": t })
        }
    }
}

/// RFC 3339 in whole seconds, as metav1.Time serialises.
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn renders_a_running_ready_pod() {
        let t = Timestamp::from_second(1_700_000_000).expect("ts");
        let mut c = ContainerRecord::new("zk", "zookeeper:3.9");
        c.state = CState::Running { started_at: t };
        c.ready = true;
        c.started = true;
        c.restart_count = 2;
        let mut rec = PodRecord {
            restart_policy: "Always".into(),
            init: vec![],
            containers: vec![c],
            initialized: true,
            init_failed: false,
            pod_ip: Some("10.244.1.5".into()),
            host_ip: "10.244.1.1".into(),
            start_time: t,
            conditions: BTreeMap::new(),
        };
        rec.set_condition("PodScheduled", true, t);
        rec.refresh_conditions(true, t);
        let gate = PodCondition {
            type_: "example.com/gate".into(),
            status: "True".into(),
            ..Default::default()
        };
        let s = render(&rec, &[gate]);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIPs"][0]["ip"], "10.244.1.5");
        assert_eq!(s["startTime"], "2023-11-14T22:13:20Z");
        assert_eq!(s["containerStatuses"][0]["restartCount"], 2);
        assert_eq!(
            s["containerStatuses"][0]["state"]["running"]["startedAt"],
            "2023-11-14T22:13:20Z"
        );
        let kinds: Vec<&str> = s["conditions"]
            .as_array()
            .expect("conditions")
            .iter()
            .filter_map(|c| c["type"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "PodScheduled",
                "Initialized",
                "ContainersReady",
                "Ready",
                "example.com/gate"
            ]
        );
        assert!(s.get("initContainerStatuses").is_none());
    }
}
