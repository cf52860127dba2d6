//! Scale benchmark (issue #9): the real control plane, the operator as its own process
//! (release binary), and N ZookeeperClusters of 3 stand-in members each (an in-process
//! stand-in kubelet; see `zk_testkit::standin`). For each N it measures convergence, the
//! operator's API requests in steady state (from the apiserver's audit log, by the
//! operator's own identity), its memory and CPU, and fault detection latency.
//!
//! `cargo run --release --example scale_bench -- --clusters 10,100,300 [--window 60]
//! [--settle 15] [--trials 10] [--no-build] [--docs docs/benchmarks.md]`
//! (as root on Debian bookworm, after `testkit/scripts/install-deps.sh`).
#[path = "../../tests/support/mod.rs"]
mod support;

mod converge;
mod faults;
mod operator;
mod procstat;
mod report;
mod traffic;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use k8s_openapi::jiff::Timestamp;
use zk_testkit::controlplane::{ControlPlane, ControlPlaneOptions, read_events};
use zk_testkit::standin::{StandinKubelet, StandinOptions};

use faults::FaultKind;
use operator::OperatorProcess;
use report::Row;

struct Args {
    clusters: Vec<usize>,
    window: u64,
    settle: u64,
    trials: usize,
    build: bool,
    docs: PathBuf,
    /// `--operator-env K=V`, repeatable: e.g. allocator settings to compare.
    operator_env: Vec<(String, String)>,
}

fn args() -> Result<Args> {
    let argv: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1).cloned())
    };
    let number = |name: &str, default: u64| -> Result<u64> {
        value(name).map_or(Ok(default), |v| {
            v.parse().with_context(|| format!("{name} wants a number"))
        })
    };
    let clusters = value("--clusters")
        .unwrap_or_else(|| "10,100,300".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse::<usize>()
                .context("--clusters wants N,N,...")
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Args {
        clusters,
        window: number("--window", 60)?,
        settle: number("--settle", 15)?,
        trials: number("--trials", 10)? as usize,
        build: !argv.iter().any(|a| a == "--no-build"),
        operator_env: argv
            .windows(2)
            .filter(|w| w[0] == "--operator-env")
            .filter_map(|w| w[1].split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        docs: value("--docs").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/benchmarks.md"),
            PathBuf::from,
        ),
    })
}

fn main() -> Result<()> {
    let args = args()?;
    let bin = operator::binary(args.build)?;
    // Two workers: the stand-ins and the measuring share the machine with the operator.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        support::install_crypto();
        let machine = procstat::machine();
        println!("machine: {machine}");
        let mut rows = Vec::new();
        for &n in &args.clusters {
            println!("== {n} clusters ({} members)", n * 3);
            rows.push(one(n, &args, &bin).await?);
            println!("{}", report::table(&rows));
        }
        let env: String = args
            .operator_env
            .iter()
            .map(|(k, v)| format!(" --operator-env {k}={v}"))
            .collect();
        let command = format!(
            "cargo run --release --example scale_bench -- --clusters {} --window {} --settle {} --trials {}{env}",
            args.clusters.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
            args.window,
            args.settle,
            args.trials
        );
        let section = format!(
            "Measured {} on: {machine}.\n\nCommand: `{command}`\n\n{}\nConvergence, where the time went:\n\n{}\nSteady-state reads by kind (whole window):\n\n{}\n",
            Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
            report::table(&rows),
            report::convergence_breakdown(&rows),
            report::read_breakdown(&rows),
        );
        report::write_docs(&args.docs, &section)?;
        println!("written to {}", args.docs.display());
        anyhow::Ok(())
    })
}

