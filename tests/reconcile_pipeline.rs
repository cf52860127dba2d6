//! The reconcile pipeline driven pass by pass (`support::pipeline`): the real apiserver,
//! controller-manager and StatefulSet controller, stand-in members the test crashes at
//! chosen moments, and the operator's own `reconcile()` called by the test. Every interval
//! between two passes is checked to change at most one member.
#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, ResourceQuota, Service};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use support::pipeline::{Pipeline, available};
use support::{apply_cluster, event_count};
use zookeeper_operator::api::ZookeeperCluster;

const NAME: &str = "zk";

fn three_members(recovery: serde_json::Value) -> ZookeeperCluster {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": NAME},
        "spec": {"replicas": 3, "recovery": recovery},
    }))
    .expect("a cluster")
}

/// Forms the cluster; returns it and the name of a follower's pod.
async fn formed(
    pipeline: &mut Pipeline,
    recovery: serde_json::Value,
) -> (ZookeeperCluster, String) {
    apply_cluster(&pipeline.client, &pipeline.ns, &three_members(recovery)).await;
    let cluster = pipeline
        .passes_until(NAME, "the cluster forms", 120, |c| available(c, 3))
        .await;
    let leader = cluster.status.as_ref().and_then(|s| s.leader.clone());
    let follower = ["zk-0", "zk-1", "zk-2"]
        .into_iter()
        .find(|p| Some(*p) != leader.as_deref())
        .expect("a follower");
    (cluster, follower.to_string())
}

fn any_message(cluster: &ZookeeperCluster, needle: &str) -> bool {
    Pipeline::messages(cluster)
        .iter()
        .any(|m| m.contains(needle))
}

async fn event_notes(p: &Pipeline, reason: &str) -> Vec<String> {
    support::events(&p.client, &p.ns, reason)
        .await
        .into_iter()
        .filter_map(|e| e.note)
        .collect()
}

fn roll_done(cluster: &ZookeeperCluster) -> bool {
    let rollout = cluster.status.as_ref().and_then(|s| s.rollout.as_ref());
    rollout.is_none_or(|r| r.step.is_none() && r.rolled.len() == 3) && available(cluster, 3)
}

/// Recovery wants the member the roll just restarted (its replacement does not serve),
/// and waits: the roll's step is in flight. Once the member serves, the roll goes on.
#[tokio::test]
async fn a_roll_step_in_flight_holds_recovery() {
    let mut p = Pipeline::start("pipeline-roll").await;
    formed(&mut p, serde_json::json!({"notServingAfterSeconds": 2})).await;
    p.patch_spec(NAME, serde_json::json!({"config": {"tickTime": 2200}}))
        .await;
    let cluster = p
        .passes_until(NAME, "the roll's first step", 20, |c| {
            c.status
                .as_ref()
                .and_then(|s| s.rollout.as_ref())
                .is_some_and(|r| r.step.is_some())
        })
        .await;
    let step = cluster
        .status
        .and_then(|s| s.rollout)
        .and_then(|r| r.step)
        .expect("a roll step");
    // The replacement is crashed before any pass shows it to the quorum watcher.
    let replacement = p.member(&step.pod, Some(&step.uid)).await;
    replacement.crash();
    p.set_ready(&step.pod, false).await;
    let mut held = false;
    for _ in 0..12 {
        let _ = p.pass(NAME).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            p.one_change().await,
            Vec::<String>::new(),
            "nothing restarts while the roll's step is in flight"
        );
        held |= event_notes(&p, "RecoveryPaused")
            .await
            .iter()
            .any(|n| n.contains("recovery yields to the rolling restart"));
    }
    assert!(
        held,
        "recovery said it waits for the roll: {:#?}",
        event_notes(&p, "RecoveryPaused").await
    );
    let cluster = p.cluster(NAME).await;
    let still = cluster.status.and_then(|s| s.rollout).and_then(|r| r.step);
    assert_eq!(
        still.map(|s| s.pod),
        Some(step.pod.clone()),
        "the same step stays in flight"
    );
    replacement.restore();
    p.set_ready(&step.pod, true).await;
    p.passes_until(NAME, "the roll completes", 120, roll_done)
        .await;
}

