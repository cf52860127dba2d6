//! Cluster DNS for the node: dnsmasq on the node IP answering `cluster.local` from a hosts
//! file that a task keeps in step with the API's Services and Endpoints (CoreDNS is not
//! packaged here). dnsmasq re-reads `--addn-hosts` on SIGHUP, and drops removed names too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Service};
use kube::Client;
use kube::api::{Api, ListParams};

use super::dns_records::hosts_file;

/// How often the names are refreshed: a recreated member's new IP must be found by its
/// peers within ZooKeeper's connect retries.
const REFRESH: Duration = Duration::from_millis(300);

pub(crate) fn hosts_path(dir: &Path) -> PathBuf {
    dir.join("dns/hosts")
}

/// Runs until aborted; API errors are retried on the next tick.
pub(crate) async fn feed(client: Client, hosts: PathBuf, dnsmasq_pid: u32) {
    let services: Api<Service> = Api::all(client.clone());
    let endpoints: Api<Endpoints> = Api::all(client);
    let mut last = String::new();
    loop {
        let lp = ListParams::default();
        if let (Ok(s), Ok(e)) = (services.list(&lp).await, endpoints.list(&lp).await) {
            let text = hosts_file(&s.items, &e.items);
            if text != last && write_atomically(&hosts, &text).is_ok() {
                // SAFETY: dnsmasq is our child (Managed), not reaped before the node drops.
                unsafe {
                    libc::kill(dnsmasq_pid as libc::pid_t, libc::SIGHUP);
                }
                last = text;
            }
        }
        tokio::time::sleep(REFRESH).await;
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}
