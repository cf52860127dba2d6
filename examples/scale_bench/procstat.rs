//! CPU and memory of a process from /proc (Linux only, like the whole testkit).

use anyhow::{Context, Result, anyhow};

/// utime + stime of `pid`, in seconds (CLK_TCK is 100 on every Linux we run on).
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow!("odd /proc/{pid}/stat"))?
        .1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .ok_or_else(|| anyhow!("short /proc/{pid}/stat"))?
            .parse::<f64>()
            .context("stat field")
    };
    // Fields 14 and 15 of proc(5); `fields` starts at field 3.
    Ok((field(11)? + field(12)?) / 100.0)
}

/// (VmRSS, VmHWM) of `pid`, in MiB.
pub fn memory_mib(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    let kib = |key: &str| -> Result<f64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .ok_or_else(|| anyhow!("no {key} in /proc/{pid}/status"))
    };
    Ok((kib("VmRSS:")? / 1024.0, kib("VmHWM:")? / 1024.0))
}

/// "2 cores (model), 24.0 GiB RAM, Linux 6.1" from /proc.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {mem_gib:.1} GiB RAM, Linux {}",
        kernel.trim()
    )
}
