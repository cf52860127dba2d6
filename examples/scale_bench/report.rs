//! The results table, printed and written into docs/benchmarks.md between markers (the
//! analysis around them is written by people and kept).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::faults::quantile;

pub const BEGIN: &str = "<!-- scale_bench results: begin -->";
pub const END: &str = "<!-- scale_bench results: end -->";

/// Everything measured at one N.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub clusters: usize,
    pub status_written: Duration,
    pub available: Duration,
    pub converge_reads: u64,
    pub converge_writes: u64,
    pub converge_cpu_s: f64,
    pub api_p50_ms: f64,
    pub api_p99_ms: f64,
    pub peak_rps: u64,
    pub window_s: f64,
    pub reads_per_min: f64,
    pub writes_per_min: f64,
    pub top_reads: String,
    pub reconciles_per_min: f64,
    pub rss_mib: f64,
    pub hwm_mib: f64,
    pub cpu_s_per_min: f64,
    /// Most frequent operator requests while converging.
    pub converge_kinds: String,
    /// CPU seconds while converging: (component, seconds), e.g. kube-apiserver.
    pub converge_cpu: Vec<(String, f64)>,
    pub crash: Vec<Duration>,
    pub freeze: Vec<Duration>,
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e3)
}

fn lat(samples: &[Duration]) -> String {
    let mut s = samples.to_vec();
    s.sort();
    match s.last() {
        None => "-".into(),
        Some(max) => format!(
            "{} / {} / {} (n={})",
            ms(quantile(&s, 0.5)),
            ms(quantile(&s, 0.99)),
            ms(*max),
            s.len()
        ),
    }
}

pub fn table(rows: &[Row]) -> String {
    let mut t = String::from(
        "| clusters (members) | status written | all Available | operator requests while converging (reads / writes; apiserver p50 / p99 ms; peak req/s) | operator CPU while converging | steady reads/min | steady writes/min | reconciles/min | RSS / peak RSS | CPU s/min (% of one core) | crash seen in status, ms p50 / p99 / max | freeze seen in status, ms p50 / p99 / max |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        t.push_str(&format!(
            "| {} ({}) | {:.1} s | {:.1} s | {} / {}; {:.0} / {:.0}; {} | {:.1} s | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} MiB | {:.2} ({:.1} %) | {} | {} |\n",
            r.clusters,
            r.clusters * 3,
            r.status_written.as_secs_f64(),
            r.available.as_secs_f64(),
            r.converge_reads,
            r.converge_writes,
            r.api_p50_ms,
            r.api_p99_ms,
            r.peak_rps,
            r.converge_cpu_s,
            r.reads_per_min,
            r.writes_per_min,
            r.reconciles_per_min,
            r.rss_mib,
            r.hwm_mib,
            r.cpu_s_per_min,
            r.cpu_s_per_min / 60.0 * 100.0,
            lat(&r.crash),
            lat(&r.freeze),
        ));
    }
    t
}

/// Where convergence time went: CPU seconds of each process against wall time, and the
/// operator's most frequent requests.
pub fn convergence_breakdown(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| {
            let cpu: Vec<String> = r
                .converge_cpu
                .iter()
                .map(|(name, s)| format!("{name} {s:.1} s"))
                .collect();
            format!(
                "- {} clusters, {:.1} s wall to Available: CPU {}; requests {}\n",
                r.clusters,
                r.available.as_secs_f64(),
                cpu.join(", "),
                r.converge_kinds
            )
        })
        .collect()
}

/// Where the steady-state reads went, per N.
pub fn read_breakdown(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| format!("- {} clusters: {}\n", r.clusters, r.top_reads))
        .collect()
}

/// Replaces the text between the markers (or appends a results section).
pub fn write_docs(path: &Path, section: &str) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let block = format!("{BEGIN}\n{section}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{old}\n{block}\n"),
    };
    std::fs::write(path, new).with_context(|| format!("cannot write {}", path.display()))
}
