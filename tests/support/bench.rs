//! Benchmark helpers (examples include `tests/support`): flags and percentile rows.
use std::time::Duration;

/// The value after flag `name` on the command line, or `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Prints `label  p50 ..  p90 ..  max ..  (n=..)`.
pub fn row(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<40} p50 {:>6.2}s  p90 {:>6.2}s  max {:>6.2}s  (n={})",
        percentile(&samples, 0.5).as_secs_f64(),
        percentile(&samples, 0.9).as_secs_f64(),
        samples.last().copied().unwrap_or_default().as_secs_f64(),
        samples.len()
    );
}
