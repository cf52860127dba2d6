//! The operator stopped in the middle of a scale and a new one started: it resumes from
//! what the world shows (nothing about a step is persisted). 3 -> 5 with the operator
//! stopped right after the first member joined, then 5 -> 3 with it stopped right after
//! the first removal, the kazoo workload writing throughout. Each time the scale
//! completes, the committed membership on every member lists exactly the wanted ids,
//! each member was added or removed once (one Event each), no
//! quorum outage of a second or more beyond one election per removal of the leader, no
//! `MemberDown` about a member the scale-down removed, and every acknowledged write is
//! read back at the end.
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};
use zookeeper_operator::zk::{FourLetterClient, ProbeLimits};

/// Reasons of a reconfig that failed (`ReconfigError::reason`), retried by design: told,
/// not asserted (a busy machine can see a transient one).
const RECONFIG_FAILURES: [&str; 7] = [
    "NewConfigNoQuorum",
    "ReconfigInProgress",
    "BadVersion",
    "ZooKeeperError",
    "Timeout",
    "Closed",
    "ConnectRefused",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_resumes_after_the_operator_is_stopped_mid_change() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "scale-resume";
    let (_cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let mut operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let cluster = fast_cluster("");
    apply_cluster(&client, ns, &cluster).await;
    settled(&zk, 3).await;
    let password = super_password(&client, ns).await;
    committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;
    let monitor = Monitor::start(client.clone(), ns);

    // --- 3 -> 5, the operator stopped once member 4 joined (member 5 not yet started)
    let started = Instant::now();
    patch_replicas(&zk, 5).await;
    wait_for("member 4 to join", WAIT, || async {
        (event_count(&client, ns, "MemberAdded", None).await >= 1).then_some(())
    })
    .await;
    operator.stop().await;
    let at_stop = member_pods(&pods, "zk").await.len();
    println!("operator stopped after the first add, {at_stop} member pods");
    tokio::time::sleep(Duration::from_secs(3)).await;
    operator = Operator::start(&client);
    settled(&zk, 5).await;
    committed_everywhere(&pods, &password, &[1, 2, 3, 4, 5]).await;
    println!(
        "3 -> 5 across an operator restart in {:.1?}",
        started.elapsed()
    );
    let added = notes(&client, ns, "MemberAdded").await;
    println!("MemberAdded: {added:#?}");
    let pods_told: Vec<&str> = added.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pods_told,
        ["zk-3", "zk-4"],
        "each member added once: {added:?}"
    );
    assert_outages("3 -> 5 across an operator restart", &monitor.take(), 0);
    workload.wait_progress(50).await;

    // --- 5 -> 3, the operator stopped once the first member left the membership
    let down_before = member_down_about(&client, ns, ["zk-3", "zk-4"]).await;
    let started = Instant::now();
    patch_replicas(&zk, 3).await;
    wait_for("the first removal", WAIT, || async {
        (event_count(&client, ns, "MemberRemoved", None).await >= 1).then_some(())
    })
    .await;
    operator.stop().await;
    println!(
        "operator stopped after the first removal; members answer: {:?}",
        modes(&pods).await
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    operator = Operator::start(&client);
    settled(&zk, 3).await;
    committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    println!(
        "5 -> 3 across an operator restart in {:.1?}",
        started.elapsed()
    );
    let removed = notes(&client, ns, "MemberRemoved").await;
    println!("MemberRemoved: {removed:#?}");
    let pods_told: BTreeSet<&str> = removed.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(removed.len(), 2, "each member removed once: {removed:?}");
    assert_eq!(pods_told, BTreeSet::from(["zk-3", "zk-4"]), "{removed:?}");
    let shrink = monitor.take();
    println!("Progressing seen: {:#?}", shrink.progressing);
    assert_outages(
        "5 -> 3 across an operator restart",
        &shrink,
        leader_removals(&client, ns).await,
    );
    let down_after = member_down_about(&client, ns, ["zk-3", "zk-4"]).await;
    println!(
        "MemberDown told: {:#?}",
        notes(&client, ns, "MemberDown").await
    );
    assert_eq!(
        down_after, down_before,
        "members the scale-down removed are not reported down"
    );
    for reason in RECONFIG_FAILURES {
        let n = event_count(&client, ns, reason, None).await;
        if n > 0 {
            println!("reconfig retried after {reason}: {n} time(s)");
        }
    }
    assert_eq!(member_pods(&pods, "zk").await.len(), 3);

    workload.wait_progress(50).await;
    let acked = workload.finish(&pods, "zk").await;
    println!("{acked} acknowledged writes read back");
    drop(monitor);
    operator.stop().await;
}

/// `MemberDown` Events about these pods so far.
async fn member_down_about(client: &kube::Client, ns: &str, pods: [&str; 2]) -> i32 {
    let mut n = 0;
    for pod in pods {
        n += event_count(client, ns, "MemberDown", Some(pod)).await;
    }
    n
}

/// How each member pod (terminating ones too) answers `srvr`: a removed member whose pod
/// still runs does not serve.
async fn modes(pods: &Api<Pod>) -> Vec<(String, String)> {
    let listed = pods
        .list(&ListParams::default().labels("app.kubernetes.io/instance=zk"))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let mut out = Vec::new();
    for pod in listed {
        let name = pod.name_any();
        let Some(addr) = pod
            .status
            .and_then(|s| s.pod_ip)
            .and_then(|ip| format!("{ip}:2181").parse().ok())
        else {
            continue;
        };
        let client = FourLetterClient::new(addr, ProbeLimits::with_timeout(Duration::from_secs(2)));
        let answer = match client.srvr().await {
            Ok(srvr) => format!("{:?}", srvr.mode),
            Err(error) => error.to_string(),
        };
        out.push((name, answer));
    }
    out
}
