//! A deterministic world for the alert lifecycle: the operator's evaluations and its
//! delivery rounds (the library's own `evaluate`, `AlertBook::due_by_receiver`,
//! `ratelimit::plan`, `postpone`), receivers that answer, refuse, fail or time out, a
//! persisted copy of the book that an operator restart reloads, and a clock. Every
//! notice a receiver gets is checked against the invariants as it arrives.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use zookeeper_operator::alerts::{
    AlertBook, AlertSnapshot, AlertSource, AlertState, Evaluation, Notification, Route, Status,
    Timing, evaluate,
};
use zookeeper_operator::api::Severity;
use zookeeper_operator::health::Fault;
use zookeeper_operator::notify::ratelimit::plan;

pub const EPOCH: u64 = 1_000_000;
/// Messages a receiver takes per round: small, so digests happen.
const PER_ROUND: u32 = 3;
const RETRY_SECS: u64 = 10;

/// How a receiver answers now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Ok,
    /// Connection refused: nothing arrives.
    Refused,
    /// 5xx: nothing taken.
    Error,
    /// The request arrives but the answer never comes back.
    Timeout,
}

/// One notice as a receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: u64,
    pub id: u64,
    pub alert: AlertSnapshot,
}

/// What a receiver believes about one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Firing { since_notice: u64, flapping: bool },
    Resolved,
}

pub struct Sim {
    pub book: AlertBook,
    pub persisted: AlertBook,
    pub routes: Vec<Route>,
    pub timing: Timing,
    pub now: u64,
    pub members: BTreeSet<u64>,
    pub answers: BTreeMap<String, Answer>,
    pub received: BTreeMap<String, Vec<Received>>,
    pub views: BTreeMap<(String, String), View>,
    /// Notification ids each receiver got, for telling redeliveries apart.
    seen: BTreeMap<String, BTreeSet<(u64, String)>>,
    pub violations: Vec<String>,
}

pub fn quorum_lost() -> AlertSource {
    AlertSource::from_fault(&Fault::QuorumLost)
}

pub fn member_down(member: u64) -> AlertSource {
    AlertSource::from_fault(&Fault::MemberDown {
        member,
        reason: "connection refused".into(),
    })
}

