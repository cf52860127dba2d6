//! Pods cannot reach the apiserver on the host's 127.0.0.1 from their own netns, so a TCP
//! forwarder listens on the bridge address (the pods' gateway) and relays to the apiserver.
//! TLS passes through untouched: pods verify the apiserver's own certificate by the name
//! `kubernetes.default.svc`, which their hosts file points at the bridge address.

use anyhow::Context;
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::{TcpListener, TcpStream};

/// `https://127.0.0.1:6443` -> `127.0.0.1:6443`.
pub fn upstream_addr(server_url: &str) -> anyhow::Result<String> {
    let rest = server_url
        .strip_prefix("https://")
        .or_else(|| server_url.strip_prefix("http://"))
        .unwrap_or(server_url);
    let hostport = rest.split('/').next().unwrap_or(rest);
    anyhow::ensure!(
        hostport.contains(':'),
        "server URL {server_url:?} has no port"
    );
    Ok(hostport.to_string())
}

/// Binds `ip:port` and returns the accept loop to spawn.
pub async fn bind(
    ip: Ipv4Addr,
    port: u16,
    upstream: String,
) -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let listener = TcpListener::bind(SocketAddr::from((ip, port)))
        .await
        .with_context(|| format!("binding the apiserver forwarder on {ip}:{port}"))?;
    Ok(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                match TcpStream::connect(&upstream).await {
                    Ok(mut out) => {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "apiserver forwarder: upstream connect"),
                }
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::upstream_addr;

    #[test]
    fn parses_server_urls() {
        assert_eq!(
            upstream_addr("https://127.0.0.1:6443").ok().as_deref(),
            Some("127.0.0.1:6443")
        );
        assert_eq!(
            upstream_addr("https://127.0.0.1:41000/").ok().as_deref(),
            Some("127.0.0.1:41000")
        );
        assert!(upstream_addr("https://example").is_err());
    }
}
