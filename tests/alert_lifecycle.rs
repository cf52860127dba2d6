//! The alert lifecycle end to end without I/O: evaluations, the outbox, delivery rounds
//! with receivers that refuse, fail and time out, operator restarts and the clock.
//! First the reported bugs as fixed sequences, then the invariants (see
//! `alerts::lifecycle::tell`) over random sequences.
#[path = "alert_lifecycle/sim.rs"]
mod sim;

use proptest::prelude::*;
use sim::{Answer, Sim, View, member_down, quorum_lost};
use zookeeper_operator::alerts::{Status, Timing};

const PAGING: Timing = Timing {
    for_secs: 0,
    repeat_secs: 4 * 3600,
    keep_firing_secs: 15,
};

fn statuses(told: &[(Status, u64)]) -> Vec<Status> {
    told.iter().map(|(s, _)| *s).collect()
}

use Status::{Firing as F, Resolved as R};

/// Leader SIGKILL, then a leader freeze with the receiver down for its first 20 s, then
/// two of three members crashing: every QuorumLost episode is one firing and one
/// resolved notice. (It was: the freeze's resolution went out as a second "flapping"
/// firing notice, held for 5 minutes, and the crash paged nobody.)
#[test]
fn quorum_lost_resolves_after_a_freeze_and_the_next_outage_pages() {
    let mut w = Sim::new(PAGING, &[("ops", true)]);
    // Leader kill: quorum lost for a second, the leader back 2 s later.
    w.run(1, &[quorum_lost(), member_down(3)]);
    w.run(2, &[member_down(3)]);
    w.run(60, &[]);
    // Leader freeze; the receiver refuses connections for the first 20 s.
    w.answers.insert("ops".into(), Answer::Refused);
    w.run(11, &[quorum_lost(), member_down(1)]);
    w.run(9, &[]);
    w.answers.insert("ops".into(), Answer::Ok);
    w.run(60, &[]);
    assert_eq!(
        w.view("ops", &quorum_lost()),
        View::Resolved,
        "{:?}",
        w.told("ops", "QuorumLost")
    );
    // Majority crash.
    w.run(5, &[quorum_lost(), member_down(1), member_down(2)]);
    assert!(
        matches!(
            w.view("ops", &quorum_lost()),
            View::Firing {
                flapping: false,
                ..
            }
        ),
        "the crash pages: {:?}",
        w.told("ops", "QuorumLost")
    );
    w.run(60, &[]);
    assert_eq!(
        statuses(&w.told("ops", "QuorumLost")),
        vec![F, R, F, R, F, R],
        "{:?}",
        w.told("ops", "QuorumLost")
    );
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
}

/// The killed leader's MemberDown is muted by QuorumLost; the quorum is back before the
/// member is, and QuorumLost resolves while MemberDown waits out keepFiringFor. The
/// member was back by then: no MemberDown firing (it was sent, 15 s stale).
#[test]
fn member_down_muted_by_quorum_lost_is_not_told_after_it_returned() {
    let mut w = Sim::new(PAGING, &[("ops", true)]);
    w.run(1, &[quorum_lost(), member_down(1)]);
    w.run(2, &[member_down(1)]);
    w.run(40, &[]);
    assert_eq!(w.told("ops", "MemberDown"), vec![]);
    assert_eq!(statuses(&w.told("ops", "QuorumLost")), vec![F, R]);
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
}

/// A follower's MemberDown fires while the receiver refuses connections and clears
/// before it is back: the receiver hears nothing about it. (It was: the resolved
/// notice, queued later but not postponed, overtook the postponed firing one, so the
/// receiver got "resolved" first and then "firing" for good.)
#[test]
fn nothing_resolved_reaches_a_receiver_that_never_heard_it_fire() {
    let timing = Timing {
        keep_firing_secs: 0,
        ..PAGING
    };
    for answer in [Answer::Refused, Answer::Error] {
        let mut w = Sim::new(timing, &[("ops", true)]);
        w.answers.insert("ops".into(), answer);
        w.run(2, &[member_down(2)]);
        w.answers.insert("ops".into(), Answer::Ok);
        w.run(30, &[]);
        assert_eq!(w.told("ops", "MemberDown"), vec![], "{answer:?}");
        assert!(w.violations.is_empty(), "{:#?}", w.violations);
    }
}

