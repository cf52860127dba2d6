//! A real Kubernetes control plane for tests: etcd, kube-apiserver and kube-controller-manager
//! as local processes on loopback, each instance in its own temp dir with its own ports.
//!
//! Binaries come from `testkit/scripts/install-deps.sh` (run once; `start` never installs
//! anything and fails with a message naming the script). There is no kubelet here: Pods are
//! created by the real controllers and stay Pending unless something else binds them.
//!
//! Environment knobs: `ZKOP_KEEP=1` keeps the temp dir after stop/drop; `ZKOP_START_TIMEOUT_SECS`
//! (default 180) bounds `start`; `ZKOP_K8S_BIN_DIR`, `ZKOP_CACHE`, `ZKOP_ETCD` override where
//! binaries are looked for.

mod audit;
mod binaries;
mod crd_server;
mod credentials;
mod flags;
mod pki;
mod ports;
pub(crate) use ports::free_port;
pub(crate) mod process;
mod readiness;
mod sweep;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use binaries::Binaries;
use flags::Ports;
use process::Managed;
use readiness::StartFailure;

pub use audit::{AuditEvent, RequestCounts, count as count_requests, read_events};
pub use crd_server::{CRD_SERVER_VERSION, CrdServer};

/// What [`ControlPlane::start_with`] adds to the default instance.
#[derive(Debug, Clone, Default)]
pub struct ControlPlaneOptions {
    /// Write an audit log (Metadata level, JSON lines) to [`ControlPlane::audit_log_path`].
    pub audit: bool,
    /// Extra identities, each with its own static token (all in `system:masters`) and its
    /// own kubeconfig ([`ControlPlane::kubeconfig_for`]): a separate user is how one
    /// client's requests are found in the audit log (kube-rs sends no User-Agent).
    pub users: Vec<String>,
}

/// How long each component gets between SIGTERM and SIGKILL in [`ControlPlane::stop`].
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Attempts with fresh ports when a component finds its port taken by another process.
const ATTEMPTS: usize = 3;

fn keep_dir() -> bool {
    std::env::var("ZKOP_KEEP").is_ok_and(|v| v == "1")
}

/// The processes and directory of one instance. Owning them in one place lets a half-started
/// instance clean up by simply being dropped.
struct Instance {
    dir: PathBuf,
    procs: Vec<Managed>,
}

