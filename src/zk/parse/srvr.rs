//! Parser for `srvr` (the `stat` output without the client list), ZooKeeper 3.5-3.9.
//!
//! ```text
//! Zookeeper version: 3.8.0-..., built on ...
//! Latency min/avg/max: 0/0.0/0        (3.5 prints an integer average)
//! Received: 1
//! Sent: 0
//! Connections: 1
//! Outstanding: 0
//! Zxid: 0x100000000
//! Mode: leader                         (leader|follower|observer|standalone|read-only)
//! Node count: 5
//! Proposal sizes last/min/max: -1/-1/-1  (leader only)
//! ```
use super::reply::{check_reply, truncate};
use crate::zk::ZkError;

/// The role a member reports for itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMode {
    Leader,
    Follower,
    Observer,
    Standalone,
    /// `readonlymode.enabled` and partitioned from the quorum: serves reads only.
    ReadOnly,
    /// A mode this parser does not know (kept for the message).
    Other(String),
}

impl ServerMode {
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "leader" => Self::Leader,
            "follower" => Self::Follower,
            "observer" => Self::Observer,
            "standalone" => Self::Standalone,
            "read-only" => Self::ReadOnly,
            other => Self::Other(truncate(other)),
        }
    }
}

/// Request latency in milliseconds as `srvr` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Latency {
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
}

/// Parsed `srvr` output.
#[derive(Debug, Clone, PartialEq)]
pub struct Srvr {
    pub version: Option<String>,
    pub mode: ServerMode,
    /// Last processed transaction id.
    pub zxid: u64,
    pub latency: Option<Latency>,
    pub received: Option<u64>,
    pub sent: Option<u64>,
    pub connections: Option<u64>,
    pub outstanding: Option<u64>,
    pub node_count: Option<u64>,
    /// The `READ-ONLY mode` banner was present.
    pub read_only: bool,
}

impl Srvr {
    /// The leader epoch that produced `zxid` (its high 32 bits).
    pub fn epoch(&self) -> u32 {
        zxid_epoch(self.zxid)
    }
}

/// High 32 bits of a zxid: the epoch of the leader that proposed it.
pub fn zxid_epoch(zxid: u64) -> u32 {
    (zxid >> 32) as u32
}

/// Low 32 bits of a zxid: the transaction counter within its epoch.
pub fn zxid_counter(zxid: u64) -> u32 {
    (zxid & 0xffff_ffff) as u32
}

/// Parses `0x1a2b` (or bare hex) into a zxid.
pub fn parse_zxid(s: &str) -> Result<u64, ZkError> {
    let s = s.trim();
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(hex, 16)
        .map_err(|_| ZkError::Malformed(format!("bad zxid {:?}", truncate(s))))
}

pub fn parse_srvr(raw: &str) -> Result<Srvr, ZkError> {
    let text = check_reply(raw)?;
    let mut version = None;
    let mut mode = None;
    let mut zxid = None;
    let mut latency = None;
    let (mut received, mut sent, mut connections, mut outstanding, mut node_count) =
        (None, None, None, None, None);
    let mut read_only = false;

    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("READ-ONLY mode") {
            read_only = true;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Zookeeper version" => version = Some(truncate_long(value)),
            "Mode" => mode = Some(ServerMode::parse(value)),
            "Zxid" => zxid = Some(parse_zxid(value)?),
            "Latency min/avg/max" => latency = Some(parse_latency(value)?),
            "Received" => received = Some(parse_count(key, value)?),
            "Sent" => sent = Some(parse_count(key, value)?),
            "Connections" => connections = Some(parse_count(key, value)?),
            "Outstanding" => outstanding = Some(parse_count(key, value)?),
            "Node count" => node_count = Some(parse_count(key, value)?),
            _ => {}
        }
    }

    let mode = mode.ok_or_else(|| ZkError::Malformed("srvr reply has no Mode".into()))?;
    let zxid = zxid.ok_or_else(|| ZkError::Malformed("srvr reply has no Zxid".into()))?;
    Ok(Srvr {
        version,
        mode,
        zxid,
        latency,
        received,
        sent,
        connections,
        outstanding,
        node_count,
        read_only,
    })
}

