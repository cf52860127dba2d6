//! The README's first command: a real control plane, a process kubelet running real
//! ZooKeeper, the operator, and the 3-member example. Ctrl-C tears everything down.
//!
//! `cargo run --example demo` (as root, on Debian bookworm).
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kube::api::Api;
use support::{Operator, apply_cluster, example, install_crd, install_crypto};
use zk_testkit::controlplane::ControlPlane;
use zk_testkit::kubelet::{KubeletOptions, ProcessKubelet};
use zookeeper_operator::api::ZookeeperCluster;
use zookeeper_operator::telemetry::{LogFormat, init_logging};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging(LogFormat::Text);
    install_crypto();
    install_dependencies()?;

    println!("== starting etcd, kube-apiserver and kube-controller-manager");
    let cp = ControlPlane::start().await.context("control plane")?;
    let client = cp.client();
    install_crd(&client).await;
    println!(
        "== starting the process kubelet (pods become local processes, one network namespace each)"
    );
    let kubelet = ProcessKubelet::start(&cp, KubeletOptions::default())
        .await
        .context("kubelet")?;
    println!("== starting the operator");
    let operator = Operator::start(&client);

    let cluster = apply_cluster(&client, "default", &example("zookeeper-3.yaml")).await;
    let name = cluster.metadata.name.clone().unwrap_or_default();
    println!("== applied manifests/examples/zookeeper-3.yaml; waiting for the ensemble\n");

    let kubeconfig = cp.kubeconfig_path().display().to_string();
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    let mut available = false;
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = ticker.tick() => {
                let Ok(live) = api.get(&name).await else { continue };
                print_table(&kubeconfig, &live);
                let now_available = support::condition(&live, "Available").is_some_and(|c| c.0 == "True");
                if now_available && !available {
                    println!("\nThe ensemble is Available after {:.0?}. Look around:", started.elapsed());
                    println!("  export KUBECONFIG={kubeconfig}");
                    println!("  kubectl get zk,statefulsets,pods,services,configmaps");
                    println!("  kubectl describe zk {name}");
                    println!("  kubectl get events --sort-by=.metadata.creationTimestamp");
                    println!("Ctrl-C tears everything down.\n");
                }
                available = now_available;
            }
        }
    }
    println!("\n== tearing down");
    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
    Ok(())
}

/// Runs the project's installer (apt packages, the control-plane build; a no-op when done).
fn install_dependencies() -> anyhow::Result<()> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testkit/scripts/install-deps.sh"
    );
    let status = Command::new("bash")
        .arg(script)
        .status()
        .context("run install-deps.sh")?;
    if !status.success() {
        bail!("{script} failed ({status})");
    }
    Ok(())
}

/// `kubectl get zk` when kubectl is installed, else the same columns from the object.
fn print_table(kubeconfig: &str, cluster: &ZookeeperCluster) {
    let kubectl = Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig, "get", "zk", "-n", "default"])
        .output();
    if let Ok(out) = kubectl
        && out.status.success()
    {
        print!("{}", String::from_utf8_lossy(&out.stdout));
        return;
    }
    let status = cluster.status.clone().unwrap_or_default();
    let available = support::condition(cluster, "Available")
        .map(|c| c.0)
        .unwrap_or_default();
    println!(
        "NAME {}  REPLICAS {}  READY {}  LEADER {}  QUORUM {}  AVAILABLE {}",
        cluster.metadata.name.as_deref().unwrap_or_default(),
        cluster.spec.replicas,
        status.ready_replicas,
        status.leader.as_deref().unwrap_or("-"),
        status.quorum.as_deref().unwrap_or("-"),
        available
    );
}
