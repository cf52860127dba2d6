//! Scenario tests of the lifecycle: one fault's life, flapping, inhibition, restarts,
//! persistence, expiry, repeat, size bound.
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::*;
use crate::api::Severity;
use crate::health::Fault;

fn route(name: &str) -> Route {
    Route {
        receiver: name.into(),
        min_severity: Severity::Warning,
        send_resolved: true,
    }
}

fn down(member: u64) -> AlertSource {
    AlertSource::from_fault(&Fault::MemberDown {
        member,
        reason: "connection refused".into(),
    })
}

const TIMING: Timing = Timing {
    for_secs: 30,
    repeat_secs: 3600,
    keep_firing_secs: 0,
};

/// Runs one pass at `t` seconds with `sources` active.
struct World {
    book: AlertBook,
    routes: Vec<Route>,
    restarting: BTreeSet<u64>,
    members: BTreeSet<u64>,
    forming: bool,
    timing: Timing,
    sent: Vec<Notification>,
}

impl World {
    fn new() -> Self {
        Self {
            book: AlertBook::default(),
            routes: vec![route("ops")],
            restarting: BTreeSet::new(),
            members: BTreeSet::from([1, 2, 3]),
            forming: false,
            timing: TIMING,
            sent: Vec::new(),
        }
    }

    fn pass(&mut self, t: u64, sources: &[AlertSource]) -> Vec<Notification> {
        let e = Evaluation {
            namespace: "ns",
            cluster: "zk",
            sources: Some(sources),
            members: Some(&self.members),
            restarting: &self.restarting,
            forming: self.forming,
            routes: &self.routes,
            timing: self.timing,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + t),
        };
        let (book, queued) = evaluate(&self.book, &e);
        self.book = book;
        self.sent.extend(queued.clone());
        queued
    }

    fn statuses(&self) -> Vec<(Status, bool)> {
        self.sent
            .iter()
            .flat_map(|n| n.alerts.iter().map(|a| (a.status, a.flapping)))
            .collect()
    }
}

#[test]
fn killed_then_recovered_member_gives_one_firing_and_one_resolved() {
    let mut w = World::new();
    for t in (0..120).step_by(10) {
        w.pass(t, &[down(2)]);
    }
    for t in (120..400).step_by(10) {
        w.pass(t, &[]);
    }
    assert_eq!(
        w.statuses(),
        vec![(Status::Firing, false), (Status::Resolved, false)]
    );
    let firing = &w.sent[0].alerts[0];
    assert_eq!(firing.labels["alertname"], "MemberDown");
    assert_eq!(firing.labels["member"], "zk-1");
    assert_eq!(firing.labels["namespace"], "ns");
    assert_eq!(firing.labels["cluster"], "zk");
    assert_eq!(firing.labels["severity"], "warning");
    assert_eq!(firing.fingerprint, fingerprint(&firing.labels));
    assert_eq!(firing.annotations["value_reason"], "connection refused");
    // Fired once the `for` duration passed, from the moment it went down.
    assert_eq!(w.sent[0].created_at, 1_000_030);
    assert_eq!(firing.starts_at, 1_000_000);
    let resolved = &w.sent[1].alerts[0];
    assert_eq!(resolved.ends_at, Some(1_000_120));
    assert_eq!(resolved.fingerprint, firing.fingerprint);
}

#[test]
fn the_next_evaluation_is_when_for_runs_out_then_the_reminder() {
    // Nothing else wakes the controller while a member stays down: the time to look again
    // comes from the book itself.
    let mut w = World::new();
    assert_eq!(next_evaluation(&w.book, TIMING), None);
    w.pass(0, &[down(2)]);
    assert_eq!(next_evaluation(&w.book, TIMING), Some(1_000_030));
    assert!(w.pass(29, &[down(2)]).is_empty());
    assert_eq!(w.pass(30, &[down(2)]).len(), 1, "fires exactly then");
    assert_eq!(next_evaluation(&w.book, TIMING), Some(1_003_630));
    w.pass(40, &[]);
    assert_eq!(
        next_evaluation(&w.book, TIMING),
        None,
        "resolved: nothing due"
    );
}

