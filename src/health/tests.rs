//! Scenario tests for `assess` and `transitions`.
use super::*;
use crate::zk::{Mntr, ServerMode, Srvr, ZkErrorKind};

/// A `srvr` answer in `mode` at `zxid`; shared by the health module's tests.
pub(super) fn srvr(mode: ServerMode, zxid: u64) -> Srvr {
    Srvr {
        version: Some("3.8.0".into()),
        mode,
        zxid,
        latency: None,
        received: None,
        sent: None,
        connections: None,
        outstanding: Some(0),
        node_count: None,
        read_only: false,
    }
}

fn member(id: MemberId) -> MemberObservation {
    MemberObservation::new(id, format!("zk-{}", id - 1), format!("10.0.0.{id}:2181"))
}

pub(super) fn leader(id: MemberId, zxid: u64) -> MemberObservation {
    member(id).with_status(Ok(srvr(ServerMode::Leader, zxid)))
}

pub(super) fn follower(id: MemberId, zxid: u64) -> MemberObservation {
    member(id).with_status(Ok(srvr(ServerMode::Follower, zxid)))
}

pub(super) fn failed(id: MemberId, kind: ZkErrorKind) -> MemberObservation {
    member(id).with_status(Err(ProbeFailure {
        kind,
        message: format!("{kind} probe failure"),
    }))
}

pub(super) fn looking(id: MemberId) -> MemberObservation {
    failed(id, ZkErrorKind::NotServing)
}

pub(super) fn assess_default(obs: &[MemberObservation]) -> EnsembleAssessment {
    assess(obs, &Thresholds::default())
}

fn keys(a: &EnsembleAssessment) -> Vec<FaultKey> {
    a.fault_keys().collect()
}

pub(super) const E1: u64 = 0x1_0000_0000;
const E2: u64 = 0x2_0000_0000;

fn healthy3() -> Vec<MemberObservation> {
    vec![follower(1, E1 + 5), leader(2, E1 + 5), follower(3, E1 + 4)]
}

