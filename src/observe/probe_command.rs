//! Body of `zookeeper-operator probe HOST:PORT...`: probe any ensemble once and report.
use std::time::Duration;

use super::render::{render_json, render_table};
use super::snapshot::probe_addresses;
use crate::health::{EnsembleAssessment, Thresholds, assess};
use crate::zk::ProbeLimits;

/// Probes every member once (in parallel, each bounded by `timeout`) and assesses them.
pub async fn probe_ensemble(
    addrs: &[String],
    timeout: Duration,
) -> anyhow::Result<EnsembleAssessment> {
    let observations = probe_addresses(addrs, ProbeLimits::with_timeout(timeout)).await?;
    Ok(assess(&observations, &Thresholds::default()))
}

/// Prints a table (or JSON) and returns the exit code: 0 healthy, 1 degraded, 2 no quorum.
pub async fn probe_command(addrs: &[String], json: bool, timeout: Duration) -> anyhow::Result<i32> {
    let assessment = probe_ensemble(addrs, timeout).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render_json(&assessment))?
        );
    } else {
        print!("{}", render_table(&assessment));
    }
    Ok(assessment.health().exit_code())
}
