//! The operator under test as its own process: the release binary, with its own identity
//! (so the audit log tells its requests apart) and a metrics address to scrape.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_testkit::child::ChildProcess;

pub const USER: &str = "zookeeper-operator-bench";

/// `target/release/zookeeper-operator`, built first unless `--no-build`.
pub fn binary(build: bool) -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--release", "--bin", "zookeeper-operator"])
            .current_dir(root)
            .status()
            .context("cannot run cargo build")?;
        if !status.success() {
            bail!("cargo build --release --bin zookeeper-operator failed");
        }
    }
    let path = root.join("target/release/zookeeper-operator");
    if !path.exists() {
        bail!(
            "{} is missing: build it with cargo build --release",
            path.display()
        );
    }
    Ok(path)
}

pub struct OperatorProcess {
    child: ChildProcess,
    pub metrics_port: u16,
}

impl OperatorProcess {
    pub async fn start(
        bin: &Path,
        kubeconfig: &Path,
        extra_env: &[(String, String)],
        dir: &Path,
    ) -> Result<Self> {
        let mut env = vec![(
            "KUBECONFIG".to_string(),
            kubeconfig.to_string_lossy().into_owned(),
        )];
        env.extend(extra_env.iter().cloned());
        let metrics_port = free_port()?;
        let child = ChildProcess::spawn(
            "zookeeper-operator",
            bin,
            &[
                "run".into(),
                "--metrics-addr".into(),
                format!("127.0.0.1:{metrics_port}"),
            ],
            &env,
            dir,
            dir.join("operator.log"),
        )?;
        let mut op = Self {
            child,
            metrics_port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = op.child.exited() {
                bail!("operator exited ({status}):\n{}", op.child.log_tail(30));
            }
            if op
                .get("/readyz")
                .await
                .is_ok_and(|b| b.starts_with("HTTP/1.1 200"))
            {
                return Ok(op);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("operator not ready in 60 s:\n{}", op.child.log_tail(30))
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// A metric's value from /metrics (sum over label sets), 0 when absent.
    pub async fn metric(&self, name: &str) -> f64 {
        let Ok(body) = self.get("/metrics").await else {
            return 0.0;
        };
        body.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter(|l| l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }

    /// A plain HTTP/1.1 GET on the metrics address (no client library needed for this).
    async fn get(&self, path: &str) -> Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.metrics_port)).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
        let mut out = String::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await??;
        Ok(out)
    }

    pub async fn stop(mut self) {
        self.child.terminate(Duration::from_secs(10)).await;
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
