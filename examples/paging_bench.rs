//! Paging benchmark (not a test: it prints numbers). On the real control plane with the
//! process kubelet and real ZooKeeper, the operator running with a webhook receiver
//! (`forSeconds: 0`): over `--trials` trials a follower's ZooKeeper process is killed
//! (SIGKILL; the kubelet restarts it). Times: kill -> firing `MemberDown` notification
//! received by the webhook, and kill -> resolved notice (which includes the member's
//! restart and `keepFiringForSeconds`, 15 s by default). Each trial uses a new cluster:
//! the same member killed twice within 10 minutes is flapping, which is told once and
//! held back by design, and would not measure paging.
//!
//! `cargo run --release --example paging_bench -- [--trials 10]`
//! (as root, on Debian bookworm, after testkit/scripts/install-deps.sh).
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use kube::api::Api;
use support::bench::{arg, row};
use support::notifications::{Recorder, is_notice, paging_cluster, webhook_secret};
use support::{
    Operator, apply_cluster, control_plane_with_kubelet, fully_serving, install_crypto,
    members_with_role,
};
use zookeeper_operator::api::ZookeeperCluster;

const NS: &str = "bench";
const LIMIT: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    install_crypto();
    let trials = arg("--trials", 10) as usize;
    let (cp, client, kubelet) = control_plane_with_kubelet(NS).await;
    let operator = Operator::start(&client);
    let (hook, url) = Recorder::start().await;
    webhook_secret(&client, NS, "hooks", &url).await;
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);

    let (mut to_firing, mut to_resolved) = (Vec::new(), Vec::new());
    for trial in 0..trials {
        let name = format!("zk{trial}");
        apply_cluster(&client, NS, &paging_cluster(&name)).await;
        let c = fully_serving(&api, &name, 3).await;
        let victim = members_with_role(&c, "follower")
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no follower in status"))?;
        // Start from a quiet member: its last alert (if any) resolved.
        let quiet = Instant::now();
        while quiet.elapsed() < LIMIT {
            let c = api.get(&name).await?;
            let active = c.status.and_then(|s| s.alerts).map(|a| a.active);
            if !active
                .iter()
                .flatten()
                .any(|a| a.member.as_deref() == Some(victim.as_str()))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let fault = Instant::now();
        kubelet.kill_container(NS, &victim, "zookeeper")?;
        let (fired, _) = hook
            .wait_for("the firing notice", fault, LIMIT, |b| {
                is_notice(b, "firing", "MemberDown", &victim)
            })
            .await;
        let (resolved, _) = hook
            .wait_for("the resolved notice", fault, LIMIT, |b| {
                is_notice(b, "resolved", "MemberDown", &victim)
            })
            .await;
        println!(
            "trial {trial}: {victim} firing delivered {:.3}s, resolved delivered {:.2}s",
            (fired - fault).as_secs_f64(),
            (resolved - fault).as_secs_f64()
        );
        to_firing.push(fired - fault);
        to_resolved.push(resolved - fault);
        api.delete(&name, &Default::default()).await?;
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\n== paging on the real control plane ({cores} cores), {trials} trials");
    row("kill -> firing webhook delivered", to_firing);
    row("kill -> resolved webhook delivered", to_resolved);
    operator.stop().await;
    kubelet.stop().await;
    cp.stop().await;
    Ok(())
}
