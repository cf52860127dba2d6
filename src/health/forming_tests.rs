//! Events while a new ensemble forms: Normal progress within the grace, Warnings after.
use super::tests::{E1, assess_default, failed, follower, leader, looking};
use super::*;
use crate::zk::ZkErrorKind;

fn reasons(ts: &[Transition]) -> Vec<&'static str> {
    ts.iter().map(Transition::reason).collect()
}

const NEW: Formation = Formation::Forming { age_secs: 5 };

#[test]
fn a_forming_cluster_tells_normal_progress_only() {
    let starting = assess_default(&[
        failed(1, ZkErrorKind::ConnectRefused),
        failed(2, ZkErrorKind::ConnectRefused),
        failed(3, ZkErrorKind::ConnectRefused),
    ]);
    let electing = assess_default(&[looking(1), looking(2), looking(3)]);
    let formed = assess_default(&[follower(1, E1), follower(2, E1), leader(3, E1)]);

    let first = told_transitions(NEW, None, &starting, false);
    assert_eq!(
        reasons(&first),
        vec!["MemberStarting", "MemberStarting", "MemberStarting"]
    );
    let second = told_transitions(NEW, Some(&starting), &electing, false);
    assert_eq!(reasons(&second), Vec::<&str>::new(), "{second:?}");
    let third = told_transitions(NEW, Some(&electing), &formed, false);
    assert_eq!(
        reasons(&third),
        vec![
            "QuorumFormed",
            "LeaderElected",
            "MemberJoined",
            "MemberJoined",
            "MemberJoined"
        ]
    );
    for t in first.iter().chain(&second).chain(&third) {
        assert!(!t.is_warning(), "{t:?}");
    }
    assert_eq!(
        third[2].message(),
        "member 1 joined the ensemble as follower"
    );
    assert_eq!(third[0].message(), "quorum formed with member 3 as leader");
}

#[test]
fn a_cluster_that_does_not_form_in_time_gets_its_warnings_once_then_as_usual() {
    let stuck = assess_default(&[
        follower(1, E1),
        failed(2, ZkErrorKind::ConnectRefused),
        failed(3, ZkErrorKind::ConnectRefused),
    ]);
    let late = Formation::Forming {
        age_secs: FORMATION_GRACE_SECS,
    };
    assert!(late.overdue() && !late.in_grace());
    let news = told_transitions(late, Some(&stuck), &stuck, true);
    assert_eq!(
        reasons(&news),
        vec!["MemberDown", "MemberDown", "QuorumLost"]
    );
    assert!(news.iter().all(Transition::is_warning));
    // Afterwards changes are told as for a formed cluster.
    let worse = assess_default(&[
        failed(1, ZkErrorKind::ConnectRefused),
        failed(2, ZkErrorKind::ConnectRefused),
        failed(3, ZkErrorKind::ConnectRefused),
    ]);
    assert_eq!(
        told_transitions(late, Some(&stuck), &worse, false),
        transitions(Some(&stuck), &worse)
    );
    assert_eq!(
        told_transitions(Formation::Formed, Some(&worse), &stuck, false),
        transitions(Some(&worse), &stuck)
    );
}

#[test]
fn formation_comes_from_status_and_age() {
    assert_eq!(Formation::of(false, Some(0), 10_000), Formation::Formed);
    assert_eq!(
        Formation::of(true, Some(1_000), 1_030),
        Formation::Forming { age_secs: 30 }
    );
    assert!(Formation::of(true, None, 5).in_grace());
    assert!(!Formation::Formed.in_grace() && !Formation::Formed.overdue());
}

#[test]
fn a_looking_member_is_never_said_to_serve() {
    // A follower down, then the quorum lost with it LOOKING: its MemberDown ends because
    // QuorumLost explains it, not because it serves again.
    let down = assess_default(&[
        follower(1, E1),
        leader(2, E1),
        failed(3, ZkErrorKind::ConnectRefused),
    ]);
    let lost = assess_default(&[
        looking(1),
        failed(2, ZkErrorKind::ConnectRefused),
        looking(3),
    ]);
    let t = transitions(Some(&down), &lost);
    assert!(
        !t.iter()
            .any(|t| matches!(t, Transition::MemberRecovered { member: 3, .. })),
        "{t:?}"
    );
    let words = Transition::MemberRecovered {
        member: 3,
        role: Role::Looking,
    }
    .message();
    assert!(!words.contains("serving again"), "{words}");
    assert!(words.contains("not serving"), "{words}");
}
