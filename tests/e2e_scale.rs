//! End-to-end scaling through ZooKeeper dynamic reconfiguration on the real control plane,
//! with real ZooKeeper and the kazoo workload writing throughout (every acknowledged write
//! read back at the end): 3 -> 5 -> 3. At each size the committed membership read from
//! every member (`/zookeeper/config`, authenticated with the operator's super-user Secret)
//! lists exactly the wanted members under one version; `MemberAdded`/`MemberRemoved` are
//! told once per member, the leader (if removed) last; `Progressing` said `Scaling`.
//! Then straight back to 5 on the retained volumes (members rejoin), 5 -> 1 -> 3.
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};
use zookeeper_operator::zk::digest::super_digest_property;
use zookeeper_operator::zk::{ReconfigClient, ReconfigOptions};

const SPEC: &str = "apiVersion: zookeeper.ensemble.dev/v1alpha1
kind: ZookeeperCluster
metadata:
  name: zk
spec:
  replicas: 3
  image: {repository: zookeeper, tag: '3.9'}
  probes: {readiness: {periodSeconds: 2, failureThreshold: 2}}
";

async fn patch_replicas(zk: &Api<ZookeeperCluster>, replicas: i32) {
    zk.patch(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": { "replicas": replicas } })),
    )
    .await
    .expect("patch replicas");
}

/// The super-user password from the operator's Secret, after checking its shape.
async fn super_password(client: &Client, ns: &str) -> String {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets
        .get("zk-zookeeper-super")
        .await
        .expect("super Secret");
    let owner = secret.owner_references();
    assert!(
        owner
            .iter()
            .any(|o| o.kind == "ZookeeperCluster" && o.name == "zk"),
        "owned by the cluster: {owner:?}"
    );
    let data = secret.data.expect("data");
    let text = |k: &str| String::from_utf8(data.get(k).expect(k).0.clone()).expect("utf-8");
    let password = text("password");
    assert_eq!(password.len(), 32);
    assert_eq!(text("superDigest"), super_digest_property(&password));
    password
}

/// Waits until every live member reports the same committed membership, exactly
/// `expected`; returns its version.
async fn committed_everywhere(pods: &Api<Pod>, password: &str, expected: &[u64]) -> u64 {
    let want: BTreeSet<u64> = expected.iter().copied().collect();
    wait_for(
        &format!("committed membership {expected:?} on every member"),
        WAIT,
        || async {
            let live = member_pods(pods, "zk").await;
            if live.len() != expected.len() {
                return None;
            }
            let mut versions = BTreeSet::new();
            for pod in live.values() {
                let ip = pod.status.as_ref()?.pod_ip.clone()?;
                let addr = format!("{ip}:2181").parse().ok()?;
                let mut c = ReconfigClient::connect(addr, password, ReconfigOptions::default())
                    .await
                    .ok()?;
                let config = c.get_config().await.ok()?;
                let ids: BTreeSet<u64> = config.participants().into_iter().collect();
                if ids != want {
                    return None;
                }
                versions.insert(config.version?);
            }
            (versions.len() == 1).then(|| versions.into_iter().next())?
        },
    )
    .await
}

/// (member pod, note) of the Events with `reason`, oldest first, each repeat counted.
async fn notes(client: &Client, ns: &str, reason: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let mut events: Vec<(String, String, String)> = api
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .flat_map(|e| {
            let when = e
                .event_time
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default();
            let count = e.series.as_ref().map_or(1, |s| s.count);
            let pod = e.related.and_then(|r| r.name).unwrap_or_default();
            let note = e.note.unwrap_or_default();
            (0..count).map(move |_| (when.clone(), pod.clone(), note.clone()))
        })
        .collect();
    events.sort();
    events.into_iter().map(|(_, p, n)| (p, n)).collect()
}

/// (status, reason, message) of each `Progressing` condition seen, in order.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// The `Progressing` conditions seen, sampled every 250 ms.
fn watch_progressing(zk: Api<ZookeeperCluster>) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            if let Some(p) = zk.get("zk").await.ok().and_then(|c| {
                let c = c
                    .status?
                    .conditions
                    .into_iter()
                    .find(|c| c.type_ == "Progressing")?;
                Some((c.status, c.reason, c.message))
            }) && let Ok(mut seen) = log.lock()
                && seen.last() != Some(&p)
            {
                seen.push(p);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    (seen, task)
}

