//! What to watch and how often.
use std::net::SocketAddr;
use std::time::Duration;

use crate::health::{MemberId, Thresholds};
use crate::zk::{ProbeLimits, SessionConfig};

/// One member to watch: its `myid` and client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEndpoint {
    pub id: MemberId,
    /// Pod name (or any label); shown in assessments.
    pub name: String,
    pub addr: SocketAddr,
    /// Configured as a non-voting observer.
    pub observer: bool,
}

impl MemberEndpoint {
    pub fn new(id: MemberId, name: impl Into<String>, addr: SocketAddr) -> Self {
        Self {
            id,
            name: name.into(),
            addr,
            observer: false,
        }
    }
}

/// Timing of an [`super::EnsembleWatcher`].
#[derive(Debug, Clone, PartialEq)]
pub struct WatcherConfig {
    /// A member silent this long (no ping reply, no probe reply) is down: the bound on
    /// detecting a frozen or partitioned member. Default 2 s.
    pub probe_timeout: Duration,
    pub connect_timeout: Duration,
    /// Session ping period; must be under `probe_timeout` (a member is down after
    /// `probe_timeout` without any reply, whatever this period). Default 1 s.
    pub ping_interval: Duration,
    /// Period of the `srvr` poll (latency, outstanding; role and zxid also come from the
    /// session and its pings, so this is not on the detection path). Default 10 s.
    pub poll_interval: Duration,
    /// Period of the `mntr` poll (fds, pending syncs, synced followers; ~20 KiB on 3.8,
    /// so rarer than `srvr`). Default 30 s.
    pub metrics_interval: Duration,
    /// Reconnect backoff while a member is down or not serving, doubling from min to max.
    /// The max bounds how late a restarted member is noticed. Defaults 100 ms and 1 s.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// Requested ZooKeeper session timeout (the server clamps it to 2..20 ticks).
    pub session_timeout: Duration,
    pub max_response_bytes: usize,
    pub thresholds: Thresholds,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        Self {
            probe_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            ping_interval: Duration::from_secs(1),
            poll_interval: Duration::from_secs(10),
            metrics_interval: Duration::from_secs(30),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(1),
            session_timeout: Duration::from_secs(4),
            max_response_bytes: 1024 * 1024,
            thresholds: Thresholds::default(),
        }
    }
}

impl WatcherConfig {
    pub(crate) fn probe_limits(&self) -> ProbeLimits {
        ProbeLimits {
            connect_timeout: self.connect_timeout,
            read_timeout: self.probe_timeout,
            max_response_bytes: self.max_response_bytes,
        }
    }

    pub(crate) fn session(&self) -> SessionConfig {
        SessionConfig {
            connect_timeout: self.connect_timeout,
            handshake_timeout: self.probe_timeout,
            session_timeout: self.session_timeout,
        }
    }
}