async fn one(n: usize, args: &Args, bin: &std::path::Path) -> Result<Row> {
    let cp = ControlPlane::start_with(ControlPlaneOptions {
        audit: true,
        users: vec![operator::USER.to_string()],
    })
    .await?;
    let client = cp.client();
    support::install_crd(&client).await;
    support::create_namespace(&client, converge::NAMESPACE).await;
    let kubelet = StandinKubelet::start(
        client.clone(),
        StandinOptions {
            label_selector: Some("app.kubernetes.io/managed-by=zookeeper-operator".into()),
            ..StandinOptions::default()
        },
    )
    .await?;
    let kubeconfig = cp
        .kubeconfig_for(operator::USER)
        .context("operator kubeconfig")?;
    let op = OperatorProcess::start(bin, kubeconfig, &args.operator_env, cp.dir()).await?;
    let audit = cp.audit_log_path().context("audit log")?.to_path_buf();
    let mut row = Row {
        clusters: n,
        ..Row::default()
    };

    // Who burns the CPU while converging: the operator, or the control plane it talks to.
    let mut pids: Vec<(String, u32)> = cp
        .pids()
        .into_iter()
        .map(|(n, p)| (n.to_string(), p))
        .collect();
    pids.push(("operator".into(), op.pid()));
    pids.push(("bench (stand-ins, kubelet)".into(), std::process::id()));
    let cpu_all = || -> Vec<f64> {
        pids.iter()
            .map(|(_, p)| procstat::cpu_seconds(*p).unwrap_or(0.0))
            .collect()
    };
    let before = cpu_all();
    let (t0, cpu0) = (Timestamp::now(), procstat::cpu_seconds(op.pid())?);
    let conv = converge::run(&client, n, Duration::from_secs(900)).await?;
    let t1 = Timestamp::now();
    row.status_written = conv.status_written;
    row.available = conv.available;
    row.converge_cpu_s = procstat::cpu_seconds(op.pid())? - cpu0;
    row.converge_cpu = pids
        .iter()
        .zip(cpu_all().iter().zip(&before))
        .map(|((name, _), (after, before))| (name.clone(), after - before))
        .collect();
    let during = traffic::analyse(&read_events(&audit)?, operator::USER, t0, t1);
    (row.converge_reads, row.converge_writes) = (during.counts.reads, during.counts.writes);
    (row.api_p50_ms, row.api_p99_ms, row.peak_rps) =
        (during.p50_ms, during.p99_ms, during.peak_rps);
    row.converge_kinds = traffic::top(&during.counts, 12);
    println!(
        "  status written {:.1?}, Available {:.1?}, {} members running",
        conv.status_written,
        conv.available,
        kubelet.running()
    );

    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let (w0, cpu0, rec0) = (
        Timestamp::now(),
        procstat::cpu_seconds(op.pid())?,
        op.metric("zookeeper_operator_reconciles_total").await,
    );
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.window)).await;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let (w1, cpu1, rec1) = (
        Timestamp::now(),
        procstat::cpu_seconds(op.pid())?,
        op.metric("zookeeper_operator_reconciles_total").await,
    );
    (row.rss_mib, row.hwm_mib) = procstat::memory_mib(op.pid())?;
    let steady = traffic::analyse(&read_events(&audit)?, operator::USER, w0, w1);
    row.window_s = minutes * 60.0;
    row.reads_per_min = steady.counts.reads as f64 / minutes;
    row.writes_per_min = steady.counts.writes as f64 / minutes;
    row.top_reads = traffic::top(&steady.counts, 6);
    row.reconciles_per_min = (rec1 - rec0) / minutes;
    row.cpu_s_per_min = (cpu1 - cpu0) / minutes;
    println!(
        "  steady: {:.1} reads/min, {:.1} writes/min ({}), RSS {:.1} MiB, {:.2} CPU s/min",
        row.reads_per_min, row.writes_per_min, row.top_reads, row.rss_mib, row.cpu_s_per_min
    );

    let trials = args.trials.min(n / 2).max(1);
    row.crash = faults::run(&client, &kubelet, FaultKind::Crash, n, trials, 0).await?;
    row.freeze = faults::run(&client, &kubelet, FaultKind::Freeze, n, trials, 1).await?;

    op.stop().await;
    kubelet.stop().await;
    cp.stop().await;
    Ok(row)
}
