//! The kazoo workload (tests/clients/zk_workload.py) and member helpers shared by the
//! end-to-end tests with real ZooKeeper: live member pods, "fully serving", roles.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use zookeeper_operator::api::ZookeeperCluster;

use super::{condition, wait_for};

pub const WAIT: Duration = Duration::from_secs(180);
const WORKLOAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/zk_workload.py");

/// Live (not terminating) member pods by name.
pub async fn member_pods(pods: &Api<Pod>, cluster: &str) -> BTreeMap<String, Pod> {
    pods.list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={cluster}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| (p.name_any(), p))
        .collect()
}

pub fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// `ip:2181,...` of the live members with an address.
pub async fn connection(pods: &Api<Pod>, cluster: &str) -> String {
    member_pods(pods, cluster)
        .await
        .values()
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .map(|ip| format!("{ip}:2181"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The cluster once its status says every member serves and it is Available.
pub async fn fully_serving(
    api: &Api<ZookeeperCluster>,
    name: &str,
    replicas: i32,
) -> ZookeeperCluster {
    let want = format!("{replicas}/{replicas}");
    wait_for(
        &format!("{name}: {want} serving and Available"),
        WAIT,
        || async {
            let c = api.get(name).await.ok()?;
            let s = c.status.as_ref()?;
            (s.quorum.as_deref() == Some(want.as_str())
                && s.ready_replicas == replicas
                && condition(&c, "Available")?.0 == "True")
                .then_some(c)
        },
    )
    .await
}

pub fn members_with_role(c: &ZookeeperCluster, role: &str) -> Vec<String> {
    c.status
        .iter()
        .flat_map(|s| &s.members)
        .filter(|m| m.role.as_deref() == Some(role))
        .map(|m| m.name.clone())
        .collect()
}

/// The kazoo workload: creates znodes continuously, records what was acknowledged, and
/// follows members to their new addresses through a hosts file the test keeps current.
pub struct Workload {
    child: Option<Child>,
    dir: PathBuf,
    refresher: tokio::task::JoinHandle<()>,
}

impl Workload {
    pub async fn start(pods: Api<Pod>, cluster: &str) -> Self {
        let namespace = pods.namespace().unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "zk-workload-{namespace}-{cluster}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("workload dir");
        std::fs::write(dir.join("hosts"), connection(&pods, cluster).await).expect("hosts");
        let child = Command::new("/usr/bin/python3")
            .arg(WORKLOAD)
            .arg("run")
            .args([dir.join("hosts"), dir.join("acks"), dir.join("stop")])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
            .spawn()
            .expect("start the workload");
        let hosts = dir.join("hosts");
        let name = cluster.to_string();
        let refresher = tokio::spawn(async move {
            loop {
                let now = connection(&pods, &name).await;
                if !now.is_empty() {
                    let _ = std::fs::write(&hosts, now);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Self {
            child: Some(child),
            dir,
            refresher,
        }
    }

    pub fn acked(&self) -> usize {
        std::fs::read_to_string(self.dir.join("acks"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// Waits until `more` further writes are acknowledged (the ensemble serves again).
    pub async fn wait_progress(&self, more: usize) {
        let from = self.acked();
        let started = Instant::now();
        while self.acked() < from + more {
            if started.elapsed() > WAIT {
                let log = std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!("the workload did not write {more} more in {WAIT:?}; stderr tail: {tail:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops the workload and checks every acknowledged write is still there.
    pub async fn finish(mut self, pods: &Api<Pod>, cluster: &str) -> usize {
        std::fs::write(self.dir.join("stop"), "").expect("stop file");
        self.refresher.abort();
        let child = self.child.take().expect("workload running");
        let run = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("workload exits");
        let dir = self.dir.clone();
        let summary = String::from_utf8_lossy(&run.stdout).trim().to_string();
        println!("{cluster} workload: {summary}");
        assert!(run.status.success(), "workload failed: {summary}");
        let verify = Command::new("/usr/bin/python3")
            .arg(WORKLOAD)
            .arg("verify")
            .arg(connection(pods, cluster).await)
            .arg(dir.join("acks"))
            .output()
            .expect("run verify");
        let report = String::from_utf8_lossy(&verify.stdout).trim().to_string();
        assert!(
            verify.status.success(),
            "acknowledged writes lost: {report} {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        println!("{cluster} verify: {report}");
        let acked = report
            .split_whitespace()
            .find_map(|w| w.strip_prefix("acked="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            acked > 100,
            "the workload wrote too little to prove anything: {report}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        acked
    }
}

/// A test that fails midway must not leave its workload writing into the next test.
impl Drop for Workload {
    fn drop(&mut self) {
        self.refresher.abort();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A 3-member ZooKeeper 3.9 cluster `zk` with fast readiness probes (every 2 s, 2
/// failures), plus `extra` spec lines (YAML, indented by two spaces).
pub fn fast_cluster(extra: &str) -> ZookeeperCluster {
    let yaml = format!(
        "apiVersion: zookeeper.ensemble.dev/v1alpha1
kind: ZookeeperCluster
metadata:
  name: zk
spec:
  replicas: 3
  image: {{repository: zookeeper, tag: '3.9'}}
  probes: {{readiness: {{periodSeconds: 2, failureThreshold: 2}}}}
{extra}"
    );
    serde_norway::from_str(&yaml).expect("cluster yaml")
}
