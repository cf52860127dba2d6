//! ZooKeeper's dynamic configuration text, parsed and rendered, pure.
//!
//! `/zookeeper/config` (and a member's `dynamicConfigFile`) holds one line per member,
//! `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]`,
//! and the node's data ends with `version=HEX`: the zxid that committed this config. That
//! version is the config id a reconfig must name (`curConfigId`), so two configs compare
//! by it. Weighted/hierarchical quorums (`group.`, `weight.`) and multi-address servers
//! (`a|b`) are rejected with a clear error: the operator never writes them.
use std::collections::BTreeMap;
use std::fmt;

/// What a member does in the quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Votes and may lead.
    Participant,
    /// Follows without voting.
    Observer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Observer => "observer",
        }
    }
}

/// The client address of a member; ZooKeeper prints `0.0.0.0` when only a port was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientAddr {
    pub host: Option<String>,
    pub port: u16,
}

/// One `server.N=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerSpec {
    pub id: u64,
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub role: Role,
    pub client: Option<ClientAddr>,
}

/// A whole dynamic configuration: members by id, plus the config id when known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicConfig {
    pub servers: BTreeMap<u64, ServerSpec>,
    /// `version=` (hex in the text): the zxid that committed this config. `None` in a
    /// dynamic file on disk, whose version lives in the file name.
    pub version: Option<u64>,
}

/// Why a dynamic configuration text was rejected; `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dynamic config line {line}: {reason}: {text:?}")]
pub struct ConfigParseError {
    pub line: usize,
    pub reason: &'static str,
    pub text: String,
}

impl ServerSpec {
    /// The `server.N=...` line ZooKeeper accepts in a dynamic file and in `reconfig -add`.
    pub fn to_line(&self) -> String {
        self.to_string()
    }

    /// Parses one `server.N=...` line.
    pub fn parse_line(line: &str) -> Result<Self, ConfigParseError> {
        parse_server(1, line.trim())
    }
}

impl fmt::Display for ServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server.{}={}:{}:{}:{}",
            self.id,
            bracket(&self.host),
            self.quorum_port,
            self.election_port,
            self.role.as_str()
        )?;
        match &self.client {
            Some(ClientAddr {
                host: Some(h),
                port,
            }) => write!(f, ";{}:{port}", bracket(h)),
            Some(ClientAddr { host: None, port }) => write!(f, ";{port}"),
            None => Ok(()),
        }
    }
}

impl DynamicConfig {
    /// Parses the data of `/zookeeper/config` or a dynamic config file.
    pub fn parse(text: &str) -> Result<Self, ConfigParseError> {
        let mut config = Self::default();
        for (i, raw) in text.lines().enumerate() {
            let (line, trimmed) = (i + 1, raw.trim());
            let err = |reason| ConfigParseError {
                line,
                reason,
                text: trimmed.to_string(),
            };
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(hex) = trimmed.strip_prefix("version=") {
                if config.version.is_some() {
                    return Err(err("second version line"));
                }
                let v = u64::from_str_radix(hex.trim(), 16)
                    .map_err(|_| err("version is not a hexadecimal number"))?;
                config.version = Some(v);
            } else if trimmed.starts_with("server.") {
                let spec = parse_server(line, trimmed)?;
                if config.servers.insert(spec.id, spec).is_some() {
                    return Err(err("duplicate server id"));
                }
            } else if trimmed.starts_with("group.") || trimmed.starts_with("weight.") {
                return Err(err("hierarchical quorums are not supported"));
            } else {
                return Err(err("expected server.N=... or version=HEX"));
            }
        }
        Ok(config)
    }

    /// Renders the text ZooKeeper would print: servers by id, then `version=hex` if known.
    pub fn render(&self) -> String {
        let mut out = self.render_servers();
        if let Some(v) = self.version {
            out.push_str(&format!("version={v:x}\n"));
        }
        out
    }

    /// Only the `server.N=` lines: the content of a `dynamicConfigFile`.
    pub fn render_servers(&self) -> String {
        self.servers.values().map(|s| s.to_line() + "\n").collect()
    }

    /// Ids of the voting members.
    pub fn participants(&self) -> Vec<u64> {
        self.servers
            .values()
            .filter(|s| s.role == Role::Participant)
            .map(|s| s.id)
            .collect()
    }

    /// The config id as ZooKeeper prints it (lower-case hex), e.g. for an Event message.
    pub fn version_hex(&self) -> Option<String> {
        self.version.map(|v| format!("{v:x}"))
    }
}