async fn settled(zk: &Api<ZookeeperCluster>, replicas: i32) -> ZookeeperCluster {
    let live = fully_serving(zk, "zk", replicas).await;
    wait_for("Progressing=False/Reconciled", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Progressing")? == ("False".into(), "Reconciled".into())).then_some(())
    })
    .await;
    live
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scales_three_five_three_by_reconfiguration_without_losing_writes() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "scale";
    let (_cp, client, _kubelet) = control_plane_with_kubelet(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let cluster: ZookeeperCluster = serde_norway::from_str(SPEC).expect("cluster yaml");
    apply_cluster(&client, ns, &cluster).await;
    settled(&zk, 3).await;
    let password = super_password(&client, ns).await;
    let v3 = committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    let workload = Workload::start(pods.clone(), "zk").await;
    workload.wait_progress(50).await;
    let (progressing, watcher) = watch_progressing(zk.clone());

    // --- grow 3 -> 5: one member at a time, each added once it follows
    let started = Instant::now();
    patch_replicas(&zk, 5).await;
    settled(&zk, 5).await;
    let v5 = committed_everywhere(&pods, &password, &[1, 2, 3, 4, 5]).await;
    println!("3 -> 5 in {:.1?}", started.elapsed());
    assert!(v5 > v3, "a newer committed config: {v3:x} -> {v5:x}");
    let added = notes(&client, ns, "MemberAdded").await;
    println!("MemberAdded: {added:#?}");
    let pods_told: Vec<&str> = added.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pods_told,
        ["zk-3", "zk-4"],
        "once per member, in order: {added:?}"
    );
    assert!(added[0].1.starts_with("member 4 joined"), "{added:?}");
    assert!(added[1].1.contains("now 1,2,3,4,5"), "{added:?}");
    workload.wait_progress(50).await;

    // --- shrink 5 -> 3: followers first, the leader last, each removal committed
    // before its pod goes
    let started = Instant::now();
    patch_replicas(&zk, 3).await;
    settled(&zk, 3).await;
    let v3b = committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    println!("5 -> 3 in {:.1?}", started.elapsed());
    assert!(v3b > v5);
    let removed = notes(&client, ns, "MemberRemoved").await;
    println!("MemberRemoved: {removed:#?}");
    let pods_told: BTreeSet<&str> = removed.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(removed.len(), 2, "once per member: {removed:?}");
    assert_eq!(pods_told, BTreeSet::from(["zk-3", "zk-4"]), "{removed:?}");
    assert!(
        !removed[0].1.contains("(the leader)"),
        "the leader goes last: {removed:?}"
    );
    assert_eq!(member_pods(&pods, "zk").await.len(), 3);
    workload.wait_progress(50).await;
    let seen = std::mem::take(&mut *progressing.lock().expect("seen"));
    println!("Progressing seen: {seen:#?}");
    for member in ["4", "5"] {
        assert!(
            seen.iter().any(|(s, r, m)| s == "True"
                && r == "Scaling"
                && m.starts_with(&format!("adding member {member}"))),
            "Progressing named the add of {member}: {seen:?}"
        );
        assert!(
            seen.iter().any(|(s, r, m)| s == "True"
                && r == "Scaling"
                && m.starts_with(&format!("removing member {member}"))),
            "Progressing named the removal of {member}: {seen:?}"
        );
    }

    // --- straight back up to 5: members 4 and 5 rejoin on their retained volumes (the
    // default retention keeps the claims), whatever membership they last saw
    let started = Instant::now();
    patch_replicas(&zk, 5).await;
    settled(&zk, 5).await;
    let v5b = committed_everywhere(&pods, &password, &[1, 2, 3, 4, 5]).await;
    println!("3 -> 5 on retained volumes in {:.1?}", started.elapsed());
    assert!(v5b > v3b);
    assert_eq!(event_count(&client, ns, "MemberAdded", None).await, 4);
    workload.wait_progress(50).await;

    // --- down to one member and back to three: the leader, if removed, goes last
    progressing.lock().expect("seen").clear();
    let started = Instant::now();
    patch_replicas(&zk, 1).await;
    settled(&zk, 1).await;
    committed_everywhere(&pods, &password, &[1]).await;
    println!("5 -> 1 in {:.1?}", started.elapsed());
    let seen = std::mem::take(&mut *progressing.lock().expect("seen"));
    let mut removals: Vec<&str> = Vec::new();
    for (_, r, m) in &seen {
        if r == "Scaling"
            && let Some(rest) = m.strip_prefix("removing member ")
            && rest.contains("from the committed membership")
            && removals.last() != Some(&rest)
        {
            removals.push(rest);
        }
    }
    println!("removals seen: {removals:#?}");
    if let Some(at) = removals.iter().position(|r| r.contains("(the leader)")) {
        assert_eq!(at, removals.len() - 1, "the leader goes last: {removals:?}");
    }
    workload.wait_progress(20).await;
    patch_replicas(&zk, 3).await;
    settled(&zk, 3).await;
    committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    workload.wait_progress(50).await;
    watcher.abort();

    assert_eq!(
        event_count(&client, ns, "MemberRemoved", None).await,
        6,
        "2 + 4 removals"
    );
    assert_eq!(
        event_count(&client, ns, "MemberRolled", None).await,
        0,
        "scaling rolls no member"
    );
    let acked = workload.finish(&pods, "zk").await;
    println!("{acked} acknowledged writes read back");
}
