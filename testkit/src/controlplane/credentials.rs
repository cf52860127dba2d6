//! The admin identity: a random static token (kube-apiserver `--token-auth-file`) in group
//! `system:masters`, and a kubeconfig that uses it; optionally more such identities, so that
//! one client's requests can be told apart from the others' (e.g. in the audit log).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

pub(crate) const ADMIN_USER: &str = "zk-testkit-admin";

/// 32 hex characters from the OS RNG.
pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// CSV as kube-apiserver wants it: token,user,uid,"group1,group2"; one line per
/// `(user, token)`, every user in `system:masters`.
pub(crate) fn write_token_file(path: &Path, users: &[(String, String)]) -> Result<()> {
    let text: String = users
        .iter()
        .map(|(user, token)| format!("{token},{user},{user}-uid,\"system:masters\"\n"))
        .collect();
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A kubeconfig usable by kube-rs, kubectl and kube-controller-manager. Values are written as
/// JSON strings, which are valid YAML scalars whatever characters a path holds.
pub(crate) fn write_kubeconfig(
    path: &Path,
    server: &str,
    ca_file: &Path,
    user: &str,
    token: &str,
) -> Result<()> {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: zk-testkit
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    token: {token}
contexts:
- name: zk-testkit
  context:
    cluster: zk-testkit
    user: {user}
    namespace: default
current-context: zk-testkit
",
        server = q(server),
        ca = q(&ca_file.to_string_lossy()),
        user = q(user),
        token = q(token),
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
