//! End-to-end on a real node (`zk_testkit::realnode`): the real kubelet 1.20 with containerd
//! and runc, the real scheduler, local volumes and cluster DNS, and the look-alike of the
//! official ZooKeeper image with ZooKeeper 3.9.6 (`zookeeper:3.9`). Unlike the process
//! kubelet, the pod's securityContext is enforced: uid 1000, a read-only root filesystem,
//! every capability dropped, no_new_privs.
//!
//! Needs root and `testkit/scripts/install-deps.sh`. The two tests take turns on the one
//! node of the machine (a lock file), each with its own control plane.
mod support;

use std::process::Command;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use support::*;
use zk_testkit::realnode::RealNode;
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/zk_client.py");

/// kazoo against `hosts`: `write PATH VALUE` or `read PATH`.
fn kazoo(args: &[&str]) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg(CLIENT)
        .args(args)
        .output()
        .expect("run zk_client.py");
    assert!(
        out.status.success(),
        "zk_client.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A kubectl for exec/logs: the machine's (1.20 on Debian), else install-helm.sh's (1.35).
fn kubectl() -> Command {
    let local = std::path::Path::new("/usr/bin/kubectl");
    Command::new(if local.exists() {
        local
    } else {
        std::path::Path::new("/var/cache/zookeeper-operator/tools/kubectl")
    })
}

/// `kubectl exec` into a member (the apiserver streams from the real kubelet).
fn exec(kubeconfig: &std::path::Path, ns: &str, pod: &str, cmd: &[&str]) -> String {
    let out = kubectl()
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(["-n", ns, "exec", pod, "-c", "zookeeper", "--"])
        .args(cmd)
        .output()
        .expect("run kubectl exec");
    assert!(
        out.status.success(),
        "kubectl exec {pod} {cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A line of `/proc/<pid>/status` of the member's container process, seen from the host.
fn host_status(node: &RealNode, pod: &Pod, key: &str) -> String {
    let id = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.container_id.clone())
        .expect("a running container");
    let pid = node.container_pid(&id).expect("the container's host pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_of_zookeeper_3_9_serve_as_uid_1000_on_a_read_only_root() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "realnode";
    let (cp, client, node) = control_plane_with_real_node(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let started = Instant::now();
    apply_cluster(&client, ns, &fast_cluster("")).await;
    fully_serving(&zk, "zk", 3).await;
    println!("3 members Available in {:.1?}", started.elapsed());

    let members = member_pods(&pods, "zk").await;
    assert_eq!(members.len(), 3);
    for (name, pod) in &members {
        // From the host: the real process, not what the pod spec asks for.
        assert_eq!(
            host_status(&node, pod, "Uid"),
            "1000 1000 1000 1000",
            "{name}"
        );
        assert_eq!(
            host_status(&node, pod, "CapEff"),
            "0000000000000000",
            "{name}"
        );
        assert_eq!(host_status(&node, pod, "NoNewPrivs"), "1", "{name}");
        // From inside: the root filesystem refuses a write, /data takes one.
        let probe = exec(
            cp.kubeconfig_path(),
            ns,
            name,
            &[
                "bash",
                "-c",
                "id -u; touch /probe 2>/dev/null && echo root-writable || echo root-ro; \
                 touch /data/probe && echo data-writable",
            ],
        );
        assert_eq!(probe, "1000\nroot-ro\ndata-writable", "{name}");
    }
    // The version the default image really runs, asked of a member itself.
    let ip = members["zk-0"]
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP");
    let srvr = exec(
        cp.kubeconfig_path(),
        ns,
        "zk-0",
        &[
            "bash",
            "-c",
            "exec 3<>/dev/tcp/127.0.0.1/2181; printf srvr >&3; cat <&3",
        ],
    );
    assert!(srvr.starts_with("Zookeeper version: 3.9.6"), "{srvr}");
    // Cluster DNS inside the pods: the headless Service's per-pod names.
    let peer = exec(
        cp.kubeconfig_path(),
        ns,
        "zk-0",
        &[
            "getent",
            "hosts",
            &format!("zk-1.zk-headless.{ns}.svc.cluster.local"),
        ],
    );
    let zk1_ip = members["zk-1"]
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("pod IP");
    assert!(
        peer.starts_with(&format!("{zk1_ip} ")),
        "{peer} vs {zk1_ip}"
    );
    // The release's logging at INFO (the image's logback.xml through the operator's /conf).
    let logs = kubectl()
        .arg(format!("--kubeconfig={}", cp.kubeconfig_path().display()))
        .args(["-n", ns, "logs", "zk-0"])
        .output()
        .expect("kubectl logs");
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains(" - INFO  ["),
        "INFO lines expected: {}",
        &logs[..logs.len().min(2000)]
    );
    assert!(!logs.contains(" - DEBUG ["), "no DEBUG lines");

    // A real client writes through one member and reads through another, from the host.
    kazoo(&[
        "write",
        &format!("{ip}:2181"),
        "/real-node",
        "written-on-zk-0",
    ]);
    let other = format!("{zk1_ip}:2181");
    assert_eq!(kazoo(&["read", &other, "/real-node"]), "written-on-zk-0");
}

/// Issue 23, defect 1: with the default `whenScaled: Retain` the members' volumes outlive a
/// scale-down; scaled back up, the members re-seed their config on the kept volume, as uid
/// 1000 with every capability dropped (a read-only copy of a 0555 ConfigMap file used to
/// make that seed fail and the member crash-loop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_three_one_three_on_retained_volumes_the_members_come_back_with_the_data() {
    install_crypto();
    init_logging(LogFormat::Text);
    let ns = "realscale";
    let (cp, client, node) = control_plane_with_real_node(ns).await;
    let _operator = Operator::start(&client);
    let zk: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    apply_cluster(&client, ns, &fast_cluster("")).await;
    settled(&zk, 3).await;
    let password = super_password(&client, ns).await;
    committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    let hosts = connection(&pods, "zk").await;
    kazoo(&["write", &hosts, "/kept", "before-the-scale"]);
    let first_uids: Vec<String> = member_pods(&pods, "zk").await.values().map(uid).collect();

    let started = Instant::now();
    patch_replicas(&zk, 1).await;
    settled(&zk, 1).await;
    committed_everywhere(&pods, &password, &[1]).await;
    println!("3 -> 1 in {:.1?}", started.elapsed());
    let claims =
        Api::<k8s_openapi::api::core::v1::PersistentVolumeClaim>::namespaced(client.clone(), ns);
    for c in ["data-zk-1", "data-zk-2"] {
        assert!(
            claims.get_opt(c).await.expect("get claim").is_some(),
            "{c} retained after the scale-down"
        );
    }

    // The state a removed member leaves when it saw its own removal committed (ZooKeeper
    // writes the new membership, without it, to its volume): whether it does before its
    // pod goes is a race, so the test makes sure each kept volume is in that state.
    for (ordinal, myid) in [(1, 2), (2, 3)] {
        let raced = forget_own_membership(&node, ns, ordinal, myid);
        println!(
            "zk-{ordinal}: ZooKeeper wrote its removal itself: {}",
            !raced
        );
    }
    let started = Instant::now();
    patch_replicas(&zk, 3).await;
    settled(&zk, 3).await;
    committed_everywhere(&pods, &password, &[1, 2, 3]).await;
    println!("1 -> 3 in {:.1?}", started.elapsed());
    let members = member_pods(&pods, "zk").await;
    for name in ["zk-1", "zk-2"] {
        let pod = &members[name];
        assert!(!first_uids.contains(&uid(pod)), "{name} is a new pod");
        let restarts = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .map_or(-1, |c| c.restart_count);
        assert_eq!(restarts, 0, "{name} started once on its kept volume");
    }
    // They took the re-seed path (the one that failed as uid 1000 with a plain `cp`).
    for name in ["zk-1", "zk-2"] {
        let logs = kubectl()
            .arg(format!("--kubeconfig={}", cp.kubeconfig_path().display()))
            .args(["-n", ns, "logs", name])
            .output()
            .expect("kubectl logs");
        let logs = String::from_utf8_lossy(&logs.stdout);
        assert!(
            logs.contains("is not in its committed membership") && logs.contains("seeding afresh"),
            "{name} re-seeded: {}",
            &logs[..logs.len().min(1500)]
        );
    }
    // Every member, the re-seeded ones included, serves the data written before.
    for pod in members.values() {
        let ip = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .expect("pod IP");
        assert_eq!(
            kazoo(&["read", &format!("{ip}:2181"), "/kept"]),
            "before-the-scale"
        );
    }
}

/// The host dir of claim `data-zk-<ordinal>`'s volume (`RealNode`'s provisioner).
fn volume_dir(node: &RealNode, ns: &str, ordinal: u32) -> std::path::PathBuf {
    let prefix = format!("{ns}-data-zk-{ordinal}-");
    std::fs::read_dir(node.dir().join("volumes"))
        .expect("volumes dir")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .expect("the member's volume")
}

/// The committed dynamic config file zoo.cfg names, as (in-pod path, host path).
fn committed_file(volume: &std::path::Path) -> (String, std::path::PathBuf) {
    let cfg = std::fs::read_to_string(volume.join("conf/zoo.cfg")).expect("kept zoo.cfg");
    let file = cfg
        .lines()
        .find_map(|l| l.strip_prefix("dynamicConfigFile="))
        .expect("dynamicConfigFile")
        .to_string();
    let host = volume.join(file.trim_start_matches("/data/"));
    (file, host)
}

/// Makes member `myid`'s kept volume hold the committed membership of zk-0 (member 1
/// only, which the scale-down committed) if ZooKeeper did not write its removal there
/// before the pod went; returns whether it had to.
fn forget_own_membership(node: &RealNode, ns: &str, ordinal: u32, myid: u32) -> bool {
    let volume = volume_dir(node, ns, ordinal);
    let (_, own) = committed_file(&volume);
    let text = std::fs::read_to_string(&own).expect("committed file");
    if !text
        .lines()
        .any(|l| l.starts_with(&format!("server.{myid}=")))
    {
        return false;
    }
    let (survivor, survivor_host) = committed_file(&volume_dir(node, ns, 0));
    let name = survivor.rsplit('/').next().expect("file name");
    let target = volume.join("conf").join(name);
    std::fs::copy(&survivor_host, &target).expect("copy the committed membership");
    let cfg_path = volume.join("conf/zoo.cfg");
    let cfg = std::fs::read_to_string(&cfg_path).expect("zoo.cfg");
    let cfg: String = cfg
        .lines()
        .map(|l| {
            if l.starts_with("dynamicConfigFile=") {
                format!("dynamicConfigFile={survivor}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&cfg_path, cfg).expect("write zoo.cfg");
    let owned = Command::new("chown")
        .args(["1000:1000"])
        .arg(&target)
        .arg(&cfg_path)
        .status()
        .expect("chown");
    assert!(owned.success());
    true
}
