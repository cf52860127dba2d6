//! End-to-end restart on demand on the real control plane, with real ZooKeeper and a kazoo
//! workload writing throughout (every acknowledged write read back at the end):
//! - the annotation `zookeeper.ensemble.dev/restart-requested-at` with a timestamp
//!   restarts every member exactly once, followers first, the leader (as named in status
//!   before) last, each `MemberRolled` saying "restart requested"; the quorum is lost at
//!   most once; `status.restartedAt` records the timestamp once the last one is back;
//! - an unparsable value: a Warning Event `InvalidRestartRequest` naming the annotation,
//!   the Available message carries it, and no pod is replaced; the same instant written
//!   another way and then removing the annotation restart nothing either.
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use support::*;
use zookeeper_operator::api::{RESTART_REQUESTED_AT_ANNOTATION, ZookeeperCluster};
use zookeeper_operator::telemetry::{LogFormat, init_logging};

const STAMP: &str = "2026-12-07T15:00:00Z";

async fn annotate(zk: &Api<ZookeeperCluster>, value: Option<&str>) {
    zk.patch(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({
            "metadata": { "annotations": { RESTART_REQUESTED_AT_ANNOTATION: value } }
        })),
    )
    .await
    .expect("annotate the cluster");
}

fn restarted_at(c: &ZookeeperCluster) -> Option<String> {
    c.status.as_ref().and_then(|s| s.restarted_at.clone())
}

async fn uids(pods: &Api<Pod>) -> BTreeMap<String, String> {
    member_pods(pods, "zk")
        .await
        .iter()
        .map(|(name, pod)| (name.clone(), uid(pod)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_request_rolls_every_member_once_leader_last() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "restart";
    let (_cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    apply_cluster(
        &client,
        ns,
        &fast_cluster("  rollout: {stepTimeoutSeconds: 240}\n"),
    )
    .await;
    let live = settled(&zk, 3).await;
    assert_eq!(restarted_at(&live), None, "nothing asked yet");
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;
    let monitor = Monitor::start(client.clone(), ns);
    tokio::time::sleep(Duration::from_secs(1)).await;

    // --- a restart request: each member once, followers first, the leader last
    let leader = live
        .status
        .as_ref()
        .and_then(|s| s.leader.clone())
        .expect("a leader in status");
    let before = uids(&pods).await;
    let started = Instant::now();
    annotate(&zk, Some(STAMP)).await;
    let live = wait_for(
        "status.restartedAt to record the request",
        Duration::from_secs(600),
        || async {
            let c = zk.get("zk").await.ok()?;
            (restarted_at(&c).as_deref() == Some(STAMP)).then_some(c)
        },
    )
    .await;
    println!("restart of 3 members in {:.1?}", started.elapsed());
    let seen = monitor.take();
    let rolled = notes(&client, ns, "MemberRolled").await;
    println!("MemberRolled: {rolled:#?}");
    let order: Vec<&str> = rolled.iter().map(|(pod, _)| pod.as_str()).collect();
    assert_eq!(order.len(), 3, "one MemberRolled per member: {rolled:?}");
    assert_eq!(order[2], leader, "the leader before the restart goes last");
    for (i, (pod, note)) in rolled.iter().enumerate() {
        let role = if *pod == leader { "leader" } else { "follower" };
        assert_eq!(
            note,
            &format!("restarting {pod} ({role}) {}/3: restart requested", i + 1)
        );
    }
    let after = uids(&pods).await;
    for (name, old) in &before {
        let seen_uids = &seen.uids[name];
        assert_eq!(seen_uids.len(), 2, "{name} replaced once: {seen_uids:?}");
        assert_eq!(&seen_uids[0], old);
        assert_ne!(after.get(name), Some(old), "{name} is a new pod");
    }
    let outages = seen.outages(Duration::from_secs(1));
    println!("quorum outages (>= 1 s): {outages:?}");
    assert!(outages.len() <= 1, "one leader change at most: {outages:?}");
    assert!(outages.iter().all(|d| *d < Duration::from_secs(30)));
    assert_eq!(
        condition(&live, "Available"),
        Some(("True".into(), "QuorumReady".into()))
    );
    workload.wait_progress(50).await;

    // --- an unparsable value: told once, naming the annotation; nothing restarts
    annotate(&zk, Some("yesterday")).await;
    let warnings = wait_for("the InvalidRestartRequest Event", WAIT, || async {
        let found = notes(&client, ns, "InvalidRestartRequest").await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    println!("InvalidRestartRequest: {warnings:?}");
    assert!(
        warnings[0].1.contains(RESTART_REQUESTED_AT_ANNOTATION)
            && warnings[0].1.contains("yesterday"),
        "{warnings:?}"
    );
    let available = wait_for("the warning in the Available message", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        let message = find_condition(&c, "Available")?.message;
        message.contains("yesterday").then_some(message)
    })
    .await;
    assert!(
        available.contains(RESTART_REQUESTED_AT_ANNOTATION),
        "{available}"
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(uids(&pods).await, after, "no pod replaced for a bad value");

    // --- the same instant spelled another way, then no annotation: still nothing
    annotate(&zk, Some("2026-12-07T16:00:00+01:00")).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    annotate(&zk, None).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        uids(&pods).await,
        after,
        "nothing restarted since the request"
    );
    assert_eq!(event_count(&client, ns, "MemberRolled", None).await, 3);
    assert_eq!(
        event_count(&client, ns, "InvalidRestartRequest", None).await,
        1,
        "told once"
    );
    let c = zk.get("zk").await.expect("get zk");
    assert_eq!(restarted_at(&c).as_deref(), Some(STAMP));
    let available = find_condition(&c, "Available").expect("Available").message;
    assert!(
        !available.contains("yesterday"),
        "warning gone: {available}"
    );
    drop(monitor);
    let acked = workload.finish(&pods, "zk").await;
    println!("{acked} acknowledged writes read back");
}