fn parse_latency(value: &str) -> Result<Latency, ZkError> {
    let mut parts = value.split('/').map(|p| p.trim().parse::<f64>());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(min_ms)), Some(Ok(avg_ms)), Some(Ok(max_ms)), None) => Ok(Latency {
            min_ms,
            avg_ms,
            max_ms,
        }),
        _ => Err(ZkError::Malformed(format!(
            "bad latency {:?}",
            truncate(value)
        ))),
    }
}

/// Counters are non-negative integers; a negative value (never seen) reads as 0.
fn parse_count(key: &str, value: &str) -> Result<u64, ZkError> {
    match value.parse::<i64>() {
        Ok(n) => Ok(n.max(0) as u64),
        Err(_) => Err(ZkError::Malformed(format!(
            "bad {} {:?}",
            truncate(key),
            truncate(value)
        ))),
    }
}

fn truncate_long(s: &str) -> String {
    s.chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::ZkErrorKind;

    // Captured from Debian's ZooKeeper 3.8.0.
    const LEADER_38: &str = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x200000000\nMode: leader\nNode count: 5\nProposal sizes last/min/max: -1/-1/-1\n";

    const FOLLOWER_35: &str = "Zookeeper version: 3.5.9-83df9301aa5c2a5d284a9940177808c01bc35cef, built on 01/06/2021 20:03 GMT\nLatency min/avg/max: 0/2/13\nReceived: 345\nSent: 344\nConnections: 3\nOutstanding: 1\nZxid: 0x30000001c\nMode: follower\nNode count: 27\n";

    #[test]
    fn parses_a_38_leader() {
        let s = parse_srvr(LEADER_38).unwrap();
        assert_eq!(s.mode, ServerMode::Leader);
        assert_eq!(s.zxid, 0x2_0000_0000);
        assert_eq!(s.epoch(), 2);
        assert_eq!(s.node_count, Some(5));
        assert_eq!(s.connections, Some(1));
        assert_eq!(s.outstanding, Some(0));
        assert!(!s.read_only);
        assert!(s.version.unwrap().starts_with("3.8.0"));
    }

    #[test]
    fn parses_a_35_follower_with_integer_average() {
        let s = parse_srvr(FOLLOWER_35).unwrap();
        assert_eq!(s.mode, ServerMode::Follower);
        assert_eq!(s.epoch(), 3);
        assert_eq!(zxid_counter(s.zxid), 0x1c);
        let l = s.latency.unwrap();
        assert_eq!((l.min_ms, l.avg_ms, l.max_ms), (0.0, 2.0, 13.0));
        assert_eq!(s.outstanding, Some(1));
    }

    #[test]
    fn read_only_banner_and_mode() {
        let raw = "Zookeeper version: 3.9.2\nREAD-ONLY mode; serving only read-only clients\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x100000004\nMode: read-only\nNode count: 5\n";
        let s = parse_srvr(raw).unwrap();
        assert!(s.read_only);
        assert_eq!(s.mode, ServerMode::ReadOnly);
    }

    #[test]
    fn not_serving_and_missing_fields() {
        let err =
            parse_srvr("This ZooKeeper instance is not currently serving requests\n").unwrap_err();
        assert_eq!(err.kind(), ZkErrorKind::NotServing);
        assert_eq!(
            parse_srvr("Mode: leader\n").unwrap_err().kind(),
            ZkErrorKind::Malformed
        );
        assert_eq!(
            parse_srvr("Mode: leader\nZxid: 0xZZ\n").unwrap_err().kind(),
            ZkErrorKind::Malformed
        );
    }

    #[test]
    fn unknown_mode_is_kept() {
        let s = parse_srvr("Zxid: 0x1\nMode: participant\n").unwrap();
        assert_eq!(s.mode, ServerMode::Other("participant".into()));
    }
}