#[test]
fn healthy_three_member_ensemble() {
    let a = assess_default(&healthy3());
    assert_eq!(a.leader, Some(2));
    assert_eq!(a.epoch, Some(1));
    assert_eq!((a.voters, a.serving_voters, a.majority), (3, 3, 2));
    assert!(a.quorum && !a.election_in_progress);
    assert!(a.faults.is_empty(), "{:?}", a.faults);
    assert_eq!(a.health(), Health::Healthy);
    assert_eq!(a.member(3).unwrap().lag, Some(1));
    assert_eq!(a.member(2).unwrap().lag, None);
    assert!(a.members.iter().all(|m| m.serving && m.reason.is_none()));
    assert_eq!(
        a.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[test]
fn follower_down_keeps_quorum() {
    let obs = vec![
        follower(1, E1),
        leader(2, E1),
        failed(3, ZkErrorKind::ConnectRefused),
    ];
    let a = assess_default(&obs);
    assert!(a.quorum);
    assert_eq!(a.serving_voters, 2);
    assert_eq!(keys(&a), vec![FaultKey::MemberDown(3)]);
    assert_eq!(a.health(), Health::Degraded);
    let m3 = a.member(3).unwrap();
    assert_eq!(m3.role, Role::Down);
    assert!(m3.reason.as_deref().unwrap().starts_with("ConnectRefused"));
}

#[test]
fn frozen_member_is_down_by_timeout() {
    let obs = vec![
        follower(1, E1),
        leader(2, E1),
        failed(3, ZkErrorKind::Timeout),
    ];
    let a = assess_default(&obs);
    match &a.faults[..] {
        [Fault::MemberDown { member: 3, reason }] => assert!(reason.starts_with("Timeout")),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn majority_down_is_quorum_lost_without_election() {
    let obs = vec![
        looking(1),
        failed(2, ZkErrorKind::ConnectRefused),
        failed(3, ZkErrorKind::ConnectRefused),
    ];
    let a = assess_default(&obs);
    assert!(!a.quorum && !a.election_in_progress);
    assert_eq!(a.leader, None);
    assert_eq!(
        keys(&a),
        vec![
            FaultKey::MemberDown(2),
            FaultKey::MemberDown(3),
            FaultKey::QuorumLost
        ]
    );
    assert_eq!(a.health(), Health::NoQuorum);
    assert_eq!(a.health().exit_code(), 2);
}

#[test]
fn all_looking_is_an_election_not_member_faults() {
    let a = assess_default(&[looking(1), looking(2), looking(3)]);
    assert!(a.election_in_progress);
    assert_eq!(
        keys(&a),
        vec![FaultKey::QuorumLost, FaultKey::ElectionInProgress]
    );
    assert!(a.members.iter().all(|m| m.role == Role::Looking));
}

#[test]
fn looking_member_beside_a_working_quorum_is_down() {
    let a = assess_default(&[follower(1, E1), leader(2, E1), looking(3)]);
    assert!(a.quorum);
    match &a.faults[..] {
        [Fault::MemberDown { member: 3, reason }] => assert!(reason.starts_with("NotServing")),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn two_leaders_with_majority_views_are_split_brain() {
    let view = |synced| Mntr {
        synced_followers: Some(synced),
        ..Mntr::default()
    };
    let obs = vec![
        leader(1, E1 + 9).with_metrics(view(2)),
        follower(2, E2),
        follower(3, E2),
        leader(4, E2 + 1).with_metrics(view(2)),
        follower(5, E2),
    ];
    let a = assess_default(&obs);
    assert_eq!(a.leader, Some(4), "the newest epoch leads");
    assert_eq!(a.split_brain, vec![1, 4]);
    assert!(a.has_fault(FaultKey::SplitBrainSuspected));

    // A stale leader that lost its followers does not look like a majority.
    let mut obs = obs;
    obs[0] = leader(1, E1 + 9).with_metrics(view(0));
    let a = assess_default(&obs);
    assert!(a.split_brain.is_empty());
    assert!(!a.has_fault(FaultKey::SplitBrainSuspected));
}

#[test]
fn lagging_follower() {
    let t = Thresholds {
        max_lag_txns: 100,
        ..Thresholds::default()
    };
    let a = assess(
        &[
            leader(1, E2 + 500),
            follower(2, E2 + 450),
            follower(3, E2 + 10),
        ],
        &t,
    );
    assert_eq!(a.lagging, vec![3]);
    assert_eq!(a.member(3).unwrap().lag, Some(490));
    assert_eq!(
        a.faults,
        vec![Fault::FollowerLagging {
            member: 3,
            lag: 490
        }]
    );
    assert!(a.quorum);
    assert_eq!(a.health(), Health::Degraded);
}

#[test]
fn observers_do_not_vote() {
    let obs = vec![
        leader(1, E1),
        follower(2, E1),
        failed(3, ZkErrorKind::ConnectRefused),
        failed(4, ZkErrorKind::ConnectRefused).as_observer(),
        member(5).with_status(Ok(srvr(ServerMode::Observer, E1))),
    ];
    let a = assess_default(&obs);
    assert_eq!((a.voters, a.majority, a.serving_voters), (3, 2, 2));
    assert!(a.quorum);
    assert!(!a.member(4).unwrap().voter);
    assert_eq!(a.member(5).unwrap().role, Role::Observer);
    assert_eq!(
        keys(&a),
        vec![FaultKey::MemberDown(3), FaultKey::MemberDown(4)]
    );
}

#[test]
fn leader_counts_voters_we_do_not_watch() {
    let m = Mntr {
        quorum_size: Some(5),
        synced_followers: Some(3),
        ..Mntr::default()
    };
    let a = assess_default(&[leader(1, E1).with_metrics(m), follower(2, E1)]);
    assert_eq!((a.voters, a.majority), (5, 3));
    assert_eq!(a.serving_voters, 2);
    assert!(a.quorum, "the leader reports 3 synced followers");
}

#[test]
fn standalone_and_empty() {
    let a = assess_default(&[member(1).with_status(Ok(srvr(ServerMode::Standalone, 7)))]);
    assert!(a.quorum);
    assert_eq!(a.leader, None);
    assert_eq!(a.health(), Health::Healthy);

    let a = assess_default(&[]);
    assert!(!a.quorum);
    assert_eq!(a.majority, 1);
    assert_eq!(a.health(), Health::NoQuorum);
}

#[test]
fn unprobed_members_are_down() {
    let a = assess_default(&[member(1), member(2), member(3)]);
    assert_eq!(a.health(), Health::NoQuorum);
    assert!(!a.election_in_progress);
    assert!(a.members.iter().all(|m| m.role == Role::Down));
}

#[test]
fn overload_marks_member_and_fault() {
    let busy = Mntr {
        outstanding_requests: Some(40),
        ..Mntr::default()
    };
    let a = assess_default(&[
        leader(1, E1).with_metrics(busy),
        follower(2, E1),
        follower(3, E1),
    ]);
    assert_eq!(a.overloaded, vec![1]);
    assert_eq!(
        keys(&a),
        vec![FaultKey::Overloaded(1, OverloadKind::OutstandingRequests)]
    );
    assert_eq!(
        a.member(1).unwrap().reason.as_deref(),
        Some("overloaded: outstanding_requests")
    );
}

#[test]
fn same_health_ignores_moving_numbers_only() {
    let a = assess_default(&healthy3());
    let b = assess_default(&[
        follower(1, E1 + 90),
        leader(2, E1 + 95),
        follower(3, E1 + 80),
    ]);
    assert_ne!(a, b);
    assert!(a.same_health(&b));
    let c = assess_default(&[follower(1, E1), leader(2, E1), looking(3)]);
    assert!(!a.same_health(&c));
}

#[test]
fn no_transitions_when_nothing_changed() {
    let a = assess_default(&healthy3());
    assert!(transitions(Some(&a), &a).is_empty());
    assert!(
        transitions(None, &a).is_empty(),
        "a healthy start says nothing"
    );
}

#[test]
fn first_assessment_reports_present_faults_only() {
    let a = assess_default(&[
        follower(1, E1),
        leader(2, E1),
        failed(3, ZkErrorKind::Timeout),
    ]);
    let t = transitions(None, &a);
    assert_eq!(t.len(), 1);
    assert!(matches!(t[0], Transition::MemberDown { member: 3, .. }));
    assert!(t[0].is_warning());
}

#[test]
fn follower_down_and_back() {
    let healthy = assess_default(&healthy3());
    let down = assess_default(&[
        follower(1, E1),
        leader(2, E1),
        failed(3, ZkErrorKind::ConnectRefused),
    ]);
    let t = transitions(Some(&healthy), &down);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].reason(), "MemberDown");
    assert!(t[0].message().contains("member 3 is down: ConnectRefused"));

    let t = transitions(Some(&down), &healthy);
    assert_eq!(
        t,
        vec![Transition::MemberRecovered {
            member: 3,
            role: Role::Follower
        }]
    );
    assert!(!t[0].is_warning());
}

#[test]
fn leader_failover_sequence() {
    let healthy = assess_default(&healthy3());
    let electing = assess_default(&[
        looking(1),
        failed(2, ZkErrorKind::ConnectRefused),
        looking(3),
    ]);
    let t = transitions(Some(&healthy), &electing);
    assert_eq!(
        t,
        vec![
            Transition::MemberDown {
                member: 2,
                reason: "ConnectRefused: ConnectRefused probe failure".into()
            },
            Transition::QuorumLost {
                serving_voters: 0,
                majority: 2,
                electing: true
            },
        ]
    );
    assert!(t[1].message().contains("election in progress"));

    let elected = assess_default(&[
        leader(1, E2),
        failed(2, ZkErrorKind::ConnectRefused),
        follower(3, E2),
    ]);
    let t = transitions(Some(&electing), &elected);
    assert_eq!(
        t,
        vec![
            Transition::QuorumRestored { leader: Some(1) },
            Transition::LeaderElected {
                member: 1,
                epoch: 2
            },
        ]
    );

    let rejoined = assess_default(&[leader(1, E2), follower(2, E2), follower(3, E2)]);
    assert_eq!(
        transitions(Some(&elected), &rejoined),
        vec![Transition::MemberRecovered {
            member: 2,
            role: Role::Follower
        }]
    );
}

#[test]
fn changing_numbers_do_not_repeat_transitions() {
    let t = Thresholds {
        max_lag_txns: 10,
        ..Thresholds::default()
    };
    let a = assess(
        &[leader(1, E1 + 100), follower(2, E1 + 100), follower(3, E1)],
        &t,
    );
    let b = assess(
        &[
            leader(1, E1 + 200),
            follower(2, E1 + 200),
            follower(3, E1 + 5),
        ],
        &t,
    );
    assert!(transitions(Some(&a), &b).is_empty());
    let c = assess(
        &[
            leader(1, E1 + 200),
            follower(2, E1 + 200),
            follower(3, E1 + 200),
        ],
        &t,
    );
    assert_eq!(
        transitions(Some(&b), &c),
        vec![Transition::FaultCleared {
            fault: FaultKey::FollowerLagging(3)
        }]
    );
}

#[test]
fn removed_member_does_not_recover() {
    let before = assess_default(&[
        follower(1, E1),
        leader(2, E1),
        failed(3, ZkErrorKind::ConnectRefused),
    ]);
    let after = assess_default(&[follower(1, E1), leader(2, E1)]);
    assert!(transitions(Some(&before), &after).is_empty());
}

#[test]
fn fault_ids_are_stable_strings() {
    assert_eq!(FaultKey::MemberDown(3).id(), "MemberDown/3");
    assert_eq!(
        FaultKey::Overloaded(2, OverloadKind::PendingSyncs).id(),
        "Overloaded/2/pending_syncs"
    );
    let f = Fault::FollowerLagging { member: 1, lag: 10 };
    let g = Fault::FollowerLagging { member: 1, lag: 99 };
    assert_eq!(f.key(), g.key());
    assert_ne!(f, g);
}
