//! Recovery benchmark (not a test: it prints numbers). On the real control plane with the
//! process kubelet and real ZooKeeper, over `--trials` trials each:
//! - partition: a follower's network is cut (its process runs, nobody reaches it); the
//!   operator notices, restarts it after `notServingAfterSeconds` (`--threshold`), and
//!   the member rejoins. Times: fault -> restart issued (MemberRestarted) -> full quorum
//!   (status `N/N` serving, Available).
//! - crash: a follower's container is SIGKILLed; the kubelet restarts it and the operator
//!   only observes. Time: fault -> full quorum in status.
//!
//! `cargo run --release --example recovery_bench -- [--trials 10] [--threshold 5]`
//! (as root, on Debian bookworm, after testkit/scripts/install-deps.sh).
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use support::bench::{arg, row};
use support::{
    Operator, apply_cluster, condition, create_namespace, event_count, install_crd, install_crypto,
};
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::kubelet::{KubeletOptions, ProcessKubelet};
use zookeeper_operator::api::ZookeeperCluster;

const NS: &str = "bench";
const LIMIT: Duration = Duration::from_secs(300);

/// Polls every 50 ms until `check` holds; the elapsed time since `from`.
async fn until<F, Fut>(what: &str, from: Instant, mut check: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while !check().await {
        anyhow::ensure!(from.elapsed() < LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(from.elapsed())
}

async fn full_quorum(api: &Api<ZookeeperCluster>) -> bool {
    let Ok(c) = api.get("zk").await else {
        return false;
    };
    let serving = c.status.as_ref().is_some_and(|s| {
        s.quorum.as_deref() == Some("3/3") && s.members.iter().all(|m| m.serving == Some(true))
    });
    serving && condition(&c, "Available").is_some_and(|(s, _)| s == "True")
}

async fn a_follower(api: &Api<ZookeeperCluster>, trial: usize) -> anyhow::Result<String> {
    let c = api.get("zk").await?;
    let mut followers: Vec<String> = c
        .status
        .iter()
        .flat_map(|s| &s.members)
        .filter(|m| m.role.as_deref() == Some("follower"))
        .map(|m| m.name.clone())
        .collect();
    followers.sort();
    anyhow::ensure!(!followers.is_empty(), "no follower in status");
    Ok(followers[trial % followers.len()].clone())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    install_crypto();
    // RUST_LOG=zookeeper_operator=debug shows the operator's decisions between the lines.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let trials = arg("--trials", 10) as usize;
    let threshold = arg("--threshold", 5);
    let cp = ControlPlane::start().await?;
    let client = cp.client();
    install_crd(&client).await;
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::fast()).await?;
    let operator = Operator::start(&client);
    create_namespace(&client, NS).await;
    let cluster: ZookeeperCluster = serde_norway::from_str(&format!(
        "apiVersion: zookeeper.ensemble.dev/v1alpha1\nkind: ZookeeperCluster\n\
         metadata: {{name: zk}}\nspec:\n  replicas: 3\n  \
         probes: {{readiness: {{periodSeconds: 2, failureThreshold: 2}}}}\n  recovery:\n    \
         notServingAfterSeconds: {threshold}\n    backoffInitialSeconds: 1\n    \
         maxRestarts: 100\n    windowSeconds: 3600\n"
    ))?;
    apply_cluster(&client, NS, &cluster).await;
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    until("the ensemble", Instant::now(), || full_quorum(&api)).await?;

    let (mut to_restart, mut to_quorum, mut crash_to_quorum) = (Vec::new(), Vec::new(), Vec::new());
    for trial in 0..trials {
        let victim = a_follower(&api, trial).await?;
        let told = event_count(&client, NS, "MemberRestarted", Some(&victim)).await;
        let fault = Instant::now();
        kubelet.cut_network(NS, &victim).await?;
        let restart = until("MemberRestarted", fault, || async {
            event_count(&client, NS, "MemberRestarted", Some(&victim)).await > told
        })
        .await?;
        // Full quorum only counts once the old pod is gone (it may look serving to a
        // stale status for a moment).
        until("the old pod to go", fault, || async {
            pods.get_opt(&victim).await.ok().flatten().is_none_or(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.status.is_some_and(|s| s.pod_ip.is_some())
            })
        })
        .await?;
        let quorum = until("full quorum", fault, || full_quorum(&api)).await?;
        println!(
            "partition trial {trial}: {victim} restart issued {:.2}s, full quorum {:.2}s",
            restart.as_secs_f64(),
            quorum.as_secs_f64()
        );
        to_restart.push(restart);
        to_quorum.push(quorum);
    }
    for trial in 0..trials {
        let victim = a_follower(&api, trial).await?;
        let fault = Instant::now();
        kubelet.kill_container(NS, &victim, "zookeeper")?;
        until("the member to drop", fault, || async {
            !full_quorum(&api).await
        })
        .await?;
        let quorum = until("full quorum", fault, || full_quorum(&api)).await?;
        println!(
            "crash trial {trial}: {victim} full quorum {:.2}s",
            quorum.as_secs_f64()
        );
        crash_to_quorum.push(quorum);
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\n== recovery on the real control plane ({cores} cores), {trials} trials each");
    println!("threshold notServingAfterSeconds = {threshold}");
    row("partition: fault -> restart issued", to_restart);
    row("partition: fault -> full quorum", to_quorum);
    row("crash (kubelet restarts): -> full quorum", crash_to_quorum);
    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
    Ok(())
}
