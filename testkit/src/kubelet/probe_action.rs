//! Executes one probe attempt: exec inside the container's namespaces, TCP connect or HTTP
//! GET from the host to the pod IP (where the real kubelet probes from too).

use super::process::exec_in;
use super::registry::ContainerCtl;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Outcome and a short explanation (surfaced in debug logs).
pub async fn run(
    probe: &Probe,
    container: &Container,
    ctl: &ContainerCtl,
    pod_ip: IpAddr,
    timeout: Duration,
) -> (bool, String) {
    if let Some(exec) = &probe.exec {
        let Some(proc_) = ctl.get() else {
            return (false, "container not running".into());
        };
        let Some(init) = proc_.init_pid else {
            return (false, "container init pid unknown".into());
        };
        let argv = exec.command.clone().unwrap_or_default();
        return match exec_in(init, &argv, &proc_.env, timeout).await {
            Ok(Some((status, out))) => (status.success(), out),
            Ok(None) => (false, format!("timed out after {timeout:?}")),
            Err(e) => (false, e.to_string()),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let Some(port) = resolve_port(&tcp.port, container) else {
            return (false, format!("unknown port {:?}", tcp.port));
        };
        let ip = tcp
            .host
            .as_deref()
            .and_then(|h| h.parse().ok())
            .unwrap_or(pod_ip);
        return match tokio::time::timeout(timeout, TcpStream::connect(SocketAddr::new(ip, port)))
            .await
        {
            Ok(Ok(_)) => (true, String::new()),
            Ok(Err(e)) => (false, e.to_string()),
            Err(_) => (false, "connect timed out".into()),
        };
    }
    if let Some(http) = &probe.http_get {
        let Some(port) = resolve_port(&http.port, container) else {
            return (false, format!("unknown port {:?}", http.port));
        };
        let ip = http
            .host
            .as_deref()
            .and_then(|h| h.parse().ok())
            .unwrap_or(pod_ip);
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> = http
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let https = http.scheme.as_deref() == Some("HTTPS");
        return match tokio::time::timeout(
            timeout,
            http_get(SocketAddr::new(ip, port), &path, &headers, https),
        )
        .await
        {
            Ok(Ok(code)) => ((200..400).contains(&code), format!("HTTP {code}")),
            Ok(Err(e)) => (false, e.to_string()),
            Err(_) => (false, "HTTP probe timed out".into()),
        };
    }
    (false, "unsupported probe handler (grpc?)".into())
}

/// A numeric port, or a named container port.
pub fn resolve_port(port: &IntOrString, c: &Container) -> Option<u16> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => name.parse().ok().or_else(|| {
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
        }),
    }
}

/// Minimal HTTP/1.1 GET returning the status code. HTTPS probes are reduced to a TCP
/// connect (the real kubelet skips certificate checks; we skip TLS altogether).
async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(String, String)],
    https: bool,
) -> anyhow::Result<u16> {
    let mut s = TcpStream::connect(addr).await?;
    if https {
        return Ok(200);
    }
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.20\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let n = s.read(&mut buf[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    parse_status(&buf[..got]).ok_or_else(|| anyhow::anyhow!("not an HTTP response"))
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head).ok()?;
    let mut parts = text.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ContainerPort;

    #[test]
    fn named_ports_resolve_through_the_container() {
        let c = Container {
            ports: Some(vec![ContainerPort {
                name: Some("client".into()),
                container_port: 2181,
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            resolve_port(&IntOrString::String("client".into()), &c),
            Some(2181)
        );
        assert_eq!(resolve_port(&IntOrString::Int(8080), &c), Some(8080));
        assert_eq!(resolve_port(&IntOrString::String("nope".into()), &c), None);
    }

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"SSH-2.0"), None);
    }
}
