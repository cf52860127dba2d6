//! Parser for `conf`: `key=value` lines, then (3.5+) `membership: ` followed by the
//! dynamic configuration (`server.N=host:quorum:election[:role][;client]`, `version=hex`).
use super::reply::{check_reply, truncate};
use super::srvr::parse_zxid;
use crate::zk::ZkError;

/// Whether a configured server votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    Participant,
    Observer,
}

/// One `server.N=` line of the dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredServer {
    pub id: u64,
    pub host: String,
    pub quorum_port: Option<u16>,
    pub election_port: Option<u16>,
    pub role: PeerRole,
    /// The client address after `;`, if any (`0.0.0.0:2181` or just `2181`).
    pub client: Option<String>,
}

/// Parsed `conf` output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conf {
    /// This member's myid (`serverId`).
    pub server_id: Option<u64>,
    pub client_port: Option<u16>,
    pub tick_time_ms: Option<u64>,
    pub init_limit: Option<u64>,
    pub sync_limit: Option<u64>,
    pub data_dir: Option<String>,
    /// The dynamic configuration, empty before 3.5 or with a static config not echoed.
    pub servers: Vec<ConfiguredServer>,
    /// `version=` of the dynamic configuration (a zxid in hex).
    pub config_version: Option<u64>,
}

impl Conf {
    pub fn voters(&self) -> impl Iterator<Item = &ConfiguredServer> {
        self.servers
            .iter()
            .filter(|s| s.role == PeerRole::Participant)
    }
}

pub fn parse_conf(raw: &str) -> Result<Conf, ZkError> {
    let text = check_reply(raw)?;
    let mut conf = Conf::default();
    let mut recognised = false;
    for line in text.lines() {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        recognised = true;
        if let Some(id) = key.strip_prefix("server.") {
            let id = id
                .parse()
                .map_err(|_| ZkError::Malformed(format!("bad server id {:?}", truncate(id))))?;
            conf.servers.push(parse_server(id, value)?);
            continue;
        }
        match key {
            "serverId" => conf.server_id = value.parse().ok(),
            "clientPort" => conf.client_port = value.parse().ok(),
            "tickTime" => conf.tick_time_ms = value.parse().ok(),
            "initLimit" => conf.init_limit = value.parse().ok(),
            "syncLimit" => conf.sync_limit = value.parse().ok(),
            "dataDir" => conf.data_dir = Some(truncate(value)),
            "version" => conf.config_version = Some(parse_zxid(value)?),
            _ => {}
        }
    }
    if !recognised {
        return Err(ZkError::Malformed(
            "conf reply has no key=value line".into(),
        ));
    }
    conf.servers.sort_by_key(|s| s.id);
    Ok(conf)
}

/// `host:quorum:election[:role][;client]`, host possibly `[v6]`.
fn parse_server(id: u64, value: &str) -> Result<ConfiguredServer, ZkError> {
    let malformed = || ZkError::Malformed(format!("bad server.{id} {:?}", truncate(value)));
    let (peer, client) = match value.split_once(';') {
        Some((p, c)) => (p.trim(), Some(truncate(c.trim()))),
        None => (value, None),
    };
    let (host, rest) = if let Some(v6) = peer.strip_prefix('[') {
        let (host, rest) = v6.split_once(']').ok_or_else(malformed)?;
        (host, rest.strip_prefix(':').unwrap_or(rest))
    } else {
        match peer.split_once(':') {
            Some((h, r)) => (h, r),
            None => (peer, ""),
        }
    };
    if host.is_empty() {
        return Err(malformed());
    }
    let mut parts = rest.split(':').filter(|p| !p.is_empty());
    let quorum_port = parts
        .next()
        .map(|p| p.parse())
        .transpose()
        .map_err(|_| malformed())?;
    let election_port = parts
        .next()
        .map(|p| p.parse())
        .transpose()
        .map_err(|_| malformed())?;
    let role = match parts.next() {
        None | Some("participant") => PeerRole::Participant,
        Some("observer") => PeerRole::Observer,
        Some(_) => return Err(malformed()),
    };
    Ok(ConfiguredServer {
        id,
        host: truncate(host),
        quorum_port,
        election_port,
        role,
        client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from Debian's ZooKeeper 3.8.0.
    const CONF_38: &str = "clientPort=22181\nsecureClientPort=-1\ndataDir=/tmp/zkt/d1/version-2\ndataDirSize=597\ndataLogDir=/tmp/zkt/d1/version-2\ndataLogSize=597\ntickTime=500\nmaxClientCnxns=60\nminSessionTimeout=1000\nmaxSessionTimeout=10000\nclientPortListenBacklog=-1\nserverId=1\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=22911\nquorumPort=22901\npeerType=0\nmembership: \nserver.1=127.0.0.1:22901:22911:participant\nserver.2=127.0.0.1:22902:22912:participant\nserver.3=127.0.0.1:22903:22913:observer;0.0.0.0:2181\nversion=100000000";

    #[test]
    fn parses_38_conf_with_membership() {
        let c = parse_conf(CONF_38).unwrap();
        assert_eq!(c.server_id, Some(1));
        assert_eq!(c.client_port, Some(22181));
        assert_eq!(c.tick_time_ms, Some(500));
        assert_eq!(c.sync_limit, Some(5));
        assert_eq!(c.config_version, Some(0x1_0000_0000));
        assert_eq!(c.servers.len(), 3);
        assert_eq!(c.voters().count(), 2);
        let s3 = &c.servers[2];
        assert_eq!(s3.role, PeerRole::Observer);
        assert_eq!(s3.client.as_deref(), Some("0.0.0.0:2181"));
        assert_eq!(s3.quorum_port, Some(22903));
        assert_eq!(s3.election_port, Some(22913));
    }

    #[test]
    fn parses_ipv6_and_bare_client_port() {
        let c = parse_conf("serverId=2\nserver.2=[::1]:2888:3888;2181\n").unwrap();
        let s = &c.servers[0];
        assert_eq!(s.host, "::1");
        assert_eq!(s.role, PeerRole::Participant);
        assert_eq!(s.client.as_deref(), Some("2181"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_conf("hello world").is_err());
        assert!(parse_conf("server.x=a:1:2").is_err());
        assert!(parse_conf("server.1=a:1:2:boss").is_err());
    }
}