#[test]
fn a_restart_bouncing_through_states_is_one_firing_and_one_resolved() {
    // A killed member comes back through "connection refused", a moment without a fault
    // and "not serving" before it serves: gaps shorter than keep_firing are no
    // resolution and no flap.
    let mut w = World::new();
    let keep = Timing {
        for_secs: 0,
        keep_firing_secs: 10,
        ..TIMING
    };
    w.timing = keep;
    for (t, down_now) in [
        (0, true),
        (2, false),
        (3, true),
        (5, false),
        (6, true),
        (8, false),
    ] {
        let sources = if down_now { vec![down(2)] } else { vec![] };
        w.pass(t, &sources);
    }
    assert_eq!(w.statuses(), vec![(Status::Firing, false)]);
    assert_eq!(
        next_evaluation(&w.book, keep),
        Some(1_000_018),
        "wakes when it has been clear long enough"
    );
    w.pass(17, &[]);
    assert_eq!(w.statuses().len(), 1, "still within keep_firing");
    w.pass(18, &[]);
    assert_eq!(
        w.statuses(),
        vec![(Status::Firing, false), (Status::Resolved, false)]
    );
    assert_eq!(
        w.sent[1].alerts[0].ends_at,
        Some(1_000_008),
        "ends when it cleared, not when the hold ran out"
    );
}

#[test]
fn a_blip_shorter_than_for_pages_nobody() {
    let mut w = World::new();
    w.pass(0, &[down(1)]);
    w.pass(20, &[down(1)]);
    w.pass(25, &[]);
    w.pass(100, &[]);
    assert!(w.sent.is_empty(), "{:?}", w.sent);
}

#[test]
fn members_joining_a_forming_ensemble_are_not_flapping() {
    let mut w = World::new();
    w.forming = true;
    for i in 0..30u64 {
        let sources = if i % 2 == 0 { vec![down(3)] } else { vec![] };
        w.pass(i * 10, &sources);
    }
    assert!(
        w.book
            .alerts
            .values()
            .all(|a| !a.flapping && a.changes.is_empty())
    );
    // Formed: a real outage pages at once, as a plain firing notice.
    w.forming = false;
    for t in (300..400).step_by(10) {
        w.pass(t, &[down(3)]);
    }
    assert_eq!(w.statuses(), vec![(Status::Firing, false)]);
}

#[test]
fn flapping_member_gives_one_flapping_notice() {
    let mut w = World::new();
    // Down and up every 10 s for five minutes: never down long enough to fire.
    for i in 0..30u64 {
        let sources = if i % 2 == 0 { vec![down(3)] } else { vec![] };
        w.pass(i * 10, &sources);
    }
    assert_eq!(w.statuses(), vec![(Status::Firing, true)]);
    let notice = &w.sent[0].alerts[0];
    assert!(notice.annotations["flapping"].contains("held back"));
    // Once stable (up) for the quiet period, the receiver hears it resolved, once.
    for t in (300..1200).step_by(30) {
        w.pass(t, &[]);
    }
    assert_eq!(
        w.statuses(),
        vec![(Status::Firing, true), (Status::Resolved, false)]
    );
}

#[test]
fn quorum_lost_mutes_member_down_of_the_same_cluster() {
    let mut w = World::new();
    let quorum = AlertSource::from_fault(&Fault::QuorumLost);
    for t in (0..100).step_by(10) {
        w.pass(t, &[down(1), down(2), quorum.clone()]);
    }
    let names: Vec<&str> = w
        .sent
        .iter()
        .flat_map(|n| n.alerts.iter().map(|a| a.labels["alertname"].as_str()))
        .collect();
    assert_eq!(names, vec!["QuorumLost"]);
    // Quorum back but member 2 still down: now MemberDown speaks.
    w.pass(100, &[down(2)]);
    let last = w.sent.last().expect("sent");
    let told: Vec<(&str, Status)> = last
        .alerts
        .iter()
        .map(|a| (a.labels["alertname"].as_str(), a.status))
        .collect();
    assert!(told.contains(&("QuorumLost", Status::Resolved)));
    assert!(told.contains(&("MemberDown", Status::Firing)));
    assert!(
        !told
            .iter()
            .any(|(n, _)| *n == "MemberDown" && last.alerts.len() == 1),
        "grouped with the resolved QuorumLost: {told:?}"
    );
}

#[test]
fn restarts_by_the_operator_do_not_page() {
    let mut w = World::new();
    w.restarting.insert(2);
    for t in (0..200).step_by(10) {
        w.pass(t, &[down(2)]);
    }
    w.restarting.clear();
    w.pass(200, &[]);
    assert!(w.sent.is_empty(), "{:?}", w.sent);
    // A member that stays down after its restart is done does page.
    w.pass(300, &[down(2)]);
    w.pass(340, &[down(2)]);
    assert_eq!(w.statuses(), vec![(Status::Firing, false)]);
}

