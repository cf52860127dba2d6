//! Fault detection at scale: crash or freeze one follower of a cluster and time until the
//! operator has written it into that cluster's status (Degraded=True), end to end: the
//! member session breaks or falls silent, the watcher reassesses, a reconcile runs and
//! patches status, and our watch of the object sees it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::Client;
use kube::api::Api;
use zk_testkit::standin::{Role, StandinKubelet, StandinMember};
use zookeeper_operator::api::ZookeeperCluster;

use crate::converge::{NAMESPACE, cluster_name};
use crate::support;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Crash,
    Freeze,
}

fn follower(kubelet: &StandinKubelet, cluster: &str) -> Result<std::sync::Arc<StandinMember>> {
    (0..3)
        .filter_map(|i| kubelet.member(NAMESPACE, &format!("{cluster}-{i}")))
        .find(|m| m.role() == Role::Follower)
        .with_context(|| format!("{cluster} has no follower"))
}

async fn degraded(api: &Api<ZookeeperCluster>, name: &str) -> Option<bool> {
    let live = api.get(name).await.ok()?;
    Some(support::condition(&live, "Degraded")?.0 == "True")
}

async fn wait_degraded(
    api: &Api<ZookeeperCluster>,
    name: &str,
    want: bool,
    within: Duration,
) -> Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if degraded(api, name).await == Some(want) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("{name}: Degraded did not become {want} in {within:?}")
}

/// `trials` faults of `kind`, each on its own cluster (spread over the first `n`, starting
/// at `offset`), one at a time; returns the latencies.
pub async fn run(
    client: &Client,
    kubelet: &StandinKubelet,
    kind: FaultKind,
    n: usize,
    trials: usize,
    offset: usize,
) -> Result<Vec<Duration>> {
    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NAMESPACE);
    let mut samples = Vec::with_capacity(trials);
    for t in 0..trials {
        let name = cluster_name((offset + t * n / trials.max(1)) % n);
        wait_degraded(&api, &name, false, Duration::from_secs(30)).await?;
        let member = follower(kubelet, &name)?;
        let started = Instant::now();
        match kind {
            FaultKind::Crash => member.crash(),
            FaultKind::Freeze => member.freeze(),
        }
        let seen = wait_degraded(&api, &name, true, Duration::from_secs(20)).await;
        let elapsed = started.elapsed();
        member.restore();
        seen?;
        samples.push(elapsed);
        wait_degraded(&api, &name, false, Duration::from_secs(30)).await?;
    }
    Ok(samples)
}

/// The `q` quantile (nearest rank) of sorted samples.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
