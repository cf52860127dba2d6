//! Issue 17's scenario (d), on the real control plane with real ZooKeeper and a real HTTP
//! receiver: a follower flaps (frozen 4 s, thawed 4 s, four times) and during its second
//! freeze the leader is killed, so for a few seconds two of three members are out and
//! the quorum is really lost. Afterwards the receiver's view per fingerprint alternates
//! firing and resolved, nothing is left firing, and the quorum loss paged and resolved.
//! The timeline is printed.
mod support;

use std::time::{Duration, Instant};

use kube::api::Api;
use support::notifications::{paging_cluster, webhook_secret};
use support::told::{Receiver, check, print_timeline};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;

const NS: &str = "flapping";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_follower_while_the_leader_changes_is_told_truthfully() {
    install_crypto();
    let (cp, client, kubelet) = control_plane_with_kubelet(NS).await;
    let operator = Operator::start(&client);
    let (receiver, url) = Receiver::start().await;
    webhook_secret(&client, NS, "hooks", &url).await;
    apply_cluster(&client, NS, &paging_cluster("zk")).await;
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let cluster = fully_serving(&api, "zk", 3).await;
    let leader = cluster
        .status
        .as_ref()
        .and_then(|s| s.leader.clone())
        .expect("a leader");
    let follower = cluster
        .status
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.name.clone()))
        .find(|m| *m != leader)
        .expect("a follower");
    let t0 = Instant::now();
    let mut marks = Vec::new();
    let mut killed_at = Duration::ZERO;
    for cycle in 1..=4 {
        marks.push((t0.elapsed(), format!("freeze {follower} ({cycle}/4)")));
        kubelet.freeze(NS, &follower).expect("freeze");
        if cycle == 2 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            killed_at = t0.elapsed();
            marks.push((killed_at, format!("kill leader {leader}")));
            kubelet
                .kill_container(NS, &leader, "zookeeper")
                .expect("kill the leader");
            tokio::time::sleep(Duration::from_secs(3)).await;
        } else {
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        marks.push((t0.elapsed(), format!("thaw {follower}")));
        kubelet.thaw(NS, &follower).expect("thaw");
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    fully_serving(&api, "zk", 3).await;
    marks.push((t0.elapsed(), "3/3 serving".into()));

    let told = receiver.settled(t0).await;
    print_timeline("the first freeze", marks, &told);

    let (wrong, open) = check(&told);
    assert!(wrong.is_empty(), "the receiver was told wrong: {wrong:#?}");
    assert!(open.is_empty(), "still firing at the receiver: {open:?}");
    let quorum = |status: &str| {
        told.iter()
            .any(|t| t.alertname == "QuorumLost" && t.status == status && t.at >= killed_at)
    };
    assert!(
        quorum("firing") && quorum("resolved"),
        "the quorum loss (a frozen follower and a killed leader) paged and resolved"
    );
    let members = [leader.as_str(), follower.as_str(), ""];
    let strangers: Vec<_> = told
        .iter()
        .filter(|t| t.status == "firing" && !members.contains(&t.member.as_str()))
        .collect();
    assert!(
        strangers.is_empty(),
        "only the frozen follower and the killed leader were down: {strangers:#?}"
    );
    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
}