#[test]
fn persisted_book_round_trips_and_nothing_is_sent_twice_after_restart() {
    let mut w = World::new();
    w.pass(0, &[down(1)]);
    w.pass(40, &[down(1)]);
    assert_eq!(w.sent.len(), 1);
    // Restart: the book comes back from its ConfigMap text.
    let json = w.book.to_json();
    let restored = AlertBook::from_json(&json).expect("parses");
    assert_eq!(restored, w.book);
    let mut w2 = World::new();
    w2.book = restored;
    // Same fault still active: nothing new.
    assert!(w2.pass(50, &[down(1)]).is_empty());
    assert!(w2.pass(60, &[down(1)]).is_empty());
    // The fault cleared while the operator was down: its resolved notice still goes.
    let q = w2.pass(500, &[]);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].alerts[0].status, Status::Resolved);
}

#[test]
fn firing_alerts_repeat_after_the_interval() {
    let mut w = World::new();
    for t in (0..=7300).step_by(100) {
        w.pass(t, &[down(1)]);
    }
    let repeats: Vec<bool> = w.sent.iter().map(|n| n.alerts[0].repeat).collect();
    assert_eq!(repeats, vec![false, true, true]);
}

#[test]
fn alerts_of_removed_members_expire() {
    let mut w = World::new();
    w.pass(0, &[down(3)]);
    w.pass(40, &[down(3)]);
    w.members = BTreeSet::from([1]);
    // No observation this pass, but member 3 is gone: resolved as expired.
    let e = Evaluation {
        namespace: "ns",
        cluster: "zk",
        sources: None,
        members: Some(&w.members),
        restarting: &w.restarting,
        forming: false,
        routes: &w.routes,
        timing: Timing::default(),
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_050),
    };
    let (book, q) = evaluate(&w.book, &e);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].alerts[0].status, Status::Resolved);
    assert!(q[0].alerts[0].annotations["resolution"].starts_with("expired"));
    assert_eq!(summary(&book).firing, 0);
}

#[test]
fn unobserved_passes_keep_alerts_until_stale() {
    let mut w = World::new();
    w.pass(0, &[down(1)]);
    w.pass(40, &[down(1)]);
    let at = |t: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + t);
    let e = |now| Evaluation {
        namespace: "ns",
        cluster: "zk",
        sources: None,
        members: None,
        restarting: &w.restarting,
        forming: false,
        routes: &w.routes,
        timing: Timing::default(),
        now,
    };
    let (book, q) = evaluate(&w.book, &e(at(100)));
    assert!(q.is_empty());
    assert_eq!(summary(&book).firing, 1);
    let (_, q) = evaluate(&book, &e(at(40 + STALE_SECS)));
    assert_eq!(q.len(), 1, "stale alerts expire");
}

#[test]
fn receivers_filter_by_severity_and_resolved() {
    let mut w = World::new();
    w.routes = vec![
        Route {
            receiver: "pager".into(),
            min_severity: Severity::Critical,
            send_resolved: false,
        },
        route("chat"),
    ];
    let quorum = AlertSource::from_fault(&Fault::QuorumLost);
    w.pass(0, &[down(1), quorum.clone()]);
    w.pass(40, &[down(1), quorum]);
    w.pass(80, &[]);
    let heard = |r: &str| -> Vec<(String, Status)> {
        w.sent
            .iter()
            .filter(|n| n.receiver == r)
            .flat_map(|n| {
                n.alerts
                    .iter()
                    .map(|a| (a.labels["alertname"].clone(), a.status))
            })
            .collect()
    };
    assert_eq!(
        heard("pager"),
        vec![("QuorumLost".to_string(), Status::Firing)]
    );
    assert_eq!(
        heard("chat"),
        vec![
            ("QuorumLost".to_string(), Status::Firing),
            ("QuorumLost".to_string(), Status::Resolved)
        ]
    );
}

