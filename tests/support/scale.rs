//! Helpers of the scaling end-to-end tests (cluster `zk`): the replicas patched, the
//! operator's super-user password, the committed membership read from every member, the
//! notes of Events in order, "settled".
use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::zk::digest::super_digest_property;
use zookeeper_operator::zk::{ReconfigClient, ReconfigOptions};

use super::{Seen, WAIT, condition, events, fully_serving, member_pods, wait_for};

pub async fn patch_replicas(zk: &Api<ZookeeperCluster>, replicas: i32) {
    zk.patch(
        "zk",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": { "replicas": replicas } })),
    )
    .await
    .expect("patch replicas");
}

/// The super-user password from the operator's Secret, after checking its shape.
pub async fn super_password(client: &Client, ns: &str) -> String {
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
pub async fn committed_everywhere(pods: &Api<Pod>, password: &str, expected: &[u64]) -> u64 {
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
pub async fn notes(client: &Client, ns: &str, reason: &str) -> Vec<(String, String)> {
    let mut events: Vec<(String, String, String)> = events(client, ns, reason)
        .await
        .into_iter()
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

/// The cluster at `replicas` members, every one serving, `Progressing` False again.
pub async fn settled(zk: &Api<ZookeeperCluster>, replicas: i32) -> ZookeeperCluster {
    let live = fully_serving(zk, "zk", replicas).await;
    wait_for("Progressing=False/Reconciled", WAIT, || async {
        let c = zk.get("zk").await.ok()?;
        (condition(&c, "Progressing")? == ("False".into(), "Reconciled".into())).then_some(())
    })
    .await;
    live
}

/// The longest quorum outage one removal of the leader may cost: the remaining voters
/// elect a new leader, which takes ZooKeeper a few seconds; the bound is generous for a
/// loaded 2-core machine, as the rolling restart's for its one leader change.
pub const LEADER_REMOVAL_OUTAGE: Duration = Duration::from_secs(30);

/// How many removals of the leader were told (`MemberRemoved` notes say "(the leader)").
pub async fn leader_removals(client: &Client, ns: &str) -> usize {
    notes(client, ns, "MemberRemoved")
        .await
        .iter()
        .filter(|(_, note)| note.contains("(the leader)"))
        .count()
}

/// Prints the quorum outages of one phase and asserts: with no removal of the leader, none
/// of a second or more (a membership change needs no election); otherwise at most one
/// per removal of the leader, each shorter than `LEADER_REMOVAL_OUTAGE`.
pub fn assert_outages(phase: &str, seen: &Seen, leader_removed: usize) {
    let outages = seen.outages(Duration::from_secs(1));
    // The resolution: an outage shorter than the widest gap between samples may be missed.
    let widest = seen
        .quorum
        .windows(2)
        .map(|w| w[1].0.duration_since(w[0].0))
        .max()
        .unwrap_or_default();
    println!(
        "{phase}: quorum outages (>= 1 s): {outages:?}; leader removals: {leader_removed}; {} samples, at most {widest:?} apart",
        seen.quorum.len()
    );
    assert!(
        outages.len() <= leader_removed,
        "{phase}: at most one outage per removal of the leader: {outages:?}"
    );
    assert!(
        outages.iter().all(|d| *d < LEADER_REMOVAL_OUTAGE),
        "{phase}: an election, not a long outage: {outages:?}"
    );
}