impl Sim {
    pub fn new(timing: Timing, receivers: &[(&str, bool)]) -> Self {
        Self {
            book: AlertBook::default(),
            persisted: AlertBook::default(),
            routes: receivers
                .iter()
                .map(|(name, send_resolved)| Route {
                    receiver: name.to_string(),
                    min_severity: Severity::Warning,
                    send_resolved: *send_resolved,
                })
                .collect(),
            timing,
            now: EPOCH,
            members: BTreeSet::from([1, 2, 3]),
            answers: receivers
                .iter()
                .map(|(n, _)| (n.to_string(), Answer::Ok))
                .collect(),
            received: BTreeMap::new(),
            views: BTreeMap::new(),
            seen: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    /// One reconcile: evaluate, persist when the book changed materially (as the
    /// notifier does), then one delivery round.
    pub fn pass(&mut self, sources: &[AlertSource]) {
        let restarting = BTreeSet::new();
        let e = Evaluation {
            namespace: "ns",
            cluster: "zk",
            sources: Some(sources),
            members: Some(&self.members),
            restarting: &restarting,
            forming: false,
            routes: &self.routes,
            timing: self.timing,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(self.now),
        };
        let (next, _) = evaluate(&self.book, &e);
        if !next.same_material(&self.book) {
            self.persisted = next.clone();
        }
        self.book = next;
        self.deliver(true);
    }

    /// `secs` of time, a pass every second with `sources` active.
    pub fn run(&mut self, secs: u64, sources: &[AlertSource]) {
        for _ in 0..secs {
            self.now += 1;
            self.pass(sources);
        }
    }

    /// The operator stops and a new one loads the persisted book.
    pub fn restart(&mut self) {
        self.book = self.persisted.clone();
    }

    /// A delivery round; `persist`: each outcome is written as the delivery task does.
    /// Without it, the operator dies before writing (then restart()).
    pub fn deliver(&mut self, persist: bool) {
        let (due, compacted) = self.book.due_by_receiver(self.now);
        if compacted && persist {
            self.persisted = self.book.clone();
        }
        for (receiver, notifications) in due {
            let answer = self.answers.get(&receiver).copied().unwrap_or(Answer::Ok);
            let originals: BTreeMap<u64, Notification> =
                notifications.iter().map(|n| (n.id, n.clone())).collect();
            for n in plan(notifications, PER_ROUND) {
                let covered = if n.merged_ids.is_empty() {
                    vec![n.id]
                } else {
                    n.merged_ids.clone()
                };
                if matches!(answer, Answer::Ok | Answer::Timeout) {
                    self.arrive(&receiver, &n, &covered, &originals);
                }
                match answer {
                    Answer::Ok => {
                        for id in &covered {
                            self.book.delivered(*id, self.now);
                        }
                    }
                    failed => {
                        for id in &covered {
                            self.book.postpone(
                                *id,
                                self.now + RETRY_SECS,
                                failed == Answer::Timeout,
                            );
                        }
                    }
                }
                if persist {
                    self.persisted = self.book.clone();
                }
                if answer != Answer::Ok {
                    break;
                }
            }
        }
    }

    /// A receiver takes a notification: checked against what it believed before.
    fn arrive(
        &mut self,
        receiver: &str,
        n: &Notification,
        covered: &[u64],
        originals: &BTreeMap<u64, Notification>,
    ) {
        for a in &n.alerts {
            // The queued notification this alert's state came from (a digest keeps the
            // latest), so a second arrival of the same notice is told apart.
            let origin = covered
                .iter()
                .rev()
                .find(|id| {
                    originals
                        .get(id)
                        .is_some_and(|o| o.alerts.iter().any(|x| x.fingerprint == a.fingerprint))
                })
                .copied()
                .unwrap_or(n.id);
            let redelivery = !self
                .seen
                .entry(receiver.to_string())
                .or_default()
                .insert((origin, a.fingerprint.clone()));
            self.received
                .entry(receiver.to_string())
                .or_default()
                .push(Received {
                    at: self.now,
                    id: n.id,
                    alert: a.clone(),
                });
            if redelivery {
                // At-least-once: the same notice again (a crash after the receiver's
                // 2xx and before the book was written, or a retry after a timeout).
                continue;
            }
            let key = (receiver.to_string(), a.fingerprint.clone());
            let view = self.views.get(&key).copied().unwrap_or(View::Resolved);
            let name = a.labels.get("alertname").cloned().unwrap_or_default();
            let state = self.book.alerts.get(&a.fingerprint).map(|x| x.state);
            let flapping_now = self
                .book
                .alerts
                .get(&a.fingerprint)
                .is_some_and(|x| x.flapping);
            let next = match (view, a.status) {
                (View::Resolved, Status::Resolved) => {
                    self.violations.push(format!(
                        "3: {receiver} got resolved {name} at {} without firing",
                        self.now - EPOCH
                    ));
                    View::Resolved
                }
                (View::Firing { .. }, Status::Resolved) => View::Resolved,
                (View::Resolved, Status::Firing) => {
                    if a.repeat {
                        self.violations.push(format!(
                            "5: {receiver} got a repeat of {name} it was never told"
                        ));
                    }
                    if state == Some(AlertState::Resolved) && !flapping_now {
                        self.violations.push(format!(
                            "2: {receiver} got firing {name} at {} after it resolved",
                            self.now - EPOCH
                        ));
                    }
                    View::Firing {
                        since_notice: self.now,
                        flapping: a.flapping,
                    }
                }
                (
                    View::Firing {
                        since_notice,
                        flapping,
                    },
                    Status::Firing,
                ) => {
                    let reminder = a.repeat
                        && (flapping
                            || self.now.saturating_sub(since_notice) >= self.timing.repeat_secs);
                    // A receiver without resolved notices hears each episode's firing.
                    let next_episode = !a.repeat && !self.sends_resolved(receiver);
                    if !reminder && !next_episode {
                        self.violations.push(format!(
                            "5: {receiver} got firing {name} again at {} (repeat={}, {} s after the last)",
                            self.now - EPOCH,
                            a.repeat,
                            self.now - since_notice
                        ));
                    }
                    View::Firing {
                        since_notice: self.now,
                        flapping: a.flapping,
                    }
                }
            };
            self.views.insert(key, next);
        }
    }

    fn sends_resolved(&self, receiver: &str) -> bool {
        self.routes
            .iter()
            .any(|r| r.receiver == receiver && r.send_resolved)
    }

    /// How many episodes of `alertname` paged `receiver` (first firing notices).
    pub fn pages(&self, receiver: &str, alertname: &str) -> usize {
        self.received
            .get(receiver)
            .into_iter()
            .flatten()
            .filter(|r| {
                r.alert.labels.get("alertname").map(String::as_str) == Some(alertname)
                    && r.alert.status == Status::Firing
                    && !r.alert.repeat
            })
            .map(|r| (r.id, r.alert.starts_at))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// What `receiver` believes about the alert with this alertname (and member).
    pub fn view(&self, receiver: &str, source: &AlertSource) -> View {
        let fp = self
            .book
            .alerts
            .iter()
            .find(|(_, a)| {
                a.alertname() == source.alertname
                    && a.label("member")
                        == source.member.map(|m| format!("zk-{}", m - 1)).as_deref()
            })
            .map(|(fp, _)| fp.clone());
        fp.and_then(|fp| self.views.get(&(receiver.to_string(), fp)).copied())
            .unwrap_or(View::Resolved)
    }

    /// The notices `receiver` got about `alertname` as (status, seconds since EPOCH).
    pub fn told(&self, receiver: &str, alertname: &str) -> Vec<(Status, u64)> {
        self.received
            .get(receiver)
            .into_iter()
            .flatten()
            .filter(|r| r.alert.labels.get("alertname").map(String::as_str) == Some(alertname))
            .map(|r| (r.alert.status, r.at - EPOCH))
            .collect()
    }

    /// Every receiver reachable, every fault gone, long enough for flapping to settle:
    /// afterwards nobody may believe anything fires (invariant 1).
    pub fn drain_and_check_all_resolved(&mut self) {
        for a in self.answers.values_mut() {
            *a = Answer::Ok;
        }
        let quiet = zookeeper_operator::alerts::FLAP_QUIET_SECS;
        let secs = self.timing.keep_firing_secs + quiet + 2 * RETRY_SECS + 5;
        for _ in 0..secs / 15 + 1 {
            self.now += 15;
            self.pass(&[]);
        }
        for route in self.routes.iter().filter(|r| r.send_resolved) {
            for ((receiver, fp), view) in &self.views {
                if *receiver == route.receiver && *view != View::Resolved {
                    self.violations.push(format!(
                        "1: {receiver} still believes {fp} fires after everything resolved"
                    ));
                }
            }
        }
    }
}
