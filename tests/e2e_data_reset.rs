//! End-to-end data reset (`spec.recovery.resetCorruptData`) on the real control plane, with
//! real ZooKeeper and a kazoo workload writing throughout. One follower's data is corrupted
//! on its volume (snapshots truncated, latest transaction log garbled) and the member is
//! killed, so ZooKeeper crash-loops on "Unable to load database on disk":
//! - reset off (the default): restarts and back-off only, the volume claim is kept;
//! - reset on: `MemberDataReset`, the claim is replaced, the member resyncs from the leader
//!   and serves a znode written before the corruption; the others are untouched.
//!
//! No acknowledged write is lost: the workload's acknowledged creates are all read back.
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use support::*;
use zk_testkit::kubelet::ProcessKubelet;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

const MARKER_ZNODE: &str = "/written-before-corruption";

/// FAST_RECOVERY with data reset on or off.
fn spec(reset: bool) -> String {
    format!("{FAST_RECOVERY}    resetCorruptData: {reset}\n")
}

/// Truncates every snapshot (ZooKeeper skips snapshots too short to be valid) and garbles
/// the newest transaction log past its file header, on the member's own /data.
const CORRUPT: &str = "set -e; cd /data/version-2; ls -l; \
    for f in snapshot.*; do [ -e \"$f\" ] && truncate -s 5 \"$f\"; done; \
    log=$(ls -t log.* | head -1); \
    printf 'garbage-garbage-garbage' | dd of=\"$log\" bs=1 seek=40 conv=notrunc";

async fn zk_cli(kubelet: &ProcessKubelet, ns: &str, pod: &str, cmd: &[&str]) -> (i32, String) {
    let mut argv = vec!["zkCli.sh", "-server", "localhost:2181"];
    argv.extend_from_slice(cmd);
    kubelet
        .exec(ns, pod, "zookeeper", &argv, Duration::from_secs(30))
        .await
        .expect("exec zkCli.sh")
}

async fn claim_uids(claims: &Api<PersistentVolumeClaim>) -> BTreeMap<String, String> {
    claims
        .list(&Default::default())
        .await
        .expect("list claims")
        .items
        .into_iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| Some((c.metadata.name?, c.metadata.uid?)))
        .collect()
}

/// The zookeeper container's last termination message and restart count.
fn last_words(pod: &Pod) -> (Option<String>, i32) {
    let status = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first());
    let message = status
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.message.clone());
    (message, status.map_or(0, |s| s.restart_count))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_member_data_is_reset_only_when_enabled() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "reset";
    let (cp, client, kubelet) = control_plane_with_kubelet(ns).await;
    let operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    apply_cluster(&client, ns, &cluster("zk", &spec(false), "")).await;
    let live = fully_serving(&zk, "zk", 3).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;

    let leader = live
        .status
        .as_ref()
        .and_then(|s| s.leader.clone())
        .expect("leader");
    let (code, out) = zk_cli(&kubelet, ns, &leader, &["create", MARKER_ZNODE, "kept"]).await;
    assert_eq!(code, 0, "{out}");
    let victim = members_with_role(&live, "follower")
        .pop()
        .expect("a follower");
    let pvc = format!("data-{victim}");
    let pods_before: BTreeMap<String, String> = member_pods(&pods, "zk")
        .await
        .iter()
        .map(|(n, p)| (n.clone(), uid(p)))
        .collect();
    let claims_before = claim_uids(&claims).await;
    assert_eq!(claims_before.len(), 3, "{claims_before:?}");
    workload.wait_progress(20).await;

    // --- the corruption, then a kill so ZooKeeper restarts on it
    let (code, out) = kubelet
        .exec(
            ns,
            &victim,
            "zookeeper",
            &["/bin/sh", "-c", CORRUPT],
            Duration::from_secs(10),
        )
        .await
        .expect("exec");
    assert_eq!(code, 0, "{out}");
    println!("corrupted {victim}:\n{out}");
    kubelet
        .kill_container(ns, &victim, "zookeeper")
        .expect("kill the victim");
    let fault = Instant::now();

    // --- reset off: the member crash-loops on its data; restarts only, the claim stays
    let words = wait_for("the victim crash-looping on its data", WAIT, || async {
        let p = pods.get(&victim).await.ok()?;
        let (message, restarts) = last_words(&p);
        let message = message?;
        (message.contains("Unable to load database on disk") && restarts >= 2).then_some(message)
    })
    .await;
    println!(
        "crash loop after {}; termination message:\n{words}",
        secs(fault.elapsed())
    );
    assert!(zookeeper_operator::recovery::corrupt_data(&words));
    tokio::time::sleep(Duration::from_secs(15)).await;
    let claims_now = claim_uids(&claims).await;
    assert_eq!(
        claims_now.get(&pvc),
        claims_before.get(&pvc),
        "reset off: the claim is kept"
    );
    assert_eq!(event_count(&client, ns, "MemberDataReset", None).await, 0);
    let (_, restarts) = last_words(&pods.get(&victim).await.expect("victim"));
    let operator_restarts = event_count(&client, ns, "MemberRestarted", Some(&victim)).await;
    assert!(
        restarts >= 2 || operator_restarts >= 1,
        "restarts only: {restarts} container restarts, {operator_restarts} pod restarts"
    );
    let c = zk.get("zk").await.expect("zk");
    assert_eq!(
        c.status.as_ref().and_then(|s| s.quorum.clone()).as_deref(),
        Some("2/3"),
        "the member stays down without a reset"
    );

    // --- reset on: the claim is replaced and the member resyncs from the leader
    let enabled = Instant::now();
    apply_cluster(&client, ns, &cluster("zk", &spec(true), "")).await;
    wait_for("MemberDataReset for the victim", WAIT, || async {
        (event_count(&client, ns, "MemberDataReset", Some(&victim)).await >= 1).then_some(())
    })
    .await;
    let reset_after = enabled.elapsed();
    let new_claim = wait_for("a new claim for the victim", WAIT, || async {
        let now = claim_uids(&claims).await;
        let uid = now.get(&pvc)?;
        (Some(uid) != claims_before.get(&pvc)).then(|| uid.clone())
    })
    .await;
    fully_serving(&zk, "zk", 3).await;
    println!(
        "reset issued {} after enabling, 3/3 serving after {} (new claim {new_claim})",
        secs(reset_after),
        secs(enabled.elapsed())
    );
    let (code, out) = zk_cli(&kubelet, ns, &victim, &["get", MARKER_ZNODE]).await;
    assert!(
        code == 0 && out.lines().any(|l| l.trim() == "kept"),
        "the reset member serves the data written before: {out}"
    );
    assert_eq!(event_count(&client, ns, "MemberDataReset", None).await, 1);
    let pods_after = member_pods(&pods, "zk").await;
    let claims_after = claim_uids(&claims).await;
    for (name, before) in &pods_before {
        let same_pod = pods_after.get(name).map(uid).as_ref() == Some(before);
        assert_eq!(
            same_pod,
            *name != victim,
            "{name}: only the victim's pod is new"
        );
        let claim = format!("data-{name}");
        let same_claim = claims_after.get(&claim) == claims_before.get(&claim);
        assert_eq!(
            same_claim,
            *name != victim,
            "{claim}: only the victim's is new"
        );
    }
    workload.wait_progress(50).await;

    let acked = workload.finish(&pods, "zk").await;
    println!("zk (data reset): {acked} acknowledged writes, none lost");
    let _ = (operator.stop().await, kubelet.stop().await, cp.stop().await);
}
