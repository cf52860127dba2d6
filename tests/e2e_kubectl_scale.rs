//! End-to-end: the scale subresource on the real control plane, with real ZooKeeper and
//! the kazoo workload writing throughout. `kubectl scale zookeepercluster/zk
//! --replicas=5` (Debian's kubectl, the server's version) grows the ensemble 3 -> 5 by
//! dynamic reconfiguration, one `MemberAdded` per member; a merge patch of `/scale`
//! shrinks it back to 3 the same way. `/scale` reports the running members and a
//! selector that selects exactly the members' pods; `--replicas=0` is refused by the
//! schema and changes nothing. Every acknowledged write is read back at the end.
mod support;

use std::process::Command;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

/// Debian's kubectl (1.20, like the test server); a user's `kubectl scale`.
const KUBECTL: &str = "/usr/bin/kubectl";

fn kubectl(kubeconfig: &std::path::Path, ns: &str, args: &[&str]) -> std::process::Output {
    Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--namespace", ns])
        .args(args)
        .output()
        .expect("kubectl runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_grows_and_shrinks_by_reconfiguration() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "scale-sub";
    let (cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    apply_cluster(&client, ns, &fast_cluster("")).await;
    settled(&zk, 3).await;
    let password = super_password(&client, ns).await;
    let v3 = committed_everywhere(&pods, &password, &[1, 2, 3]).await;

    // --- /scale reads what runs and how to find it
    let scale = zk.get_scale("zk").await.expect("GET /scale");
    let status = scale.status.expect("scale status");
    assert_eq!(status.replicas, 3);
    let selector = status.selector.expect("a label selector");
    let selected = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list by the scale selector");
    let mut names: Vec<String> = selected
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["zk-0", "zk-1", "zk-2"], "selector {selector}");

    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;
    let monitor = Monitor::start(client.clone(), ns);

    // --- a user's `kubectl scale` 3 -> 5: the same one-at-a-time reconfiguration
    let started = Instant::now();
    let out = kubectl(
        cp.kubeconfig_path(),
        ns,
        &["scale", "zookeepercluster/zk", "--replicas=5"],
    );
    assert!(
        out.status.success(),
        "kubectl scale: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cluster = zk.get("zk").await.expect("get zk");
    assert_eq!(cluster.spec.replicas, 5, "the scale wrote spec.replicas");
    settled(&zk, 5).await;
    let v5 = committed_everywhere(&pods, &password, &[1, 2, 3, 4, 5]).await;
    println!("kubectl scale 3 -> 5 in {:.1?}", started.elapsed());
    assert!(v5 > v3, "a newer committed config: {v3:x} -> {v5:x}");
    assert_outages("3 -> 5", &monitor.take(), 0);
    let added = notes(&client, ns, "MemberAdded").await;
    let told: Vec<&str> = added.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        told,
        ["zk-3", "zk-4"],
        "once per member, in order: {added:?}"
    );
    let scale = zk.get_scale("zk").await.expect("GET /scale");
    assert_eq!(scale.status.map(|s| s.replicas), Some(5));
    workload.wait_progress(50).await;

    // --- zero members is no ensemble: the schema refuses it, nothing changes
    let out = kubectl(
        cp.kubeconfig_path(),
        ns,
        &["scale", "zookeepercluster/zk", "--replicas=0"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "--replicas=0 must be refused");
    assert!(
        stderr.contains("spec.replicas"),
        "names the field: {stderr}"
    );
    assert_eq!(zk.get("zk").await.expect("get zk").spec.replicas, 5);

    // --- a patch of /scale 5 -> 3: removals committed before the pods go
    let started = Instant::now();
    zk.patch_scale(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": { "replicas": 3 } })),
    )
    .await
    .expect("PATCH /scale");
    settled(&zk, 3).await;
    let v3b = committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    println!("/scale 5 -> 3 in {:.1?}", started.elapsed());
    assert!(v3b > v5);
    assert_outages(
        "5 -> 3",
        &monitor.take(),
        leader_removals(&client, ns).await,
    );
    let removed = notes(&client, ns, "MemberRemoved").await;
    assert_eq!(removed.len(), 2, "once per member: {removed:?}");
    assert_eq!(member_pods(&pods, "zk").await.len(), 3);
    assert_eq!(
        event_count(&client, ns, "MemberRolled", None).await,
        0,
        "scaling rolls no member"
    );
    drop(monitor);
    let acked = workload.finish(&pods, "zk").await;
    println!("{acked} acknowledged writes read back");
}
