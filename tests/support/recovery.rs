//! Cluster specs for the recovery suites (e2e_recovery, e2e_data_reset): thresholds in
//! seconds so faults are acted on within a test's time.
use std::time::Duration;

use zookeeper_operator::api::ZookeeperCluster;

/// A cluster named `name` with the given spec lines (YAML, indented under `spec:`).
pub fn cluster(name: &str, spec: &str, annotations: &str) -> ZookeeperCluster {
    let text = format!(
        "apiVersion: zookeeper.ensemble.dev/v1alpha1\nkind: ZookeeperCluster\n\
         metadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec:\n{spec}"
    );
    serde_norway::from_str(&text).expect("cluster yaml")
}

/// Restarts recorded in status for a member (by pod name).
pub fn recorded_restarts(c: &ZookeeperCluster, pod: &str) -> u32 {
    c.status
        .iter()
        .flat_map(|s| &s.members)
        .find(|m| m.name == pod)
        .and_then(|m| m.restarts)
        .unwrap_or(0)
}

pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Recovery spec for the tests: thresholds in seconds, so faults are acted on quickly
/// (a member unreachable from the operator is restarted once its own readiness probe
/// agrees, hence the quick readiness probe).
pub const FAST_RECOVERY: &str = "  replicas: 3
  probes: {readiness: {periodSeconds: 2, failureThreshold: 2}}
  recovery:
    notServingAfterSeconds: 5
    notReadyAfterSeconds: 30
    restartTimeoutSeconds: 40
    backoffInitialSeconds: 5
    maxRestarts: 5
    windowSeconds: 600
";
