//! Detection benchmark for the EnsembleWatcher (not a test: it prints numbers).
//!
//! 1. Latency, against a real 3-member ZooKeeper ensemble (Debian's package): time from
//!    SIGKILL / SIGSTOP of a follower to the watcher publishing it as down, over
//!    `--trials` trials each (p50, p99, max).
//! 2. Cost: CPU seconds of this process (utime + stime from /proc/self/stat) while
//!    watching `--members` stand-in members (100 ensembles of 3 by default) for
//!    `--seconds`. The stand-ins run in a child process (this binary with
//!    `--standin-server`) so their CPU is not counted; they answer `srvr`/`mntr` like a
//!    3.8 member (a ~18 KiB `mntr`) and speak the session handshake and pings.
//!
//! `cargo run --release --example detection_bench -- [--trials 20] [--members 300] [--seconds 20]
//! [--ping-ms 500] [--poll-ms 5000]` (`--trials 0` skips the latency part).
#[path = "../tests/support/bench.rs"]
#[allow(dead_code)] // the flag helper only
mod bench;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench::arg;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zk_testkit::zkensemble::ZkEnsemble;
use zookeeper_operator::health::{EnsembleAssessment, FaultKey, Health};
use zookeeper_operator::observe::{EnsembleWatcher, MemberEndpoint, WatcherConfig};

type Rx = watch::Receiver<Option<EnsembleAssessment>>;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--standin-server") {
        return standin::serve(arg("--standin-server", 300) as usize);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if arg("--trials", 20) > 0 {
            latency(arg("--trials", 20) as usize).await?;
        }
        cost(arg("--members", 300) as usize, arg("--seconds", 20)).await
    })
}

fn latency_config() -> WatcherConfig {
    WatcherConfig {
        probe_timeout: Duration::from_secs(1),
        ping_interval: Duration::from_millis(250),
        ..WatcherConfig::default()
    }
}

async fn wait_until(rx: &mut Rx, within: Duration, pred: impl Fn(&EnsembleAssessment) -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if rx.borrow_and_update().as_ref().is_some_and(&pred) {
            return;
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            panic!("watcher did not reach the expected state in {within:?}");
        }
    }
}

async fn latency(trials: usize) -> anyhow::Result<()> {
    let mut zk = ZkEnsemble::start(3);
    zk.wait_until_serving(Duration::from_secs(60))
        .ok_or_else(|| anyhow::anyhow!("ensemble did not start"))?;
    let endpoints = zk
        .endpoints()
        .into_iter()
        .map(|(id, addr)| MemberEndpoint::new(id, format!("zk-{id}"), addr))
        .collect();
    let cfg = latency_config();
    println!(
        "latency: real 3-member ZooKeeper 3.8, probe_timeout {:?}, ping_interval {:?}, {trials} trials each",
        cfg.probe_timeout, cfg.ping_interval
    );
    let watcher = EnsembleWatcher::spawn(endpoints, cfg);
    let mut rx = watcher.subscribe();
    let healthy = |a: &EnsembleAssessment| a.health() == Health::Healthy;
    wait_until(&mut rx, Duration::from_secs(30), healthy).await;

    for (label, frozen) in [("killed (SIGKILL)", false), ("frozen (SIGSTOP)", true)] {
        let mut samples = Vec::with_capacity(trials);
        for _ in 0..trials {
            let leader = zk.leader();
            let victim = zk
                .ids()
                .into_iter()
                .find(|&id| Some(id) != leader)
                .unwrap_or(1);
            let started = Instant::now();
            if frozen {
                zk.freeze(victim);
            } else {
                zk.kill(victim);
            }
            let down = move |a: &EnsembleAssessment| a.has_fault(FaultKey::MemberDown(victim));
            wait_until(&mut rx, Duration::from_secs(10), down).await;
            samples.push(started.elapsed());
            if frozen {
                zk.thaw(victim);
            } else {
                zk.start_member(victim);
            }
            wait_until(&mut rx, Duration::from_secs(60), healthy).await;
        }
        report(label, &mut samples);
    }
    watcher.shutdown().await;
    Ok(())
}

fn report(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let pick =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    println!(
        "  {label:<18} n={:<3} p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
        samples.len(),
        pick(0.50).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
}

/// utime + stime of this process, in seconds.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after_name = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow::anyhow!("odd /proc/self/stat"))?
        .1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); the slice starts at field 3.
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // CLK_TCK is 100 on Linux for every architecture we run on.
    Ok(ticks / 100.0)
}

