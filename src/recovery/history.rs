//! What recovery remembers between reconciles and across operator restarts: the
//! persisted shapes are `crate::api::{RecoveryHistory, MemberHistory}` (in the cluster's
//! status); the policy's reading and updating of them lives here. Timestamps are whole
//! seconds since the Unix epoch: compact, exact under a round trip, and no clock is read
//! here.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::policy::RecoveryPolicy;
use super::view::members_of;
pub use crate::api::{MemberHistory, RecoveryHistory};
use crate::health::{EnsembleAssessment, MemberId, PodView};

impl MemberHistory {
    fn is_empty(&self) -> bool {
        self.restarts.is_empty() && self.last_restart.is_none() && self.failing_since.is_none()
    }

    /// Until when the last restart holds every other restart: younger than the restart
    /// timeout and not landed yet.
    pub fn in_flight_until(&self, policy: &RecoveryPolicy, now: SystemTime) -> Option<u64> {
        let until = self
            .last_restart?
            .saturating_add(policy.restart_timeout.as_secs());
        (!self.landed && unix(now) < until).then_some(until)
    }

    /// Restarts within the window ending at `now`.
    pub fn recent_restarts(&self, window: Duration, now: SystemTime) -> usize {
        let from = unix(now).saturating_sub(window.as_secs());
        self.restarts.iter().filter(|&&t| t > from).count()
    }
}

impl RecoveryHistory {
    pub fn member(&self, id: MemberId) -> Option<&MemberHistory> {
        self.members.get(&id)
    }

    /// True while the last recorded restart of `member` targeted the pod incarnation
    /// (uid) the controller sees now: the delete may not have been issued. Deleting with
    /// a uid precondition is then safe to repeat, it cannot delete the replacement pod.
    pub fn restart_unconfirmed(&self, member: MemberId, incarnation: &str) -> bool {
        self.member(member)
            .and_then(|m| m.incarnation.as_deref())
            .is_some_and(|i| i == incarnation)
    }
}

/// Updates the "since" timestamps from the latest assessment and pods. Idempotent while
/// nothing changes, so the persisted history is only written on transitions.
pub fn observe(
    history: &RecoveryHistory,
    assessment: &EnsembleAssessment,
    pods: &BTreeMap<MemberId, PodView>,
    now: SystemTime,
) -> RecoveryHistory {
    let now_s = unix(now);
    let mut next = history.clone();
    for view in members_of(assessment, pods) {
        let entry = next.members.entry(view.id).or_default();
        if view.gone() && entry.last_restart.is_some() {
            entry.gone_since_restart = true;
        }
        if entry.gone_since_restart && view.back_after_restart(assessment.quorum) {
            entry.landed = true;
        }
        if view.healthy() {
            entry.failing_since = None;
        } else if entry.failing_since.is_none() {
            entry.failing_since = Some(now_s);
        }
    }
    // Entries with nothing to remember are dropped to keep the persisted state small.
    // Members gone from both the assessment and the pods (scaled down) keep only their
    // restarts: the cap must hold even if a pod briefly vanishes.
    next.members.retain(|id, m| {
        if assessment.member(*id).is_none() && !pods.contains_key(id) {
            m.failing_since = None;
        }
        !m.is_empty()
    });
    let leaderless = assessment.leader.is_none() && !assessment.quorum;
    next.leaderless_since = match (leaderless, history.leaderless_since) {
        (false, _) => None,
        (true, Some(since)) => Some(since),
        (true, None) => Some(now_s),
    };
    next
}

/// Records a restart the controller is about to perform (persist, then delete the pod).
/// `incarnation` is the uid of the pod being deleted. Drops restarts outside the window.
pub fn record_restart(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    member: MemberId,
    incarnation: Option<String>,
    now: SystemTime,
) -> RecoveryHistory {
    let now_s = unix(now);
    let from = now_s.saturating_sub(policy.window.as_secs());
    let mut next = history.clone();
    let entry = next.members.entry(member).or_default();
    entry.restarts.retain(|&t| t > from);
    entry.restarts.push(now_s);
    entry.last_restart = Some(now_s);
    entry.incarnation = incarnation;
    entry.gone_since_restart = false;
    entry.landed = false;
    // Thresholds count again from the restart: a new pod gets the full time to become
    // Ready and serve before it can be judged failed again.
    entry.failing_since = None;
    next
}

/// Whole seconds since the Unix epoch; 0 before it.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The inverse of [`unix`].
pub fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// The next moment a decision may change without anything else changing: a failing
/// member reaching a threshold, a stuck election reaching its limit, a restart timing out
/// or a backoff ending. Health and pod changes wake the controller anyway; time does not.
pub fn next_check(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    now: SystemTime,
) -> Option<SystemTime> {
    let now_s = unix(now);
    let threshold = policy
        .not_serving_after
        .min(policy.not_ready_after)
        .as_secs();
    let mut moments = Vec::new();
    if let Some(since) = history.leaderless_since {
        moments.push(since.saturating_add(policy.leaderless_after.as_secs()));
    }
    for m in history.members.values() {
        if let Some(since) = m.failing_since {
            moments.push(since.saturating_add(threshold));
            moments.push(since.saturating_add(policy.not_ready_after.as_secs()));
        }
        if let Some(last) = m.last_restart {
            let recent = m.recent_restarts(policy.window, now);
            if !m.landed {
                moments.push(last.saturating_add(policy.restart_timeout.as_secs()));
            }
            moments.push(last.saturating_add(policy.backoff(recent).as_secs()));
            // The cap lifts when the oldest restart leaves the window.
            if let Some(oldest) = m.restarts.first() {
                moments.push(oldest.saturating_add(policy.window.as_secs()) + 1);
            }
        }
    }
    moments.into_iter().filter(|&t| t > now_s).min().map(at)
}

/// The history read from the cluster combined with the one this operator persisted last.
/// The cluster object may come from a cache that has not seen the last status write yet;
/// deciding on it would forget a restart just issued (and restart the member again) or
/// resurrect a "failing since" that was cleared. While it leads, this operator is the only
/// writer, so its own copy is the newest: it wins, except that restarts only accumulate
/// (the union is kept) and a restart newer than its own (recorded by another writer)
/// brings that restart's bookkeeping along.
pub fn merged(cached: &RecoveryHistory, written: Option<&RecoveryHistory>) -> RecoveryHistory {
    let Some(written) = written else {
        return cached.clone();
    };
    let mut out = written.clone();
    for (id, c) in &cached.members {
        if c.restarts.is_empty() && c.last_restart.is_none() {
            continue;
        }
        let entry = out.members.entry(*id).or_default();
        let mut restarts: Vec<u64> = entry.restarts.iter().chain(&c.restarts).copied().collect();
        restarts.sort_unstable();
        restarts.dedup();
        if c.last_restart > entry.last_restart {
            *entry = MemberHistory {
                failing_since: None,
                ..c.clone()
            };
        }
        entry.restarts = restarts;
    }
    out
}
