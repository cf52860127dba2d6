//! Per-receiver rate limits (DingTalk and WeCom ~20/min, Feishu ~100/min, Slack ~1/s).
//! What exceeds the limit is folded into one digest message rather than dropped or sent
//! late one by one.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::alerts::{Notification, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages that may go at once.
    pub burst: u32,
    /// One more message may go after each `every`.
    pub every: Duration,
}

impl RateLimit {
    /// Documented limits of each service, with a little headroom.
    pub fn for_sink(kind: &str) -> Self {
        let (burst, every) = match kind {
            "dingtalk" => (20, Duration::from_secs(3)),
            "slack" => (1, Duration::from_secs(1)),
            "email" => (5, Duration::from_secs(10)),
            // WeCom: 20 a minute per robot, like DingTalk. Feishu: 100 a minute, 5 a second.
            "wecom" => (20, Duration::from_secs(3)),
            "feishu" => (5, Duration::from_millis(700)),
            // Teams workflows throttle bursts; a few a second is what they take.
            "teams" => (4, Duration::from_secs(1)),
            // PagerDuty: 120 events a minute per routing key (a message is one per alert).
            "pagerduty" => (10, Duration::from_millis(500)),
            _ => (10, Duration::from_millis(200)),
        };
        Self { burst, every }
    }
}

/// A token bucket. Time comes in as an argument so it can be tested without sleeping.
#[derive(Debug, Clone)]
pub struct Bucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        let rate = 1.0 / self.limit.every.as_secs_f64().max(1e-3);
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(self.limit.burst));
        self.last = now;
    }

    /// Whole messages that may go now.
    pub fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        // tokens is within 0..=burst, so the cast cannot overflow.
        self.tokens.floor() as u32
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until the next token.
    pub fn wait(&self) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        self.limit.every.mul_f64(missing)
    }
}

/// Splits a receiver's due notifications into what goes now: the first `available - 1`
/// as they are and the rest folded into one digest, when they do not all fit.
pub fn plan(due: Vec<Notification>, available: u32) -> Vec<Notification> {
    let available = available as usize;
    if available == 0 {
        return Vec::new();
    }
    if due.len() <= available {
        return due;
    }
    let mut due = due;
    let mut rest = due.split_off(available - 1);
    // A digest carries one state per alert. Firing then resolved folds into resolved
    // (stale firing notices were withdrawn when it resolved); resolved then firing again
    // is a new episode whose resolution of the old one would be lost, so folding stops
    // there and the rest waits for the next round.
    let mut states: BTreeMap<String, Status> = BTreeMap::new();
    let fold = rest
        .iter()
        .position(|n| {
            let conflict = n.alerts.iter().any(|a| {
                a.status == Status::Firing && states.get(&a.fingerprint) == Some(&Status::Resolved)
            });
            for a in &n.alerts {
                states.insert(a.fingerprint.clone(), a.status);
            }
            conflict
        })
        .unwrap_or(rest.len());
    rest.truncate(fold);
    due.push(digest(rest));
    due
}

/// One notification with the latest state of every alert in `ns` (by fingerprint).
/// Keeps the first id; [`Notification::merged`] counts what it stands for.
pub fn digest(ns: Vec<Notification>) -> Notification {
    let count = ns.len();
    let mut iter = ns.into_iter();
    let Some(mut first) = iter.next() else {
        return Notification {
            id: 0,
            receiver: String::new(),
            namespace: String::new(),
            cluster: String::new(),
            created_at: 0,
            alerts: Vec::new(),
            attempts: 0,
            not_before: 0,
            merged: 0,
            merged_ids: Vec::new(),
            maybe_delivered: false,
        };
    };
    let mut latest: BTreeMap<String, _> = BTreeMap::new();
    let mut merged_from = vec![first.id];
    let mut maybe = false;
    for a in std::mem::take(&mut first.alerts) {
        latest.insert(a.fingerprint.clone(), a);
    }
    for n in iter {
        merged_from.push(n.id);
        maybe |= n.maybe_delivered;
        for a in n.alerts {
            latest.insert(a.fingerprint.clone(), a);
        }
    }
    first.alerts = latest.into_values().collect();
    first.merged = u32::try_from(count).unwrap_or(u32::MAX);
    first.maybe_delivered |= maybe;
    first.merged_ids = merged_from;
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertSnapshot;

    fn n(id: u64, fp: &str, status: Status) -> Notification {
        Notification {
            id,
            receiver: "r".into(),
            namespace: "ns".into(),
            cluster: "zk".into(),
            created_at: id,
            alerts: vec![AlertSnapshot {
                status,
                labels: Default::default(),
                annotations: Default::default(),
                starts_at: 0,
                ends_at: None,
                fingerprint: fp.into(),
                flapping: false,
                repeat: false,
            }],
            attempts: 0,
            not_before: 0,
            merged: 0,
            merged_ids: Vec::new(),
            maybe_delivered: false,
        }
    }

    #[test]
    fn bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(RateLimit::for_sink("slack"), t0);
        assert!(b.take(t0));
        assert!(!b.take(t0), "slack allows one per second");
        assert!(b.wait() > Duration::from_millis(900));
        assert!(b.take(t0 + Duration::from_secs(1)));
        let mut d = Bucket::new(RateLimit::for_sink("dingtalk"), t0);
        assert_eq!(d.available(t0), 20);
    }

    #[test]
    fn excess_is_folded_into_one_digest() {
        let due = (0..5)
            .map(|i| n(i, if i % 2 == 0 { "a" } else { "b" }, Status::Firing))
            .chain([n(5, "a", Status::Resolved)])
            .collect::<Vec<_>>();
        let plan = plan(due, 3);
        assert_eq!(plan.len(), 3);
        assert_eq!((plan[0].id, plan[1].id), (0, 1));
        let d = &plan[2];
        assert_eq!(d.merged, 4);
        assert_eq!(d.merged_ids, vec![2, 3, 4, 5]);
        // Latest state per alert: "a" resolved last.
        assert_eq!(d.alerts.len(), 2);
        assert_eq!(d.alerts[0].status, Status::Resolved);
        assert!(super::plan(vec![n(1, "a", Status::Firing)], 0).is_empty());
    }
}
