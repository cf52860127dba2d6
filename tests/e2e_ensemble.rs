//! End-to-end with real ZooKeeper: the real control plane, the process kubelet and the
//! operator turn the 3-member example into a real ensemble. A real client (kazoo) writes
//! on one member and reads on another; a killed member restarts; deleting the cluster
//! collects its objects and PVCs follow the retention policy.
mod support;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, ResourceExt};
use support::*;
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::kubelet::{KubeletOptions, ProcessKubelet};
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

async fn has_event(client: &Client, ns: &str, reason: &str) -> bool {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .is_ok_and(|l| l.items.iter().any(|e| e.reason.as_deref() == Some(reason)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_becomes_a_real_ensemble() {
    install_crypto();
    let started = Instant::now();
    let cp = ControlPlane::start().await.expect("control plane starts");
    let client = cp.client();
    install_crd(&client).await;
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::fast())
        .await
        .expect("kubelet starts");
    let operator = Operator::start(&client);
    let ns = "ensemble";
    create_namespace(&client, ns).await;
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
    assert!(status.ready_replicas >= 2, "a quorum is ready: {status:?}");
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

    // --- fault injection: a killed member goes not-Ready, is restarted and rejoins
    kubelet
        .kill_container(ns, "zk-1", "zookeeper")
        .expect("kill zk-1");
    wait_for("zk-1 not Ready with a restart", WAIT, || async {
        let pod = pods.get("zk-1").await.ok()?;
        (!zookeeper_operator::status::is_pod_ready(&pod) && restarts(&pod) >= 1).then_some(())
    })
    .await;
    wait_for(
        "the operator to report the member (Degraded event)",
        WAIT,
        || async {
            has_event(&client, ns, "MembersNotReady")
                .await
                .then_some(())
        },
    )
    .await;
    wait_for("zk-1 Ready again", WAIT, || async {
        let pod = pods.get("zk-1").await.ok()?;
        zookeeper_operator::status::is_pod_ready(&pod).then_some(())
    })
    .await;
    wait_for("Degraded=False again", WAIT, || async {
        let c = zk_api.get("zk").await.ok()?;
        (condition(&c, "Degraded")?.0 == "False").then_some(())
    })
    .await;
    let zk1 = pod_ips(&pods)
        .await
        .into_iter()
        .find(|(n, _)| n == "zk-1")
        .expect("zk-1 ip")
        .1;
    assert_eq!(
        zk_client(&["read", &format!("{zk1}:2181"), "/e2e/greeting"]),
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