/// A follower has been down past `notServingAfterSeconds` when a roll becomes due: the
/// one pass restarts that follower (recovery) and the roll waits for it.
#[tokio::test]
async fn a_recovery_restart_holds_the_roll() {
    let mut p = Pipeline::start("pipeline-recovery").await;
    let (_, follower) = formed(&mut p, serde_json::json!({"notServingAfterSeconds": 5})).await;
    p.member(&follower, None).await.crash();
    p.set_ready(&follower, false).await;
    // A pass records when the follower began failing (the threshold counts from there),
    // before the roll is due; the next pass, past the threshold, has both to decide.
    let mut seen_down = false;
    for _ in 0..40 {
        let _ = p.pass(NAME).await;
        let history = p.cluster(NAME).await.status.and_then(|s| s.recovery);
        if history.is_some_and(|h| h.members.values().any(|m| m.failing_since.is_some())) {
            seen_down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(seen_down, "a pass records the follower failing");
    // The pass after the edit applies the new template; the StatefulSet controller then
    // publishes its revision, and the roll is due at the same pass as the restart.
    p.patch_spec(NAME, serde_json::json!({"config": {"tickTime": 2200}}))
        .await;
    let _ = p.pass(NAME).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        p.one_change().await,
        Vec::<String>::new(),
        "nothing restarted yet"
    );
    let _ = p.pass(NAME).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        p.one_change().await,
        vec![follower.clone()],
        "the pass restarts the failed follower and nothing else"
    );
    let cluster = p.cluster(NAME).await;
    let step = cluster.status.as_ref().and_then(|s| s.rollout.as_ref());
    assert!(
        step.is_none_or(|r| r.step.is_none()),
        "no roll step was taken beside the restart: {step:?}"
    );
    assert!(
        any_message(&cluster, "the roll waits for automatic recovery restarting"),
        "the roll said what it waits for: {:#?}",
        Pipeline::messages(&cluster)
    );
    p.passes_until(NAME, "the roll completes", 120, roll_done)
        .await;
}