#[test]
fn summary_lists_most_severe_first() {
    let mut w = World::new();
    let quorum = AlertSource::from_fault(&Fault::QuorumLost);
    w.pass(0, &[down(1)]);
    w.pass(10, &[down(1), quorum.clone()]);
    w.pass(45, &[down(1), quorum]);
    let s = summary(&w.book);
    assert_eq!((s.firing, s.pending), (2, 0));
    assert_eq!(s.active[0].alertname, "QuorumLost");
    assert_eq!(s.active[1].member.as_deref(), Some("zk-0"));
    assert_eq!(s.active[1].since, "1970-01-12T13:46:40Z");
    // Both fired in the same pass: one grouped notification.
    assert_eq!(s.undelivered, 1);
}

#[test]
fn the_book_stays_under_its_size_bound() {
    let mut book = AlertBook::default();
    let long = "x".repeat(4000);
    let mut w = World::new();
    w.members = (1..=128).collect();
    for m in 1..=128u64 {
        let mut s = down(m);
        s.summary = long.clone();
        s.description = long.clone();
        let e = Evaluation {
            namespace: "ns",
            cluster: "zk",
            sources: Some(std::slice::from_ref(&s)),
            members: Some(&w.members),
            restarting: &w.restarting,
            forming: false,
            routes: &w.routes,
            timing: Timing {
                for_secs: 0,
                repeat_secs: 3600,
                keep_firing_secs: 0,
            },
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + m * 1000),
        };
        book = evaluate(&book, &e).0;
    }
    let len = book.to_json().len();
    assert!(len <= MAX_BOOK_BYTES, "{len}");
    assert!(book.dropped_alerts + book.dropped_notifications > 0);
    // Annotations were cut to a readable length.
    assert!(
        book.alerts
            .values()
            .all(|a| a.annotations["summary"].chars().count() <= 1024)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the fault sequence: every resolved notice follows a firing (or flapping)
    /// notice of the same alert to the same receiver, nothing is told twice in a row,
    /// and the book survives a JSON round trip at every step.
    #[test]
    fn notices_alternate_and_the_book_round_trips(
        steps in proptest::collection::vec((0u8..8, 1u64..120), 1..60)
    ) {
        let mut w = World::new();
        let mut t = 0;
        for (mask, dt) in steps {
            t += dt;
            let sources: Vec<AlertSource> =
                (1..=3).filter(|m| mask & (1 << (m - 1)) != 0).map(down).collect();
            w.pass(t, &sources);
            let back = AlertBook::from_json(&w.book.to_json()).expect("round trip");
            prop_assert_eq!(&back, &w.book);
        }
        let mut last: std::collections::BTreeMap<String, (Status, bool)> = Default::default();
        for n in &w.sent {
            for a in &n.alerts {
                let prev = last.insert(a.fingerprint.clone(), (a.status, a.flapping));
                match (prev, a.status) {
                    (None, s) => prop_assert_eq!(s, Status::Firing),
                    (Some((Status::Resolved, _)), s) => prop_assert_eq!(s, Status::Firing),
                    (Some((Status::Firing, was_flapping)), Status::Firing) => {
                        prop_assert!(a.repeat || a.flapping != was_flapping)
                    }
                    _ => {}
                }
            }
        }
    }

    /// Fingerprints depend on labels only, not on their insertion order.
    #[test]
    fn fingerprint_is_order_independent(pairs in proptest::collection::vec(("[a-z]{1,5}", "[ -~]{0,8}"), 0..8)) {
        let a: std::collections::BTreeMap<String, String> = pairs.iter().cloned().collect();
        let b: std::collections::BTreeMap<String, String> = pairs.iter().rev().cloned().collect::<Vec<_>>().into_iter().rev().collect();
        prop_assert_eq!(fingerprint(&a), fingerprint(&b));
        prop_assert_eq!(fingerprint(&a).len(), 16);
    }
}

#[test]
fn moving_values_of_an_active_fault_are_not_worth_a_write() {
    let lag = |lag| AlertSource::from_fault(&Fault::FollowerLagging { member: 2, lag });
    let mut w = World::new();
    w.pass(0, &[lag(100)]);
    w.pass(40, &[lag(150)]);
    let before = w.book.clone();
    w.pass(50, &[lag(900)]);
    assert_ne!(before, w.book, "the value did change");
    assert!(w.book.same_material(&before));
    let fp = w.book.alerts.keys().next().expect("alert").clone();
    assert_eq!(w.book.alerts[&fp].annotations["value_lag"], "900");
    // A state change is material.
    w.pass(60, &[]);
    assert!(!w.book.same_material(&before));
}