impl Instance {
    /// Kills in reverse start order (controller-manager, apiserver, etcd) and reaps.
    fn kill_all(&mut self) {
        while let Some(mut p) = self.procs.pop() {
            p.kill();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill_all();
        if keep_dir() {
            return;
        }
        if std::thread::panicking() {
            // A failing test: keep the logs for the post-mortem, drop only etcd's data, which
            // is large (preallocated WAL) and useless afterwards.
            let _ = std::fs::remove_dir_all(self.dir.join("etcd-data"));
            eprintln!(
                "zk-testkit: control plane logs kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A running control plane. Dropping it kills every process synchronously; the processes are
/// also killed by the kernel (PR_SET_PDEATHSIG) if the test process dies, even by SIGKILL.
pub struct ControlPlane {
    inst: Instance,
    server_url: String,
    ca_pem: String,
    kubeconfig: PathBuf,
    config: kube::Config,
    users: Vec<(String, PathBuf)>,
    audit_log: Option<PathBuf>,
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver and kube-controller-manager on loopback with free ports, in
    /// a fresh temp dir, and returns once /readyz is ok and the `default` ServiceAccount of
    /// namespace `default` has its token (so Pods can be created).
    ///
    /// Installs nothing: expects `testkit/scripts/install-deps.sh` to have run, and fails with
    /// a message saying so otherwise. Safe to call concurrently, from one or several processes.
    pub async fn start() -> Result<ControlPlane> {
        Self::start_with(ControlPlaneOptions::default()).await
    }

    /// [`Self::start`] with an audit log and/or extra identities.
    pub async fn start_with(opts: ControlPlaneOptions) -> Result<ControlPlane> {
        // kube's rustls needs a process-level provider; another caller may have installed one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bins = binaries::locate()?;
        sweep::sweep_stale(&std::env::temp_dir());
        let timeout = std::env::var("ZKOP_START_TIMEOUT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(180));
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            match Self::try_start(&bins, timeout, &opts).await {
                Ok(cp) => return Ok(cp),
                Err(StartFailure::PortTaken(e)) => {
                    tracing::warn!(attempt, "control plane port taken, retrying: {e:#}");
                    last = Some(e);
                }
                Err(StartFailure::Other(e)) => return Err(e),
            }
        }
        Err(last
            .unwrap_or_else(|| anyhow!("no attempt made"))
            .context(format!("control plane failed to start {ATTEMPTS} times")))
    }

    async fn try_start(
        bins: &Binaries,
        timeout: Duration,
        opts: &ControlPlaneOptions,
    ) -> Result<ControlPlane, StartFailure> {
        let begun = Instant::now();
        let deadline = begun + timeout;
        let dir = tempfile::Builder::new()
            .prefix("zk-testkit-cp-")
            .tempdir()
            .context("cannot create the control plane's temp dir")?
            .keep();
        let mut inst = Instance {
            dir: dir.clone(),
            procs: Vec::new(),
        };
        sweep::record_owner(&dir).context("cannot write owner.pid")?;
        let ports = Ports {
            etcd_client: ports::free_port()?,
            etcd_peer: ports::free_port()?,
            apiserver: ports::free_port()?,
            controller_manager: ports::free_port()?,
        };
        let server_url = format!("https://127.0.0.1:{}", ports.apiserver);
        let token = credentials::random_token()?;
        // openssl takes a few hundred ms of CPU: keep it off the async worker.
        let pki = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || pki::generate(&dir))
                .await
                .context("certificate generation panicked")??
        };
        let mut tokens = vec![(credentials::ADMIN_USER.to_string(), token)];
        for user in &opts.users {
            tokens.push((user.clone(), credentials::random_token()?));
        }
        credentials::write_token_file(&dir.join("tokens.csv"), &tokens)?;
        let mut kubeconfigs = Vec::new();
        for (i, (user, token)) in tokens.iter().enumerate() {
            // The admin's file keeps its historic name; the others are named after the user.
            let path = match i {
                0 => dir.join("kubeconfig"),
                _ => dir.join(format!("kubeconfig-{i}")),
            };
            credentials::write_kubeconfig(&path, &server_url, &pki.ca_cert, user, token)?;
            kubeconfigs.push((user.clone(), path));
        }
        let kubeconfig = kubeconfigs.remove(0).1;
        let audit_log = if opts.audit {
            audit::write_policy(&dir)?;
            Some(dir.join(audit::LOG_FILE))
        } else {
            None
        };

        inst.procs.push(Managed::spawn(
            "etcd",
            &bins.etcd,
            &flags::etcd(&dir, &ports),
            &dir,
            dir.join("etcd.log"),
        )?);
        readiness::tcp("etcd", ports.etcd_client, &mut inst.procs, deadline).await?;
        tracing::debug!(elapsed = ?begun.elapsed(), "etcd listening");

        inst.procs.push(Managed::spawn(
            "kube-apiserver",
            &bins.apiserver,
            &flags::apiserver(&dir, &ports, &pki, opts.audit),
            &dir,
            dir.join("kube-apiserver.log"),
        )?);
        let config = load_config(&kubeconfig).await?;
        let client = kube::Client::try_from(config.clone()).context("cannot build a client")?;
        readiness::apiserver_ready(&client, &mut inst.procs, deadline).await?;
        tracing::debug!(elapsed = ?begun.elapsed(), "kube-apiserver ready");

        // Started only now: kube-controller-manager gives up if the apiserver is not healthy
        // within a few seconds, which a loaded 2-core machine cannot promise.
        inst.procs.push(Managed::spawn(
            "kube-controller-manager",
            &bins.controller_manager,
            &flags::controller_manager(&dir, &ports, &pki),
            &dir,
            dir.join("kube-controller-manager.log"),
        )?);
        readiness::default_service_account(&client, &mut inst.procs, deadline).await?;
        tracing::info!(elapsed = ?begun.elapsed(), dir = %dir.display(), url = %server_url, "control plane ready");

        Ok(ControlPlane {
            inst,
            server_url,
            ca_pem: pki.ca_pem,
            kubeconfig,
            config,
            users: kubeconfigs,
            audit_log,
        })
    }

    /// An admin client (static token, group `system:masters`). Built anew on each call so it
    /// belongs to the caller's Tokio runtime (a client's background task dies with the runtime
    /// that created it); must therefore be called inside a Tokio runtime.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config.clone())
            .expect("the same config already produced a client in start()")
    }

    /// The kubeconfig written for tests and people: `kubectl --kubeconfig <path> get pods`.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The kubeconfig of an extra identity from [`ControlPlaneOptions::users`].
    pub fn kubeconfig_for(&self, user: &str) -> Option<&Path> {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_path())
    }

    /// The audit log, when started with [`ControlPlaneOptions::audit`].
    pub fn audit_log_path(&self) -> Option<&Path> {
        self.audit_log.as_deref()
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// PEM of the CA that signed the apiserver's serving certificate; also what
    /// kube-controller-manager publishes in every namespace's `kube-root-ca.crt` ConfigMap and
    /// in ServiceAccount token Secrets.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The instance's temp dir: etcd.log, kube-apiserver.log, kube-controller-manager.log,
    /// kubeconfig, certificates.
    pub fn dir(&self) -> &Path {
        &self.inst.dir
    }

    /// Process ids of the running components, by name (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`), e.g. to check that nothing survives `stop`.
    pub fn pids(&self) -> Vec<(&'static str, u32)> {
        self.inst.procs.iter().map(|p| (p.name, p.pid())).collect()
    }

    /// Clean shutdown: SIGTERM to each component in reverse start order, SIGKILL after 10 s,
    /// then removes the temp dir unless `ZKOP_KEEP=1`.
    pub async fn stop(mut self) {
        while let Some(mut p) = self.inst.procs.pop() {
            p.terminate(STOP_GRACE).await;
        }
        // Dropping self removes the dir (Instance::drop).
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Synchronous SIGKILL + reap: works during a panic and without a runtime.
        self.inst.kill_all();
    }
}

async fn load_config(kubeconfig: &Path) -> Result<kube::Config> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("cannot read {}", kubeconfig.display()))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .context("cannot load the kubeconfig")?;
    // Fail fast instead of hanging a test if the apiserver wedges.
    config.connect_timeout = Some(Duration::from_secs(10));
    Ok(config)
}

// Tests share one instance through statics and move it across tasks: keep it Send + Sync.
const _: fn() = || {
    fn check<T: Send + Sync>() {}
    check::<ControlPlane>();
};
