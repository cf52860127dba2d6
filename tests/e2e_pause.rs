//! End-to-end pause on the real control plane, with real ZooKeeper and a kazoo workload
//! writing throughout (every acknowledged write read back at the end): `spec.paused: true`
//! says `Progressing=False/Paused` and one `Paused` Event; an image change meanwhile is
//! not applied (the StatefulSet keeps its template, no pod is replaced) while the status
//! still reports a healthy quorum; `paused: false` tells `Resumed` and rolls the change,
//! each member once.
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

async fn patch_spec(zk: &Api<ZookeeperCluster>, spec: serde_json::Value) {
    zk.patch(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": spec })),
    )
    .await
    .expect("patch the spec");
}

async fn template_image(sts: &Api<StatefulSet>) -> Option<String> {
    let sts = sts.get("zk").await.ok()?;
    sts.spec?
        .template
        .spec?
        .containers
        .into_iter()
        .find(|c| c.name == "zookeeper")?
        .image
}

async fn uids(pods: &Api<Pod>) -> BTreeMap<String, String> {
    member_pods(pods, "zk")
        .await
        .iter()
        .map(|(name, pod)| (name.clone(), uid(pod)))
        .collect()
}

async fn progressing_is(zk: &Api<ZookeeperCluster>, status: &str, reason: &str) -> String {
    wait_for(&format!("Progressing={status}/{reason}"), WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        let p = find_condition(&c, "Progressing")?;
        (p.status == status && p.reason == reason).then_some(p.message)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_cluster_changes_nothing_until_unpaused() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "pause";
    let (_cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    apply_cluster(
        &client,
        ns,
        &fast_cluster("  rollout: {stepTimeoutSeconds: 240}\n"),
    )
    .await;
    settled(&zk, 3).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;

    // --- paused: said once
    patch_spec(&zk, serde_json::json!({ "paused": true })).await;
    let message = progressing_is(&zk, "False", "Paused").await;
    assert!(message.starts_with("spec.paused is true"), "{message}");
    wait_for("the Paused Event", WAIT, || async {
        (event_count(&client, ns, "Paused", None).await == 1).then_some(())
    })
    .await;

    // --- an image change while paused: not applied, nobody restarted
    let before = uids(&pods).await;
    patch_spec(&zk, serde_json::json!({ "image": { "tag": "3.9.3" } })).await;
    let message = wait_for("the pause to see the new generation", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        let status = c.status.as_ref()?;
        (status.observed_generation == c.metadata.generation)
            .then(|| find_condition(&c, "Progressing").map(|p| (p.reason, p.message)))?
    })
    .await;
    assert_eq!(message.0, "Paused", "{message:?}");
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        template_image(&statefulsets).await.as_deref(),
        Some("zookeeper:3.9"),
        "the StatefulSet is not applied while paused"
    );
    assert_eq!(uids(&pods).await, before, "no pod replaced while paused");
    assert_eq!(event_count(&client, ns, "MemberRolled", None).await, 0);
    let c = zk.get("zk").await.expect("get zk");
    assert_eq!(
        condition(&c, "Available"),
        Some(("True".into(), "QuorumReady".into())),
        "health is still observed"
    );
    assert_eq!(
        c.status.as_ref().and_then(|s| s.quorum.as_deref()),
        Some("3/3")
    );
    assert_eq!(event_count(&client, ns, "Paused", None).await, 1, "once");
    workload.wait_progress(50).await;

    // --- unpaused: told, then the image change rolls each member once
    patch_spec(&zk, serde_json::json!({ "paused": false })).await;
    wait_for(
        "the roll after the pause",
        Duration::from_secs(600),
        || async {
            (event_count(&client, ns, "RollingRestartComplete", None).await >= 1).then_some(())
        },
    )
    .await;
    settled(&zk, 3).await;
    assert_eq!(event_count(&client, ns, "Resumed", None).await, 1);
    assert_eq!(
        template_image(&statefulsets).await.as_deref(),
        Some("zookeeper:3.9.3")
    );
    let rolled = notes(&client, ns, "MemberRolled").await;
    println!("MemberRolled after the pause: {rolled:#?}");
    assert_eq!(rolled.len(), 3, "each member once: {rolled:?}");
    assert!(rolled.iter().all(|(_, n)| n.ends_with("image changed")));
    let after = uids(&pods).await;
    for (name, old) in &before {
        assert_ne!(
            after.get(name),
            Some(old),
            "{name} restarted onto the image"
        );
    }
    assert_eq!(event_count(&client, ns, "Paused", None).await, 1);
    let acked = workload.finish(&pods, "zk").await;
    println!("{acked} acknowledged writes read back");
}
