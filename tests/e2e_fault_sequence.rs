//! What an on-call engineer is told through a fault sequence, on the real control plane
//! with real ZooKeeper and a real HTTP receiver that goes down and comes back: (a) the
//! leader killed, (b) the new leader frozen (SIGSTOP) with the receiver answering 503
//! for the first 20 s, (c) two of three members crashing right after. Afterwards the
//! receiver's view per fingerprint is what happened: every firing notice followed by
//! exactly one resolved notice, none resolved without firing, nothing firing at the end,
//! and the majority crash paged QuorumLost again. The timeline is printed.
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kube::api::Api;
use support::notifications::{paging_cluster, webhook_secret};
use support::told::{Receiver, check, print_timeline};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;

const NS: &str = "sequence";

async fn leader(api: &Api<ZookeeperCluster>) -> String {
    let c = fully_serving(api, "zk", 3).await;
    c.status.and_then(|s| s.leader).expect("a leader")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_is_told_the_truth_through_a_fault_sequence() {
    install_crypto();
    let (cp, client, kubelet) = control_plane_with_kubelet(NS).await;
    let operator = Operator::start(&client);
    let (receiver, url) = Receiver::start().await;
    webhook_secret(&client, NS, "hooks", &url).await;
    apply_cluster(&client, NS, &paging_cluster("zk")).await;
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let first = leader(&api).await;
    let t0 = Instant::now();
    let mut marks = Vec::new();

    // (a) The leader killed; back when 3/3 serve again, then its alerts resolve.
    marks.push((t0.elapsed(), format!("(a) kill leader {first}")));
    kubelet
        .kill_container(NS, &first, "zookeeper")
        .expect("kill the leader");
    let second = leader(&api).await;
    tokio::time::sleep(Duration::from_secs(25)).await;

    // (b) The new leader frozen, the receiver down for the first 20 s.
    marks.push((
        t0.elapsed(),
        format!("(b) freeze leader {second}, receiver down"),
    ));
    receiver.down.store(true, Ordering::SeqCst);
    kubelet.freeze(NS, &second).expect("freeze");
    tokio::time::sleep(Duration::from_secs(20)).await;
    marks.push((t0.elapsed(), "receiver back".into()));
    receiver.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    marks.push((t0.elapsed(), format!("thaw {second}")));
    kubelet.thaw(NS, &second).expect("thaw");
    let third = leader(&api).await;

    // (c) Right after: two of three members crash.
    let c = api.get("zk").await.expect("zk");
    let crashed: Vec<String> = c
        .status
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.name.clone()))
        .filter(|m| *m != third)
        .take(1)
        .chain([third.clone()])
        .collect();
    let crash_at = t0.elapsed();
    marks.push((crash_at, format!("(c) crash {crashed:?}")));
    for pod in &crashed {
        kubelet
            .kill_container(NS, pod, "zookeeper")
            .expect("kill a member");
    }
    // The status may still say 3/3 from before the crash: first see it page.
    wait_for(
        "QuorumLost paged by the crash",
        Duration::from_secs(60),
        || async {
            receiver
                .told(t0)
                .iter()
                .any(|t| t.alertname == "QuorumLost" && t.status == "firing" && t.at >= crash_at)
                .then_some(())
        },
    )
    .await;
    fully_serving(&api, "zk", 3).await;
    marks.push((t0.elapsed(), "3/3 serving".into()));

    let told = receiver.settled(t0).await;
    print_timeline("the first kill", marks, &told);

    let (wrong, open) = check(&told);
    assert!(wrong.is_empty(), "the receiver was told wrong: {wrong:#?}");
    assert!(open.is_empty(), "still firing at the receiver: {open:?}");
    assert!(
        told.iter()
            .any(|t| t.alertname == "QuorumLost" && t.status == "firing" && t.at >= crash_at),
        "the majority crash paged QuorumLost"
    );
    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
}
