//! `zookeeper-operator`: run the operator, print its CRD, or probe an ensemble.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::time::Duration;

use zookeeper_operator::controller::{self, Scope, Settings};
use zookeeper_operator::observe::WatcherConfig;
use zookeeper_operator::telemetry::{self, LogFormat, Metrics};

#[derive(Parser)]
#[command(args_conflicts_with_subcommands = true)]
#[command(
    name = "zookeeper-operator",
    version,
    about = "A Kubernetes operator for Apache ZooKeeper"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// `run`'s flags, accepted without the subcommand too.
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator (the default).
    Run(RunArgs),
    /// Print the ZookeeperCluster CustomResourceDefinition as YAML.
    Crd {
        /// Leave out CEL validation rules, for servers older than Kubernetes 1.25.
        #[arg(long)]
        without_cel: bool,
    },
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Watch only this namespace (default: every namespace).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: Option<LogFormat>,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: Option<SocketAddr>,
    /// A member silent this long (frozen, partitioned) is reported down, in seconds.
    #[arg(long, env = "MEMBER_PROBE_TIMEOUT", default_value = "2")]
    member_probe_timeout: Option<f64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crd { without_cel }) => {
            print!("{}", zookeeper_operator::api::crd_yaml(without_cel)?);
            Ok(())
        }
        Some(Command::Run(args)) => run(args),
        None => run(cli.run),
    }
}

#[tokio::main]
async fn run(args: RunArgs) -> anyhow::Result<()> {
    telemetry::init_logging(args.log_format.unwrap_or(LogFormat::Text));
    // kube and every other TLS user share one crypto provider (see GUIDE: mixing panics).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_default()
        .await
        .context("cannot configure a Kubernetes client (in-cluster or KUBECONFIG)")?;
    let metrics = Metrics::default();
    let ready = Arc::new(AtomicBool::new(false));
    let addr = args
        .metrics_addr
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 8080)));
    let server = tokio::spawn(telemetry::serve(addr, metrics.clone(), ready.clone()));
    tracing::info!(version = env!("CARGO_PKG_VERSION"), namespace = ?args.namespace, "starting");
    let mut members = WatcherConfig::default();
    if let Some(secs) = args.member_probe_timeout {
        members.probe_timeout = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|t| *t >= Duration::from_millis(100))
            .context("--member-probe-timeout must be at least 0.1 seconds")?;
        members.ping_interval = members.ping_interval.min(members.probe_timeout / 4);
    }
    let settings = Settings {
        scope: Scope {
            namespace: args.namespace,
        },
        members,
    };
    tokio::select! {
        result = controller::run(client, settings, metrics, ready, shutdown_signal()) => result?,
        result = server => result.context("metrics server task")?.context("metrics server")?,
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM (Kubernetes) or Ctrl-C: stop taking new work and let reconciles finish.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
}
