//! Rendering of the per-pod /etc/hosts and /etc/resolv.conf that stand in for cluster DNS.
//! glibc applies resolv.conf search domains only to DNS queries, never to the hosts file, so
//! every short form a pod may use (`zk-0.zk-hs`, `zk-hs.ns`) is written out as an alias.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// One hosts line: an address and its names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostEntry {
    pub ip: IpAddr,
    pub names: Vec<String>,
}

/// Names of a pod with `hostname` and headless-service `subdomain`, longest first.
pub fn pod_dns_names(hostname: &str, subdomain: &str, ns: &str) -> Vec<String> {
    let base = format!("{hostname}.{subdomain}");
    vec![
        format!("{base}.{ns}.svc.{CLUSTER_DOMAIN}"),
        format!("{base}.{ns}.svc"),
        format!("{base}.{ns}"),
        base,
    ]
}

/// Names of a service, longest first.
pub fn service_dns_names(service: &str, ns: &str) -> Vec<String> {
    vec![
        format!("{service}.{ns}.svc.{CLUSTER_DOMAIN}"),
        format!("{service}.{ns}.svc"),
        format!("{service}.{ns}"),
        service.to_string(),
    ]
}

/// The pod's own line, as the real kubelet writes it: FQDN first when a subdomain is set.
pub fn own_entry(ip: IpAddr, hostname: &str, subdomain: Option<&str>, ns: &str) -> HostEntry {
    let mut names = match subdomain {
        Some(sub) if !sub.is_empty() => pod_dns_names(hostname, sub, ns),
        _ => Vec::new(),
    };
    names.push(hostname.to_string());
    names.dedup();
    HostEntry { ip, names }
}

/// The whole hosts file: loopback, the pod itself, then everything else sorted so the
/// content is stable (it is rewritten only when it changes).
pub fn render_hosts(own: &HostEntry, others: &[HostEntry]) -> String {
    let mut out = String::from(
        "# Kubernetes-managed hosts file (zk-testkit process kubelet).\n\
         127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    let mut line = |e: &HostEntry| {
        out.push_str(&format!("{}\t{}\n", e.ip, e.names.join(" ")));
    };
    line(own);
    // The pod's own DNS names also come in through the namespace-wide list; keep one line.
    let mut rest: Vec<&HostEntry> = others
        .iter()
        .filter(|e| !(e.ip == own.ip && e.names.iter().all(|n| own.names.contains(n))))
        .collect();
    rest.sort();
    rest.dedup();
    for e in rest {
        line(e);
    }
    out
}

/// Search domains like a real pod, and a nameserver on the pod's own loopback where nothing
/// listens: names missing from the hosts file fail at once instead of leaking to real DNS.
pub fn render_resolv(ns: &str) -> String {
    format!(
        "search {ns}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\n\
         nameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n"
    )
}

/// Rewrites a file in place (same inode) when its content differs. In place matters: the
/// file is bind-mounted over /etc/hosts inside running pods, and a rename would leave them
/// looking at the old inode. Returns whether anything was written.
pub fn write_in_place(path: &Path, content: &str) -> std::io::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(content.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn own_line_has_fqdn_and_hostname() {
        let own = own_entry(ip("10.244.1.5"), "zk-0", Some("zk-hs"), "team");
        assert_eq!(own.names[0], "zk-0.zk-hs.team.svc.cluster.local");
        assert_eq!(own.names.last().map(String::as_str), Some("zk-0"));
        let bare = own_entry(ip("10.244.1.6"), "solo", None, "team");
        assert_eq!(bare.names, vec!["solo".to_string()]);
    }

    #[test]
    fn hosts_file_is_stable_and_lists_peers_once() {
        let own = own_entry(ip("10.244.1.5"), "zk-0", Some("zk-hs"), "ns");
        let peer = HostEntry {
            ip: ip("10.244.1.6"),
            names: pod_dns_names("zk-1", "zk-hs", "ns"),
        };
        let own_via_namespace = HostEntry {
            ip: own.ip,
            names: pod_dns_names("zk-0", "zk-hs", "ns"),
        };
        let a = render_hosts(&own, &[peer.clone(), own_via_namespace, peer.clone()]);
        let b = render_hosts(&own, &[peer]);
        assert_eq!(a, b);
        assert_eq!(a.matches("zk-1.zk-hs.ns.svc.cluster.local").count(), 1);
        assert!(a.contains("10.244.1.6\tzk-1.zk-hs.ns.svc.cluster.local zk-1.zk-hs.ns.svc"));
    }

    #[test]
    fn resolv_points_nowhere_real() {
        let r = render_resolv("ns");
        assert!(r.contains("search ns.svc.cluster.local"));
        assert!(r.contains("nameserver 127.0.0.1"));
    }

    #[test]
    fn in_place_write_keeps_the_inode() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("zk-hosts-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("hosts");
        assert!(write_in_place(&p, "a\n").expect("first write"));
        let inode = std::fs::metadata(&p).expect("meta").ino();
        assert!(!write_in_place(&p, "a\n").expect("same content"));
        assert!(write_in_place(&p, "bb\n").expect("new content"));
        assert_eq!(std::fs::metadata(&p).expect("meta").ino(), inode);
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "bb\n");
        let _ = std::fs::remove_dir_all(dir);
    }
}
