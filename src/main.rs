//! `zookeeper-operator`: run the operator, print its CRD, or probe an ensemble.
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use zookeeper_operator::controller::notifications::DefaultReceivers;
use zookeeper_operator::controller::{self, Scope, Settings};
use zookeeper_operator::leader::{Elector, LeaderState};
use zookeeper_operator::observe::{WatcherConfig, probe_command};
use zookeeper_operator::telemetry::{self, LogFormat, Metrics, Readiness};

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
    /// Assess any ensemble from outside Kubernetes. Exit code: 0 healthy, 1 degraded,
    /// 2 no quorum.
    Probe {
        /// Member client addresses, HOST:PORT.
        #[arg(required = true)]
        members: Vec<String>,
        #[arg(long, short, value_enum, default_value = "table")]
        output: Output,
        /// Seconds to wait for each member.
        #[arg(long, default_value = "2")]
        timeout: f64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
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
    /// YAML list of notification receivers every cluster uses unless it sets
    /// `spec.notifications.useDefaultReceivers: false` (their Secrets live in the
    /// operator's namespace).
    #[arg(long, env = "DEFAULT_RECEIVERS_FILE")]
    default_receivers_file: Option<std::path::PathBuf>,
    /// Lease for leader election between replicas; election is on when the lease and
    /// its namespace are known (the Helm chart sets both).
    #[arg(long, env = "LEASE_NAME")]
    lease_name: Option<String>,
    /// Namespace of the lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// This replica's identity in the lease.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crd { without_cel }) => {
            print!("{}", zookeeper_operator::api::crd_yaml(without_cel)?);
            Ok(())
        }
        Some(Command::Probe {
            members,
            output,
            timeout,
        }) => {
            let timeout = Duration::try_from_secs_f64(timeout)
                .context("--timeout must be a positive number of seconds")?;
            let runtime = tokio::runtime::Runtime::new()?;
            let code = runtime.block_on(probe_command(
                &members,
                matches!(output, Output::Json),
                timeout,
            ))?;
            std::process::exit(code);
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
    let readiness = Readiness::default();
    let addr = args
        .metrics_addr
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 8080)));
    let server = tokio::spawn(telemetry::serve(addr, metrics.clone(), readiness.clone()));
    tracing::info!(version = env!("CARGO_PKG_VERSION"), namespace = ?args.namespace, "starting");

    let mut members = WatcherConfig::default();
    if let Some(secs) = args.member_probe_timeout {
        members.probe_timeout = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|t| *t >= Duration::from_millis(100))
            .context("--member-probe-timeout must be at least 0.1 seconds")?;
        members.ping_interval = members.ping_interval.min(members.probe_timeout / 4);
    }
    let default_receivers = match &args.default_receivers_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --default-receivers-file {}", path.display()))?;
            let namespace = args
                .lease_namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            DefaultReceivers::parse(&namespace, &text)
                .with_context(|| format!("invalid default receivers in {}", path.display()))?
        }
        None => DefaultReceivers::default(),
    };
    let settings = Settings {
        scope: Scope {
            namespace: args.namespace,
        },
        members,
        default_receivers,
    };

    let operate = async {
        match (args.lease_name, args.lease_namespace) {
            (Some(lease), Some(namespace)) => {
                let identity = args.identity.unwrap_or_else(hostname);
                let elector = Elector::new(client.clone(), &namespace, &lease, identity.clone());
                spawn_role_tracker(elector.state(), readiness.clone());
                tracing::info!(%lease, %namespace, %identity, "leader election on");
                elector
                    .run(shutdown_signal(), |term| {
                        let (client, settings, metrics, synced) = (
                            client.clone(),
                            settings.clone(),
                            metrics.clone(),
                            readiness.synced.clone(),
                        );
                        async move {
                            let result = controller::run(
                                client,
                                settings,
                                metrics.clone(),
                                synced.clone(),
                                async move {
                                    term.cancelled().await;
                                },
                            )
                            .await;
                            // A follower must not serve the last leader's view of the members.
                            metrics.clear_ensembles();
                            synced.store(false, Ordering::SeqCst);
                            result
                        }
                    })
                    .await
            }
            _ => {
                // A single replica: it always leads.
                readiness.role_known.store(true, Ordering::SeqCst);
                readiness.leading.store(true, Ordering::SeqCst);
                controller::run(
                    client.clone(),
                    settings,
                    metrics.clone(),
                    readiness.synced.clone(),
                    shutdown_signal(),
                )
                .await
            }
        }
    };
    tokio::select! {
        result = operate => result?,
        result = server => result.context("metrics server task")?.context("metrics server")?,
    }
    tracing::info!("stopped");
    Ok(())
}

/// Keeps `/readyz` in step with the replica's role.
fn spawn_role_tracker(mut state: tokio::sync::watch::Receiver<LeaderState>, readiness: Readiness) {
    tokio::spawn(async move {
        loop {
            let role = *state.borrow_and_update();
            readiness
                .role_known
                .store(role.knows_role(), Ordering::SeqCst);
            readiness.leading.store(role.is_leading(), Ordering::SeqCst);
            tracing::info!(?role, "leader election role");
            if state.changed().await.is_err() {
                break;
            }
        }
    });
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| format!("zookeeper-operator-{}", std::process::id()))
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
