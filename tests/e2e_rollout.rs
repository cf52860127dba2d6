//! End-to-end leader-last rolling restarts on the real control plane, with real ZooKeeper
//! and a kazoo workload writing throughout (every acknowledged write read back at the end):
//! - a config change (tickTime): every member restarted exactly once, followers first, the
//!   leader (as named in status before the roll) last, as the order of `MemberRolled`
//!   Events and of pod replacements shows; the quorum is lost at most once, for one leader
//!   change; `Progressing` names each member while it runs and is False again at the end;
//! - an image tag change with the operator stopped right after the first restart and a
//!   new one started: it resumes, no member is restarted twice, the leader still last;
//! - an image that cannot start: the first member restarted never comes back, the roll
//!   stops with `Progressing=False/RollingRestartStalled` and an Event, nothing else is
//!   touched; the image rolled back: the stuck member is restarted onto it, Available.
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

fn leader_of(c: &ZookeeperCluster) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.leader.clone())
        .expect("a leader in status")
}

async fn patch_spec(zk: &Api<ZookeeperCluster>, spec: serde_json::Value) {
    zk.patch(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": spec })),
    )
    .await
    .expect("patch the spec");
}

/// Waits for the end of a roll: `RollingRestartComplete` told `n` times in all, every
/// member serving, `Progressing` False again.
async fn roll_complete(client: &Client, zk: &Api<ZookeeperCluster>, n: i32) -> ZookeeperCluster {
    wait_for("the roll to complete", Duration::from_secs(600), || async {
        (event_count(client, "rollout", "RollingRestartComplete", None).await >= n).then_some(())
    })
    .await;
    let live = fully_serving(zk, "zk", 3).await;
    wait_for("Progressing=False/Reconciled", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Progressing")? == ("False".into(), "Reconciled".into())).then_some(())
    })
    .await;
    live
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restarts_go_leader_last_without_losing_writes() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "rollout";
    let (_cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let mut operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let cluster = fast_cluster("  rollout: {stepTimeoutSeconds: 240}\n");
    apply_cluster(&client, ns, &cluster).await;
    let live = fully_serving(&zk, "zk", 3).await;
    assert_eq!(
        event_count(&client, ns, "MemberRolled", None).await,
        0,
        "a new cluster is not rolled"
    );
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;
    let monitor = Monitor::start(client.clone(), ns);
    tokio::time::sleep(Duration::from_secs(1)).await;

    // --- 1. a config change: each member once, followers first, the leader last
    let leader = leader_of(&live);
    let before = member_pods(&pods, "zk").await;
    let started = Instant::now();
    patch_spec(&zk, serde_json::json!({"config": {"tickTime": 2200}})).await;
    let live = roll_complete(&client, &zk, 1).await;
    let took = started.elapsed();
    let seen = monitor.take();
    let events = notes(&client, ns, "MemberRolled").await;
    println!(
        "config roll: {} for 3 members; events {events:#?}",
        secs(took)
    );
    println!("progressing seen: {:#?}", seen.progressing);
    let outages = seen.outages(Duration::from_secs(1));
    println!("quorum outages (>= 1 s): {outages:?}");
    let order: Vec<&str> = events.iter().map(|(pod, _)| pod.as_str()).collect();
    assert_eq!(order.len(), 3, "one MemberRolled per member: {events:?}");
    assert_eq!(
        order[2], leader,
        "the leader before the roll is restarted last"
    );
    assert_eq!(seen.replaced, order, "pods were replaced in the order told");
    for (i, (pod, note)) in events.iter().enumerate() {
        let role = if *pod == leader { "leader" } else { "follower" };
        let expected = format!(
            "restarting {pod} ({role}) {}/3: configuration changed",
            i + 1
        );
        assert_eq!(note, &expected);
    }
    let after = member_pods(&pods, "zk").await;
    for (name, pod) in &before {
        let uids = &seen.uids[name];
        assert_eq!(uids.len(), 2, "{name} replaced exactly once: {uids:?}");
        assert_eq!(uids[0], uid(pod));
        assert_eq!(after.get(name).map(uid).as_ref(), uids.last());
    }
    assert!(
        seen.progressing.iter().any(|(s, r, m)| s == "True"
            && r == "RollingRestart"
            && m.starts_with(&format!(
                "restarting {leader} (leader) 3/3: configuration changed"
            ))),
        "Progressing named the leader's step: {:?}",
        seen.progressing
    );
    assert!(
        outages.len() <= 1,
        "the quorum is lost at most once (the leader change): {outages:?}"
    );
    assert!(
        outages.iter().all(|d| *d < Duration::from_secs(30)),
        "one leader change, not a long outage: {outages:?}"
    );
    assert_eq!(live.status.as_ref().and_then(|s| s.rollout.clone()), None);
    assert_eq!(
        condition(&live, "Available"),
        Some(("True".into(), "QuorumReady".into()))
    );
    workload.wait_progress(50).await;

    // --- 2. an image change; the operator stops right after the first restart
    let leader = leader_of(&live);
    let started = Instant::now();
    patch_spec(&zk, serde_json::json!({"image": {"tag": "3.9.3"}})).await;
    wait_for("the first restart of the image roll", WAIT, || async {
        (event_count(&client, ns, "MemberRolled", None).await >= 4).then_some(())
    })
    .await;
    operator.stop().await;
    let first = monitor.seen.lock().expect("monitor").replaced.clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    operator = Operator::start(&client);
    let live = roll_complete(&client, &zk, 2).await;
    assert_eq!(live.status.as_ref().and_then(|s| s.rollout.clone()), None);
    let seen = monitor.take();
    println!(
        "image roll across an operator restart: {}; replaced {:?} (before the stop: {first:?}); outages {:?}",
        secs(started.elapsed()),
        seen.replaced,
        seen.outages(Duration::from_secs(1))
    );
    assert_eq!(
        seen.replaced.len(),
        3,
        "each member once: {:?}",
        seen.replaced
    );
    for name in before.keys() {
        assert_eq!(
            seen.uids[name].len(),
            3,
            "{name}: once per roll: {:?}",
            seen.uids[name]
        );
    }
    assert_eq!(
        seen.replaced[2], leader,
        "the leader last: {:?}",
        seen.replaced
    );
    for name in before.keys() {
        assert_eq!(
            event_count(&client, ns, "MemberRolled", Some(name)).await,
            2,
            "{name} rolled once per change"
        );
    }
    let images: Vec<String> = member_pods(&pods, "zk")
        .await
        .values()
        .filter_map(|p| p.spec.as_ref()?.containers.first()?.image.clone())
        .collect();
    assert_eq!(images, ["zookeeper:3.9.3"; 3]);
    assert!(seen.outages(Duration::from_secs(1)).len() <= 1);
    workload.wait_progress(50).await;

    // --- 3. an image that cannot start: the roll stalls after one member, clearly
    let stall_timeout = 15;
    let untouched: BTreeMap<String, String> = member_pods(&pods, "zk")
        .await
        .iter()
        .map(|(n, p)| (n.clone(), uid(p)))
        .collect();
    patch_spec(
        &zk,
        serde_json::json!({"image": {"repository": "busybox"},
                           "rollout": {"stepTimeoutSeconds": stall_timeout}}),
    )
    .await;
    let stalled = wait_for("Progressing=False/RollingRestartStalled", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Progressing")?.1 == "RollingRestartStalled").then_some(c)
    })
    .await;
    let message = stalled
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Progressing"))
        .map(|c| c.message.clone())
        .unwrap_or_default();
    println!("stalled: {message}");
    assert!(
        message.contains(&format!("did not rejoin within {stall_timeout}s")),
        "{message}"
    );
    assert!(message.contains("1/3: image changed"), "{message}");
    assert_eq!(
        condition(&stalled, "Available").map(|c| c.0).as_deref(),
        Some("True")
    );
    assert!(event_count(&client, ns, "RollingRestartStalled", None).await >= 1);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let now = member_pods(&pods, "zk").await;
    let changed: Vec<&String> = untouched
        .iter()
        .filter(|(n, u)| now.get(*n).map(uid).as_ref() != Some(*u))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        changed.len(),
        1,
        "only one member restarted while stalled: {changed:?}"
    );
    assert_eq!(event_count(&client, ns, "MemberRolled", None).await, 7);
    let s = zk.get("zk").await.expect("zk");
    assert_eq!(s.status.and_then(|s| s.quorum).as_deref(), Some("2/3"));

    // --- the image rolled back: the stuck member goes onto it, nothing else moves
    patch_spec(
        &zk,
        serde_json::json!({"image": {"repository": "zookeeper"}}),
    )
    .await;
    let live = fully_serving(&zk, "zk", 3).await;
    wait_for("Progressing=False/Reconciled", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Progressing")? == ("False".into(), "Reconciled".into())).then_some(())
    })
    .await;
    let now = member_pods(&pods, "zk").await;
    for (name, old) in &untouched {
        let same = now.get(name).map(uid).as_ref() == Some(old);
        assert_eq!(
            same,
            name != changed[0],
            "{name}: only the stuck member moved"
        );
    }
    assert_eq!(
        condition(&live, "Available"),
        Some(("True".into(), "QuorumReady".into()))
    );

    workload.wait_progress(50).await;
    let acked = workload.finish(&pods, "zk").await;
    println!("acknowledged writes, all read back: {acked}");
    drop(monitor);
    operator.stop().await;
}