async fn cost(members: usize, seconds: u64) -> anyhow::Result<()> {
    let members = members.div_ceil(3) * 3;
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["--standin-server", &members.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut ports = Vec::with_capacity(members);
    for line in BufReader::new(stdout).lines().take(members) {
        ports.push(line?.trim().parse::<u16>()?);
    }

    let defaults = WatcherConfig::default();
    let cfg = WatcherConfig {
        ping_interval: Duration::from_millis(arg(
            "--ping-ms",
            defaults.ping_interval.as_millis() as u64,
        )),
        poll_interval: Duration::from_millis(arg(
            "--poll-ms",
            defaults.poll_interval.as_millis() as u64,
        )),
        ..defaults
    };
    println!(
        "cost: {members} stand-in members in {} ensembles of 3, ping_interval {:?}, srvr every {:?}, mntr every {:?}, probe_timeout {:?}",
        members / 3,
        cfg.ping_interval,
        cfg.poll_interval,
        cfg.metrics_interval,
        cfg.probe_timeout
    );
    let mut watchers = Vec::new();
    for group in ports.chunks(3) {
        let endpoints = group
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                MemberEndpoint::new(
                    i as u64 + 1,
                    format!("m{p}"),
                    SocketAddr::from(([127, 0, 0, 1], p)),
                )
            })
            .collect();
        watchers.push(EnsembleWatcher::spawn(endpoints, cfg.clone()));
    }
    for w in &watchers {
        let mut rx = w.subscribe();
        wait_until(&mut rx, Duration::from_secs(30), |a| {
            a.health() == Health::Healthy
        })
        .await;
    }
    let (cpu0, wall0) = (cpu_seconds()?, Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu, wall) = (cpu_seconds()? - cpu0, wall0.elapsed().as_secs_f64());
    let share = cpu / wall * 100.0;
    println!(
        "  watching {members} members: {cpu:.2} CPU s over {wall:.1} s = {share:.2}% of one core \
         (~{:.2}% for 900 members, linear)",
        share * 900.0 / members as f64
    );
    for w in watchers {
        w.shutdown().await;
    }
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// Stand-in members: the 4lw replies and the session protocol, nothing else.
mod standin {
    use super::*;

    pub fn serve(count: usize) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let mntr_filler: String = (0..420)
                .map(|i| format!("zk_standin_metric_{i}\t0\n"))
                .collect();
            let mut listeners = Vec::new();
            for _ in 0..count {
                let l = TcpListener::bind("127.0.0.1:0").await?;
                println!("{}", l.local_addr()?.port());
                listeners.push(l);
            }
            for (i, l) in listeners.into_iter().enumerate() {
                let leader = i % 3 == 0;
                let filler = mntr_filler.clone();
                tokio::spawn(async move {
                    while let Ok((s, _)) = l.accept().await {
                        tokio::spawn(handle(s, leader, filler.clone()));
                    }
                });
            }
            // Exit when the parent goes away (our stdin closes).
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 1];
            let _ = stdin.read(&mut buf).await;
            anyhow::Ok(())
        })
    }

    const ZXID: u64 = 0x1_0000_0010;

    async fn handle(mut s: TcpStream, leader: bool, filler: String) -> std::io::Result<()> {
        let mut head = [0u8; 4];
        s.read_exact(&mut head).await?;
        let mode = if leader { "leader" } else { "follower" };
        let reply = match &head {
            b"ruok" => "imok".to_string(),
            b"srvr" => format!(
                "Zookeeper version: 3.8.0-standin\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 1\nConnections: 1\nOutstanding: 0\nZxid: {ZXID:#x}\nMode: {mode}\nNode count: 5\n"
            ),
            b"mntr" => {
                let leader_lines = if leader {
                    "zk_learners\t2\nzk_synced_followers\t2\nzk_pending_syncs\t0\n"
                } else {
                    ""
                };
                format!(
                    "zk_version\t3.8.0-standin\nzk_server_state\t{mode}\nzk_avg_latency\t0.0\nzk_outstanding_requests\t0\nzk_quorum_size\t3\nzk_open_file_descriptor_count\t40\nzk_max_file_descriptor_count\t20000\n{leader_lines}{filler}"
                )
            }
            b"conf" => "serverId=1\n".to_string(),
            b"isro" => "rw".to_string(),
            _ => return session(s, u32::from_be_bytes(head) as usize).await,
        };
        s.write_all(reply.as_bytes()).await?;
        s.shutdown().await
    }

    /// ConnectRequest -> ConnectResponse, then answer every ping with the zxid.
    async fn session(mut s: TcpStream, first_len: usize) -> std::io::Result<()> {
        let mut body = vec![0u8; first_len.min(1024)];
        s.read_exact(&mut body).await?;
        let mut resp = Vec::new();
        resp.extend_from_slice(&0i32.to_be_bytes());
        resp.extend_from_slice(&4000i32.to_be_bytes());
        resp.extend_from_slice(&0x77i64.to_be_bytes());
        resp.extend_from_slice(&16i32.to_be_bytes());
        resp.extend_from_slice(&[0u8; 16]);
        resp.push(0);
        s.write_all(&(resp.len() as i32).to_be_bytes()).await?;
        s.write_all(&resp).await?;
        loop {
            let mut len = [0u8; 4];
            s.read_exact(&mut len).await?;
            let mut req = vec![0u8; (u32::from_be_bytes(len) as usize).min(1024)];
            s.read_exact(&mut req).await?;
            let Some(xid) = req
                .get(..4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            else {
                continue;
            };
            let mut reply = Vec::with_capacity(20);
            reply.extend_from_slice(&16i32.to_be_bytes());
            reply.extend_from_slice(&xid.to_be_bytes());
            reply.extend_from_slice(&(ZXID as i64).to_be_bytes());
            reply.extend_from_slice(&0i32.to_be_bytes());
            s.write_all(&reply).await?;
        }
    }
}
