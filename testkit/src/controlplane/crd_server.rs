//! A modern CRD server for tests: Kubernetes 1.36's apiextensions-apiserver with its own
//! etcd, on loopback, in a fresh temp dir.
//!
//! It is the real code that decides whether a CRD is accepted (structural schema, CEL
//! compilation and cost budget, formats) and how custom resources are validated, defaulted,
//! pruned, server-side applied and status-patched, as in any 1.36 cluster. It serves only
//! `apiextensions.k8s.io` and the CRDs' groups: no core API (no namespaces, but namespaced
//! custom resources work under any namespace name), no controllers. Clients authenticate
//! with a certificate (group `system:masters`).
//!
//! Built by `testkit/scripts/build-modern-apiserver.sh` (from `install-deps.sh`) into
//! `$ZKOP_CACHE/apiextensions-v1.36.4/bin`; `start` never builds anything.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::ports::free_port;
use super::process::Managed;
use super::{keep_dir, load_config, pki, readiness};

/// The server's version, as its build stamps it.
pub const CRD_SERVER_VERSION: &str = "v1.36.4";

const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running apiextensions-apiserver and its etcd. Dropping it kills both.
pub struct CrdServer {
    dir: PathBuf,
    procs: Vec<Managed>,
    kubeconfig: PathBuf,
    config: kube::Config,
    server_url: String,
}

fn bin_dir() -> Result<PathBuf> {
    let cache = std::env::var_os("ZKOP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/zookeeper-operator"));
    let dir = cache.join(format!("apiextensions-{CRD_SERVER_VERSION}/bin"));
    for b in ["apiextensions-apiserver", "etcd"] {
        if !dir.join(b).is_file() {
            bail!(
                "{} is not built: run testkit/scripts/install-deps.sh once (as root)",
                dir.join(b).display()
            );
        }
    }
    Ok(dir)
}

impl CrdServer {
    /// Starts etcd and the apiextensions-apiserver and returns once `/readyz` is ok.
    pub async fn start() -> Result<CrdServer> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bins = bin_dir()?;
        let begun = Instant::now();
        let deadline = begun + START_TIMEOUT;
        let dir = tempfile::Builder::new()
            .prefix("zk-testkit-crd-")
            .tempdir()
            .context("cannot create the CRD server's temp dir")?
            .keep();
        let mut server = CrdServer {
            dir: dir.clone(),
            procs: Vec::new(),
            kubeconfig: dir.join("kubeconfig"),
            config: kube::Config::new("https://127.0.0.1".parse().context("url")?),
            server_url: String::new(),
        };
        let (etcd_client, etcd_peer, port) = (free_port()?, free_port()?, free_port()?);
        server.server_url = format!("https://127.0.0.1:{port}");
        let (pki, (cert, key)) = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || -> Result<_> {
                let pki = pki::generate(&dir)?;
                let client = pki::client_cert(&dir, "zk-testkit-admin", "system:masters")?;
                Ok((pki, client))
            })
            .await
            .context("certificate generation panicked")??
        };
        write_kubeconfig(
            &server.kubeconfig,
            &server.server_url,
            &pki.ca_cert,
            &cert,
            &key,
        )?;
        let etcd_url = format!("http://127.0.0.1:{etcd_client}");
        let etcd_args = [
            "--data-dir".to_string(),
            dir.join("etcd-data").to_string_lossy().into_owned(),
            "--listen-client-urls".into(),
            etcd_url.clone(),
            "--advertise-client-urls".into(),
            etcd_url.clone(),
            "--listen-peer-urls".into(),
            format!("http://127.0.0.1:{etcd_peer}"),
            "--initial-advertise-peer-urls".into(),
            format!("http://127.0.0.1:{etcd_peer}"),
            "--initial-cluster".into(),
            format!("default=http://127.0.0.1:{etcd_peer}"),
            "--unsafe-no-fsync".into(),
        ];
        server.procs.push(Managed::spawn(
            "etcd",
            &bins.join("etcd"),
            &etcd_args,
            &dir,
            dir.join("etcd.log"),
        )?);
        readiness::tcp("etcd", etcd_client, &mut server.procs, deadline)
            .await
            .map_err(readiness::into_error)?;
        let p = |path: &Path| path.to_string_lossy().into_owned();
        let args = [
            "--etcd-servers".to_string(),
            etcd_url,
            "--bind-address".into(),
            "127.0.0.1".into(),
            "--secure-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            p(&pki.serving_cert),
            "--tls-private-key-file".into(),
            p(&pki.serving_key),
            "--client-ca-file".into(),
            p(&pki.ca_cert),
        ];
        server.procs.push(Managed::spawn(
            "apiextensions-apiserver",
            &bins.join("apiextensions-apiserver"),
            &args,
            &dir,
            dir.join("apiextensions-apiserver.log"),
        )?);
        server.config = load_config(&server.kubeconfig).await?;
        let client = server.client()?;
        readiness::apiserver_ready(&client, &mut server.procs, deadline)
            .await
            .map_err(readiness::into_error)?;
        tracing::info!(elapsed = ?begun.elapsed(), dir = %dir.display(), "CRD server ready");
        Ok(server)
    }

    /// An admin client (certificate in `system:masters`), belonging to the caller's runtime.
    pub fn client(&self) -> Result<kube::Client> {
        kube::Client::try_from(self.config.clone()).context("cannot build a client")
    }

    /// A kubeconfig for kubectl.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The temp dir: etcd.log, apiextensions-apiserver.log, certificates, kubeconfig.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub async fn stop(mut self) {
        while let Some(mut p) = self.procs.pop() {
            p.terminate(STOP_GRACE).await;
        }
    }
}

impl Drop for CrdServer {
    fn drop(&mut self) {
        while let Some(mut p) = self.procs.pop() {
            p.kill();
        }
        if keep_dir() || std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.dir.join("etcd-data"));
            eprintln!("zk-testkit: CRD server logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn write_kubeconfig(path: &Path, server: &str, ca: &Path, cert: &Path, key: &Path) -> Result<()> {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let l = |p: &Path| q(&p.to_string_lossy());
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: crd-server
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: admin
  user:
    client-certificate: {cert}
    client-key: {key}
contexts:
- name: crd-server
  context:
    cluster: crd-server
    user: admin
    namespace: default
current-context: crd-server
",
        server = q(server),
        ca = l(ca),
        cert = l(cert),
        key = l(key),
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