/// A pass whose apply fails must not lose the health transitions it gathered: the next
/// pass that succeeds tells them (they were marked told before the apply once).
#[tokio::test]
async fn a_failed_apply_keeps_its_transitions_for_the_next_pass() {
    let mut p = Pipeline::start("pipeline-apply").await;
    let (_, follower) = formed(&mut p, serde_json::json!({})).await;
    let ns = p.ns.clone();
    let quotas: Api<ResourceQuota> = Api::namespaced(p.client.clone(), &ns);
    let quota: ResourceQuota = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "no-services"},
        "spec": {"hard": {"services": "0"}},
    }))
    .expect("a quota");
    quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("create the quota");
    let services: Api<Service> = Api::namespaced(p.client.clone(), &ns);
    services
        .delete("zk-client", &DeleteParams::default())
        .await
        .expect("delete the client Service");
    p.member(&follower, None).await.crash();
    p.set_ready(&follower, false).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut failed = false;
    for _ in 0..10 {
        if p.pass(NAME).await.is_err() {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        failed,
        "the apply fails while the quota forbids the Service"
    );
    assert_eq!(
        event_count(&p.client, &ns, "MemberDown", Some(&follower)).await,
        0,
        "the failed pass told nothing"
    );

    quotas
        .delete("no-services", &DeleteParams::default())
        .await
        .expect("delete the quota");
    let mut passed = false;
    for _ in 0..40 {
        if p.pass(NAME).await.is_ok() {
            passed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(passed, "a pass succeeds once the quota is gone");
    assert!(
        services.get_opt("zk-client").await.expect("read").is_some(),
        "the client Service is back"
    );
    support::wait_for(
        "the MemberDown Event of the failed pass",
        Duration::from_secs(10),
        || async {
            (event_count(&p.client, &ns, "MemberDown", Some(&follower)).await > 0).then_some(())
        },
    )
    .await;
}

/// The per-cluster memory is dropped on the delete event, and a cluster recreated under
/// the same name starts clean (a new uid, no failures carried over).
#[tokio::test]
async fn a_deleted_cluster_is_forgotten_and_its_namesake_starts_clean() {
    let mut p = Pipeline::start("pipeline-forget").await;
    let (cluster, _) = formed(&mut p, serde_json::json!({})).await;
    let first = cluster.uid().expect("a uid");
    assert_eq!(p.ctx.memory.len().expect("memory"), 1);
    assert_eq!(p.ctx.quorum.count(), 1, "one quorum watcher");
    // As if the last passes had failed: the backoff memory holds 3 failures.
    for _ in 0..3 {
        p.ctx.record_failure(&first).expect("memory");
    }

    p.clusters()
        .delete(NAME, &DeleteParams::default())
        .await
        .expect("delete the cluster");
    support::wait_for("the cluster forgotten", Duration::from_secs(30), || async {
        (p.ctx.memory.is_empty().expect("memory") && p.ctx.quorum.count() == 0).then_some(())
    })
    .await;
    p.no_pods().await;

    let (again, _) = formed(&mut p, serde_json::json!({})).await;
    let second = again.uid().expect("a uid");
    assert_ne!(first, second, "a new cluster");
    assert_eq!(
        p.ctx.memory.len().expect("memory"),
        1,
        "only the new cluster"
    );
    assert!(
        p.ctx.memory.get(&first).expect("memory").is_none(),
        "nothing kept under the old uid"
    );
    assert_eq!(
        p.ctx.record_failure(&second).expect("memory"),
        1,
        "the namesake's failures start from zero"
    );
}

/// During a stepwise shrink the members between `spec.replicas` and the StatefulSet's
/// current count still vote: an evicted pod among them keeps its claim under
/// `whenScaled: Delete` (retention once counted from `spec.replicas`). The stand-in
/// members take no reconfiguration, so the shrink holds at its first step with the
/// StatefulSet at 5; a quota keeps the evicted pod from coming back.
#[tokio::test]
async fn a_voting_member_keeps_its_claim_while_a_shrink_is_under_way() {
    let mut p = Pipeline::start("pipeline-retention").await;
    let cluster: ZookeeperCluster = serde_json::from_value(serde_json::json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": NAME},
        "spec": {"replicas": 5, "storage": {"retention": {"whenScaled": "Delete"}}},
    }))
    .expect("a cluster");
    apply_cluster(&p.client, &p.ns, &cluster).await;
    p.passes_until(NAME, "the cluster forms", 120, |c| available(c, 5))
        .await;
    p.patch_spec(NAME, serde_json::json!({"replicas": 3})).await;
    for _ in 0..4 {
        let _ = p.pass(NAME).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        p.one_change().await;
    }
    let statefulsets: Api<StatefulSet> = Api::namespaced(p.client.clone(), &p.ns);
    let live = statefulsets.get(NAME).await.expect("the StatefulSet");
    assert_eq!(
        live.spec.and_then(|s| s.replicas),
        Some(5),
        "the shrink has not removed a pod yet"
    );

    let ns = p.ns.clone();
    let quotas: Api<ResourceQuota> = Api::namespaced(p.client.clone(), &ns);
    let quota: ResourceQuota = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "no-more-pods"},
        "spec": {"hard": {"pods": "4"}},
    }))
    .expect("a quota");
    quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("create the quota");
    // The quota controller must have counted the pods before admission enforces it.
    support::wait_for("the quota counted", Duration::from_secs(30), || async {
        let q = quotas.get("no-more-pods").await.ok()?;
        let used = q.status?.used?;
        (used.get("pods")?.0 == "5").then_some(())
    })
    .await;
    let pods: Api<Pod> = Api::namespaced(p.client.clone(), &ns);
    pods.delete("zk-3", &DeleteParams::default())
        .await
        .expect("evict zk-3");
    support::wait_for("zk-3 gone", Duration::from_secs(30), || async {
        pods.get_opt("zk-3").await.ok()?.is_none().then_some(())
    })
    .await;
    p.one_change().await;

    for _ in 0..4 {
        let _ = p.pass(NAME).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(p.one_change().await, Vec::<String>::new());
    }
    assert!(
        pods.get_opt("zk-3").await.expect("read").is_none(),
        "the quota kept zk-3 away while the passes ran"
    );
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(p.client.clone(), &ns);
    let claim = claims.get_opt("data-zk-3").await.expect("read the claim");
    assert!(
        claim.is_some_and(|c| c.metadata.deletion_timestamp.is_none()),
        "zk-3 still votes (the StatefulSet has 5 replicas): its claim stays"
    );
}
