//! Parser for `mntr`: `zk_<key>\t<value>` lines, ZooKeeper 3.5-3.9.
//!
//! Facts from the ZooKeeper source that shape this parser:
//! - 3.6+ `MonitorCommand` prints `zk_` + every key of `dumpMonitorValues` (`version`,
//!   `server_state`, `peer_state`) and of the metrics provider's `dump`. Gauges keep the
//!   names they were registered with (`avg_latency`, `outstanding_requests`, `learners`,
//!   `synced_followers`, `pending_syncs`, `quorum_size`, `open_file_descriptor_count`...),
//!   whatever the provider.
//! - Values are provider-typed: the default provider prints integers for long gauges,
//!   the Prometheus provider prints every value as a double (`zk_outstanding_requests\t0.0`)
//!   and adds labelled keys (`zk_foo{quantile="0.5"}`). So every number is read as `f64`.
//! - 3.4/3.5 printed `zk_followers`; 3.6 renamed it `zk_learners`.
//! - Some sources (admin server JSON flattened, exporters) drop the `zk_` prefix: accepted.
//! - Unknown keys are ignored; there are hundreds and they change between releases.
use super::mntr_metrics::{MEMBER_METRICS, member_metric};
use super::reply::{check_reply, truncate};
use super::srvr::ServerMode;
use crate::zk::ZkError;

/// The `mntr` values the health assessment uses. Every field is optional because
/// presence depends on version, role and metrics provider.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mntr {
    pub version: Option<String>,
    pub server_state: Option<ServerMode>,
    /// e.g. `following - broadcast`, `leading - broadcast` (3.6+).
    pub peer_state: Option<String>,
    /// Number of voting members in the current configuration (not the majority).
    pub quorum_size: Option<u64>,
    /// Leader only: connected learners (followers + observers).
    pub learners: Option<u64>,
    /// Leader only: followers in sync (voting).
    pub synced_followers: Option<u64>,
    /// Leader only: observers in sync.
    pub synced_observers: Option<u64>,
    /// Leader only: learners waiting for a sync.
    pub pending_syncs: Option<u64>,
    pub outstanding_requests: Option<u64>,
    pub avg_latency_ms: Option<f64>,
    pub max_latency_ms: Option<f64>,
    pub num_alive_connections: Option<u64>,
    pub open_file_descriptor_count: Option<u64>,
    pub max_file_descriptor_count: Option<u64>,
    pub znode_count: Option<u64>,
    pub uptime_ms: Option<u64>,
    /// The exported member metrics ([`super::MEMBER_METRICS`]) this reply carried, in
    /// reply order; values as printed (ZooKeeper's units).
    pub member_metrics: Vec<(&'static str, f64)>,
}

/// Splits `mntr` output into `(key without zk_ prefix, value)` pairs.
pub fn mntr_pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let line = line.trim_end_matches('\r');
        // Tab is the separator; some proxies turn it into spaces.
        let (key, value) = line
            .split_once('\t')
            .or_else(|| line.split_once(char::is_whitespace))?;
        let key = key.trim();
        let key = key.strip_prefix("zk_").unwrap_or(key);
        (!key.is_empty()).then_some((key, value.trim()))
    })
}

pub fn parse_mntr(raw: &str) -> Result<Mntr, ZkError> {
    let text = check_reply(raw)?;
    let mut m = Mntr::default();
    let mut followers_34 = None;
    let mut known = 0usize;
    for (key, value) in mntr_pairs(text) {
        if let Some(metric) = member_metric(key)
            && let Some(v) = number(value)
            && m.member_metrics.len() < MEMBER_METRICS.len()
            && !m
                .member_metrics
                .iter()
                .any(|(name, _)| *name == metric.name)
        {
            m.member_metrics.push((metric.name, v));
        }
        let slot: &mut Option<u64> = match key {
            "version" => {
                m.version = Some(value.chars().take(256).collect());
                known += 1;
                continue;
            }
            "server_state" => {
                m.server_state = Some(ServerMode::parse(value));
                known += 1;
                continue;
            }
            "peer_state" => {
                m.peer_state = Some(truncate(value));
                continue;
            }
            "avg_latency" => {
                m.avg_latency_ms = number(value);
                continue;
            }
            "max_latency" => {
                m.max_latency_ms = number(value);
                continue;
            }
            "quorum_size" => &mut m.quorum_size,
            "learners" => &mut m.learners,
            "followers" => &mut followers_34,
            "synced_followers" => &mut m.synced_followers,
            "synced_observers" => &mut m.synced_observers,
            "pending_syncs" => &mut m.pending_syncs,
            "outstanding_requests" => &mut m.outstanding_requests,
            "num_alive_connections" => &mut m.num_alive_connections,
            "open_file_descriptor_count" => &mut m.open_file_descriptor_count,
            "max_file_descriptor_count" => &mut m.max_file_descriptor_count,
            "znode_count" => &mut m.znode_count,
            "uptime" => &mut m.uptime_ms,
            _ => continue,
        };
        *slot = count(value);
    }
    if m.learners.is_none() {
        m.learners = followers_34;
    }
    if known == 0 {
        return Err(ZkError::Malformed(
            "mntr reply has neither zk_version nor zk_server_state".into(),
        ));
    }
    Ok(m)
}

