//! End-to-end with real ZooKeeper: the real control plane, the process kubelet and the
//! operator turn the 3-member example into a real ensemble. A real client (kazoo) writes
//! on one member and reads on another; faults injected through the kubelet (kill,
//! freeze, majority loss) become the quorum-health Events and status; deleting the cluster
//! collects its objects and PVCs follow the retention policy.
mod support;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use support::*;
use zookeeper_operator::api::ZookeeperCluster;

const WAIT: Duration = Duration::from_secs(120);
const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/zk_client.py");

/// Runs the kazoo client; panics with its stderr on failure.
fn zk_client(args: &[&str]) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg(CLIENT)
        .args(args)
        .output()
        .expect("run the kazoo client");
    assert!(
        out.status.success(),
        "zk_client {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `srvr`'s Mode line from a member, if it serves.
async fn mode(ip: Ipv4Addr) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect((ip, 2181)),
    )
    .await
    .ok()?
    .ok()?;
    stream.write_all(b"srvr").await.ok()?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut out))
        .await
        .ok()?
        .ok()?;
    out.lines()
        .find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
}

async fn pod_ips(pods: &Api<Pod>) -> Vec<(String, Ipv4Addr)> {
    let mut out: Vec<_> = pods
        .list(&ListParams::default().labels("app.kubernetes.io/instance=zk"))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let ip = p.status.as_ref()?.pod_ip.as_ref()?.parse().ok()?;
            Some((p.name_any(), ip))
        })
        .collect();
    out.sort();
    out
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_becomes_a_real_ensemble() {
    install_crypto();
    let started = Instant::now();
    let ns = "ensemble";
    let (cp, client, kubelet) = control_plane_with_kubelet(ns).await;
    let operator = Operator::start(&client);
    apply_cluster(&client, ns, &example("zookeeper-3.yaml")).await;

    // --- a quorum forms; pods become Ready through their real probes; Available=True
    let zk_api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let live = wait_for("Available=True", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (condition(&c, "Available")?.0 == "True").then_some(c)
    })
    .await;
    println!("ensemble Available {:.1?} after start", started.elapsed());
    let status = live.status.as_ref().expect("status");
    assert!(
        status.leader.is_some(),
        "Available means a leader: {status:?}"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    wait_for("all three members Ready", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (c.status?.ready_replicas == 3).then_some(())
    })
    .await;
    let ips = pod_ips(&pods).await;
    assert_eq!(ips.len(), 3, "{ips:?}");
    let mut modes = Vec::new();
    for (_, ip) in &ips {
        modes.push(mode(*ip).await.unwrap_or_default());
    }
    modes.sort();
    assert_eq!(
        modes,
        ["follower", "follower", "leader"],
        "exactly one leader"
    );

    // --- a real client writes through one member and reads through another
    let first = format!("{}:2181", ips[0].1);
    let last = format!("{}:2181", ips[2].1);
    zk_client(&["write", &first, "/e2e/greeting", "hello from zk-0"]);
    assert_eq!(
        zk_client(&["read", &last, "/e2e/greeting"]),
        "hello from zk-0"
    );

    // --- forming is progress, not a fault: the operator wrote no Warning Event while
    //     the cluster formed nor in the seconds after (followers not yet serving at the
    //     first quorum once paged as down), and told its members joining
    tokio::time::sleep(Duration::from_secs(10)).await;
    let all: Vec<Event> = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("events")
        .items;
    let ours = |e: &&Event| e.reporting_controller.as_deref() == Some("zookeeper-operator");
    let warnings: Vec<String> = all
        .iter()
        .filter(ours)
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        // About this Kubernetes 1.20 server (no policy/v1), not about the ensemble.
        .filter(|e| e.reason.as_deref() != Some("PodDisruptionBudgetUnsupported"))
        .map(|e| format!("{:?}: {:?}", e.reason, e.note))
        .collect();
    assert!(
        warnings.is_empty(),
        "a normally forming cluster warned: {warnings:#?}"
    );
    let told: Vec<&str> = all
        .iter()
        .filter(ours)
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert!(
        told.contains(&"MemberJoined"),
        "formation told as progress: {told:?}"
    );

    // --- quorum health in status: leader, quorum, roles
    let live = wait_for("leader and quorum 3/3 in status", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        let s = c.status.clone()?;
        (s.leader.is_some() && s.quorum.as_deref() == Some("3/3")).then_some(c)
    })
    .await;
    let status = live.status.expect("status");
    let leader = status.leader.clone().expect("leader");
    let mut roles: Vec<String> = status
        .members
        .iter()
        .filter_map(|m| m.role.clone())
        .collect();
    roles.sort();
    assert_eq!(roles, ["follower", "follower", "leader"]);
    let follower = status
        .members
        .iter()
        .find(|m| m.role.as_deref() == Some("follower"))
        .map(|m| m.name.clone())
        .expect("a follower");

    // --- per-member metrics from the operator's own observation
    // The janitor writes the ensemble gauges (their one writer) every 10 s.
    let serving =
        r#"zookeeper_operator_quorum_serving_voters{namespace="ensemble",cluster="zk"} 3"#;
    wait_for("the ensemble gauges", Duration::from_secs(20), || async {
        operator.metrics.render().contains(serving).then_some(())
    })
    .await;
    let text = operator.metrics.render();
    let up = text
        .lines()
        .filter(|l| l.starts_with("zookeeper_operator_member_up{") && l.ends_with(" 1"))
        .count();
    let leaders = text
        .lines()
        .filter(|l| l.starts_with("zookeeper_operator_member_leader{") && l.ends_with(" 1"))
        .count();
    assert_eq!((up, leaders), (3, 1), "{text}");
    assert!(
        text.contains(
            r#"zookeeper_operator_quorum_serving_voters{namespace="ensemble",cluster="zk"} 3"#
        ),
        "{text}"
    );

    // --- steady state under client traffic: the operator writes nothing (zxids move,
    // health does not); let in-flight readiness updates settle first
    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled = zk_api.get("zk").await.expect("zk").resource_version();
    let patches = operator.metrics.status_patches.get();
    for i in 0..5 {
        zk_client(&["write", &first, "/e2e/traffic", &format!("{i}")]);
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        zk_api.get("zk").await.expect("zk").resource_version(),
        settled,
        "status rewritten in steady state"
    );
    assert_eq!(operator.metrics.status_patches.get(), patches);

    // --- fault injection: a killed follower goes not-Ready with a restart; the operator
    // reports MemberDown, then MemberRecovered once it serves again
    kubelet
        .kill_container(ns, &follower, "zookeeper")
        .expect("kill a follower");
    wait_for("the follower not Ready with a restart", WAIT, || async {
        let pod = pods.get(&follower).await.ok()?;
        (!zookeeper_operator::status::is_pod_ready(&pod) && restarts(&pod) >= 1).then_some(())
    })
    .await;
    wait_for("MemberDown for the follower", WAIT, || async {
        (event_count(&client, ns, "MemberDown", Some(&follower)).await >= 1).then_some(())
    })
    .await;
    wait_for("MemberRecovered for the follower", WAIT, || async {
        (event_count(&client, ns, "MemberRecovered", Some(&follower)).await >= 1).then_some(())
    })
    .await;
    wait_for("Degraded=False again", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (condition(&c, "Degraded")?.0 == "False").then_some(())
    })
    .await;
    let member = pod_ips(&pods)
        .await
        .into_iter()
        .find(|(n, _)| *n == follower)
        .expect("ip")
        .1;
    assert_eq!(
        zk_client(&["read", &format!("{member}:2181"), "/e2e/greeting"]),
        "hello from zk-0",
        "data survived"
    );

    // --- the leader killed: a new leader is elected and reported with its epoch
    kubelet
        .kill_container(ns, &leader, "zookeeper")
        .expect("kill the leader");
    let elected = wait_for("LeaderElected", WAIT, || async {
        let api: Api<Event> = Api::namespaced(client.clone(), ns);
        let events = api.list(&ListParams::default()).await.ok()?.items;
        events
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("LeaderElected"))
    })
    .await;
    assert!(
        elected.note.as_deref().is_some_and(|n| n.contains("epoch")),
        "{:?}",
        elected.note
    );
    let new_leader = wait_for("a new leader in status", WAIT, || async {
        let s = zk_api.get("zk").await.ok()?.status?;
        s.leader
            .filter(|l| *l != leader && s.quorum.as_deref() == Some("3/3"))
    })
    .await;
    println!("leader moved from {leader} to {new_leader}");

    // --- a frozen member (SIGSTOP) is noticed by the probe timeout, then recovers
    let frozen = pod_ips(&pods)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| *n != new_leader)
        .expect("a follower");
    let downs_before = event_count(&client, ns, "MemberDown", Some(&frozen)).await;
    kubelet.freeze(ns, &frozen).expect("freeze");
    let frozen_at = Instant::now();
    wait_for("MemberDown for the frozen member", WAIT, || async {
        (event_count(&client, ns, "MemberDown", Some(&frozen)).await > downs_before).then_some(())
    })
    .await;
    println!(
        "frozen member reported down after {:.1?}",
        frozen_at.elapsed()
    );
    // The Event goes out before the status patch of the same pass: wait for the status.
    let m = wait_for("the frozen member not serving in status", WAIT, || async {
        let s = zk_api.get("zk").await.ok()?.status?;
        let m = s.members.into_iter().find(|m| m.name == frozen)?;
        (m.serving == Some(false)).then_some(m)
    })
    .await;
    assert!(m.last_seen.is_some(), "{m:?}");
    kubelet.thaw(ns, &frozen).expect("thaw");
    wait_for("quorum 3/3 after thaw", WAIT, || async {
        let s = zk_api.get("zk").await.ok()?.status?;
        (s.quorum.as_deref() == Some("3/3")).then_some(())
    })
    .await;

    // --- a majority killed: QuorumLost, then QuorumRestored once the kubelet restarts them
    let followers: Vec<String> = pod_ips(&pods)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| *n != new_leader)
        .collect();
    let lost_before = event_count(&client, ns, "QuorumLost", None).await;
    let restored_before = event_count(&client, ns, "QuorumRestored", None).await;
    for f in &followers {
        kubelet.kill_container(ns, f, "zookeeper").expect("kill");
    }
    wait_for("QuorumLost", WAIT, || async {
        (event_count(&client, ns, "QuorumLost", None).await > lost_before).then_some(())
    })
    .await;
    wait_for("QuorumRestored", WAIT, || async {
        (event_count(&client, ns, "QuorumRestored", None).await > restored_before).then_some(())
    })
    .await;
    wait_for("Available=True again", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (condition(&c, "Available")?.0 == "True").then_some(())
    })
    .await;
    wait_for("quorum 3/3 after the majority restarted", WAIT, || async {
        let s = zk_api.get("zk").await.ok()?.status?;
        (s.quorum.as_deref() == Some("3/3") && pod_ips(&pods).await.len() == 3).then_some(())
    })
    .await;
    let everyone: Vec<String> = pod_ips(&pods)
        .await
        .iter()
        .map(|(_, ip)| format!("{ip}:2181"))
        .collect();
    assert_eq!(
        zk_client(&["read", &everyone.join(","), "/e2e/greeting"]),
        "hello from zk-0",
        "data survived"
    );

    // --- deletion: GC removes pods, Services, ConfigMap; PVCs are retained by default
    zk_api
        .delete("zk", &DeleteParams::foreground())
        .await
        .expect("delete");
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    wait_for("garbage collection", WAIT, || async {
        let pods_left = pods.list(&ListParams::default()).await.ok()?.items.len();
        let services_left = services
            .list(&ListParams::default().labels("app.kubernetes.io/instance=zk"))
            .await
            .ok()?
            .items
            .len();
        let cm = config_maps.get_opt("zk-config").await.ok()?;
        (pods_left == 0 && services_left == 0 && cm.is_none()).then_some(())
    })
    .await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kept = claims
        .list(&ListParams::default())
        .await
        .expect("pvcs")
        .items;
    assert_eq!(
        kept.len(),
        3,
        "whenDeleted: Retain keeps every member's PVC"
    );

    // --- whenDeleted: Delete: the PVCs go with the cluster
    let mut dev = example("zookeeper-3.yaml");
    dev.metadata.name = Some("zk-gone".into());
    dev.spec.replicas = 1;
    dev.spec.storage.retention.when_deleted = zookeeper_operator::api::RetentionPolicy::Delete;
    apply_cluster(&client, ns, &dev).await;
    wait_for("zk-gone's PVC owned by the cluster", WAIT, || async {
        let claim = claims.get_opt("data-zk-gone-0").await.ok()??;
        claim
            .owner_references()
            .iter()
            .any(|o| o.kind == "ZookeeperCluster")
            .then_some(())
    })
    .await;
    zk_api
        .delete("zk-gone", &DeleteParams::background())
        .await
        .expect("delete zk-gone");
    wait_for("zk-gone's PVC deleted", WAIT, || async {
        claims
            .get_opt("data-zk-gone-0")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        claims
            .list(&ListParams::default())
            .await
            .expect("pvcs")
            .items
            .len(),
        3,
        "zk's PVCs untouched"
    );

    println!("suite took {:.1?}", started.elapsed());
    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
}
