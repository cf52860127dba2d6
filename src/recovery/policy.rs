//! The knobs of automatic recovery, with defaults chosen for ZooKeeper's own timings.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::{RECOVERY_PAUSED_ANNOTATION, RecoverySpec};

/// How eagerly failed members are restarted. Pure data; the controller builds it from
/// `spec.recovery` and the pause annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// `spec.recovery.enabled`. When false the policy only reports. Default true.
    pub enabled: bool,
    /// The pause annotation is set: only report, keep the history. Default false.
    pub paused: bool,
    /// A member whose pod runs but which does not serve for this long has failed.
    /// Default 60 s: a follower rejoining a busy leader can take tens of seconds to sync.
    pub not_serving_after: Duration,
    /// A member whose pod is not Ready for this long has failed (and a Pending pod is
    /// reported). Default 120 s, longer than a cold start with a large snapshot.
    pub not_ready_after: Duration,
    /// Every member runs but no leader emerged for this long: restart members, most
    /// recent data last. Default 120 s; an election normally takes well under 10 s.
    pub leaderless_after: Duration,
    /// After a restart, wait this long for the member to come back before anything else
    /// is restarted. Default 120 s.
    pub restart_timeout: Duration,
    /// First backoff between two restarts of the same member. Default 30 s.
    pub backoff_initial: Duration,
    /// Backoff doubles up to this. Default 10 min.
    pub backoff_max: Duration,
    /// At most this many restarts of one member within [`Self::window`]. Default 3.
    pub max_restarts: usize,
    /// Default 30 min.
    pub window: Duration,
    /// Reset a member whose on-disk data ZooKeeper cannot load (delete its PVC and pod,
    /// it resyncs from the leader), only while the others hold a quorum. Default false:
    /// deleting data must be asked for.
    pub reset_corrupt_data: bool,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            paused: false,
            not_serving_after: Duration::from_secs(60),
            not_ready_after: Duration::from_secs(120),
            leaderless_after: Duration::from_secs(120),
            restart_timeout: Duration::from_secs(120),
            backoff_initial: Duration::from_secs(30),
            backoff_max: Duration::from_secs(600),
            max_restarts: 3,
            window: Duration::from_secs(1800),
            reset_corrupt_data: false,
        }
    }
}

impl RecoveryPolicy {
    /// The policy a cluster asks for: its `spec.recovery` over the defaults, paused when
    /// the pause annotation says `"true"`.
    pub fn from_spec(spec: &RecoverySpec, annotations: &BTreeMap<String, String>) -> Self {
        let d = Self::default();
        let secs = |v: Option<u32>, default: Duration| {
            v.map_or(default, |s| Duration::from_secs(u64::from(s)))
        };
        Self {
            enabled: spec.enabled.unwrap_or(d.enabled),
            paused: annotations
                .get(RECOVERY_PAUSED_ANNOTATION)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            not_serving_after: secs(spec.not_serving_after_seconds, d.not_serving_after),
            not_ready_after: secs(spec.not_ready_after_seconds, d.not_ready_after),
            leaderless_after: secs(spec.leaderless_after_seconds, d.leaderless_after),
            restart_timeout: secs(spec.restart_timeout_seconds, d.restart_timeout),
            backoff_initial: secs(spec.backoff_initial_seconds, d.backoff_initial),
            backoff_max: secs(spec.backoff_max_seconds, d.backoff_max),
            max_restarts: spec
                .max_restarts
                .map_or(d.max_restarts, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            window: secs(spec.window_seconds, d.window),
            reset_corrupt_data: spec.reset_corrupt_data.unwrap_or(d.reset_corrupt_data),
        }
    }

    /// The wait before the next restart of a member restarted `recent` times within the
    /// window: none before the first, then initial, 2x, 4x... capped at `backoff_max`.
    pub fn backoff(&self, recent: usize) -> Duration {
        if recent == 0 {
            return Duration::ZERO;
        }
        let doublings = u32::try_from(recent - 1).unwrap_or(u32::MAX).min(31);
        self.backoff_initial
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RecoveryPolicy::default();
        let secs: Vec<u64> = (0..8).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(secs, [0, 30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(p.backoff(usize::MAX), p.backoff_max);
    }

    #[test]
    fn spec_overrides_defaults_and_annotation_pauses() {
        let none = BTreeMap::new();
        assert_eq!(
            RecoveryPolicy::from_spec(&RecoverySpec::default(), &none),
            RecoveryPolicy::default()
        );
        let spec = RecoverySpec {
            enabled: Some(false),
            not_serving_after_seconds: Some(5),
            max_restarts: Some(2),
            reset_corrupt_data: Some(true),
            ..RecoverySpec::default()
        };
        let paused = BTreeMap::from([(RECOVERY_PAUSED_ANNOTATION.to_string(), "True".into())]);
        let p = RecoveryPolicy::from_spec(&spec, &paused);
        assert!(!p.enabled && p.paused && p.reset_corrupt_data);
        assert_eq!(p.not_serving_after, Duration::from_secs(5));
        assert_eq!(p.max_restarts, 2);
        assert_eq!(p.not_ready_after, RecoveryPolicy::default().not_ready_after);
        let not_paused = BTreeMap::from([(RECOVERY_PAUSED_ANNOTATION.to_string(), "no".into())]);
        assert!(!RecoveryPolicy::from_spec(&spec, &not_paused).paused);
    }
}
