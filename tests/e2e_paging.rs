//! Paging through the running operator on the real control plane: a member's ZooKeeper
//! process is killed (SIGKILL; the kubelet restarts it). The fault becomes a `MemberDown`
//! Event and exactly one firing Alertmanager-v4 webhook notification, and the member's
//! return exactly one resolved notice with the same fingerprint. The time from the kill
//! to the delivery is printed here and, over many trials, by `examples/paging_bench.rs`.
//!
//! A second receiver names a Secret that does not exist yet: the cluster's
//! `NotificationsReady` condition and a Warning Event say so from the start, the first
//! receiver pages regardless, and creating the Secret clears the condition; what was
//! queued for it about an alert that resolved meanwhile is withdrawn, not told stale.
mod support;

use std::time::{Duration, Instant};

use kube::api::Api;
use serde_json::json;
use support::notifications::{Recorder, is_notice, notices_about, paging_cluster, webhook_secret};
use support::*;
use zookeeper_operator::api::{NOTIFICATIONS_READY, ZookeeperCluster};

const NS: &str = "paging";
const WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn a_killed_member_pages_once_and_resolves_once() {
    install_crypto();
    let (cp, client, kubelet) = control_plane_with_kubelet(NS).await;
    let operator = Operator::start(&client);
    let (hook, url) = Recorder::start().await;
    webhook_secret(&client, NS, "hooks", &format!("{url}?token=s3cr3t")).await;
    let mut cluster = paging_cluster("zk");
    if let Some(n) = cluster.spec.notifications.as_mut() {
        n.receivers.push(
            serde_json::from_value(json!({"name": "pager", "sendResolved": true,
                "webhook": {"urlSecret": {"name": "pager-hook", "key": "url"}}}))
            .expect("receiver"),
        );
    }
    apply_cluster(&client, NS, &cluster).await;
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let c = fully_serving(&api, "zk", 3).await;

    // The missing Secret is reported before any fault needs it: condition and Event.
    let missing = wait_for("NotificationsReady=False", WAIT, || async {
        let c = api.get("zk").await.ok()?;
        find_condition(&c, NOTIFICATIONS_READY).filter(|c| c.status == "False")
    })
    .await;
    assert_eq!(missing.reason, "NotificationSecretInvalid");
    assert!(
        missing.message.contains("receiver pager")
            && missing
                .message
                .contains("Secret paging/pager-hook not found")
            && !missing.message.contains("receiver ops"),
        "{}",
        missing.message
    );
    // Each repeat counted: one Event naming the receiver and the Secret, told once.
    let told: Vec<String> = notes(&client, NS, "NotificationSecretInvalid")
        .await
        .into_iter()
        .map(|(_, note)| note)
        .collect();
    assert_eq!(told, ["receiver pager: Secret paging/pager-hook not found"]);
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
    assert_eq!(
        event_count(&client, NS, "NotificationSecretInvalid", None).await,
        1,
        "the same problem is not told again at every reconcile or delivery attempt"
    );

    // Creating the Secret clears the condition, and what waited for it is delivered.
    let (pager, pager_url) = Recorder::start().await;
    let fixed = Instant::now();
    webhook_secret(&client, NS, "pager-hook", &pager_url).await;
    let ready = wait_for("NotificationsReady=True", WAIT, || async {
        let c = api.get("zk").await.ok()?;
        find_condition(&c, NOTIFICATIONS_READY).filter(|c| c.status == "True")
    })
    .await;
    assert_eq!(ready.message, "2 receivers ready");
    println!(
        "Secret created -> condition cleared: {:.1}s",
        fixed.elapsed().as_secs_f64()
    );
    // What waited for it told of an alert that resolved before the pager could hear it
    // fire: withdrawn, firing and resolved notice both (a firing notice about something
    // over, or a resolved one about something never heard of, would be untrue). The
    // outbox empties and the pager hears nothing about it.
    wait_for("nothing left undelivered", WAIT, || async {
        let c = api.get("zk").await.ok()?;
        let status = c.status?;
        status
            .alerts
            .is_none_or(|a| a.undelivered == 0)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let queued = notices_about(&pager.bodies(), "MemberDown", &victim);
    assert!(queued.is_empty(), "nothing stale told: {queued:?}");

    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
}
