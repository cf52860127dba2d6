//! Certificates and keys of one control plane, made with the `openssl` CLI.
//!
//! A real CA signs the apiserver's serving certificate, so clients (the tests, kubectl, and
//! in-cluster clients reading the `kube-root-ca.crt` ConfigMap) verify the server instead of
//! skipping verification. ECDSA P-256 for TLS keys (fast to generate); RSA 2048 for the
//! service-account signing key, the key type every Kubernetes version accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::ports::random_u64;

/// Paths inside the control plane's directory.
pub(crate) struct Pki {
    pub(crate) ca_cert: PathBuf,
    pub(crate) ca_key: PathBuf,
    pub(crate) serving_cert: PathBuf,
    pub(crate) serving_key: PathBuf,
    pub(crate) sa_key: PathBuf,
    pub(crate) sa_pub: PathBuf,
    pub(crate) ca_pem: String,
}

/// Names the serving certificate is valid for: loopback, and the in-cluster names of the
/// `kubernetes` Service (10.96.0.1 is the first address of --service-cluster-ip-range).
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = zk-testkit
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @alt
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
[alt]
IP.1 = 127.0.0.1
IP.2 = 10.96.0.1
DNS.1 = localhost
DNS.2 = kubernetes
DNS.3 = kubernetes.default
DNS.4 = kubernetes.default.svc
DNS.5 = kubernetes.default.svc.cluster.local
";

/// Runs `openssl` with whitespace-separated `args` (none of ours contains a space) in `dir`.
fn openssl(dir: &Path, args: &str) -> Result<()> {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .context("cannot run openssl (apt-get install openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl {args} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Writes ca.{crt,key}, apiserver.{crt,key}, sa.{key,pub} into `dir`.
pub(crate) fn generate(dir: &Path) -> Result<Pki> {
    std::fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).context("cannot write openssl.cnf")?;
    const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    openssl(
        dir,
        &format!(
            "req -config openssl.cnf -x509 -extensions ca_ext {EC} -subj /CN=zk-testkit-ca \
             -days 3650 -keyout ca.key -out ca.crt"
        ),
    )
    .context("cannot create the CA")?;
    openssl(
        dir,
        &format!(
            "req -config openssl.cnf -new {EC} -subj /CN=kube-apiserver \
             -keyout apiserver.key -out apiserver.csr"
        ),
    )
    .context("cannot create the apiserver key")?;
    openssl(
        dir,
        &format!(
            "x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -set_serial 0x{:016x} \
             -days 3650 -extfile openssl.cnf -extensions server_ext -out apiserver.crt",
            random_u64()
        ),
    )
    .context("cannot sign the apiserver certificate")?;
    openssl(
        dir,
        "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key",
    )
    .context("cannot create the service-account key")?;
    openssl(dir, "pkey -in sa.key -pubout -out sa.pub")
        .context("cannot extract the service-account public key")?;

    let ca_pem = std::fs::read_to_string(dir.join("ca.crt")).context("cannot read ca.crt")?;
    Ok(Pki {
        ca_cert: dir.join("ca.crt"),
        ca_key: dir.join("ca.key"),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        sa_key: dir.join("sa.key"),
        sa_pub: dir.join("sa.pub"),
        ca_pem,
    })
}

/// Writes `NAME.crt`/`NAME.key` into `dir`: a client certificate signed by the CA of
/// [`generate`], for user `NAME` in group `group` (servers that authenticate clients by
/// certificate read the user from the CN and the groups from O).
pub(crate) fn client_cert(dir: &Path, name: &str, group: &str) -> Result<(PathBuf, PathBuf)> {
    const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    openssl(
        dir,
        &format!(
            "req -config openssl.cnf -new {EC} -subj /O={group}/CN={name} \
             -keyout {name}.key -out {name}.csr"
        ),
    )
    .with_context(|| format!("cannot create the key of {name}"))?;
    openssl(
        dir,
        &format!(
            "x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -set_serial 0x{:016x} \
             -days 3650 -extfile openssl.cnf -extensions client_ext -out {name}.crt",
            random_u64()
        ),
    )
    .with_context(|| format!("cannot sign the certificate of {name}"))?;
    Ok((
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    ))
}
