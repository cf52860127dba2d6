//! Quorum health against real ZooKeeper ensembles (Debian's 3.8): the assessment must
//! name the right leader, members, faults and quorum for each failure.
use std::time::{Duration, Instant};

use zk_testkit::zkensemble::ZkEnsemble;
use zookeeper_operator::health::{EnsembleAssessment, Fault, FaultKey, Health, Role};
use zookeeper_operator::observe::{probe_ensemble, render_table};

/// One ensemble at a time: JVM elections on 2 cores get flaky when crowded.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

fn addrs(zk: &ZkEnsemble) -> Vec<String> {
    zk.endpoints().iter().map(|(_, a)| a.to_string()).collect()
}

/// Probes until `pred` holds; panics with the last assessment after `within`.
async fn wait_for(
    zk: &ZkEnsemble,
    what: &str,
    within: Duration,
    pred: impl Fn(&EnsembleAssessment) -> bool,
) -> EnsembleAssessment {
    let deadline = Instant::now() + within;
    loop {
        let a = probe_ensemble(&addrs(zk), PROBE_TIMEOUT)
            .await
            .expect("probe");
        if pred(&a) {
            return a;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; last assessment:\n{}",
                render_table(&a)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_healthy(zk: &ZkEnsemble) -> EnsembleAssessment {
    wait_for(zk, "a healthy ensemble", Duration::from_secs(60), |a| {
        a.health() == Health::Healthy
    })
    .await
}

fn assert_healthy(a: &EnsembleAssessment, members: usize) {
    assert_eq!(a.members.len(), members);
    assert_eq!(
        a.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        (1..=members as u64).collect::<Vec<_>>(),
        "ids come from each member's conf serverId"
    );
    let leaders: Vec<_> = a
        .members
        .iter()
        .filter(|m| m.role == Role::Leader)
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    assert_eq!(a.leader, Some(leaders[0].id));
    assert!(a.epoch.is_some_and(|e| e >= 1));
    assert_eq!(a.voters, members);
    assert_eq!(a.serving_voters, members);
    assert_eq!(a.majority, members / 2 + 1);
    assert!(a.quorum && !a.election_in_progress);
    assert!(a.faults.is_empty(), "{:?}", a.faults);
    for m in &a.members {
        assert!(m.serving && m.voter && m.reason.is_none(), "{m:?}");
        assert!(matches!(m.role, Role::Leader | Role::Follower));
        assert!(m.zxid.is_some());
    }
}

fn down_reason(a: &EnsembleAssessment, member: u64) -> String {
    a.faults
        .iter()
        .find_map(|f| match f {
            Fault::MemberDown { member: m, reason } if *m == member => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no MemberDown for {member}:\n{}", render_table(a)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_through_every_failure() {
    let _serial = SERIAL.lock().await;
    let mut zk = ZkEnsemble::start(3);
    zk.wait_until_serving(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("ensemble did not start:\n{}", zk.log(1)));

    // Healthy: one leader, all serving, majority.
    let healthy = wait_healthy(&zk).await;
    assert_healthy(&healthy, 3);
    let leader = healthy.leader.unwrap();
    let first_epoch = healthy.epoch.unwrap();
    let follower = zk.ids().into_iter().find(|&id| id != leader).unwrap();

    // Follower killed: it is down, quorum holds, the leader stays.
    zk.kill(follower);
    let a = wait_for(&zk, "follower down", Duration::from_secs(10), |a| {
        a.has_fault(FaultKey::MemberDown(follower))
    })
    .await;
    assert!(a.quorum);
    assert_eq!(a.leader, Some(leader));
    assert_eq!((a.serving_voters, a.majority), (2, 2));
    assert_eq!(
        a.fault_keys().collect::<Vec<_>>(),
        vec![FaultKey::MemberDown(follower)]
    );
    assert!(down_reason(&a, follower).starts_with("ConnectRefused"));
    assert_eq!(a.member(follower).unwrap().role, Role::Down);
    assert_eq!(a.health(), Health::Degraded);

    zk.start_member(follower);
    assert_healthy(&wait_healthy(&zk).await, 3);

    // Follower frozen (SIGSTOP): it still accepts TCP, so only a timeout tells.
    zk.freeze(follower);
    let a = probe_ensemble(&addrs(&zk), PROBE_TIMEOUT).await.unwrap();
    assert!(
        down_reason(&a, follower).starts_with("Timeout"),
        "{}",
        render_table(&a)
    );
    assert!(a.quorum);
    assert_eq!(a.leader, Some(leader));
    zk.thaw(follower);
    assert_healthy(&wait_healthy(&zk).await, 3);

    // Leader killed: a new leader with a higher epoch, the old one down.
    zk.kill(leader);
    let a = wait_for(&zk, "a new leader", Duration::from_secs(30), |a| {
        a.quorum && a.leader.is_some_and(|l| l != leader)
    })
    .await;
    assert!(a.epoch.unwrap() > first_epoch, "new epoch after failover");
    assert_eq!(a.member(leader).unwrap().role, Role::Down);
    assert!(down_reason(&a, leader).starts_with("ConnectRefused"));
    assert_eq!(a.serving_voters, 2);
    let second_leader = a.leader.unwrap();

    zk.start_member(leader);
    let a = wait_healthy(&zk).await;
    assert_healthy(&a, 3);
    assert_eq!(
        a.leader,
        Some(second_leader),
        "a rejoining member does not take over"
    );

    // Majority killed: no quorum, the survivor is looking.
    let survivor = second_leader;
    let victims: Vec<u64> = zk.ids().into_iter().filter(|&id| id != survivor).collect();
    for &id in &victims {
        zk.kill(id);
    }
    let a = wait_for(&zk, "quorum lost", Duration::from_secs(20), |a| {
        !a.quorum && a.member(survivor).is_some_and(|m| m.role == Role::Looking)
    })
    .await;
    assert_eq!(a.leader, None);
    assert!(!a.election_in_progress, "1 of 3 voters cannot elect");
    assert_eq!(a.health(), Health::NoQuorum);
    assert!(a.has_fault(FaultKey::QuorumLost));
    for &id in &victims {
        assert!(down_reason(&a, id).starts_with("ConnectRefused"));
    }
    assert_eq!(a.serving_voters, 0);

    // All restored: healthy again.
    for &id in &victims {
        zk.start_member(id);
    }
    assert_healthy(&wait_healthy(&zk).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_keep_quorum_until_three_are_gone() {
    let _serial = SERIAL.lock().await;
    let mut zk = ZkEnsemble::start(5);
    zk.wait_until_serving(Duration::from_secs(90))
        .unwrap_or_else(|| panic!("ensemble did not start:\n{}", zk.log(1)));
    let healthy = wait_healthy(&zk).await;
    assert_healthy(&healthy, 5);
    assert_eq!(healthy.majority, 3);
    let leader = healthy.leader.unwrap();
    let followers: Vec<u64> = zk.ids().into_iter().filter(|&id| id != leader).collect();

    // Two followers down: 3 of 5 still serve.
    zk.kill(followers[0]);
    zk.freeze(followers[1]);
    let a = wait_for(&zk, "two members down", Duration::from_secs(10), |a| {
        a.has_fault(FaultKey::MemberDown(followers[0]))
            && a.has_fault(FaultKey::MemberDown(followers[1]))
    })
    .await;
    assert!(a.quorum);
    assert_eq!(a.leader, Some(leader));
    assert_eq!((a.serving_voters, a.majority), (3, 3));
    assert!(down_reason(&a, followers[1]).starts_with("Timeout"));
    assert_eq!(a.health(), Health::Degraded);

    // The leader too: 2 of 5 left, no quorum.
    zk.kill(leader);
    let a = wait_for(&zk, "quorum lost", Duration::from_secs(20), |a| {
        !a.quorum && a.leader.is_none()
    })
    .await;
    assert!(a.has_fault(FaultKey::QuorumLost));
    assert_eq!(a.health(), Health::NoQuorum);

    zk.thaw(followers[1]);
    zk.start_member(followers[0]);
    zk.start_member(leader);
    assert_healthy(&wait_healthy(&zk).await, 5);
}