/// The same with a receiver that took the firing notice but timed out answering: it may
/// believe it fires, so it gets the resolved notice, once.
#[test]
fn a_timed_out_firing_notice_is_resolved() {
    let mut w = Sim::new(
        Timing {
            keep_firing_secs: 0,
            ..PAGING
        },
        &[("ops", true)],
    );
    w.answers.insert("ops".into(), Answer::Timeout);
    w.run(2, &[member_down(2)]);
    w.answers.insert("ops".into(), Answer::Ok);
    w.run(30, &[]);
    let told = w.told("ops", "MemberDown");
    assert_eq!(statuses(&told).first(), Some(&F));
    assert_eq!(statuses(&told).last(), Some(&R));
    assert_eq!(told.iter().filter(|(s, _)| *s == R).count(), 1, "{told:?}");
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
}

#[derive(Debug, Clone)]
enum Step {
    /// The faults now: QuorumLost or not, and which members are down.
    Faults {
        quorum_lost: bool,
        down: u8,
    },
    Answer {
        receiver: usize,
        answer: Answer,
    },
    /// Time passes with a pass every `every` seconds.
    Advance {
        secs: u64,
        every: u64,
    },
    /// The operator restarts between two passes.
    Restart,
    /// The operator dies in a delivery round, after the receiver took it and before the
    /// book was written.
    CrashMidDelivery,
}

fn step() -> impl Strategy<Value = Step> {
    let answer = prop_oneof![
        Just(Answer::Ok),
        Just(Answer::Refused),
        Just(Answer::Error),
        Just(Answer::Timeout)
    ];
    prop_oneof![
        3 => (any::<bool>(), 0u8..8).prop_map(|(quorum_lost, down)| Step::Faults { quorum_lost, down }),
        2 => (0usize..2, answer).prop_map(|(receiver, answer)| Step::Answer { receiver, answer }),
        4 => (1u64..60, 2u64..10).prop_map(|(secs, every)| Step::Advance { secs, every }),
        1 => Just(Step::Restart),
        1 => Just(Step::CrashMidDelivery),
    ]
}

fn timing() -> impl Strategy<Value = Timing> {
    (
        prop_oneof![Just(0u64), Just(3), Just(30)],
        prop_oneof![Just(0u64), Just(5), Just(15)],
        prop_oneof![Just(20u64), Just(3600)],
    )
        .prop_map(|(for_secs, keep_firing_secs, repeat_secs)| Timing {
            for_secs,
            repeat_secs,
            keep_firing_secs,
        })
}

const RECEIVERS: [(&str, bool); 2] = [("ops", true), ("mail", false)];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever happens: invariants 2, 3 and 5 hold at every notice a receiver gets
    /// (`Sim::arrive`); once all is well and receivers answer, nobody believes anything
    /// fires (1); a new outage after all that pages again, and resolves (4); restarts
    /// anywhere, even between a receiver's 2xx and the book's write, lose nothing and
    /// tell nothing twice except the same notice again (6).
    #[test]
    fn receivers_are_told_the_truth(
        timing in timing(),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut w = Sim::new(timing, &RECEIVERS);
        let mut sources = Vec::new();
        for step in steps {
            match step {
                Step::Faults { quorum_lost: lost, down } => {
                    sources = (1..=3u64)
                        .filter(|m| down & (1 << (m - 1)) != 0)
                        .map(member_down)
                        .collect();
                    if lost {
                        sources.push(quorum_lost());
                    }
                    w.now += 1;
                    w.pass(&sources);
                }
                Step::Answer { receiver, answer } => {
                    w.answers.insert(RECEIVERS[receiver].0.to_string(), answer);
                }
                Step::Advance { secs, every } => {
                    for _ in 0..secs / every {
                        w.now += every;
                        w.pass(&sources);
                    }
                }
                Step::Restart => w.restart(),
                Step::CrashMidDelivery => {
                    w.deliver(false);
                    w.restart();
                }
            }
        }
        w.drain_and_check_all_resolved();
        prop_assert!(w.violations.is_empty(), "{:#?}", w.violations);

        // The next outage pages, whatever came before.
        let before: Vec<usize> = RECEIVERS.iter().map(|(r, _)| w.pages(r, "QuorumLost")).collect();
        w.run(timing.for_secs + 2, &[quorum_lost(), member_down(2)]);
        for ((receiver, _), before) in RECEIVERS.iter().zip(before) {
            prop_assert_eq!(
                w.pages(receiver, "QuorumLost"),
                before + 1,
                "4: {} not paged: {:?}",
                receiver,
                w.told(receiver, "QuorumLost")
            );
        }
        w.drain_and_check_all_resolved();
        prop_assert!(w.violations.is_empty(), "{:#?}", w.violations);
    }
}
