//! The Helm chart end to end, with the operator running FROM THE CHART'S DEPLOYMENT: a real
//! apiserver (RBAC enforced), the process kubelet running the operator pods (image
//! `zookeeper-operator:*` -> the binary built from this checkout) with the chart's
//! ServiceAccount token, and real ZooKeeper pods.
//!
//! One release goes through its whole life, in order:
//! 1. `helm install --set replicas=2`: two operator pods, exactly one holds the Lease and
//!    only that one logs that it acquired it.
//! 2. RBAC negative: `patch` on statefulsets dropped from the chart's ClusterRole -> the
//!    operator, authenticated as the chart's ServiceAccount, cannot create the StatefulSet
//!    (Warning `ApplyFailed` naming the ServiceAccount; no StatefulSet). If that rule were not
//!    needed, this phase fails.
//! 3. The chart's own rules restored -> the example becomes `Available=True`: the chart's
//!    RBAC is enough when the apiserver enforces it.
//! 4. Leader failover, each measured and bounded by 15 s: the leader's container SIGKILLed
//!    (the kubelet restarts it), the leader frozen (hung, lease not released: the other
//!    replica takes over), the leader's pod deleted (graceful: lease released, the other
//!    replica takes over). After each, a spec change is reconciled (observedGeneration).
//! 5. `helm upgrade --set logFormat=text` rolls both operator pods and leaves the ensemble
//!    alone (same pod UIDs and restart counts, StatefulSet generation unchanged).
//! 6. `helm uninstall` removes the operator and its RBAC and leaves the CRD, the cluster,
//!    its StatefulSet, pods and PVCs in place.
//!
//! CRD: the chart's `crds/` carries CEL rules that Kubernetes 1.20 rejects, so the test
//! installs the CRD stripped of CEL first (`support::install_crd`, what
//! `zookeeper-operator crd --without-cel` prints) and runs `helm install --skip-crds`.
//! Needs helm from testkit/scripts/install-helm.sh (run on demand).
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use support::*;
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::kubelet::{KubeletOptions, ProcessKubelet};
use zookeeper_operator::api::ZookeeperCluster;

const ROOT_DIR: &str = env!("CARGO_MANIFEST_DIR");
const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/zookeeper-operator");
const OPERATOR_BINARY: &str = env!("CARGO_BIN_EXE_zookeeper-operator");
const RELEASE: &str = "zookeeper-operator";
const OP_NS: &str = "zookeeper-operator";
const ZK_NS: &str = "zk-e2e";
const CLUSTER: &str = "zk";
/// The chart's defaults: the Lease and the ServiceAccount are named after the release.
const LEASE: &str = "zookeeper-operator";
const SERVICE_ACCOUNT: &str = "zookeeper-operator";
const SA_USER: &str = "system:serviceaccount:zookeeper-operator:zookeeper-operator";
const OPERATOR_PODS: &str =
    "app.kubernetes.io/name=zookeeper-operator,app.kubernetes.io/instance=zookeeper-operator";
const ZK_PODS: &str = "app.kubernetes.io/instance=zk";
const CONTAINER: &str = "operator";
const ACQUIRED: &str = "acquired the lease";
const TAKEOVER: Duration = Duration::from_secs(15);
const WAIT: Duration = Duration::from_secs(90);

