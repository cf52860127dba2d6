//! Scaling refuses to start while a voter does not serve, and resumes by itself once it
//! does, on the real control plane with real ZooKeeper. A follower's network is cut
//! (recovery is off, so nobody restarts it), then 3 -> 5 is asked: `Progressing=False`
//! says why and names the member, the StatefulSet keeps 3 replicas and the committed
//! membership is untouched. The network comes back: the scale runs to 5 serving voters.
mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, Patch, PatchParams};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;

const NS: &str = "scaleblock";
const WAIT: Duration = Duration::from_secs(180);
async fn statefulset_replicas(sts: &Api<StatefulSet>) -> Option<i32> {
    sts.get("zk").await.ok()?.spec?.replicas
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_waits_for_every_voter_to_serve_then_resumes() {
    install_crypto();
    let (cp, client, kubelet) = control_plane_with_kubelet(NS).await;
    let operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let cluster = fast_cluster("  recovery: {enabled: false}\n");
    apply_cluster(&client, NS, &cluster).await;
    let c = fully_serving(&zk, "zk", 3).await;
    let victim = members_with_role(&c, "follower")
        .into_iter()
        .next()
        .expect("a follower");
    let victim_id: u64 = victim
        .rsplit_once('-')
        .and_then(|(_, o)| o.parse::<u64>().ok())
        .expect("ordinal")
        + 1;

    kubelet
        .cut_network(NS, &victim)
        .await
        .expect("cut the follower off");
    wait_for("the follower to stop serving", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        let down = c
            .status?
            .members
            .into_iter()
            .any(|m| m.name == victim && m.serving == Some(false));
        down.then_some(())
    })
    .await;

    zk.patch(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})),
    )
    .await
    .expect("ask for 5");
    let blocked = wait_for("Progressing to say why it waits", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        find_condition(&c, "Progressing")
            .filter(|p| p.status == "False" && p.reason.starts_with("ScalingWaits"))
    })
    .await;
    let (reason, message) = (blocked.reason, blocked.message);
    println!("blocked: {reason}: {message}");
    assert_eq!(reason, "ScalingWaitsForHealthyMembers");
    assert!(
        message.contains(&format!("member(s) {victim_id} do not serve")),
        "names the member: {message}"
    );
    // It keeps waiting: no pod is added, and the ensemble keeps its 3 voters.
    let held = Instant::now();
    while held.elapsed() < Duration::from_secs(20) {
        assert_eq!(statefulset_replicas(&sts).await, Some(3), "no member added");
        let c = zk.get("zk").await.expect("cluster");
        let quorum = c.status.and_then(|s| s.quorum);
        assert_eq!(quorum.as_deref(), Some("2/3"), "membership untouched");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    kubelet
        .restore_network(NS, &victim)
        .await
        .expect("restore the follower's network");
    let resumed = Instant::now();
    let c = fully_serving(&zk, "zk", 5).await;
    println!(
        "network restored -> 5 serving voters: {:.1}s",
        resumed.elapsed().as_secs_f64()
    );
    assert_eq!(c.status.and_then(|s| s.quorum).as_deref(), Some("5/5"));
    assert_eq!(statefulset_replicas(&sts).await, Some(5));

    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
}
