//! Alert thresholds, with the defaults commonly used for ZooKeeper.

/// Limits beyond which a member is reported as overloaded or lagging.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `zk_outstanding_requests` above this is overload. Default 10.
    pub max_outstanding_requests: u64,
    /// `zk_avg_latency` (ms) above this is overload. Default 100 ms.
    pub max_avg_latency_ms: f64,
    /// Leader's `zk_pending_syncs` above this is overload. Default 10.
    pub max_pending_syncs: u64,
    /// Open file descriptors above this fraction of the maximum is overload. Default 0.85.
    pub max_fd_ratio: f64,
    /// A follower or observer this many transactions behind the leader is lagging.
    /// Default 10 000: zxids of different members are sampled up to a ping interval
    /// apart, so a small bound would flap under heavy write load.
    pub max_lag_txns: u64,
    /// A member in its role for less than this (`zk_uptime`, which restarts with every
    /// election: ZooKeeper builds a new server, and new stats, for each leadership or
    /// following) is not judged on latency, outstanding requests or pending syncs: a
    /// fresh leader's average is over its first, slow requests while every client
    /// reconnects and every follower syncs, which paged `Overloaded` ~15 s after each
    /// election. Default 60 s. File descriptors are judged at once.
    pub fresh_role_grace_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            max_outstanding_requests: 10,
            max_avg_latency_ms: 100.0,
            max_pending_syncs: 10,
            max_fd_ratio: 0.85,
            max_lag_txns: 10_000,
            fresh_role_grace_ms: 60_000,
        }
    }
}
