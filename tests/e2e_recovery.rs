//! End-to-end automatic recovery on the real control plane, with real ZooKeeper and a
//! real client workload (kazoo) writing and reading throughout every fault:
//! - a partitioned member is restarted, rejoins and the ensemble is Available again;
//! - a partitioned majority: quorum restored without a human, one member at a time;
//! - the operator stopped in the middle of a recovery, and stopped between recording a
//!   restart and deleting the pod: no restart is ever issued twice;
//! - recovery disabled, then paused: Events only, nothing deleted; resumed: restarted;
//! - a member that crashes at every start: restarted, backoff, then `RecoveryExhausted`,
//!   the other members untouched.
//!
//! No acknowledged write is lost in any scenario: the workload's acknowledged creates are
//! all read back at the end.
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use support::*;
use zookeeper_operator::api::{RECOVERY_PAUSED_ANNOTATION, ZookeeperCluster};
use zookeeper_operator::telemetry::{LogFormat, init_logging};

/// The two tests each run a control plane and three JVMs; one at a time keeps their
/// timings meaningful on a small machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_members_are_restarted_safely() {
    let _serial = SERIAL.lock().await;
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "recovery";
    let (cp, client, kubelet) = control_plane_with_kubelet(ns).await;
    let mut operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    apply_cluster(&client, ns, &cluster("zk", FAST_RECOVERY, "")).await;
    let live = fully_serving(&zk, "zk", 3).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;

    // --- one member partitioned: restarted, rejoins, Available again
    let victim = members_with_role(&live, "follower")
        .pop()
        .expect("a follower");
    let before = member_pods(&pods, "zk").await;
    let told = event_count(&client, ns, "MemberRestarted", Some(&victim)).await;
    // A member still joining when the quorum first formed may have been restarted
    // already (5 s threshold on a loaded machine): count from here.
    let current = zk.get("zk").await.expect("zk");
    let restarts_before = recorded_restarts(&current, &victim);
    let all_before: u32 = current
        .status
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| m.restarts.unwrap_or(0))
        .sum();
    let fault = Instant::now();
    kubelet.cut_network(ns, &victim).await.expect("cut network");
    wait_for(
        "MemberRestarted for the partitioned member",
        WAIT,
        || async {
            (event_count(&client, ns, "MemberRestarted", Some(&victim)).await > told).then_some(())
        },
    )
    .await;
    let restarted_after = fault.elapsed();
    let live = fully_serving(&zk, "zk", 3).await;
    println!(
        "partitioned follower: restart issued after {}, full quorum after {}",
        secs(restarted_after),
        secs(fault.elapsed())
    );
    let after = member_pods(&pods, "zk").await;
    for (name, pod) in &before {
        let same = after.get(name).map(uid) == Some(uid(pod));
        assert_eq!(same, *name != victim, "{name}: only the victim is replaced");
    }
    assert_eq!(
        recorded_restarts(&live, &victim),
        restarts_before + 1,
        "{:?}",
        live.status
    );
    let member = live
        .status
        .iter()
        .flat_map(|s| &s.members)
        .find(|m| m.name == victim)
        .expect("victim in status");
    assert!(member.last_restart.is_some(), "{member:?}");
    assert!(
        operator.metrics.render().contains(&format!(
            r#"zookeeper_operator_member_restarts_total{{namespace="recovery",cluster="zk"}} {}"#,
            all_before + 1
        )),
        "{}",
        operator.metrics.render()
    );
    workload.wait_progress(50).await;

    // --- a majority partitioned: the quorum is restored without a human
    let restarts_before = event_count(&client, ns, "MemberRestarted", None).await;
    let leader = live
        .status
        .as_ref()
        .and_then(|s| s.leader.clone())
        .expect("leader");
    let follower = members_with_role(&live, "follower")
        .into_iter()
        .find(|f| *f != victim)
        .expect("another follower");
    let fault = Instant::now();
    for pod in [&leader, &follower] {
        kubelet.cut_network(ns, pod).await.expect("cut network");
    }
    wait_for("quorum lost in status", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Available")?.0 == "False").then_some(())
    })
    .await;
    let live = fully_serving(&zk, "zk", 3).await;
    let restarts = event_count(&client, ns, "MemberRestarted", None).await - restarts_before;
    println!(
        "majority partitioned: full quorum after {} with {restarts} restarts",
        secs(fault.elapsed())
    );
    assert!(
        (2..=3).contains(&restarts),
        "both partitioned members restarted, at most the third too: {restarts}"
    );
    for pod in [&leader, &follower] {
        assert!(recorded_restarts(&live, pod) >= 1, "{pod} restarted");
    }
    workload.wait_progress(50).await;

    // --- the operator stops in the middle of a recovery: the new one does not restart again
    let live = zk.get("zk").await.expect("zk");
    let target = members_with_role(&live, "follower")
        .pop()
        .expect("a follower");
    let recorded = recorded_restarts(&live, &target);
    let told = event_count(&client, ns, "MemberRestarted", Some(&target)).await;
    kubelet.cut_network(ns, &target).await.expect("cut network");
    wait_for("the restart to be issued", WAIT, || async {
        (event_count(&client, ns, "MemberRestarted", Some(&target)).await > told).then_some(())
    })
    .await;
    operator.stop().await;
    operator = Operator::start(&client);
    let live = fully_serving(&zk, "zk", 3).await;
    assert_eq!(
        recorded_restarts(&live, &target),
        recorded + 1,
        "exactly one restart across the operator restart"
    );
    assert_eq!(
        event_count(&client, ns, "MemberRestarted", Some(&target)).await,
        told + 1
    );

    // --- the operator stopped between recording a restart and deleting the pod: the new
    // one finds the record, deletes that pod (same uid) once and records nothing more
    operator.stop().await;
    let live = zk.get("zk").await.expect("zk");
    let target = members_with_role(&live, "follower")
        .pop()
        .expect("a follower");
    let myid = live
        .status
        .iter()
        .flat_map(|s| &s.members)
        .find(|m| m.name == target)
        .map(|m| m.myid)
        .expect("myid");
    let pod = member_pods(&pods, "zk")
        .await
        .remove(&target)
        .expect("target pod");
    let mut history = live
        .status
        .as_ref()
        .and_then(|s| s.recovery.clone())
        .unwrap_or_default();
    let now = zookeeper_operator::recovery::unix(std::time::SystemTime::now());
    let entry = history
        .members
        .entry(u64::try_from(myid).expect("myid"))
        .or_default();
    entry.restarts.push(now);
    entry.last_restart = Some(now);
    entry.incarnation = Some(uid(&pod));
    entry.gone_since_restart = false;
    let recorded = entry.restarts.len();
    let told = event_count(&client, ns, "MemberRestarted", Some(&target)).await;
    zk.patch_status(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"status": {"recovery": history}})),
    )
    .await
    .expect("record a restart as a stopped operator would have");
    operator = Operator::start(&client);
    wait_for("the recorded restart's pod to be deleted", WAIT, || async {
        let now = member_pods(&pods, "zk").await;
        now.get(&target)
            .is_none_or(|p| uid(p) != uid(&pod))
            .then_some(())
    })
    .await;
    let live = fully_serving(&zk, "zk", 3).await;
    let history = live
        .status
        .as_ref()
        .and_then(|s| s.recovery.clone())
        .expect("history");
    let restarts = history
        .members
        .get(&u64::try_from(myid).expect("myid"))
        .map_or(0, |m| m.restarts.len());
    assert_eq!(
        restarts, recorded,
        "the re-issued delete is not a second restart"
    );
    assert_eq!(
        event_count(&client, ns, "MemberRestarted", Some(&target)).await,
        told,
        "no new restart decided"
    );

    let acked = workload.finish(&pods, "zk").await;
    println!("zk: {acked} acknowledged writes, none lost");
    zk.delete("zk", &DeleteParams::default())
        .await
        .expect("delete zk");
    let _ = (operator.stop().await, kubelet.stop().await, cp.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_reports_when_disabled_paused_or_exhausted() {
    let _serial = SERIAL.lock().await;
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "recovery-limits";
    let (cp, client, kubelet) = control_plane_with_kubelet(ns).await;
    let operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    // Persistent storage: a member's broken data survives the restart of its pod.
    let spec = |enabled: bool| {
        format!(
            "  replicas: 3
  storage: {{mode: Persistent, size: 1Gi}}
  probes: {{readiness: {{periodSeconds: 2, failureThreshold: 2}}}}
  recovery:
    enabled: {enabled}
    notServingAfterSeconds: 5
    restartTimeoutSeconds: 15
    backoffInitialSeconds: 20
    maxRestarts: 2
    windowSeconds: 600
"
        )
    };
    apply_cluster(&client, ns, &cluster("zk", &spec(false), "")).await;
    let live = fully_serving(&zk, "zk", 3).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;

    // --- disabled: the failure is reported, nothing is deleted
    let followers = members_with_role(&live, "follower");
    let (cut, broken) = (followers[0].clone(), followers[1].clone());
    let original = member_pods(&pods, "zk").await;
    kubelet.cut_network(ns, &cut).await.expect("cut network");
    wait_for("RecoveryDisabled", WAIT, || async {
        (event_count(&client, ns, "RecoveryDisabled", Some(&cut)).await >= 1).then_some(())
    })
    .await;
    // --- paused: likewise, with its own Event
    apply_cluster(
        &client,
        ns,
        &cluster(
            "zk",
            &spec(true),
            &format!("{RECOVERY_PAUSED_ANNOTATION}: \"true\""),
        ),
    )
    .await;
    wait_for("RecoveryPaused", WAIT, || async {
        (event_count(&client, ns, "RecoveryPaused", Some(&cut)).await >= 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let now = member_pods(&pods, "zk").await;
    assert_eq!(
        now.get(&cut).map(uid),
        original.get(&cut).map(uid),
        "neither disabled nor paused recovery deletes a pod"
    );
    assert_eq!(event_count(&client, ns, "MemberRestarted", None).await, 0);

    // --- resumed: the member is restarted and rejoins
    apply_cluster(&client, ns, &cluster("zk", &spec(true), "")).await;
    wait_for("MemberRestarted once resumed", WAIT, || async {
        (event_count(&client, ns, "MemberRestarted", Some(&cut)).await >= 1).then_some(())
    })
    .await;
    fully_serving(&zk, "zk", 3).await;
    workload.wait_progress(50).await;

    // --- a member that crashes at every start: its data directory is broken on its
    // volume (myid cannot be written), so every new pod fails the same way
    let untouched: BTreeMap<String, String> = member_pods(&pods, "zk")
        .await
        .iter()
        .filter(|(name, _)| **name != broken)
        .map(|(name, pod)| (name.clone(), uid(pod)))
        .collect();
    let (code, out) = kubelet
        .exec(
            ns,
            &broken,
            "zookeeper",
            &["/bin/sh", "-c", "rm -f /data/myid && mkdir /data/myid"],
            Duration::from_secs(10),
        )
        .await
        .expect("exec");
    assert_eq!(code, 0, "{out}");
    kubelet
        .kill_container(ns, &broken, "zookeeper")
        .expect("kill the broken member");
    let fault = Instant::now();
    wait_for("RecoveryBackoff for the broken member", WAIT, || async {
        (event_count(&client, ns, "RecoveryBackoff", Some(&broken)).await >= 1).then_some(())
    })
    .await;
    let exhausted = wait_for("Degraded=RecoveryExhausted", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Degraded")? == ("True".into(), "RecoveryExhausted".into())).then_some(c)
    })
    .await;
    println!(
        "crash at every start: RecoveryExhausted after {}",
        secs(fault.elapsed())
    );
    wait_for("the RecoveryExhausted Event", WAIT, || async {
        (event_count(&client, ns, "RecoveryExhausted", Some(&broken)).await >= 1).then_some(())
    })
    .await;
    assert_eq!(
        recorded_restarts(&exhausted, &broken),
        2,
        "{:?}",
        exhausted.status
    );
    assert_eq!(
        event_count(&client, ns, "MemberRestarted", Some(&broken)).await,
        2,
        "restarted up to the cap, then stopped"
    );
    // Nothing more happens: the cap holds, the others are untouched and keep a quorum.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        event_count(&client, ns, "MemberRestarted", Some(&broken)).await,
        2
    );
    let now: BTreeMap<String, String> = member_pods(&pods, "zk")
        .await
        .iter()
        .filter(|(name, _)| **name != broken)
        .map(|(name, pod)| (name.clone(), uid(pod)))
        .collect();
    assert_eq!(now, untouched, "the healthy members are never restarted");
    let c = zk.get("zk").await.expect("zk");
    assert_eq!(
        c.status.as_ref().and_then(|s| s.quorum.clone()).as_deref(),
        Some("2/3")
    );
    assert_eq!(
        condition(&c, "Available").map(|c| c.0).as_deref(),
        Some("True")
    );
    workload.wait_progress(20).await;

    let acked = workload.finish(&pods, "zk").await;
    println!("zk (persistent): {acked} acknowledged writes, none lost");
    let _ = (operator.stop().await, kubelet.stop().await, cp.stop().await);
}
