//! Applying N clusters and timing how long until all their objects exist and every status
//! is written (observedGeneration and conditions), then until every one is Available.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use zookeeper_operator::api::ZookeeperCluster;

use crate::support;

pub const NAMESPACE: &str = "bench";
const OWNED: &str = "app.kubernetes.io/managed-by=zookeeper-operator";

pub fn cluster_name(i: usize) -> String {
    format!("zk-{i:04}")
}

#[derive(Debug, Clone, Default)]
pub struct Convergence {
    /// Until every cluster had status written for its generation, conditions present.
    pub status_written: Duration,
    /// Until every cluster was Available (a quorum seen through its members).
    pub available: Duration,
}

/// Applies `n` copies of the 3-member example and waits (at most `limit`).
pub async fn run(client: &Client, n: usize, limit: Duration) -> Result<Convergence> {
    let example = support::example("zookeeper-3.yaml");
    let started = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let mut cluster = example.clone();
            cluster.metadata.name = Some(cluster_name(i));
            let client = client.clone();
            async move { support::apply_cluster(&client, NAMESPACE, &cluster).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    println!("  applied {n} clusters in {:.1?}", started.elapsed());

    let api: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NAMESPACE);
    let mut result = Convergence::default();
    let mut written = false;
    loop {
        if started.elapsed() > limit {
            bail!("not converged in {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(list) = api.list(&ListParams::default()).await else {
            continue;
        };
        let status_ok = |c: &ZookeeperCluster| {
            c.status.as_ref().is_some_and(|s| {
                s.observed_generation == c.meta().generation && !s.conditions.is_empty()
            })
        };
        let done = list.items.iter().filter(|c| status_ok(c)).count();
        let available = list
            .items
            .iter()
            .filter(|c| support::condition(c, "Available").is_some_and(|a| a.0 == "True"))
            .count();
        if !written && done == n {
            written = true;
            result.status_written = started.elapsed();
            check_objects(client, n).await?;
        }
        if written && available == n {
            result.available = started.elapsed();
            return Ok(result);
        }
    }
}

/// Every cluster's StatefulSet, two Services and ConfigMap exist.
async fn check_objects(client: &Client, n: usize) -> Result<()> {
    let lp = ListParams::default().labels(OWNED);
    let sts = Api::<StatefulSet>::namespaced(client.clone(), NAMESPACE)
        .list_metadata(&lp)
        .await?
        .items
        .len();
    let svc = Api::<Service>::namespaced(client.clone(), NAMESPACE)
        .list_metadata(&lp)
        .await?
        .items
        .len();
    let cm = Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
        .list_metadata(&lp)
        .await?
        .items
        .len();
    if (sts, svc, cm) != (n, 2 * n, n) {
        bail!(
            "objects missing: {sts} StatefulSets, {svc} Services, {cm} ConfigMaps for {n} clusters"
        );
    }
    Ok(())
}