/// helm with the control plane's kubeconfig and its own (throwaway) config, cache and data
/// dirs, so nothing on the machine or in other tests' helm state is read or written.
struct Helm {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Helm {
    fn new(cp: &ControlPlane) -> Self {
        let bin = match std::env::var("HELM") {
            Ok(path) => PathBuf::from(path),
            Err(_) => {
                let out = Command::new(format!("{ROOT_DIR}/testkit/scripts/install-helm.sh"))
                    .output()
                    .expect("run testkit/scripts/install-helm.sh");
                assert!(
                    out.status.success(),
                    "install-helm.sh failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("helm")
            }
        };
        let home = std::env::temp_dir().join(format!("zkop-e2e-helm-{}", std::process::id()));
        std::fs::create_dir_all(&home).expect("helm home");
        Self {
            bin,
            kubeconfig: cp.kubeconfig_path().to_path_buf(),
            home,
        }
    }

    /// Runs helm; panics with its output when it fails. Returns stdout.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .output()
            .expect("helm runs");
        assert!(
            out.status.success(),
            "helm {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Helm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Phase durations for the closing summary.
#[derive(Default)]
struct Timings(Vec<(String, Duration)>);

impl Timings {
    fn record(&mut self, what: &str, took: Duration) {
        println!("[e2e-helm] {what}: {took:.1?}");
        self.0.push((what.to_string(), took));
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

/// Live (not terminating) pods matching `selector`, sorted by name.
async fn live_pods(api: &Api<Pod>, selector: &str) -> Option<Vec<Pod>> {
    let mut pods: Vec<Pod> = api
        .list(&ListParams::default().labels(selector))
        .await
        .ok()?
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    pods.sort_by_key(|p| p.name_any());
    Some(pods)
}

/// name -> (uid, restarts) of the ZooKeeper pods.
async fn ensemble_pods(api: &Api<Pod>) -> BTreeMap<String, (String, i32)> {
    live_pods(api, ZK_PODS)
        .await
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let uid = p.metadata.uid.clone().unwrap_or_default();
            (p.name_any(), (uid, restarts(p)))
        })
        .collect()
}

async fn lease_holder(leases: &Api<Lease>) -> Option<String> {
    leases.get(LEASE).await.ok()?.spec?.holder_identity
}

/// How many runs of this pod's operator logged that they acquired the lease.
fn acquisitions(kubelet: &ProcessKubelet, pod: &str) -> usize {
    kubelet
        .logs(OP_NS, pod, CONTAINER)
        .map(|l| l.matches(ACQUIRED).count())
        .unwrap_or(0)
}

/// Waits for two Ready operator pods, one holding the Lease; returns (leader, follower).
async fn leader_and_follower(pods: &Api<Pod>, leases: &Api<Lease>) -> (String, String) {
    let (names, leader) =
        operators_ready(pods, leases, 2, &[], "two Ready operator pods and a leader").await;
    let follower = names
        .iter()
        .find(|n| **n != leader)
        .expect("a follower")
        .clone();
    (leader, follower)
}

/// Waits until `n` operator pods, none of them in `not`, are Ready and one of them holds
/// the Lease; returns (pod names, holder).
async fn operators_ready(
    pods: &Api<Pod>,
    leases: &Api<Lease>,
    n: usize,
    not: &[String],
    what: &str,
) -> (Vec<String>, String) {
    let started = Instant::now();
    let mut seen = String::new();
    loop {
        if let Some(found) = operators_state(pods, leases, n, not, &mut seen).await {
            return found;
        }
        assert!(
            started.elapsed() < WAIT,
            "timed out after {WAIT:?} waiting for {what}; last seen: {seen}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn operators_state(
    pods: &Api<Pod>,
    leases: &Api<Lease>,
    n: usize,
    not: &[String],
    seen: &mut String,
) -> Option<(Vec<String>, String)> {
    let all = pods
        .list(&ListParams::default().labels(OPERATOR_PODS))
        .await
        .ok()?
        .items;
    let holder = lease_holder(leases).await;
    let mut described = Vec::new();
    for p in &all {
        let status = p.status.as_ref();
        let phase = status.and_then(|s| s.phase.clone());
        let gone = p.metadata.deletion_timestamp.is_some();
        let ip = status.and_then(|s| s.pod_ip.clone()).unwrap_or_default();
        described.push(format!(
            "{} {phase:?} ready={} deleting={gone} restarts={} /readyz: {}",
            p.name_any(),
            is_ready(p),
            restarts(p),
            readyz(&ip).await
        ));
    }
    *seen = format!("pods {described:#?}, lease holder {holder:?}");
    // Old pods must be gone entirely, not just terminating.
    if all.iter().any(|p| not.contains(&p.name_any())) {
        return None;
    }
    let live: Vec<&Pod> = all
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    if live.len() != n || !live.iter().all(|p| is_ready(p)) {
        return None;
    }
    let names: Vec<String> = live.iter().map(|p| p.name_any()).collect();
    let holder = holder?;
    names.contains(&holder).then_some((names, holder))
}

/// What the pod's /readyz answers (status line and body), for failure messages.
async fn readyz(ip: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect((ip, 8080)).await.ok()?;
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        let status = out.lines().next().unwrap_or_default().to_string();
        let body = out
            .rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string();
        Some(format!("{status} {body}"))
    };
    tokio::time::timeout(Duration::from_secs(2), fetch)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "no answer".into())
}

/// Changes the spec in a way that restarts nothing (the scale-down PVC policy), returns the
/// new generation.
async fn bump(clusters: &Api<ZookeeperCluster>) -> i64 {
    let live = clusters.get(CLUSTER).await.expect("read the cluster");
    let next = match live.spec.storage.retention.when_scaled {
        zookeeper_operator::api::RetentionPolicy::Retain => "Delete",
        _ => "Retain",
    };
    let patched = clusters
        .patch(
            CLUSTER,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"storage": {"retention": {"whenScaled": next}}}})),
        )
        .await
        .expect("change the spec");
    patched.metadata.generation.expect("a generation")
}