fn parse_server(line: usize, text: &str) -> Result<ServerSpec, ConfigParseError> {
    let err = |reason| ConfigParseError {
        line,
        reason,
        text: text.to_string(),
    };
    let (key, value) = text.split_once('=').ok_or_else(|| err("missing '='"))?;
    let id = key
        .trim()
        .strip_prefix("server.")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| err("server id is not a number"))?;
    let (server, client) = match value.split_once(';') {
        Some((s, c)) => (s.trim(), Some(c.trim())),
        None => (value.trim(), None),
    };
    if server.contains('|') {
        return Err(err("multiple quorum addresses are not supported"));
    }
    let (host, rest) = split_host(server).ok_or_else(|| err("bad host"))?;
    let mut parts = rest.split(':');
    let port = |p: Option<&str>, what| {
        p.and_then(|p| p.parse::<u16>().ok())
            .filter(|&p| p != 0)
            .ok_or_else(|| err(what))
    };
    let quorum_port = port(parts.next(), "bad quorum port")?;
    let election_port = port(parts.next(), "bad election port")?;
    let role = match parts.next() {
        None | Some("participant") => Role::Participant,
        Some("observer") => Role::Observer,
        Some(_) => return Err(err("role must be participant or observer")),
    };
    if parts.next().is_some() {
        return Err(err("too many ':' fields"));
    }
    let client = match client {
        None => None,
        Some(c) => Some(parse_client(c).ok_or_else(|| err("bad client address"))?),
    };
    Ok(ServerSpec {
        id,
        host: host.to_string(),
        quorum_port,
        election_port,
        role,
        client,
    })
}

/// `[v6]:rest` or `host:rest`; returns the host (without brackets) and what follows ':'.
fn split_host(s: &str) -> Option<(&str, &str)> {
    let (host, rest) = if let Some(v6) = s.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        (host, rest.strip_prefix(':')?)
    } else {
        s.split_once(':')?
    };
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some((host, rest))
}

fn parse_client(s: &str) -> Option<ClientAddr> {
    let port_of = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    if let Some(port) = port_of(s) {
        return Some(ClientAddr { host: None, port });
    }
    let (host, port) = split_host(s)?;
    Some(ClientAddr {
        host: Some(host.to_string()),
        port: port_of(port)?,
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // As printed by ZooKeeper 3.8.0's getConfig on a three-member loopback ensemble.
    const THREE: &str = "server.1=127.0.0.1:40001:40002:participant;127.0.0.1:40000\n\
                         server.2=127.0.0.1:40011:40012:participant;127.0.0.1:40010\n\
                         server.3=127.0.0.1:40021:40022:observer;0.0.0.0:40020\n\
                         version=100000000";

    #[test]
    fn parses_zookeeper_output() {
        let c = DynamicConfig::parse(THREE).unwrap();
        assert_eq!(c.version, Some(0x1_0000_0000));
        assert_eq!(c.version_hex().as_deref(), Some("100000000"));
        assert_eq!(c.participants(), vec![1, 2]);
        let s3 = &c.servers[&3];
        assert_eq!(
            (s3.quorum_port, s3.election_port, s3.role),
            (40021, 40022, Role::Observer)
        );
        assert_eq!(
            s3.client,
            Some(ClientAddr {
                host: Some("0.0.0.0".into()),
                port: 40020
            })
        );
        assert_eq!(c.render(), THREE.to_string() + "\n");
    }

    #[test]
    fn role_and_client_are_optional_and_ipv6_is_bracketed() {
        let s = ServerSpec::parse_line("server.7=[::1]:2888:3888;2181").unwrap();
        assert_eq!(
            (s.id, s.host.as_str(), s.role),
            (7, "::1", Role::Participant)
        );
        assert_eq!(
            s.client,
            Some(ClientAddr {
                host: None,
                port: 2181
            })
        );
        assert_eq!(s.to_line(), "server.7=[::1]:2888:3888:participant;2181");
        let bare = ServerSpec::parse_line("server.2=zk-2.zk:2888:3888").unwrap();
        assert_eq!(bare.client, None);
        assert_eq!(bare.to_line(), "server.2=zk-2.zk:2888:3888:participant");
    }

    #[test]
    fn malformed_lines_say_where_and_why() {
        let cases = [
            ("server.x=h:1:2", "server id is not a number"),
            ("server.1=h:1", "bad election port"),
            ("server.1=h:0:2", "bad quorum port"),
            (
                "server.1=h:1:2:leader",
                "role must be participant or observer",
            ),
            ("server.1=h:1:2;h:", "bad client address"),
            (
                "server.1=a:1:2|b:1:2",
                "multiple quorum addresses are not supported",
            ),
            ("server.1 h:1:2", "missing '='"),
            ("version=xyz", "version is not a hexadecimal number"),
            ("group.1=1:2:3", "hierarchical quorums are not supported"),
            ("clientPort=2181", "expected server.N=... or version=HEX"),
        ];
        for (text, reason) in cases {
            let e = DynamicConfig::parse(&format!("server.9=h:1:2\n{text}")).unwrap_err();
            assert_eq!((e.line, e.reason), (2, reason), "{text}");
        }
        let dup = DynamicConfig::parse("server.1=h:1:2\nserver.1=h:3:4").unwrap_err();
        assert_eq!(dup.reason, "duplicate server id");
    }
}