/// A finite number, integer or double (`0`, `0.0`, `1.5E7`).
fn number(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A count: negative sentinels (`-1`) read as absent, fractions are truncated.
fn count(value: &str) -> Option<u64> {
    if let Ok(n) = value.parse::<u64>() {
        return Some(n);
    }
    number(value)
        .filter(|v| *v >= 0.0 && *v <= u64::MAX as f64)
        .map(|v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::ZkErrorKind;

    // Key lines of a Debian ZooKeeper 3.8.0 leader (default metrics provider).
    const LEADER_38: &str = "zk_version\t3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nzk_server_state\tleader\nzk_peer_state\tleading - broadcast\nzk_avg_latency\t0.0\nzk_outstanding_requests\t0\nzk_synced_followers\t2\nzk_synced_non_voting_followers\t0\nzk_synced_observers\t0\nzk_max_file_descriptor_count\t20000\nzk_open_file_descriptor_count\t42\nzk_pending_syncs\t0\nzk_learners\t2\nzk_quorum_size\t3\nzk_p50_quorum_ack_latency\t0\nzk_avg_1_learner_handler_qp_size\t0.0732\n";

    // Prometheus metrics provider: every value is a double, labelled keys appear.
    const FOLLOWER_PROMETHEUS_39: &str = "zk_version\t3.9.2-e454e8c7283100c7caec6dcae2bc82aaecb63b3a, built on 2024-02-12 22:16 UTC\nzk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\nzk_avg_latency\t12.5\nzk_outstanding_requests\t14.0\nzk_quorum_size\t5.0\nzk_open_file_descriptor_count\t900.0\nzk_max_file_descriptor_count\t1024.0\nzk_readlatency{quantile=\"0.5\"}\t0.0\nzk_jvm_threads_current\t51.0\n";

    // 3.4-style output: zk_followers, integer latency.
    const LEADER_34: &str = "zk_version\t3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT\nzk_avg_latency\t0\nzk_max_latency\t1650\nzk_outstanding_requests\t0\nzk_server_state\tleader\nzk_followers\t2\nzk_synced_followers\t2\nzk_pending_syncs\t0\n";

    #[test]
    fn parses_a_38_leader() {
        let m = parse_mntr(LEADER_38).unwrap();
        assert_eq!(m.server_state, Some(ServerMode::Leader));
        assert_eq!(m.peer_state.as_deref(), Some("leading - broadcast"));
        assert_eq!(m.quorum_size, Some(3));
        assert_eq!(m.learners, Some(2));
        assert_eq!(m.synced_followers, Some(2));
        assert_eq!(m.pending_syncs, Some(0));
        assert_eq!(m.open_file_descriptor_count, Some(42));
        assert_eq!(m.max_file_descriptor_count, Some(20000));
        assert_eq!(m.avg_latency_ms, Some(0.0));
    }

    #[test]
    fn parses_prometheus_provider_doubles() {
        let m = parse_mntr(FOLLOWER_PROMETHEUS_39).unwrap();
        assert_eq!(m.server_state, Some(ServerMode::Follower));
        assert_eq!(m.outstanding_requests, Some(14));
        assert_eq!(m.quorum_size, Some(5));
        assert_eq!(m.avg_latency_ms, Some(12.5));
        assert_eq!(m.open_file_descriptor_count, Some(900));
        assert_eq!(m.learners, None);
    }

    #[test]
    fn maps_34_followers_to_learners() {
        let m = parse_mntr(LEADER_34).unwrap();
        assert_eq!(m.learners, Some(2));
        assert_eq!(m.max_latency_ms, Some(1650.0));
    }

    #[test]
    fn accepts_keys_without_prefix_and_space_separators() {
        let m = parse_mntr("server_state follower\navg_latency 3.0\nlearners\t7\n").unwrap();
        assert_eq!(m.server_state, Some(ServerMode::Follower));
        assert_eq!(m.avg_latency_ms, Some(3.0));
        assert_eq!(m.learners, Some(7));
    }

    #[test]
    fn bad_values_are_absent_not_errors() {
        let m = parse_mntr("zk_server_state\tleader\nzk_learners\tmany\nzk_pending_syncs\t-1\nzk_avg_latency\tNaN\n").unwrap();
        assert_eq!(m.learners, None);
        assert_eq!(m.pending_syncs, None);
        assert_eq!(m.avg_latency_ms, None);
    }

    #[test]
    fn refusals_and_garbage() {
        assert_eq!(
            parse_mntr("This ZooKeeper instance is not currently serving requests\n")
                .unwrap_err()
                .kind(),
            ZkErrorKind::NotServing
        );
        assert_eq!(
            parse_mntr("hello").unwrap_err().kind(),
            ZkErrorKind::Malformed
        );
    }
}