/// Waits until the operator has reconciled `generation`; returns how long it took.
async fn reconciled(
    clusters: &Api<ZookeeperCluster>,
    generation: i64,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    wait_for(
        &format!("the operator to reconcile generation {generation}"),
        within,
        || async {
            let c = clusters.get(CLUSTER).await.ok()?;
            let observed = c.status.as_ref()?.observed_generation?;
            (observed >= generation).then_some(())
        },
    )
    .await;
    started.elapsed()
}

/// Asks the apiserver's authorizer whether the operator's ServiceAccount may patch
/// StatefulSets in the cluster's namespace.
async fn sa_may_patch_statefulsets(client: &Client) -> Option<bool> {
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": SA_USER,
            "groups": ["system:serviceaccounts", "system:serviceaccounts:zookeeper-operator"],
            "resourceAttributes": {
                "namespace": ZK_NS, "verb": "patch", "group": "apps", "resource": "statefulsets"
            }
        }
    }))
    .expect("a SubjectAccessReview");
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review).await.ok()?;
    Some(answer.status?.allowed)
}

async fn wait_authorizer(client: &Client, allowed: bool) {
    wait_for(
        &format!("the authorizer to answer allowed={allowed} for patching StatefulSets"),
        Duration::from_secs(30),
        || async { (sa_may_patch_statefulsets(client).await? == allowed).then_some(()) },
    )
    .await;
}

