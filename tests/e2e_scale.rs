//! End-to-end scaling through ZooKeeper dynamic reconfiguration on the real control plane,
//! with real ZooKeeper and the kazoo workload writing throughout (every acknowledged write
//! read back at the end): 3 -> 5 -> 3. At each size the committed membership read from
//! every member (`/zookeeper/config`, authenticated with the operator's super-user Secret)
//! lists exactly the wanted members under one version; `MemberAdded`/`MemberRemoved` are
//! told once per member, the leader (if removed) last; `Progressing` said `Scaling`.
//! Then straight back to 5 on the retained volumes (members rejoin), 5 -> 1 -> 3.
//! Throughout, the serving quorum is sampled from the members themselves: no outage of a
//! second or more, except one election per removal of the leader (bounded by
//! `LEADER_REMOVAL_OUTAGE`).
mod support;

use std::collections::BTreeSet;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use support::*;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scales_three_five_three_by_reconfiguration_without_losing_writes() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "scale";
    let (_cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let cluster = fast_cluster("");
    apply_cluster(&client, ns, &cluster).await;
    settled(&zk, 3).await;
    let password = super_password(&client, ns).await;
    let v3 = committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;
    let monitor = Monitor::start(client.clone(), ns);

    // --- grow 3 -> 5: one member at a time, each added once it follows
    let started = Instant::now();
    patch_replicas(&zk, 5).await;
    settled(&zk, 5).await;
    let v5 = committed_everywhere(&pods, &password, &[1, 2, 3, 4, 5]).await;
    println!("3 -> 5 in {:.1?}", started.elapsed());
    let grow = monitor.take();
    assert_outages("3 -> 5", &grow, 0);
    assert!(v5 > v3, "a newer committed config: {v3:x} -> {v5:x}");
    let added = notes(&client, ns, "MemberAdded").await;
    println!("MemberAdded: {added:#?}");
    let pods_told: Vec<&str> = added.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pods_told,
        ["zk-3", "zk-4"],
        "once per member, in order: {added:?}"
    );
    assert!(added[0].1.starts_with("member 4 joined"), "{added:?}");
    assert!(added[1].1.contains("now 1,2,3,4,5"), "{added:?}");
    workload.wait_progress(50).await;

    // --- shrink 5 -> 3: followers first, the leader last, each removal committed
    // before its pod goes
    let started = Instant::now();
    patch_replicas(&zk, 3).await;
    settled(&zk, 3).await;
    let v3b = committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    println!("5 -> 3 in {:.1?}", started.elapsed());
    assert!(v3b > v5);
    let shrink = monitor.take();
    assert_outages("5 -> 3", &shrink, leader_removals(&client, ns).await);
    let removed = notes(&client, ns, "MemberRemoved").await;
    println!("MemberRemoved: {removed:#?}");
    let pods_told: BTreeSet<&str> = removed.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(removed.len(), 2, "once per member: {removed:?}");
    assert_eq!(pods_told, BTreeSet::from(["zk-3", "zk-4"]), "{removed:?}");
    assert!(
        !removed[0].1.contains("(the leader)"),
        "the leader goes last: {removed:?}"
    );
    assert_eq!(member_pods(&pods, "zk").await.len(), 3);
    workload.wait_progress(50).await;
    let seen: Vec<_> = grow
        .progressing
        .into_iter()
        .chain(shrink.progressing)
        .collect();
    println!("Progressing seen: {seen:#?}");
    for member in ["4", "5"] {
        assert!(
            seen.iter().any(|(s, r, m)| s == "True"
                && r == "Scaling"
                && m.starts_with(&format!("adding member {member}"))),
            "Progressing named the add of {member}: {seen:?}"
        );
        assert!(
            seen.iter().any(|(s, r, m)| s == "True"
                && r == "Scaling"
                && m.starts_with(&format!("removing member {member}"))),
            "Progressing named the removal of {member}: {seen:?}"
        );
    }

    // --- straight back up to 5: members 4 and 5 rejoin on their retained volumes (the
    // default retention keeps the claims), whatever membership they last saw
    let started = Instant::now();
    patch_replicas(&zk, 5).await;
    settled(&zk, 5).await;
    let v5b = committed_everywhere(&pods, &password, &[1, 2, 3, 4, 5]).await;
    println!("3 -> 5 on retained volumes in {:.1?}", started.elapsed());
    assert_outages("3 -> 5 on retained volumes", &monitor.take(), 0);
    assert!(v5b > v3b);
    assert_eq!(event_count(&client, ns, "MemberAdded", None).await, 4);
    workload.wait_progress(50).await;

    // --- down to one member and back to three: the leader, if removed, goes last
    monitor.take();
    let leader_removed_before = leader_removals(&client, ns).await;
    let started = Instant::now();
    patch_replicas(&zk, 1).await;
    settled(&zk, 1).await;
    committed_everywhere(&pods, &password, &[1]).await;
    println!("5 -> 1 in {:.1?}", started.elapsed());
    let to_one = monitor.take();
    let leader_removed = leader_removals(&client, ns).await - leader_removed_before;
    assert_outages("5 -> 1", &to_one, leader_removed);
    let seen = to_one.progressing;
    let mut removals: Vec<&str> = Vec::new();
    for (_, r, m) in &seen {
        if r == "Scaling"
            && let Some(rest) = m.strip_prefix("removing member ")
            && rest.contains("from the committed membership")
            && removals.last() != Some(&rest)
        {
            removals.push(rest);
        }
    }
    println!("removals seen: {removals:#?}");
    if let Some(at) = removals.iter().position(|r| r.contains("(the leader)")) {
        assert_eq!(at, removals.len() - 1, "the leader goes last: {removals:?}");
    }
    workload.wait_progress(20).await;
    let started = Instant::now();
    patch_replicas(&zk, 3).await;
    settled(&zk, 3).await;
    committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    println!("1 -> 3 in {:.1?}", started.elapsed());
    assert_outages("1 -> 3", &monitor.take(), 0);
    workload.wait_progress(50).await;
    drop(monitor);

    assert_eq!(
        event_count(&client, ns, "MemberRemoved", None).await,
        6,
        "2 + 4 removals"
    );
    assert_eq!(
        event_count(&client, ns, "MemberRolled", None).await,
        0,
        "scaling rolls no member"
    );
    let acked = workload.finish(&pods, "zk").await;
    println!("{acked} acknowledged writes read back");
}
