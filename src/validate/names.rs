//! Kubernetes name and label syntax (RFC 1123 / 1035 and the label key rules).

/// RFC 1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label or annotation key: optional `prefix/` (a subdomain) and a name of at most 63
/// characters of alphanumerics, '-', '_', '.', starting and ending alphanumeric.
pub fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && is_label_value(name) && !name.is_empty()
}

/// A label value: empty, or at most 63 characters of alphanumerics, '-', '_', '.',
/// starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && s.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric))
}

/// An image repository: `[host[:port]/]path`, lower-case path components.
pub fn is_image_repository(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let mut parts = s.split('/').peekable();
    let first = parts.next().unwrap_or_default();
    let has_more = parts.peek().is_some();
    let host_like =
        has_more && (first.contains('.') || first.contains(':') || first == "localhost");
    let path_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && c.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)
    };
    let first_ok = if host_like {
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        is_dns_subdomain(&host.to_ascii_lowercase())
            && (port.is_empty() || port.parse::<u16>().is_ok())
    } else {
        path_ok(first)
    };
    first_ok && parts.all(path_ok)
}

/// An image tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) or a `sha256:` digest.
pub fn is_image_tag(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("sha256:") {
        return hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !s.starts_with(['.', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns_label("zk-1"));
        assert!(!is_dns_label("Zk"));
        assert!(!is_dns_label("-zk"));
        assert!(is_dns_subdomain("fast.ssd"));
        assert!(!is_dns_subdomain("fast..ssd"));
        assert!(is_qualified_name("example.com/team"));
        assert!(is_qualified_name("team"));
        assert!(!is_qualified_name("bad key"));
        assert!(is_label_value(""));
        assert!(!is_label_value("-x"));
    }

    #[test]
    fn images() {
        assert!(is_image_repository("zookeeper"));
        assert!(is_image_repository("docker.io/library/zookeeper"));
        assert!(is_image_repository("registry.local:5000/zk"));
        assert!(!is_image_repository("Zookeeper"));
        assert!(!is_image_repository("zookeeper:3.9"));
        assert!(!is_image_repository("a//b"));
        assert!(is_image_tag("3.9.2"));
        assert!(!is_image_tag("3.9 2"));
        assert!(is_image_tag(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_image_tag("sha256:abc"));
    }
}