/// Warning Events with `reason` on the cluster: their notes.
async fn warnings(client: &Client, reason: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(client.clone(), ZK_NS);
    let Ok(list) = api.list(&ListParams::default()).await else {
        return Vec::new();
    };
    list.items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some(reason))
        .filter_map(|e| e.note)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_installs_runs_fails_over_upgrades_and_uninstalls() {
    install_crypto();
    let started = Instant::now();
    let mut timings = Timings::default();
    let cp = ControlPlane::start().await.expect("control plane starts");
    // ZKOP_OPERATOR_BINARY runs the pods with another build (e.g. a release build).
    let binary = std::env::var("ZKOP_OPERATOR_BINARY").unwrap_or_else(|_| OPERATOR_BINARY.into());
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::fast().with_operator_binary(binary))
        .await
        .expect("kubelet starts");
    let client = cp.client();
    install_crd(&client).await;
    create_namespace(&client, ZK_NS).await;
    let helm = Helm::new(&cp);
    timings.record("control plane, kubelet, CRD", started.elapsed());

    let pods: Api<Pod> = Api::namespaced(client.clone(), OP_NS);
    let zk_pods: Api<Pod> = Api::namespaced(client.clone(), ZK_NS);
    let leases: Api<Lease> = Api::namespaced(client.clone(), OP_NS);
    let clusters: Api<ZookeeperCluster> = Api::namespaced(client.clone(), ZK_NS);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ZK_NS);
    let roles: Api<ClusterRole> = Api::all(client.clone());

    // --- 1. install: two replicas, one leader -------------------------------------------
    let phase = Instant::now();
    helm.run(&[
        "install",
        RELEASE,
        CHART,
        "--namespace",
        OP_NS,
        "--create-namespace",
        "--skip-crds",
        "--set",
        "replicas=2",
        "--set",
        "logLevel=info\\,kube_runtime=debug\\,zookeeper_operator=debug",
    ]);
    let (names, leader) = operators_ready(
        &pods,
        &leases,
        2,
        &[],
        "two Ready operator pods and a leader",
    )
    .await;
    timings.record(
        "helm install -> 2 Ready operator pods, lease held",
        phase.elapsed(),
    );
    for pod in live_pods(&pods, OPERATOR_PODS)
        .await
        .expect("operator pods")
    {
        let spec = pod.spec.as_ref().expect("pod spec");
        assert_eq!(spec.service_account_name.as_deref(), Some(SERVICE_ACCOUNT));
        let image = &spec.containers[0].image;
        assert!(
            image
                .as_deref()
                .is_some_and(|i| i.contains("zookeeper-operator")),
            "{image:?}"
        );
    }
    // Across a few lease renewals: the holder stays, only it ever acquired.
    let check_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < check_until {
        assert_eq!(
            lease_holder(&leases).await.as_deref(),
            Some(leader.as_str())
        );
        let counts: Vec<usize> = names.iter().map(|n| acquisitions(&kubelet, n)).collect();
        let expected: Vec<usize> = names.iter().map(|n| usize::from(*n == leader)).collect();
        assert_eq!(
            counts, expected,
            "only {leader} says {ACQUIRED:?} ({names:?})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let followers: Vec<&String> = names.iter().filter(|n| **n != leader).collect();
    println!("[e2e-helm] leader {leader}, follower {followers:?}");

    // --- 2. RBAC negative: without `patch` on statefulsets nothing runs ------------------
    let phase = Instant::now();
    let chart_role = roles.get(RELEASE).await.expect("the chart's ClusterRole");
    let chart_rules = chart_role.rules.clone().expect("rules");
    let mut crippled = chart_rules.clone();
    let sts_rule = crippled
        .iter_mut()
        .find(|r| {
            r.resources
                .as_deref()
                .is_some_and(|r| r == ["statefulsets"])
        })
        .expect("a statefulsets rule in the chart");
    sts_rule.verbs.retain(|v| v != "patch");
    roles
        .patch(
            RELEASE,
            &PatchParams::default(),
            &Patch::Merge(json!({ "rules": crippled })),
        )
        .await
        .expect("drop patch on statefulsets");
    wait_authorizer(&client, false).await;
    apply_cluster(&client, ZK_NS, &example("zookeeper-3.yaml")).await;
    let note = wait_for(
        "a Warning ApplyFailed Event for the StatefulSet",
        Duration::from_secs(30),
        || async {
            warnings(&client, "ApplyFailed")
                .await
                .into_iter()
                .find(|n| n.contains("StatefulSet"))
        },
    )
    .await;
    println!("[e2e-helm] without the rule: ApplyFailed: {note}");
    assert!(
        note.contains("forbidden") && note.contains(SA_USER),
        "refused by RBAC, as the chart's ServiceAccount: {note}"
    );
    // Give it a few retries (1 s, 2 s backoff): still no StatefulSet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        statefulsets
            .get_opt(CLUSTER)
            .await
            .expect("read StatefulSets")
            .is_none(),
        "the StatefulSet must not exist without the rule"
    );
    timings.record(
        "RBAC negative (ApplyFailed, no StatefulSet)",
        phase.elapsed(),
    );

    // --- 3. the chart's rules back: the example becomes Available ------------------------
    let phase = Instant::now();
    roles
        .patch(
            RELEASE,
            &PatchParams::default(),
            &Patch::Merge(json!({ "rules": chart_rules })),
        )
        .await
        .expect("restore the chart's rules");
    wait_authorizer(&client, true).await;
    // A change to the cluster reconciles it now rather than at the next backoff retry.
    clusters
        .patch(
            CLUSTER,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"e2e/rbac": "restored"}}})),
        )
        .await
        .expect("annotate the cluster");
    let live = wait_for("Available=True", Duration::from_secs(120), || async {
        let c = clusters.get(CLUSTER).await.ok()?;
        (condition(&c, "Available")?.0 == "True").then_some(c)
    })
    .await;
    let status = live.status.as_ref().expect("status");
    println!(
        "[e2e-helm] Available; leader member {:?}, connection {:?}",
        status.leader, status.connection_string
    );
    assert_eq!(ensemble_pods(&zk_pods).await.len(), 3);
    timings.record("chart RBAC -> Available=True", phase.elapsed());

    // --- 4. failover ------------------------------------------------------------------
    // a) crash: SIGKILL the leader's container; the kubelet restarts it at once.
    let phase = Instant::now();
    let before = acquisitions(&kubelet, &leader);
    kubelet
        .kill_container(OP_NS, &leader, CONTAINER)
        .expect("kill the leader's container");
    let killed_at = Instant::now();
    let generation = bump(&clusters).await;
    reconciled(&clusters, generation, TAKEOVER).await;
    let crash = killed_at.elapsed();
    let after_crash = lease_holder(&leases)
        .await
        .expect("a holder after the crash");
    println!(
        "[e2e-helm] leader container killed: reconciling again after {crash:.1?}, lease held by \
         {after_crash} ({}; the killed pod acquired {} more time(s))",
        if after_crash == leader {
            "the killed pod, restarted with the same identity"
        } else {
            "the other replica"
        },
        acquisitions(&kubelet, &leader) - before
    );
    timings.record("failover: leader container SIGKILLed", phase.elapsed());

    // b) hung: freeze the leader (lease not released); the other replica takes over.
    let phase = Instant::now();
    let (leader, other) = leader_and_follower(&pods, &leases).await;
    kubelet.freeze(OP_NS, &leader).expect("freeze the leader");
    let frozen_at = Instant::now();
    let generation = bump(&clusters).await;
    wait_for("the follower to take the lease", TAKEOVER, || async {
        (lease_holder(&leases).await? == other).then_some(())
    })
    .await;
    let hung_lease = frozen_at.elapsed();
    reconciled(&clusters, generation, TAKEOVER.saturating_sub(hung_lease)).await;
    let hung = frozen_at.elapsed();
    kubelet.thaw(OP_NS, &leader).expect("thaw the old leader");
    // The old leader wakes up, sees the lease is gone and stands down; it never takes over.
    wait_for(
        "the thawed leader to stand down",
        Duration::from_secs(10),
        || async {
            let logs = kubelet.logs(OP_NS, &leader, CONTAINER).ok()?;
            logs.contains("lost leadership").then_some(())
        },
    )
    .await;
    assert_eq!(lease_holder(&leases).await.as_deref(), Some(other.as_str()));
    println!(
        "[e2e-helm] leader frozen: {other} took the lease after {hung_lease:.1?}, reconciled \
         after {hung:.1?}"
    );
    timings.record("failover: leader frozen (no release)", phase.elapsed());

    // c) graceful: delete the leader's pod; it releases the lease on SIGTERM.
    let phase = Instant::now();
    let (leader, other) = leader_and_follower(&pods, &leases).await;
    pods.delete(&leader, &DeleteParams::default())
        .await
        .expect("delete the leader's pod");
    let deleted_at = Instant::now();
    let generation = bump(&clusters).await;
    wait_for("another replica to take the lease", TAKEOVER, || async {
        let holder = lease_holder(&leases).await?;
        (holder != leader).then_some(())
    })
    .await;
    let deleted_lease = deleted_at.elapsed();
    reconciled(
        &clusters,
        generation,
        TAKEOVER.saturating_sub(deleted_lease),
    )
    .await;
    let deleted = deleted_at.elapsed();
    let new_holder = lease_holder(&leases).await.unwrap_or_default();
    println!(
        "[e2e-helm] leader pod deleted: {new_holder} took the lease after {deleted_lease:.1?} \
         ({}), reconciled after {deleted:.1?}",
        if new_holder == other {
            "the other replica"
        } else {
            "the replacement pod"
        }
    );
    timings.record("failover: leader pod deleted", phase.elapsed());
    println!(
        "[e2e-helm] TAKEOVER: crash {crash:.1?} (reconciling again), hung {hung_lease:.1?} \
         lease / {hung:.1?} reconciled, delete {deleted_lease:.1?} lease / {deleted:.1?} \
         reconciled"
    );

    // --- 5. helm upgrade rolls the operator, not the ensemble ---------------------------
    let phase = Instant::now();
    let (old_names, _) = operators_ready(
        &pods,
        &leases,
        2,
        &[],
        "two Ready operator pods and a leader",
    )
    .await;
    let ensemble = ensemble_pods(&zk_pods).await;
    let sts_generation = statefulsets
        .get(CLUSTER)
        .await
        .expect("the StatefulSet")
        .metadata
        .generation;
    for name in &old_names {
        let logs = kubelet.logs(OP_NS, name, CONTAINER).unwrap_or_default();
        assert!(
            logs.lines().any(|l| l.starts_with('{')),
            "the chart's default logFormat is json: {name}"
        );
    }
    helm.run(&[
        "upgrade",
        RELEASE,
        CHART,
        "--namespace",
        OP_NS,
        "--reuse-values",
        "--set",
        "logFormat=text",
    ]);
    let (new_names, new_leader) = operators_ready(
        &pods,
        &leases,
        2,
        &old_names,
        "the upgraded operator pods to replace the old ones",
    )
    .await;
    let generation = bump(&clusters).await;
    reconciled(&clusters, generation, WAIT).await;
    timings.record("helm upgrade -> operator pods rolled", phase.elapsed());
    println!("[e2e-helm] upgraded: {old_names:?} -> {new_names:?}, leader {new_leader}");
    for name in &new_names {
        let logs = kubelet.logs(OP_NS, name, CONTAINER).unwrap_or_default();
        assert!(
            !logs.is_empty() && !logs.lines().any(|l| l.starts_with('{')),
            "logFormat=text reached {name}:\n{logs}"
        );
    }
    assert_eq!(
        ensemble_pods(&zk_pods).await,
        ensemble,
        "ZooKeeper pods keep their UIDs and restart counts across the upgrade"
    );
    let sts = statefulsets.get(CLUSTER).await.expect("the StatefulSet");
    assert_eq!(
        sts.metadata.generation, sts_generation,
        "the StatefulSet is unchanged"
    );
    let live = clusters.get(CLUSTER).await.expect("the cluster");
    assert_eq!(
        condition(&live, "Available").map(|c| c.0).as_deref(),
        Some("True")
    );

    // --- 6. helm uninstall leaves the user's data alone -----------------------------------
    let phase = Instant::now();
    helm.run(&["uninstall", RELEASE, "--namespace", OP_NS]);
    wait_for("the operator pods to be gone", WAIT, || async {
        let all = pods
            .list(&ListParams::default().labels(OPERATOR_PODS))
            .await
            .ok()?;
        all.items.is_empty().then_some(())
    })
    .await;
    // Time for the garbage collector to act if anything were owned by the release.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), OP_NS);
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), OP_NS);
    assert!(deployments.get_opt(RELEASE).await.expect("read").is_none());
    assert!(
        accounts
            .get_opt(SERVICE_ACCOUNT)
            .await
            .expect("read")
            .is_none()
    );
    assert!(roles.get_opt(RELEASE).await.expect("read").is_none());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    assert!(
        crds.get_opt("zookeeperclusters.zookeeper.ensemble.dev")
            .await
            .expect("read")
            .is_some(),
        "the CRD stays"
    );
    assert!(clusters.get_opt(CLUSTER).await.expect("read").is_some());
    assert!(statefulsets.get_opt(CLUSTER).await.expect("read").is_some());
    assert_eq!(
        ensemble_pods(&zk_pods).await,
        ensemble,
        "ZooKeeper pods untouched by the uninstall"
    );
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ZK_NS);
    let claims = claims
        .list(&ListParams::default())
        .await
        .expect("PVCs")
        .items;
    let bound = claims
        .iter()
        .filter(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
        .count();
    assert_eq!(bound, 3, "the members' PVCs stay bound");
    timings.record("helm uninstall -> user data intact", phase.elapsed());

    kubelet.stop().await;
    cp.stop().await;
    timings.record("total", started.elapsed());
    println!("[e2e-helm] timing summary:");
    for (what, took) in &timings.0 {
        println!("[e2e-helm]   {what:<48} {took:>8.1?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "the whole test must stay under 4 minutes"
    );
}
