//! Probe result bookkeeping: successThreshold consecutive successes flip to healthy,
//! failureThreshold consecutive failures flip to unhealthy (kubelet semantics).

use k8s_openapi::api::core::v1::Probe;
use std::time::Duration;

/// Timing and thresholds of a probe, with Kubernetes defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTiming {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl ProbeTiming {
    pub fn of(p: &Probe) -> Self {
        let secs =
            |v: Option<i32>, default: i32| Duration::from_secs(v.unwrap_or(default).max(0) as u64);
        Self {
            initial_delay: secs(p.initial_delay_seconds, 0),
            period: secs(p.period_seconds, 10).max(Duration::from_secs(1)),
            timeout: secs(p.timeout_seconds, 1).max(Duration::from_secs(1)),
            success_threshold: p.success_threshold.unwrap_or(1).max(1) as u32,
            failure_threshold: p.failure_threshold.unwrap_or(3).max(1) as u32,
        }
    }
}

/// Consecutive-result counter; `healthy` starts as `initial` (readiness: false).
#[derive(Clone, Debug)]
pub struct ProbeState {
    pub healthy: bool,
    successes: u32,
    failures: u32,
}

impl ProbeState {
    pub fn new(initial: bool) -> Self {
        Self {
            healthy: initial,
            successes: 0,
            failures: 0,
        }
    }

    /// Records one result; returns true when `healthy` flipped.
    pub fn record(&mut self, ok: bool, t: &ProbeTiming) -> bool {
        let before = self.healthy;
        if ok {
            self.successes += 1;
            self.failures = 0;
            if self.successes >= t.success_threshold {
                self.healthy = true;
            }
        } else {
            self.failures += 1;
            self.successes = 0;
            if self.failures >= t.failure_threshold {
                self.healthy = false;
            }
        }
        before != self.healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_need_consecutive_results() {
        let t = ProbeTiming::of(&Probe {
            success_threshold: Some(2),
            failure_threshold: Some(2),
            ..Default::default()
        });
        let mut s = ProbeState::new(false);
        assert!(!s.record(true, &t));
        assert!(s.record(true, &t) && s.healthy);
        assert!(!s.record(false, &t));
        assert!(!s.record(true, &t), "a success resets the failure streak");
        assert!(!s.record(false, &t));
        assert!(s.record(false, &t) && !s.healthy);
    }

    #[test]
    fn defaults_match_kubernetes() {
        let t = ProbeTiming::of(&Probe::default());
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
    }
}
