//! The EnsembleWatcher against a real ensemble: it publishes a kill, a freeze and the
//! recoveries by itself, and stays quiet while nothing changes.
use std::time::{Duration, Instant};

use tokio::sync::watch;
use zk_testkit::zkensemble::ZkEnsemble;
use zookeeper_operator::health::{
    EnsembleAssessment, FaultKey, Health, Role, Transition, transitions,
};
use zookeeper_operator::observe::{EnsembleWatcher, MemberEndpoint, WatcherConfig, render_table};

type Rx = watch::Receiver<Option<EnsembleAssessment>>;

/// Waits for a published assessment satisfying `pred`.
async fn wait_until(
    rx: &mut Rx,
    what: &str,
    within: Duration,
    pred: impl Fn(&EnsembleAssessment) -> bool,
) -> EnsembleAssessment {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(a) = rx.borrow_and_update().as_ref()
            && pred(a)
        {
            return a.clone();
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            let last = rx.borrow().clone();
            panic!(
                "timed out waiting for {what}; last:\n{}",
                last.as_ref().map(render_table).unwrap_or_default()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_publishes_failures_and_recoveries() {
    let mut zk = ZkEnsemble::start(3);
    zk.wait_until_serving(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("ensemble did not start:\n{}", zk.log(1)));
    let endpoints: Vec<MemberEndpoint> = zk
        .endpoints()
        .into_iter()
        .map(|(id, addr)| MemberEndpoint::new(id, format!("zk-{}", id - 1), addr))
        .collect();
    let config = WatcherConfig {
        probe_timeout: Duration::from_secs(1),
        ping_interval: Duration::from_millis(250),
        poll_interval: Duration::from_secs(2),
        ..WatcherConfig::default()
    };
    let watcher = EnsembleWatcher::spawn(endpoints.clone(), config);
    let mut rx = watcher.subscribe();

    let healthy = wait_until(&mut rx, "healthy", Duration::from_secs(30), |a| {
        a.health() == Health::Healthy
    })
    .await;
    assert_eq!(healthy.members.len(), 3);
    assert_eq!(healthy.member(1).unwrap().name, "zk-0");
    let leader = healthy.leader.expect("a leader");
    let follower = zk.ids().into_iter().find(|&id| id != leader).unwrap();
    let other = zk
        .ids()
        .into_iter()
        .find(|&id| id != leader && id != follower)
        .unwrap();

    // Quiet while nothing changes: no wake-ups in 3 s of a steady ensemble.
    rx.borrow_and_update();
    let quiet = tokio::time::timeout(Duration::from_secs(3), rx.changed()).await;
    assert!(quiet.is_err(), "published without a health change");

    // Kill: published by the watcher itself. Speed is measured by the benchmark;
    // here only a generous bound.
    let killed_at = Instant::now();
    zk.kill(follower);
    let down = wait_until(&mut rx, "follower down", Duration::from_secs(5), |a| {
        a.has_fault(FaultKey::MemberDown(follower))
    })
    .await;
    let took = killed_at.elapsed();
    eprintln!("kill of member {follower} published after {took:?}");
    assert!(took < Duration::from_secs(5));
    assert!(down.quorum);
    assert_eq!(down.leader, Some(leader));
    let reason = down.member(follower).unwrap().reason.clone().unwrap();
    assert!(reason.starts_with("ConnectRefused"), "{reason}");
    assert!(
        transitions(Some(&healthy), &down)
            .iter()
            .any(|t| matches!(t, Transition::MemberDown { member, .. } if *member == follower))
    );

    // Restart: the watcher reconnects on its own.
    zk.start_member(follower);
    let back = wait_until(&mut rx, "recovered", Duration::from_secs(60), |a| {
        a.health() == Health::Healthy
    })
    .await;
    assert_eq!(back.member(follower).map(|m| m.role), Some(Role::Follower));
    assert!(
        transitions(Some(&down), &back).iter().any(
            |t| matches!(t, Transition::MemberRecovered { member, .. } if *member == follower)
        )
    );

    // Freeze: detected by ping silence within the probe timeout (+ scheduling slack).
    let frozen_at = Instant::now();
    zk.freeze(other);
    let frozen = wait_until(&mut rx, "frozen member down", Duration::from_secs(5), |a| {
        a.has_fault(FaultKey::MemberDown(other))
    })
    .await;
    eprintln!(
        "freeze of member {other} published after {:?}",
        frozen_at.elapsed()
    );
    let reason = frozen.member(other).unwrap().reason.clone().unwrap();
    assert!(reason.starts_with("Timeout"), "{reason}");
    zk.thaw(other);
    wait_until(&mut rx, "thawed", Duration::from_secs(30), |a| {
        a.health() == Health::Healthy
    })
    .await;

    // Membership is updatable: dropping a member removes it from the assessment.
    watcher.set_members(endpoints.into_iter().filter(|e| e.id != other).collect());
    let shrunk = wait_until(&mut rx, "two members", Duration::from_secs(5), |a| {
        a.members.len() == 2
    })
    .await;
    assert!(shrunk.member(other).is_none());

    watcher.shutdown().await;
}
