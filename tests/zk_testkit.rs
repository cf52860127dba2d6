//! The test ensemble itself: starts, elects, and obeys kill/freeze/thaw/restart.
use std::time::Duration;

use zk_testkit::zkensemble::{MemberState, ZkEnsemble, four_letter};

#[test]
fn ensemble_lifecycle() {
    let mut zk = ZkEnsemble::start(3);
    let leader = zk
        .wait_until_serving(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no leader; member 1 log:\n{}", zk.log(1)));
    let follower = zk.ids().into_iter().find(|&id| id != leader).unwrap();

    zk.freeze(follower);
    assert_eq!(zk.state(follower), MemberState::Frozen);
    assert!(
        four_letter(zk.client_addr(follower), "ruok", Duration::from_millis(300)).is_err(),
        "a frozen member must not answer"
    );
    zk.thaw(follower);
    assert_eq!(
        four_letter(zk.client_addr(follower), "ruok", Duration::from_secs(5)).unwrap(),
        "imok"
    );

    zk.kill(follower);
    assert!(four_letter(zk.client_addr(follower), "ruok", Duration::from_millis(300)).is_err());
    assert_eq!(zk.wait_for_leader(Duration::from_secs(30)), Some(leader));

    zk.restart(follower);
    assert_eq!(zk.wait_until_serving(Duration::from_secs(60)), Some(leader));
    assert!(zk.pid(follower).is_some());
}
