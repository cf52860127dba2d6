//! Paging through the running operator on the real control plane: a member's ZooKeeper
//! process is killed (SIGKILL; the kubelet restarts it). The fault becomes a `MemberDown`
//! Event and exactly one firing Alertmanager-v4 webhook notification, and the member's
//! return exactly one resolved notice with the same fingerprint. The time from the kill
//! to the delivery is printed here and, over many trials, by `examples/paging_bench.rs`.
mod support;

use std::time::{Duration, Instant};

use kube::api::Api;
use support::notifications::{Recorder, is_notice, notices_about, paging_cluster, webhook_secret};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;

const NS: &str = "paging";
const WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_killed_member_pages_once_and_resolves_once() {
    install_crypto();
    let (cp, client, kubelet) = control_plane_with_kubelet(NS).await;
    let operator = Operator::start(&client);
    let (hook, url) = Recorder::start().await;
    webhook_secret(&client, NS, "hooks", &format!("{url}?token=s3cr3t")).await;
    apply_cluster(&client, NS, &paging_cluster("zk")).await;
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let c = fully_serving(&api, "zk", 3).await;
    let victim = members_with_role(&c, "follower")
        .into_iter()
        .next()
        .expect("a follower");
    // With forSeconds 0, a member still syncing while the ensemble forms may page; wait
    // until nothing is active about the victim, so what follows is the kill's alone.
    wait_for("no alert about the victim", WAIT, || async {
        let c = api.get("zk").await.ok()?;
        let active = c.status.and_then(|s| s.alerts).map(|a| a.active);
        let about_victim = active
            .iter()
            .flatten()
            .any(|a| a.member.as_deref() == Some(victim.as_str()));
        (!about_victim).then_some(())
    })
    .await;
    let fault = Instant::now();
    kubelet
        .kill_container(NS, &victim, "zookeeper")
        .expect("kill the member");
    let (delivered, firing) = hook
        .wait_for("the firing notice", fault, WAIT, |b| {
            is_notice(b, "firing", "MemberDown", &victim)
        })
        .await;
    println!(
        "fault -> webhook delivery: {:.3}s",
        (delivered - fault).as_secs_f64()
    );
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["receiver"], "ops");
    assert_eq!(firing["commonLabels"]["namespace"], NS);
    assert_eq!(firing["commonLabels"]["cluster"], "zk");
    let alert = firing["alerts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["labels"]["member"] == victim.as_str()))
        .expect("the member's alert");
    assert_eq!(alert["labels"]["severity"], "warning");
    assert!(alert["startsAt"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(!firing.to_string().contains("s3cr3t"));

    wait_for("the MemberDown Event", WAIT, || async {
        (event_count(&client, NS, "MemberDown", Some(&victim)).await > 0).then_some(())
    })
    .await;
    fully_serving(&api, "zk", 3).await;
    hook.wait_for("the resolved notice", fault, WAIT, |b| {
        is_notice(b, "resolved", "MemberDown", &victim)
    })
    .await;
    // Nothing more arrives about it: one firing, one resolved, the same alert (the member
    // bounced through refused -> not serving -> serving: keepFiringFor holds it).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_fault: Vec<_> = hook
        .received()
        .into_iter()
        .filter(|(at, _)| *at >= fault)
        .map(|(_, body)| body)
        .collect();
    let notices = notices_about(&after_fault, "MemberDown", &victim);
    let statuses: Vec<&str> = notices.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["firing", "resolved"], "{notices:?}");
    assert_eq!(notices[0].1, notices[1].1, "same fingerprint");

    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
}
